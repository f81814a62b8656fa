"""The study list against a real server: quick filters (QIDO-RS), sorting, keyboard navigation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from app.services.studies import StudyService
from app.services.study_filters import DatePreset
from app.ui.main_window import MainWindow
from app.ui.models import StudyTableModel as M
from app.ui.viewer_window import ViewerWindow
from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.ui.study_fixtures import reading_room, shown, store_study, wait_shown

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    """One server for the module (per index backend) holding the reading room's four studies,
    stored once: the tests filter, sort, select and open them; none changes what a list shows
    (opening a study marks it read, which no test here looks at)."""
    tmp = tmp_path_factory.mktemp("study-list")
    running = start_server(write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url),
                           tmp / "data")
    try:
        service = StudyService.connect(running.http_url, timeout=30)
        for spec in reading_room(TODAY):
            store_study(service, spec)
        service.close()
        yield running
    finally:
        assert stop_server(running) == 0


@pytest.fixture
def window(qtbot: QtBot, service: StudyService) -> Iterator[MainWindow]:
    win = MainWindow(service, refresh_seconds=0.5)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.study_model.rowCount() == 4, timeout=15000)
    yield win
    win.shutdown()


def test_text_filters_query_the_server(qtbot: QtBot, window: MainWindow) -> None:
    bar = window.filter_bar
    qtbot.keyClicks(bar.patient_name, "doe")  # case-insensitive prefix of the family name
    wait_shown(qtbot, window, {"PID001", "XID004"})
    assert window.study_filter.qido_params() == {"PatientName": "doe*"}
    assert sorted(shown(window, M.NAME)) == ["Doe, Jane", "Doe, John"]

    bar.patient_name.clear()
    qtbot.keyClicks(bar.patient_name, "Doe, Jo")  # "Family, Given" as typed
    wait_shown(qtbot, window, {"XID004"})

    bar.clear()
    wait_shown(qtbot, window, {"PID001", "PID002", "XID003", "XID004"})
    qtbot.keyClicks(bar.patient_id, "XID")
    wait_shown(qtbot, window, {"XID003", "XID004"})

    bar.clear()
    qtbot.keyClicks(bar.accession, "ACC2")
    wait_shown(qtbot, window, {"PID002", "XID003"})
    assert sorted(shown(window, M.ACCESSION)) == ["ACC200", "ACC210"]

    bar.clear()
    bar.set_modality("MR")
    wait_shown(qtbot, window, {"XID003"})
    assert shown(window, M.MODALITIES) == ["MR"]
    bar.set_modality("US")  # nothing of that modality: an empty list, not an error
    qtbot.waitUntil(lambda: window.study_model.rowCount() == 0, timeout=10000)
    assert "0 studies" in window.statusBar().currentMessage()


def test_date_filters_from_today(qtbot: QtBot, window: MainWindow) -> None:
    bar = window.filter_bar
    iso = TODAY.isoformat()
    bar.set_preset(DatePreset.TODAY)
    wait_shown(qtbot, window, {"PID001"})
    assert shown(window, M.STUDY_DATE)[0].startswith(iso)
    assert window.study_filter.qido_params() == {"StudyDate": TODAY.strftime("%Y%m%d")}

    bar.set_preset(DatePreset.YESTERDAY)
    wait_shown(qtbot, window, {"PID002"})
    assert shown(window, M.STUDY_DATE)[0].startswith((TODAY - dt.timedelta(days=1)).isoformat())

    bar.set_preset(DatePreset.LAST_7_DAYS)
    wait_shown(qtbot, window, {"PID001", "PID002", "XID003"})
    assert bar.date_from.isHidden()  # the custom range's date fields only show for a custom range

    bar.set_custom_range(TODAY - dt.timedelta(days=45), TODAY - dt.timedelta(days=2))
    assert bar.date_from.isVisibleTo(bar) and bar.date_to.isVisibleTo(bar)
    wait_shown(qtbot, window, {"XID003", "XID004"})
    low, high = TODAY - dt.timedelta(days=45), TODAY - dt.timedelta(days=2)
    assert window.study_filter.qido_params() == {"StudyDate": f"{low:%Y%m%d}-{high:%Y%m%d}"}

    bar.set_preset(DatePreset.ANY)
    wait_shown(qtbot, window, {"PID001", "PID002", "XID003", "XID004"})


def test_filters_combine(qtbot: QtBot, window: MainWindow) -> None:
    bar = window.filter_bar
    bar.set_preset(DatePreset.LAST_7_DAYS)
    wait_shown(qtbot, window, {"PID001", "PID002", "XID003"})
    qtbot.keyClicks(bar.patient_name, "doe")  # Doe^John is older than a week
    wait_shown(qtbot, window, {"PID001"})


def test_sorting_by_column(qtbot: QtBot, window: MainWindow) -> None:
    view = window.study_view
    # default: newest study first
    assert shown(window) == ["PID001", "PID002", "XID003", "XID004"]
    header = view.horizontalHeader()

    def click_header(column: int) -> None:
        pos = QPoint(header.sectionViewportPosition(column) + header.sectionSize(column) // 2, header.height() // 2)
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=pos)

    click_header(M.IMAGES)
    images = [int(v) for v in shown(window, M.IMAGES)]
    assert images in ([1, 2, 3, 10], [10, 3, 2, 1])  # numerically, not as text ("10" < "2")
    click_header(M.IMAGES)
    assert [int(v) for v in shown(window, M.IMAGES)] == sorted(images, reverse=images[0] < images[-1])

    click_header(M.NAME)
    names = shown(window, M.NAME)
    assert names in (sorted(names), sorted(names, reverse=True)) and len(set(names)) == 4


def test_keyboard_selects_and_lists_series(qtbot: QtBot, window: MainWindow) -> None:
    view = window.study_view
    view.setFocus()
    view.selectRow(0)
    qtbot.waitUntil(lambda: window.series_model.rowCount() == 1, timeout=10000)
    with qtbot.waitSignal(window.series_loaded, timeout=10000):
        qtbot.keyClick(view, Qt.Key.Key_Down)
    assert window.selected_study() is not None and window.selected_study().patient_id == "PID002"
    assert "Roe, Richard" in window.series_label.text()
    assert window.series_model.row(0).number_of_images == 2
    qtbot.keyClick(view, Qt.Key.Key_End)  # the last row
    qtbot.waitUntil(lambda: "Doe, John" in window.series_label.text(), timeout=10000)


def test_enter_opens_the_study_in_the_viewer(qtbot: QtBot, window: MainWindow) -> None:
    view = window.study_view
    view.setFocus()
    view.selectRow(2)  # Moe^Anna, 10 MR images
    study = window.selected_study()
    assert study is not None and study.patient_id == "XID003"
    with qtbot.waitSignal(window.viewer_opened, timeout=10000) as opened:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    viewer = opened.args[0]
    assert isinstance(viewer, ViewerWindow)
    assert viewer.windowTitle().startswith("Moe, Anna")
    assert len(viewer.matrix.series_keys()) == 1  # the study's one series
    viewport = viewer.active_viewport()
    qtbot.waitUntil(lambda: viewport.stack is not None and len(viewport.stack) == 10, timeout=20000)
    assert viewport.rendered_image() is not None
    # opened = read: the status column says so once the server answered
    qtbot.waitUntil(lambda: window.study_model.status(study) == "read", timeout=10000)

    # Enter again brings the same window back, no second one
    with qtbot.waitSignal(window.viewer_opened, timeout=10000) as again:
        qtbot.keyClick(view, Qt.Key.Key_Enter)
    assert again.args[0] is viewer


def test_today_is_recomputed_at_each_query(qtbot: QtBot, window: MainWindow) -> None:
    bar = window.filter_bar
    bar.set_preset(DatePreset.TODAY)
    wait_shown(qtbot, window, {"PID001"})
    bar._today = TODAY + dt.timedelta(days=1)  # the workstation stayed open past midnight
    with qtbot.waitSignal(window.studies_loaded, timeout=10000):
        window.refresh_studies()
    assert window.study_filter.qido_params() == {"StudyDate": f"{TODAY + dt.timedelta(days=1):%Y%m%d}"}
    assert window.study_model.rowCount() == 0  # "today" is now the day after: nothing yet


def test_find_shortcut_focuses_the_name_filter(qtbot: QtBot, window: MainWindow) -> None:
    window.study_view.setFocus()
    window.find_action.trigger()
    assert window.filter_bar.patient_name.hasFocus()
    qtbot.keyClicks(window.filter_bar.patient_name, "roe")
    qtbot.keyClick(window.filter_bar.patient_name, Qt.Key.Key_Return)  # applies at once
    wait_shown(qtbot, window, {"PID002"})
