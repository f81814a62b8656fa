"""Study actions of the information window against a real server and a real DICOM peer.

Approve (status column), delete with its confirmation (cancel and accept), send to a destination
(DCMTK storescp) with the job's progress shown, a send cancelled from its status bar row while a slow
storescp receives it, a send that fails (nothing listening), and the export/print hooks.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.client.admin import AdminClient
from app.services.studies import StudyService
from app.services.study_actions import JobProgress, login_name
from app.ui.main_window import MainWindow
from app.ui.models import StudyTableModel as M
from app.ui.send_jobs import DestinationDialog, JobMonitor
from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.send_data import free_port, running_storescp
from tests.ui.study_fixtures import StudySpec, store_study

TODAY = dt.date.today()
JANE = StudySpec("Doe^Jane", "PID001", "ACC100", TODAY, "CT", 1, "CT Head")
ANNA = StudySpec("Moe^Anna", "XID003", "ACC210", TODAY - dt.timedelta(days=1), "MR", 6, "MR Knee")


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[tuple[RunningServer, Path, Path]]:
    """A server whose destinations are a DCMTK storescp (STORESCP), one that sleeps a second after each
    image (SLOW, received into its own folder) and a closed port (NOWHERE)."""
    received, slow = tmp_path / "received", tmp_path / "slow"
    with running_storescp(received) as port, running_storescp(slow, "SLOW", ("--sleep-after", "1")) as slow_port:
        qr = (
            "[server.qr]\nport = 0\n"
            f'[[server.destinations]]\nae_title = "STORESCP"\nhost = "127.0.0.1"\nport = {port}\n'
            f'[[server.destinations]]\nae_title = "SLOW"\nhost = "127.0.0.1"\nport = {slow_port}\n'
            f'[[server.destinations]]\nae_title = "NOWHERE"\nhost = "127.0.0.1"\nport = {free_port()}\n'
        )
        data_dir = tmp_path / "data"
        config = write_server_config(
            tmp_path / "server.toml", data_dir, extra_server="job_retry_seconds = 1.0\njob_max_attempts = 2\n", qr=qr
        )
        running = start_server(config, data_dir)
        try:
            yield running, received, slow
        finally:
            assert stop_server(running) == 0


@pytest.fixture
def window(qtbot: QtBot, peer: tuple[RunningServer, Path, Path]) -> Iterator[MainWindow]:
    service = StudyService.connect(peer[0].http_url, timeout=30)
    for spec in (JANE, ANNA):
        store_study(service, spec)
    win = MainWindow(service, refresh_seconds=0.5)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.study_model.rowCount() == 2, timeout=15000)
    qtbot.waitUntil(lambda: win.study_model.status(win.study_model.row(0)) == "new", timeout=10000)
    yield win
    win.shutdown()
    service.close()


def select(win: MainWindow, patient_id: str) -> None:
    model = win.study_view.model()
    row = next(r for r in range(model.rowCount()) if model.index(r, M.PATIENT_ID).data() == patient_id)
    win.study_view.selectRow(row)
    assert [s.patient_id for s in win.selected_studies()] == [patient_id]


def status_shown(win: MainWindow, patient_id: str) -> str:
    model = win.study_view.model()
    row = next(r for r in range(model.rowCount()) if model.index(r, M.PATIENT_ID).data() == patient_id)
    return str(model.index(row, M.STATUS).data())


def test_actions_need_a_selection(window: MainWindow) -> None:
    window.study_view.clearSelection()
    controller = window.controller
    for action in (window.open_action, controller.send_action, controller.approve_action, controller.delete_action,
                   controller.export_action, controller.print_action):  # fmt: skip
        assert not action.isEnabled(), action.text()
    select(window, "PID001")
    assert controller.approve_action.isEnabled() and controller.delete_action.isEnabled()
    # the same actions are in the Study menu and the context menu
    texts = {a.text() for a in window.menu("Study").actions()}
    assert {"Open", "Send to...", "Approve", "Delete...", "Export...", "Print..."} <= texts
    assert controller.delete_action in window.context_menu.actions()


def test_approve_updates_the_status_column(qtbot: QtBot, window: MainWindow) -> None:
    assert status_shown(window, "PID001") == "new" and status_shown(window, "XID003") == "new"
    select(window, "PID001")
    with qtbot.waitSignal(window.controller.action_done, timeout=10000) as done:
        window.controller.approve_action.trigger()
    assert "Doe, Jane" in done.args[0] and "approved" in done.args[0]
    qtbot.waitUntil(lambda: status_shown(window, "PID001") == "approved", timeout=10000)
    assert status_shown(window, "XID003") == "new"
    uid = window.selected_studies()[0].study_instance_uid
    with AdminClient(window.studies.url) as admin:
        recorded = admin.study_status(uid)
    assert recorded["status"] == "approved"
    assert recorded["approved_by"] == login_name()  # the workstation says who approved

    # another workstation approves the other study: the column follows by itself (polling)
    other = next(s for s in window.study_model.rows() if s.patient_id == "XID003")
    with AdminClient(window.studies.url) as admin:
        admin.approve_study(other.study_instance_uid)
    qtbot.waitUntil(lambda: status_shown(window, "XID003") == "approved", timeout=10000)


def _confirmation(qtbot: QtBot, window: MainWindow, key: bool = False) -> QMessageBox:
    if key:  # the Delete key in the study list
        window.study_view.setFocus()
        qtbot.keyClick(window.study_view, Qt.Key.Key_Delete)
    else:
        window.controller.delete_action.trigger()
    qtbot.waitUntil(lambda: isinstance(window.controller.dialog, QMessageBox), timeout=5000)
    box = window.controller.dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    return box


def test_delete_asks_first_naming_patient_and_study(qtbot: QtBot, window: MainWindow) -> None:
    select(window, "XID003")
    box = _confirmation(qtbot, window, key=True)
    text = box.informativeText()
    assert "Moe, Anna (ID XID003)" in text and "MR Knee" in text and "accession ACC210" in text
    assert "6 images" in text and "cannot be undone" in text
    box.button(QMessageBox.StandardButton.Cancel).click()  # cancel: nothing deleted
    qtbot.waitUntil(lambda: window.controller.dialog is None, timeout=5000)
    with qtbot.waitSignal(window.studies_loaded, timeout=10000):
        window.refresh_studies()
    assert {s.patient_id for s in window.study_model.rows()} == {"PID001", "XID003"}

    select(window, "XID003")
    box = _confirmation(qtbot, window)
    with qtbot.waitSignal(window.controller.action_done, timeout=15000) as done:
        window.controller.delete_button.click()
    assert done.args[0].startswith("Deleted Moe, Anna (ID XID003)")
    qtbot.waitUntil(lambda: [s.patient_id for s in window.study_model.rows()] == ["PID001"], timeout=10000)
    assert [s.patient_id for s in window.studies.list_studies()] == ["PID001"]  # gone from the server


def test_a_study_deleted_meanwhile_is_explained(qtbot: QtBot, window: MainWindow) -> None:
    select(window, "PID001")
    study = window.selected_studies()[0]
    with AdminClient(window.studies.url) as admin:  # another workstation deletes it
        admin.delete_study(study.study_instance_uid)
    window.controller.approve_action.trigger()
    qtbot.waitUntil(lambda: isinstance(window.controller.dialog, QMessageBox), timeout=10000)
    box = window.controller.dialog
    assert isinstance(box, QMessageBox)
    assert box.text() == f"Could not approve Doe, Jane (ID PID001): CT Head, {TODAY.isoformat()}, accession ACC100."
    assert box.informativeText().startswith("The study is no longer on the server; the list has been refreshed.")
    qtbot.waitUntil(lambda: [s.patient_id for s in window.study_model.rows()] == ["XID003"], timeout=10000)


def _send_to(qtbot: QtBot, window: MainWindow, ae_title: str) -> list[JobProgress]:
    updates: list[JobProgress] = []
    window.controller.monitor.updated.connect(updates.append)
    window.controller.send_action.trigger()
    qtbot.waitUntil(lambda: isinstance(window.controller.dialog, DestinationDialog), timeout=10000)
    dialog = window.controller.dialog
    assert isinstance(dialog, DestinationDialog)
    labels = [dialog.list.item(r).text() for r in range(dialog.list.count())]
    assert [label.split()[0] for label in labels] == ["NOWHERE", "SLOW", "STORESCP"]
    dialog.choose(ae_title)
    dialog.accept()
    return updates


def _row_texts(monitor: JobMonitor) -> list[str]:
    """What the status bar rows say after each poll (each row shows its job before ``updated``)."""
    texts: list[str] = []

    def shown(progress: JobProgress) -> None:
        if progress.job_id in monitor.rows:
            texts.append(monitor.rows[progress.job_id].label.text())

    monitor.updated.connect(shown)
    return texts


def test_send_shows_the_job_progress(
    qtbot: QtBot, window: MainWindow, peer: tuple[RunningServer, Path, Path]
) -> None:
    select(window, "XID003")
    monitor = window.controller.monitor
    with qtbot.waitSignal(window.controller.action_done, timeout=60000) as done:
        updates = _send_to(qtbot, window, "STORESCP")
        qtbot.waitUntil(lambda: len(monitor.rows) == 1, timeout=10000)
        row = next(iter(monitor.rows.values()))
        assert row.isVisible() and row.label.text().startswith("Sending Moe, Anna to STORESCP")
        assert row.cancel_button.isVisible() and row.cancel_button.isEnabled()
    assert done.args[0] == "Sent Moe, Anna to STORESCP: done (6/6 images)"
    assert updates and updates[-1].state == "done" and updates[-1].completed == 6
    assert not monitor.rows and not monitor.jobs  # the row went away with its job
    received = list(peer[1].iterdir())
    assert len(received) == 6  # the peer got every image


def test_a_running_send_is_cancelled(qtbot: QtBot, window: MainWindow, peer: tuple[RunningServer, Path, Path]) -> None:
    slow = peer[2]
    select(window, "XID003")
    monitor = window.controller.monitor
    texts = _row_texts(monitor)
    _send_to(qtbot, window, "SLOW")
    qtbot.waitUntil(lambda: len(monitor.rows) == 1, timeout=10000)
    job_id, row = next(iter(monitor.rows.items()))
    qtbot.waitUntil(lambda: len(list(slow.iterdir())) >= 1, timeout=30000)  # under way: the first image is there
    qtbot.waitUntil(lambda: any("running" in t for t in texts), timeout=10000)
    assert row.isVisible() and row.cancel_button.isVisible()
    with qtbot.waitSignal(monitor.cancelled, timeout=30000) as ended:
        qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
        assert not row.cancel_button.isEnabled() and row.label.text() == "Sending Moe, Anna to SLOW: cancelling"
    progress, what = ended.args
    assert what == "Moe, Anna to SLOW" and progress.state == "cancelled" and progress.job_id == job_id
    assert window.statusBar().currentMessage().startswith("Sending Moe, Anna to SLOW cancelled: cancelled (")
    assert not monitor.rows and not monitor.jobs
    assert window.controller.dialog is None  # a cancel the user asked for is no failure to report
    with AdminClient(window.studies.url) as admin:
        job = admin.job(job_id)
    assert job["state"] == "cancelled"
    time.sleep(3)  # the server stops the send at its next image (about a second with this peer)
    arrived = len(list(slow.iterdir()))
    assert 1 <= arrived < 6  # the slow peer got some images, not all


def test_send_failure_is_shown(qtbot: QtBot, window: MainWindow) -> None:
    select(window, "PID001")
    shown = _row_texts(window.controller.monitor)
    _send_to(qtbot, window, "NOWHERE")
    qtbot.waitUntil(lambda: isinstance(window.controller.dialog, QMessageBox), timeout=60000)
    box = window.controller.dialog
    assert isinstance(box, QMessageBox)
    assert box.text() == "Sending Doe, Jane to NOWHERE failed."
    assert box.informativeText().startswith("failed (0 images")  # the state, then the server's last error
    assert len(box.informativeText()) > len("failed (0 images): ")
    assert any("retrying (attempt 2 of 2)" in text for text in shown)  # the retry was shown while it waited


def test_export_and_print_hooks(qtbot: QtBot, window: MainWindow) -> None:
    select(window, "PID001")
    window.controller.export_action.trigger()  # nothing connected: the user is told
    assert "Export is not available" in window.statusBar().currentMessage()
    asked: list[list[object]] = []
    window.export_requested.connect(asked.append)
    window.print_requested.connect(asked.append)
    window.controller.export_action.trigger()
    window.controller.print_action.trigger()
    assert [[s.patient_id for s in studies] for studies in asked] == [["PID001"], ["PID001"]]  # type: ignore[attr-defined]
