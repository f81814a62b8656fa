"""Printer profiles (resources/printers/*.toml) and the Print SCU attributes made from them (Table 3.4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ConfigError
from app.net.print_scu import PRINTER_ATTRIBUTES_ALL, PRINTER_ATTRIBUTES_MINIMAL
from app.printing.compose import compose_film, film_spec
from app.printing.film_job import film_box_attributes, film_job, presentation_lut_attributes, session_attributes
from app.printing.film_sizes import Orientation, film_size
from app.printing.layouts import layout
from app.printing.profiles import PrinterProfile, load_profile, profile_names


def test_default_profile_has_the_table_3_4_defaults() -> None:
    p = load_profile("default")
    session = session_attributes(p)
    assert (session.NumberOfCopies, session.PrintPriority, session.MediumType, session.FilmDestination) == (
        1, "MED", "BLUE FILM", "MAGAZINE")
    box = film_box_attributes(p, p.film_box.film_size_id, p.film_box.film_orientation)
    assert (box.FilmOrientation, box.FilmSizeID, box.BorderDensity, box.EmptyImageDensity, box.Trim) == (
        "PORTRAIT", "14INX17IN", "BLACK", "BLACK", "YES")
    for unset in ("MagnificationType", "MaxDensity", "MinDensity", "ConfigurationInformation", "SmoothingType",
                  "Illumination", "ReflectedAmbientLight"):
        assert unset not in box  # "(none)": not sent
    assert p.polarity == "NORMAL" and p.bits == 8 and presentation_lut_attributes(p, 8) is None
    assert p.printer_attributes == "all"


def test_bundled_profiles_load() -> None:
    assert {"default", "dcmprscp"} <= set(profile_names())
    p = load_profile("dcmprscp")
    assert p.supports_12_bit and p.bits == 12 and p.supports_presentation_lut
    assert presentation_lut_attributes(p, 12).PresentationLUTShape == "IDENTITY"  # type: ignore[union-attr]


def _write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.toml").write_text(text)


def test_profile_values_and_quirks(tmp_path: Path) -> None:
    _write(tmp_path, "agfa", """
description = "x"
[printer]
dpi = 320
pixels = { "14INX17IN" = [4096, 5120] }
film_sizes = ["14INX17IN", "8INX10IN"]
supports_12_bit = true
supports_presentation_lut = true
presentation_lut_match_required = true
implicit_vr_only = true
printer_attributes = "minimal"
[film_session]
number_of_copies = 2
medium_type = "clear film"
[film_box]
film_orientation = "landscape"
film_size_id = "8INX10IN"
max_density = 310
illumination = 2000
[image_box]
polarity = "REVERSE"
""")
    p = load_profile("agfa", tmp_path)
    assert p.film_box.film_orientation == "LANDSCAPE" and p.session.medium_type == "CLEAR FILM"
    spec = film_spec(p, film_size("14INX17IN"), Orientation.PORTRAIT, layout("1x1"))
    assert (spec.columns, spec.rows, spec.bits) == (4096, 5120, 12)
    film = compose_film([], film_spec(p, film_size("8INX10IN"), Orientation.LANDSCAPE, layout("1x1")))
    assert film.pixels.shape == (2560, 3200)  # 320 dpi, landscape
    job = film_job(film, p)
    assert job.implicit_vr_only and job.printer_attributes == PRINTER_ATTRIBUTES_MINIMAL
    assert job.polarity == "REVERSE" and job.session.NumberOfCopies == 2
    assert job.film_box.MaxDensity == 310 and job.film_box.Illumination == 2000
    assert job.film_box.FilmOrientation == "LANDSCAPE" and job.film_box.FilmSizeID == "8INX10IN"
    # a matching Presentation LUT: 2^bits entries, identity onto the 12-bit P-values
    lut = job.presentation_lut
    assert lut is not None and "PresentationLUTShape" not in lut
    item = lut.PresentationLUTSequence[0]
    assert list(item.LUTDescriptor) == [4096, 0, 12]
    assert item.LUTData[0] == 0 and item.LUTData[-1] == 4095 and len(item.LUTData) == 4096
    eight = presentation_lut_attributes(p, 8)
    assert eight is not None and eight.PresentationLUTSequence[0].LUTDescriptor[0] == 256
    assert len(PRINTER_ATTRIBUTES_ALL) == 9  # reference Table 3.2


@pytest.mark.parametrize(("text", "words"), [
    ("[printer]\nsupports_12_bit = 1\n", "true or false"),
    ("[printer]\nprinter_attributes = \"some\"\n", "minimal"),
    ("[printer]\ncolour = true\n", "unknown key"),
    ("[film_box]\nfilm_size_id = \"15INX15IN\"\n", "unknown"),
    ("[film_box]\ntrim = \"MAYBE\"\n", "YES or NO"),
    ("[film_box]\nborder_density = \"GREY\"\n", "BLACK, WHITE"),
    ("[printer]\nfilm_sizes = [\"8INX10IN\"]\n", "not in film_sizes"),
    ("[image_box]\npolarity = \"UPSIDE\"\n", "NORMAL or REVERSE"),
    ("[printer]\npixels = { \"A4\" = [0, 1] }\n", "columns, rows"),
    ("[[printer]]\n", "must be a table"),
])
def test_bad_profiles_say_what_to_write(tmp_path: Path, text: str, words: str) -> None:
    _write(tmp_path, "bad", text)
    with pytest.raises(ConfigError, match=words):
        load_profile("bad", tmp_path)


def test_missing_and_unsafe_profile_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No printer profile"):
        load_profile("nothere", tmp_path)
    with pytest.raises(ConfigError, match="letters, digits"):
        load_profile("../default", tmp_path)


def test_job_pixels_are_the_film() -> None:
    p = PrinterProfile("p", dpi=50)
    film = compose_film([], film_spec(p, film_size("8INX10IN"), Orientation.PORTRAIT, layout("2x2")))
    job = film_job(film, p)
    assert job.pixels is film.pixels and job.bits == 8 and np.asarray(job.pixels).shape == (500, 400)
