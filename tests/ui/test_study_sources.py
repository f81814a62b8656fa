"""The information window's sources against real parts: the temporary Storage SCP fed by DCMTK
``storescu`` (its studies listed with their counts, filtered locally, opened, imported to the real
server and then listed by the Server source) and a disc written by the file-set writer, listed as
"Media: ..." until closed and opened in a viewer from the list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.media.file_set_writer import FileSetWriter
from app.net.temporary_store import TemporaryStorageSCP
from app.services.media import ImportReport, open_media
from app.services.studies import StudyService
from app.services.study_filters import DatePreset
from app.services.study_sources import TEMPORARY_STORE, MediaStudySource, TemporaryStoreSource
from app.ui.main_window import MainWindow
from app.ui.media_menu import install_media
from app.ui.models import StudyTableModel as M
from app.ui.viewer_window import ViewerWindow
from tests.media_data import study as media_study
from tests.qr_archive import storescu_to, temporary_store_fixture, write_study
from tests.ui.study_fixtures import shown, wait_shown

pytestmark = pytest.mark.peer

TODAY = dt.date.today()
STORE_AE = "READ1STORE"


store_fixture = temporary_store_fixture(STORE_AE)


@pytest.fixture
def window(qtbot: QtBot, service: StudyService, store: TemporaryStorageSCP) -> Iterator[MainWindow]:
    win = MainWindow(service, refresh_seconds=0.5)
    win.add_study_source(TemporaryStoreSource.of(store))
    win.sources.timer.setInterval(200)
    qtbot.addWidget(win)
    win.show()
    win.start()
    yield win
    win.shutdown()


def select_row(qtbot: QtBot, win: MainWindow, patient_id: str) -> None:
    row = shown(win).index(patient_id)
    win.study_view.setFocus()
    win.study_view.selectRow(row)
    qtbot.waitUntil(lambda: win.series_model.rowCount() > 0, timeout=10000)


def test_temporary_store_lists_filters_opens_and_imports(
    qtbot: QtBot, window: MainWindow, service: StudyService, store: TemporaryStorageSCP, tmp_path: Path
) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    first = write_study(tmp_path / "in1", "TMP001", "Doe^Jane", [2, 3], study_date=f"{TODAY:%Y%m%d}",
                        accession="ACC77")  # fmt: skip
    second = write_study(tmp_path / "in2", "TMP002", "Roe^Richard", [4], study_date=f"{yesterday:%Y%m%d}",
                         accession="BCC12")  # fmt: skip
    storescu_to(store.port, STORE_AE, first.files)

    assert [s.name for s in window.sources.sources()] == ["Server", TEMPORARY_STORE]
    window.sources.choose_name(TEMPORARY_STORE)
    wait_shown(qtbot, window, {"TMP001"})  # listed from the received files' headers
    storescu_to(store.port, STORE_AE, second.files)
    wait_shown(qtbot, window, {"TMP001", "TMP002"})  # new images arrived: the list followed by itself
    rows = {r.patient_id: r for r in window.study_model.rows()}
    assert (rows["TMP001"].number_of_series, rows["TMP001"].number_of_images) == (2, 5)
    assert (rows["TMP002"].number_of_series, rows["TMP002"].number_of_images) == (1, 4)
    assert shown(window, M.IMAGES) == ["5", "4"] and shown(window, M.STATUS) == ["", ""]  # newest first, no status
    assert window.study_view.isColumnHidden(M.STATUS)

    # quick filters, applied locally with the server's rules
    bar = window.filter_bar
    qtbot.keyClicks(bar.patient_name, "roe, r")  # PN: case-insensitive, "Family, Given"
    wait_shown(qtbot, window, {"TMP002"})
    bar.clear()
    qtbot.keyClicks(bar.patient_id, "*001")
    wait_shown(qtbot, window, {"TMP001"})
    bar.clear()
    qtbot.keyClicks(bar.accession, "BCC")
    wait_shown(qtbot, window, {"TMP002"})
    bar.clear()
    bar.set_preset(DatePreset.TODAY)
    wait_shown(qtbot, window, {"TMP001"})
    bar.set_preset(DatePreset.YESTERDAY)
    wait_shown(qtbot, window, {"TMP002"})
    bar.set_preset(DatePreset.LAST_7_DAYS)
    wait_shown(qtbot, window, {"TMP001", "TMP002"})
    bar.set_modality("MR")
    wait_shown(qtbot, window, set())
    bar.clear()
    wait_shown(qtbot, window, {"TMP001", "TMP002"})

    # the series below, with their counts; server-only actions off, import on
    select_row(qtbot, window, "TMP001")
    assert [(s.series_number, s.number_of_images) for s in window.series_model.rows()] == [(1, 2), (2, 3)]
    controller = window.controller
    assert not any(a.isEnabled() for a in controller.server_actions())
    assert "Import the study to the server first" in controller.send_action.toolTip()
    assert window.source_actions.import_action.isEnabled() and window.open_action.isEnabled()

    # Enter opens the study in a viewer, read from the temporary files
    with qtbot.waitSignal(window.viewer_opened, timeout=15000) as opened:
        qtbot.keyClick(window.study_view, Qt.Key.Key_Return)
    viewer = opened.args[0]
    assert isinstance(viewer, ViewerWindow) and TEMPORARY_STORE in viewer.windowTitle()
    assert set(viewer.matrix.series_keys()) == set(first.series)
    viewport = viewer.active_viewport()
    qtbot.waitUntil(lambda: viewport.stack is not None and len(viewport.stack) == 2, timeout=20000)
    assert viewport.rendered_image() is not None
    # a series opened from the series list: the same window, that series shown
    second_series = window.series_model.rows()[1]
    with qtbot.waitSignal(window.viewer_opened, timeout=15000) as again:
        window.open_series(second_series)
    assert again.args[0] is viewer
    qtbot.waitUntil(lambda: (ds := viewer.active_viewport().current_dataset()) is not None
                    and ds.SeriesInstanceUID == second_series.series_instance_uid, timeout=20000)  # fmt: skip

    # Import to server: the study is stored on the real server and listed by the Server source
    assert service.list_studies() == []
    with qtbot.waitSignal(window.source_actions.imported, timeout=60000) as done:
        window.source_actions.import_action.trigger()
    report = done.args[1]
    assert isinstance(report, ImportReport) and report.complete and len(report.imported) == 5
    window.sources.choose_name("Server")
    wait_shown(qtbot, window, {"TMP001"})
    on_server = window.study_model.rows()[0]
    assert (on_server.study_instance_uid, on_server.number_of_series, on_server.number_of_images) == (
        first.study_uid, 2, 5)  # fmt: skip
    select_row(qtbot, window, "TMP001")
    assert window.controller.send_action.isEnabled() and not window.source_actions.import_action.isEnabled()
    assert not window.study_view.isColumnHidden(M.STATUS)


def test_media_is_a_source_until_closed_and_opens_in_a_viewer(
    qtbot: QtBot, window: MainWindow, service: StudyService, tmp_path: Path
) -> None:
    writer = FileSetWriter(tmp_path / "disc", file_set_id="WARD7 CD")
    datasets = media_study("MED1", "Media^Patient", count=4)
    for ds in datasets:
        assert writer.add(ds)
    written = writer.write()
    # File > Import media..., read the disc, Open in viewer: the disc is listed as a source too
    media = install_media(window)
    dialog = media.open_import()
    with qtbot.waitSignal(dialog.tree_loaded, timeout=30000):
        dialog.read(written.root)
    with qtbot.waitSignal(dialog.sources_opened, timeout=15000):
        dialog.open_selected()
    source = window.sources.sources()[-1]
    assert source.name == "Media: WARD7 CD" and isinstance(source, MediaStudySource)
    assert window.add_media(open_media(written.root / "DICOMDIR")) is source  # the same disc is listed once
    assert [s.name for s in window.sources.sources()] == ["Server", TEMPORARY_STORE, "Media: WARD7 CD"]

    # keyboard: Alt+O goes to the selector, Ctrl+Alt+3 chooses the third source
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # the viewer of the dialog came on top
    window.study_view.setFocus()
    qtbot.keyClick(window.study_view, Qt.Key.Key_O, Qt.KeyboardModifier.AltModifier)
    assert window.sources.combo.hasFocus()
    ctrl_alt = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
    qtbot.keyClick(window.sources.combo, Qt.Key.Key_3, ctrl_alt)
    assert window.sources.current is source
    wait_shown(qtbot, window, {"MED1"})
    row = window.study_model.rows()[0]
    assert (row.number_of_series, row.number_of_images) == (4, 7)  # CT + PR + KO + SR, from the DICOMDIR
    assert row.modalities.split("\\") == ["CT", "KO", "PR", "SR"]
    assert window.sources.close_button.isVisible() and window.source_actions.close_media_action.isEnabled()

    select_row(qtbot, window, "MED1")
    with qtbot.waitSignal(window.viewer_opened, timeout=15000) as shown_viewer:
        view = window.study_view
        centre = view.visualRect(view.currentIndex()).center()
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)  # a double-click: press first
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    viewer = shown_viewer.args[0]
    assert isinstance(viewer, ViewerWindow) and "Media: WARD7 CD" in viewer.windowTitle()
    ct = next(ds for ds in datasets if ds.Modality == "CT")
    assert viewer.matrix.series_keys() == [ct.SeriesInstanceUID]  # PR/KO/SR are badges, not entries
    viewport = viewer.active_viewport()
    qtbot.waitUntil(lambda: viewport.stack is not None and len(viewport.stack) == 4, timeout=20000)

    window.source_actions.close_media_action.trigger()
    assert [s.name for s in window.sources.sources()] == ["Server", TEMPORARY_STORE]
    assert window.sources.current.name == "Server"
    assert service.list_studies() == []  # nothing was imported
    media.shutdown()
