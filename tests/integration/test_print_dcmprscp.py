"""Print SCU against DCMTK's print SCP ``dcmprscp``: what it stores is what was composed and configured.

``dcmprscp`` keeps each N-SET image box as a Hardcopy Grayscale Image (``HG_*.dcm``, pixels as
received) and each print as a Stored Print (``SP_*.dcm``: film box attributes, Presentation LUT);
film session attributes appear only in its ``+d`` log.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from app.core.workstation_config import WorkstationConfig
from app.net.print_scu import print_film
from app.printing.film_job import film_job
from app.printing.profiles import PrinterProfile, load_profile
from app.services.printing import FilmSettings, PrintService, compose_films, images_from_files
from tests.print_peers import running_dcmprscp

pytestmark = pytest.mark.peer

CT = Path(get_testdata_file("CT_small.dcm", download=False))
MR = Path(get_testdata_file("MR_small.dcm", download=False))


def _films(profile: PrinterProfile, layout: str = "2x2", **kw: object) -> list:  # type: ignore[type-arg]
    settings = FilmSettings.of(profile, layout=layout, **kw)
    return compose_films(images_from_files([CT, MR, CT], profile.bits), profile, settings)


def test_12_bit_film_with_presentation_lut(tmp_path: Path) -> None:
    profile = load_profile("dcmprscp")
    film = _films(profile, film_size_id="8INX10IN", orientation="LANDSCAPE")[0]
    with running_dcmprscp(tmp_path) as printer:
        outcome = print_film(printer.peer, film_job(film, profile), "DICOM_PRINT_SCU")
        stored, image = printer.newest("SP"), printer.newest("HG")
        log = printer.log_text()
    assert outcome.printed and outcome.cleaned_up, outcome.lines()
    # DCMTK refuses Printer Name and the other optional attributes (0x0105): asked again, printed anyway
    assert outcome.steps[0].status == 0x0105 and outcome.printer is not None
    assert outcome.printer.status == "NORMAL" and "PrinterName" in outcome.printer.refused
    assert [s.operation for s in outcome.steps[2:]] == [
        "N-CREATE Basic Film Session", "N-CREATE Presentation LUT", "N-CREATE Basic Film Box",
        "N-SET Basic Grayscale Image Box", "N-ACTION Print (film box)", "N-DELETE Basic Film Box",
        "N-DELETE Basic Film Session"]
    box = stored.FilmBoxContentSequence[0]
    assert box.ImageDisplayFormat == "STANDARD\\1,1"
    assert (box.FilmOrientation, box.FilmSizeID, box.MagnificationType) == ("LANDSCAPE", "8INX10IN", "NONE")
    assert (box.BorderDensity, box.EmptyImageDensity, box.Trim) == ("BLACK", "BLACK", "YES")
    assert (box.MinDensity, box.MaxDensity) == (20, 320)
    lut_uid = box.ReferencedPresentationLUTSequence[0].ReferencedSOPInstanceUID
    lut = stored.PresentationLUTContentSequence[0]
    assert lut.SOPInstanceUID == lut_uid and lut.PresentationLUTShape == "IDENTITY"
    assert stored.ImageBoxContentSequence[0].Polarity == "NORMAL"
    assert stored.PrinterCharacteristicsSequence[0].Originator == "DICOM_PRINT_SCU"
    # the image box holds exactly the composed film
    assert (image.Rows, image.Columns, image.BitsStored) == (2400, 3000, 12)
    assert np.array_equal(image.pixel_array, film.pixels)
    # film session attributes: only in dcmprscp's dump of the N-CREATE
    session = log[log.index("BasicFilmSessionSOPClass"):][:3000]
    for value in ("(2000,0010) IS [1]", "(2000,0020) CS [MED]", "(2000,0030) CS [BLUE FILM]",
                  "(2000,0040) CS [MAGAZINE]"):
        assert value in session


def test_8_bit_film_without_presentation_lut(tmp_path: Path) -> None:
    profile = load_profile("default")
    films = _films(profile, layout="1x1")  # three images: three films, three associations
    service = PrintService(WorkstationConfig())
    with running_dcmprscp(tmp_path) as printer:
        outcomes = service.print_films(printer.peer, profile, films)
        assert printer.count("SP") == 3 and printer.count("HG") == 3
        stored, image = printer.newest("SP"), printer.newest("HG")
    assert [o.printed for o in outcomes] == [True, True, True]
    assert (image.BitsStored, image.Rows, image.Columns) == (8, 5100, 4200)  # 14x17 in portrait at 300 dpi
    assert np.array_equal(image.pixel_array, films[-1].pixels)
    assert "PresentationLUTContentSequence" not in stored or not stored.PresentationLUTContentSequence
    assert "ReferencedPresentationLUTSequence" not in stored.FilmBoxContentSequence[0]


def _variant(**changes: object) -> PrinterProfile:
    profile = load_profile("dcmprscp")
    return type(profile)(**{**profile.__dict__, **changes})


def test_implicit_vr_only_printer(tmp_path: Path) -> None:
    profile = _variant(implicit_vr_only=True)
    film = _films(profile, layout="1x1", film_size_id="8INX10IN")[0]
    with running_dcmprscp(tmp_path, implicit_only=True) as printer:
        outcome = print_film(printer.peer, film_job(film, profile), "DICOM_PRINT_SCU")
        image = printer.newest("HG")
        log = printer.log_text()
    assert outcome.printed, outcome.lines()
    request = log[log.rindex("BEGIN A-ASSOCIATE-RQ") : log.rindex("END A-ASSOCIATE-RQ")]
    assert "LittleEndianImplicit" in request and "LittleEndianExplicit" not in request  # only Implicit proposed
    assert np.array_equal(image.pixel_array, film.pixels)


def test_printer_requiring_a_matching_presentation_lut(tmp_path: Path) -> None:
    """DCMTK's PresentationLUTMatchRequired: a LUT of 2^bits entries is accepted (DCMTK reads LUT Data
    only as US, i.e. in Explicit VR)."""
    profile = _variant(presentation_lut_match_required=True)
    film = _films(profile, layout="1x1", film_size_id="8INX10IN")[0]
    with running_dcmprscp(tmp_path, match_lut=True) as printer:
        outcome = print_film(printer.peer, film_job(film, profile), "DICOM_PRINT_SCU")
        stored = printer.newest("SP")
    assert outcome.printed, outcome.lines()
    item = stored.PresentationLUTContentSequence[0].PresentationLUTSequence[0]
    data = item.LUTData if isinstance(item.LUTData, list) else np.frombuffer(item.LUTData, "<u2").tolist()
    assert list(item.LUTDescriptor) == [4096, 0, 12] and data == list(range(4096))  # identity onto P-values


def test_cli_prints_into_dcmprscp(tmp_path: Path) -> None:
    with running_dcmprscp(tmp_path / "scp") as printer:
        done = subprocess.run(
            [sys.executable, "-m", "app", "print", "--printer", str(printer.peer), "--profile", "dcmprscp",
             "--layout", "2x1", "--film-size", "10INX12IN", "--orientation", "LANDSCAPE", str(CT), str(MR)],
            capture_output=True, text=True, timeout=120)
        stored, image = printer.newest("SP"), printer.newest("HG")
    assert done.returncode == 0, done.stderr
    assert "Printer" in done.stdout and "NORMAL" in done.stdout and "The film was printed." in done.stdout
    assert "Printer: NORMAL" in done.stdout
    assert "N-GET Printer: Failure 0x0105: No Such Attribute (some requested attributes are not" in done.stdout
    box = stored.FilmBoxContentSequence[0]
    assert (box.ImageDisplayFormat, box.FilmSizeID, box.FilmOrientation) == ("STANDARD\\1,1", "10INX12IN", "LANDSCAPE")
    assert (image.Columns, image.Rows) == (3600, 3000)
    expected = compose_films(images_from_files([CT, MR], 12), load_profile("dcmprscp"),
                             FilmSettings("10INX12IN", "LANDSCAPE", "2x1"))[0]
    assert np.array_equal(image.pixel_array, expected.pixels)


def test_cli_writes_pdf_and_reports_an_unreachable_printer(tmp_path: Path) -> None:
    pdf = tmp_path / "film.pdf"
    done = subprocess.run([sys.executable, "-m", "app", "print", "--output", str(pdf), "--layout", "2x2", str(CT)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and pdf.read_bytes().startswith(b"%PDF"), done.stderr
    from tests.print_peers import free_port

    done = subprocess.run([sys.executable, "-m", "app", "print", "--printer", f"NOPRINTER@127.0.0.1:{free_port()}",
                           str(CT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Cannot connect" in done.stderr and "0 of 1 film(s) printed" in done.stderr


def test_cli_prints_to_a_configured_printer_with_its_profile(tmp_path: Path) -> None:
    with running_dcmprscp(tmp_path / "scp") as printer:
        config = tmp_path / "lightbox.toml"
        config.write_text(f"""[workstation]
print_calling_ae_title = "READING_ROOM_3"
[[workstation.printers]]
name = "film"
ae_title = "{printer.peer.ae_title}"
host = "{printer.peer.host}"
port = {printer.peer.port}
profile = "dcmprscp"
""")
        done = subprocess.run(
            [sys.executable, "-m", "app", "print", "--config", str(config), "--printer", "film", "--film-size",
             "8INX10IN", str(CT)], capture_output=True, text=True, timeout=120)
        stored, image = printer.newest("SP"), printer.newest("HG")
    assert done.returncode == 0, done.stderr
    assert "as READING_ROOM_3 (profile dcmprscp)" in done.stdout
    assert stored.PrinterCharacteristicsSequence[0].Originator == "READING_ROOM_3"
    assert image.BitsStored == 12 and stored.FilmBoxContentSequence[0].FilmSizeID == "8INX10IN"
