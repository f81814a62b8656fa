"""The information window against a real server: lists, refreshes, opens series."""

from __future__ import annotations

from pydicom import dcmread
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from app.dicom.value_format import format_date
from app.dicom.value_format import format_person_name as format_name
from app.services.studies import StudyService
from app.ui.main_window import MainWindow
from app.ui.models import StudyTableModel as M
from tests.ui.uihelpers import ct_series, dicom_path, to_bytes


def _double_click(qtbot: QtBot, view: QTableView, row: int) -> None:
    """A real double click on a row: press/release, then the double click (Qt 6 item views need both)."""
    pos = view.visualRect(view.model().index(row, 0)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _cells(win: MainWindow, row: int) -> list[str]:
    model = win.study_view.model()
    return [model.index(row, c).data() for c in range(model.columnCount())]


def test_lists_studies_and_refreshes(qtbot: QtBot, service: StudyService, window: MainWindow) -> None:
    assert "Lightbox" in window.windowTitle()
    assert service.store_files([dicom_path("CT_small.dcm")]).stored == 1
    window.start()
    qtbot.waitUntil(lambda: window.study_model.rowCount() == 1, timeout=10000)
    ct = dcmread(dicom_path("CT_small.dcm"))
    cells = _cells(window, 0)
    assert cells[M.NAME] == format_name(str(ct.PatientName))
    assert cells[M.PATIENT_ID] == ct.PatientID
    assert cells[M.STUDY_DATE].startswith(format_date(ct.StudyDate))
    assert cells[M.MODALITIES] == "CT" and cells[M.SERIES] == "1" and cells[M.IMAGES] == "1"

    # a new study arrives: the list refreshes by itself (poll of /api/status)
    assert service.store_files([dicom_path("MR_small.dcm")]).stored == 1
    qtbot.waitUntil(lambda: window.study_model.rowCount() == 2, timeout=10000)
    ids = {s.patient_id for s in window.study_model.rows()}
    assert str(dcmread(dicom_path("MR_small.dcm")).PatientID) in ids


def test_double_click_study_then_series_opens_viewer(qtbot: QtBot, service: StudyService, window: MainWindow) -> None:
    images = ct_series(3)
    assert service.store_files([to_bytes(ds) for ds in reversed(images)]).stored == 3
    window.start()
    qtbot.waitUntil(lambda: window.study_model.rowCount() == 1, timeout=10000)

    with qtbot.waitSignal(window.series_loaded, timeout=10000):  # selecting a study lists its series
        qtbot.mouseClick(window.study_view.viewport(), Qt.MouseButton.LeftButton,
                         pos=window.study_view.visualRect(window.study_view.model().index(0, 0)).center())
    assert window.series_model.rowCount() == 1
    assert window.series_model.row(0).number_of_images == 3

    with qtbot.waitSignal(window.viewer_opened, timeout=5000) as opened:
        _double_click(qtbot, window.series_view, 0)
    viewer = opened.args[0]
    viewport = viewer.active_viewport()
    qtbot.waitUntil(lambda: viewport.stack is not None and len(viewport.stack) == 3, timeout=15000)
    assert viewport.rendered_image() is not None
    assert viewer.matrix.series_keys() == [window.series_model.row(0).series_instance_uid]


def test_server_down_is_shown(qtbot: QtBot) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = StudyService.connect(f"http://127.0.0.1:{port}", timeout=2)
    win = MainWindow(service, refresh_seconds=0.2)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: "unavailable" in win.server_label.text(), timeout=10000)
    assert "Cannot reach the image server" in win.server_label.toolTip()
    win.shutdown()
    service.close()
