"""pytest-qt tests of the print preview: what it shows is the composed film; layout change,
rearranging (buttons and drag in the strip), removing, fit/fill, paging, and printing from the
preview into DCMTK's dcmprscp and into a Print SCP that answers FAILURE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt

from app.core.workstation_config import PrinterConfig, WorkstationConfig
from app.printing.compose import FILL
from app.printing.print_images import PrintImage
from app.services.printing import FilmSettings, PrintService, compose_films, images_from_datasets
from app.ui.print_preview import FILE_TARGET, PrintPreview
from tests.print_peers import Answers, print_scp, running_dcmprscp
from tests.ui.uihelpers import ct_series, dicom_path


def _images(count: int = 5) -> list[PrintImage]:
    datasets = [*ct_series(count - 1), pydicom.dcmread(dicom_path("MR_small.dcm"))]
    return images_from_datasets(datasets)


def _preview(qtbot, images: list[PrintImage], printers: tuple[PrinterConfig, ...] = ()) -> PrintPreview:  # type: ignore[no-untyped-def]
    service = PrintService(WorkstationConfig(printers=printers))
    preview = PrintPreview(images, service)
    qtbot.addWidget(preview)
    preview.show()
    return preview


def _expected(preview: PrintPreview, images: list[PrintImage], modes: list[str] | None = None) -> list:  # type: ignore[type-arg]
    return compose_films(images, preview.profile, preview.settings(), modes or [])


def test_shows_the_composed_film_and_changes_layout(qtbot) -> None:  # type: ignore[no-untyped-def]
    images = _images(5)
    preview = _preview(qtbot, images)
    assert preview.layout_box.currentText() == "1x1" and len(preview.films) == 5
    preview.layout_box.setCurrentText("2x2")
    assert len(preview.films) == 2 and len(preview.current_film().cells) == 4
    assert preview.page_label.text() == "Film 1 of 2"
    assert np.array_equal(preview.current_film().pixels, _expected(preview, images)[0].pixels)
    shown = preview.film_view.pixmap()
    assert not shown.isNull()
    spec = preview.current_film().spec
    assert shown.width() / shown.height() == pytest.approx(spec.columns / spec.rows, abs=0.01)  # the film's shape
    preview.layout_box.setCurrentText("3x2")  # custom layout
    assert len(preview.films) == 1 and len(preview.current_film().cells) == 6
    preview.orientation_box.setCurrentText("LANDSCAPE")
    spec = preview.current_film().spec
    assert spec.columns > spec.rows and spec.orientation == "LANDSCAPE"
    preview.layout_box.setCurrentText("nonsense")
    assert "columns x rows" in preview.info.text() and len(preview.films) == 1  # keeps the last good films


def test_paging(qtbot) -> None:  # type: ignore[no-untyped-def]
    preview = _preview(qtbot, _images(5))
    preview.layout_box.setCurrentText("2x2")
    assert not preview.prev_button.isEnabled() and preview.next_button.isEnabled()
    qtbot.mouseClick(preview.next_button, Qt.MouseButton.LeftButton)
    assert preview.page == 1 and preview.page_label.text() == "Film 2 of 2"
    assert sum(r is not None for r in preview.current_film().shown) == 1  # the fifth image alone
    assert not preview.next_button.isEnabled()
    qtbot.mouseClick(preview.prev_button, Qt.MouseButton.LeftButton)
    assert preview.page == 0


def test_clicking_a_cell_selects_its_image(qtbot) -> None:  # type: ignore[no-untyped-def]
    preview = _preview(qtbot, _images(5))
    preview.layout_box.setCurrentText("2x2")
    qtbot.waitExposed(preview)
    view, film = preview.film_view, preview.current_film()
    shown = view.pixmap()
    left, top = (view.width() - shown.width()) / 2, (view.height() - shown.height()) / 2
    scale = shown.width() / film.spec.columns
    cell = film.cells[3]  # bottom right
    point = QPoint(round(left + (cell.left + cell.width / 2) * scale),
                   round(top + (cell.top + cell.height / 2) * scale))
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=point)
    assert preview.selected() == [3]
    preview.go_to_page(1)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=point)  # an empty cell of film 2
    assert preview.selected() == []
    first = film.cells[0]
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(
        round(left + (first.left + first.width / 2) * scale), round(top + (first.top + first.height / 2) * scale)))
    assert preview.selected() == [4]  # the fifth image, first cell of film 2


def test_rearrange_remove_and_fill(qtbot) -> None:  # type: ignore[no-untyped-def]
    images = _images(4)
    preview = _preview(qtbot, images)
    preview.layout_box.setCurrentText("2x2")
    preview.strip.setCurrentRow(0)
    qtbot.mouseClick(preview.later_button, Qt.MouseButton.LeftButton)
    order = [images[1], images[0], images[2], images[3]]
    assert preview.images == order
    assert np.array_equal(preview.current_film().pixels, _expected(preview, order)[0].pixels)
    # dragging in the strip: the model's row move is what a drop does
    assert preview.strip.model().moveRow(QModelIndex(), 3, QModelIndex(), 0)
    order = [order[3], *order[:3]]
    assert preview.images == order
    assert np.array_equal(preview.current_film().pixels, _expected(preview, order)[0].pixels)
    # fill for the selected image only
    preview.strip.setCurrentRow(1)
    preview.mode_box.setCurrentText(FILL)
    assert preview.modes == ["fit", FILL, "fit", "fit"]
    film = preview.current_film()
    assert film.shown[1] == film.cells[1] and film.shown[0] != film.cells[0]
    # remove two
    preview.strip.clearSelection()
    preview.strip.item(0).setSelected(True)
    preview.strip.item(2).setSelected(True)
    qtbot.mouseClick(preview.remove_button, Qt.MouseButton.LeftButton)
    assert preview.images == [order[1], order[3]] and preview.strip.count() == 2
    assert sum(r is not None for r in preview.current_film().shown) == 2


def test_print_from_the_preview_into_dcmprscp(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with running_dcmprscp(tmp_path) as printer:
        config = PrinterConfig("film", printer.peer.ae_title, printer.peer.host, printer.peer.port, "dcmprscp")
        preview = _preview(qtbot, _images(5), (config,))
        assert preview.profile.name == "dcmprscp" and preview.current_film().bits == 12
        preview.size_box.setCurrentText("8INX10IN")
        preview.layout_box.setCurrentText("2x2")
        with qtbot.waitSignal(preview.print_finished, timeout=120_000) as done:
            qtbot.mouseClick(preview.print_button, Qt.MouseButton.LeftButton)
        outcomes = done.args[0]
        assert [o.printed for o in outcomes] == [True, True]
        assert printer.count("HG") == 2
        stored = sorted(printer.database.glob("HG_*.dcm"), key=lambda p: p.stat().st_mtime_ns)
        for path, film in zip(stored, preview.films, strict=True):
            assert np.array_equal(pydicom.dcmread(path).pixel_array, film.pixels)
    assert "2 of 2 film(s) printed." in preview.log.toPlainText()
    assert preview.print_button.isEnabled()


def test_printer_failure_is_shown(qtbot) -> None:  # type: ignore[no-untyped-def]
    answers = Answers(printer_status="FAILURE", printer_status_info="NO SUPPLY MGZ")
    with print_scp(answers) as peer:
        config = PrinterConfig("broken", peer.ae_title, peer.host, peer.port, "default")
        preview = _preview(qtbot, _images(2), (config,))
        with qtbot.waitSignal(preview.print_finished, timeout=60_000) as done:
            qtbot.mouseClick(preview.print_button, Qt.MouseButton.LeftButton)
    assert not done.args[0][0].printed
    text = preview.log.toPlainText()
    assert "NO SUPPLY MGZ" in text and "0 of 2 film(s) printed." in text


def test_unreachable_printer_and_file_output(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.print_peers import free_port

    config = PrinterConfig("gone", "NOPRINTER", "127.0.0.1", free_port(), "default")
    preview = _preview(qtbot, _images(2), (config,))
    with qtbot.waitSignal(preview.print_failed, timeout=60_000) as failed:
        qtbot.mouseClick(preview.print_button, Qt.MouseButton.LeftButton)
    assert "Cannot connect" in failed.args[0] and "Not printed" in preview.log.toPlainText()
    preview.printer_box.setCurrentText(FILE_TARGET)
    assert preview.print_button.text() == "Save..."
    written = preview.save_to(tmp_path / "films.png")
    assert [p.name for p in written] == ["films-1.png", "films-2.png"]
    assert FilmSettings().film_size_id == preview.size_box.currentText()
