"""Images rendered for a film (app.printing.print_images) and films written to PDF/PNG (film_output)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from app.core.errors import ConfigError
from app.imaging.render import render_frame
from app.printing.compose import FilmSpec, compose_film
from app.printing.film_output import write_films
from app.printing.layouts import Layout
from app.printing.print_images import PrintImage, header_from, print_image


def _ct() -> pydicom.Dataset:
    return pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False))


def test_8_bit_print_image_is_what_the_pipeline_renders() -> None:
    ds = _ct()
    image = print_image(ds)
    assert image.bits == 8 and image.pixels.dtype == np.uint8
    assert np.array_equal(image.pixels, render_frame(ds).composite())
    assert image.pixel_spacing == pytest.approx(tuple(float(v) for v in ds.PixelSpacing))
    assert image.header is not None and "CompressedSamples" in image.header.patient
    assert image.header.institution == str(ds.InstitutionName)


def test_12_bit_print_image_refines_the_8_bit_one() -> None:
    ds = _ct()
    eight, twelve = print_image(ds, bits=8), print_image(ds, bits=12)
    assert twelve.bits == 12 and twelve.pixels.dtype == np.uint16 and twelve.pixels.max() <= 4095
    # the same window: the 12-bit value over 4095 is the 8-bit one over 255, within half an 8-bit level
    diff = np.abs(twelve.pixels / 4095.0 * 255.0 - eight.pixels.astype(float))
    assert diff.max() <= 0.5 + 0.5 * 255 / 4095 + 1e-6  # half a level of each
    inside = (eight.pixels > 0) & (eight.pixels < 255)
    assert len(np.unique(twelve.pixels[inside])) > len(np.unique(eight.pixels[inside]))


def test_overlay_pixels_keep_their_drawn_value_at_12_bits() -> None:
    ds = pydicom.dcmread(get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm", download=False))
    eight, twelve = print_image(ds, bits=8), print_image(ds, bits=12)
    overlay = eight.pixels == 255
    assert overlay.any()
    assert (twelve.pixels[overlay & (render_frame(ds).pixels != 255)] == 4095).all()


def test_header_of_a_data_set() -> None:
    ds = pydicom.Dataset()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Doe^Jane", "P1", "19800102"
    ds.StudyDate, ds.StudyDescription, ds.AccessionNumber = "20240305", "CT HEAD", "A7"
    header = header_from(ds)
    assert header.patient == "Doe, Jane   P1   born 1980-01-02"
    assert header.study == "2024-03-05   CT HEAD   Acc A7" and header.lines == [header.patient, header.study]


def _films() -> list:  # type: ignore[type-arg]
    spec = FilmSpec(columns=800, rows=1000, layout=Layout(1, 1), dpi=100, header=False)
    image = PrintImage(np.full((10, 10), 255, dtype=np.uint8))
    return [compose_film([image], spec), compose_film([], spec)]


def test_pdf_pages_have_the_film_size(tmp_path: Path) -> None:
    path = tmp_path / "films.pdf"
    assert write_films(_films(), path) == [path]
    text = path.read_bytes().decode("latin-1")
    boxes = re.findall(r"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", text)
    assert len(boxes) == 2  # a page per film
    assert all((float(w), float(h)) == (8 * 72, 10 * 72) for w, h in boxes)  # 800x1000 px at 100 dpi, in points


def test_png_per_film_with_resolution(tmp_path: Path) -> None:
    written = write_films(_films(), tmp_path / "film.png")
    assert [p.name for p in written] == ["film-1.png", "film-2.png"]
    with Image.open(written[0]) as png:
        assert png.size == (800, 1000) and round(png.info["dpi"][0]) == 100
        assert np.array_equal(np.asarray(png), _films()[0].as_8bit())
    with pytest.raises(ConfigError, match=r"\.pdf or \.png"):
        write_films(_films(), tmp_path / "film.tiff")


def test_12_bit_under_a_presentation_state_keeps_its_window_rotation_and_text() -> None:
    from app.imaging.gsps_model import Annotation, Layer, PresentationModel, TextObject, VOISetting
    from app.imaging.gsps_writer import write_gsps
    from app.imaging.spatial import SpatialTransform
    from app.imaging.voi_lut import Window

    ds = _ct()
    text = Annotation(texts=(TextObject("R", box_units="DISPLAY", bounding_box=((0.05, 0.05), (0.3, 0.2))),))
    model = PresentationModel(label="PRINT", vois=(VOISetting(Window(100, 600)),),
                              transform=SpatialTransform(90, False), layers=(Layer("T", 1, (text,), grey=255),))
    ps = write_gsps(model, [ds])
    eight, twelve = print_image(ds, 0, ps, bits=8), print_image(ds, 0, ps, bits=12)
    assert twelve.bits == 12 and twelve.pixels.shape == eight.pixels.shape
    assert np.array_equal(eight.pixels, render_frame(ds, 0, ps).composite())  # the state's window, turned
    diff = np.abs(twelve.pixels / 4095.0 * 255.0 - eight.pixels.astype(float))
    assert diff.max() <= 0.5 + 0.5 * 255 / 4095 + 1e-6
    inside = (eight.pixels > 0) & (eight.pixels < 255)
    assert len(np.unique(twelve.pixels[inside])) > len(np.unique(eight.pixels[inside]))
