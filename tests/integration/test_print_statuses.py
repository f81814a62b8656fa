"""Print SCU against a pynetdicom Print SCP answering what DCMTK cannot be made to answer:
printer WARNING and FAILURE, refused attributes with the others returned, a failing step, a
rejected association (reference 3.3.2.1: NORMAL continues, WARNING continues and shows Printer
Status Info, FAILURE aborts and shows it)."""

from __future__ import annotations

import numpy as np
import pytest

from app.net.association import AssociationError, Peer
from app.net.print_scu import PRINTER_ATTRIBUTES_MINIMAL, FilmJob, print_film
from app.printing.compose import FilmSpec, compose_film
from app.printing.film_job import film_job
from app.printing.layouts import Layout
from app.printing.print_images import PrintImage
from app.printing.profiles import PrinterProfile
from tests.print_peers import Answers, print_scp


def _job(**changes: object) -> FilmJob:
    spec = FilmSpec(columns=300, rows=400, layout=Layout(1, 1), header=False)
    film = compose_film([PrintImage(np.full((20, 20), 128, dtype=np.uint8))], spec)
    job = film_job(film, PrinterProfile("test", supports_presentation_lut=True))
    return FilmJob(**{**job.__dict__, **changes})


def test_normal_printer_full_sequence_and_what_was_sent() -> None:
    answers = Answers()
    job = _job()
    with print_scp(answers) as peer:
        outcome = print_film(peer, job, "DICOM_PRINT_SCU")
    assert outcome.printed and outcome.cleaned_up and not outcome.warnings
    assert outcome.printer is not None and outcome.printer.attributes["PrinterName"] == "Test printer"
    assert answers.operations() == ["N-GET printer", "N-CREATE session", "N-CREATE lut", "N-CREATE box",
                                    "N-SET image", "N-ACTION box", "N-DELETE box", "N-DELETE session"]
    box = answers.received[3][2]
    assert box is not None and box.ImageDisplayFormat == "STANDARD\\1,1"
    image_box = answers.received[4][2]
    assert image_box is not None and image_box.Polarity == "NORMAL"
    item = image_box.BasicGrayscaleImageSequence[0]
    assert (item.Rows, item.Columns, item.BitsStored) == (400, 300, 8)
    assert np.frombuffer(item.PixelData, np.uint8).reshape(400, 300).tolist() == job.pixels.tolist()


def test_warning_continues_and_shows_the_status_info() -> None:
    answers = Answers(printer_status="WARNING", printer_status_info="FILM TRANSP ERR")
    with print_scp(answers) as peer:
        outcome = print_film(peer, _job(), "DICOM_PRINT_SCU")
    assert outcome.printed
    assert any("WARNING" in w and "FILM TRANSP ERR" in w for w in outcome.warnings)
    assert "FILM TRANSP ERR" in outcome.lines()[0]


def test_failure_aborts_before_anything_is_created() -> None:
    answers = Answers(printer_status="FAILURE", printer_status_info="NO SUPPLY MGZ")
    with print_scp(answers) as peer:
        outcome = print_film(peer, _job(), "DICOM_PRINT_SCU")
    assert not outcome.printed
    assert "FAILURE" in outcome.message and "NO SUPPLY MGZ" in outcome.message
    assert answers.operations() == ["N-GET printer"]


def test_refused_attributes_with_the_others_returned() -> None:
    answers = Answers(get_status=0x0107, refuse=("PrinterName",))  # Warning: attribute list error
    with print_scp(answers) as peer:
        outcome = print_film(peer, _job(printer_attributes=PRINTER_ATTRIBUTES_MINIMAL), "DICOM_PRINT_SCU")
    assert outcome.printed and outcome.printer is not None
    assert outcome.printer.status == "NORMAL" and outcome.printer.refused == ("PrinterName",)
    assert answers.operations().count("N-GET printer") == 1  # what came back was enough


def test_failed_print_action_is_reported_and_cleaned_up() -> None:
    answers = Answers(fail={"N-ACTION": 0xC602})
    with print_scp(answers) as peer:
        outcome = print_film(peer, _job(), "DICOM_PRINT_SCU")
    assert not outcome.printed and outcome.cleaned_up
    failed = [s for s in outcome.steps if not s.ok]
    assert [s.operation for s in failed] == ["N-ACTION Print (film box)"]
    assert "Failure 0xC602" in failed[0].describe() and "print queue is full" in failed[0].describe()
    assert answers.operations()[-2:] == ["N-DELETE box", "N-DELETE session"]  # nothing left half-done


def test_failed_film_box_deletes_the_session() -> None:
    answers = Answers(fail={"N-CREATE box": 0x0106})
    with print_scp(answers) as peer:
        outcome = print_film(peer, _job(), "DICOM_PRINT_SCU")
    assert not outcome.printed and "film box was not created" in outcome.message
    assert "N-CREATE Basic Film Box: Failure 0x0106: Invalid Attribute Value" in outcome.lines()
    assert answers.operations()[-1] == "N-DELETE session" and "N-SET image" not in answers.operations()


def test_failed_delete_says_so() -> None:
    answers = Answers(fail={"N-DELETE": 0x0110})
    with print_scp(answers) as peer:
        outcome = print_film(peer, _job(), "DICOM_PRINT_SCU")
    assert outcome.printed and not outcome.cleaned_up and "may still hold" in outcome.message


def test_rejected_association_raises_with_the_reason() -> None:
    with print_scp(Answers(), ae_title="OTHER_PRINTER") as peer:
        wrong = Peer("PRINT_SERVER_SCP", peer.host, peer.port)
        with pytest.raises(AssociationError, match="rejected") as info:
            print_film(wrong, _job(), "DICOM_PRINT_SCU")
    assert info.value.kind == "rejected"


def test_printer_aborting_during_the_image_is_reported() -> None:
    answers = Answers(abort_on="N-SET")
    with print_scp(answers) as peer:
        # the SCU stops waiting for the aborted N-SET's answer after its DIMSE timeout: 5 s, not the
        # default 30 s, is ample for the steps before it on the loopback
        outcome = print_film(peer, _job(), "DICOM_PRINT_SCU", timeout=5.0)
    assert not outcome.printed and not outcome.cleaned_up
    assert "did not take the film image" in outcome.message and "may still hold" in outcome.message
    described = [s.describe() for s in outcome.steps]
    assert any(d.startswith("N-SET Basic Grayscale Image Box: no response") for d in described)
    assert outcome.steps[-1].status is None and "not sent" in outcome.steps[-1].comment  # the deletes
