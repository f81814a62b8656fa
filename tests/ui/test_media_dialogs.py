"""pytest-qt tests of the media dialogs against the real server: the import tree with a partial selection,
open without import, a damaged disc's report, the export dialog, and their hooks in the information window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.media.burner import BurnerError, detect_burner
from app.media.file_set_writer import FileSetWriter, WrittenFileSet
from app.media.tree import Selection
from app.services.cancel import CancelToken
from app.services.media import ImportReport, open_media, series_sources
from app.services.media_export import ExportReport
from app.services.studies import StudyService, StudySummary
from app.ui.main_window import MainWindow
from app.ui.media_export_dialog import MediaExportDialog
from app.ui.media_import_dialog import MediaImportDialog
from app.ui.media_menu import install_media
from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.media_data import study, to_bytes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    """One server for the module (per index backend): every test's studies have new UIDs
    (tests/media_data.py) and each test looks at its own studies only."""
    tmp = tmp_path_factory.mktemp("media-dialogs")
    running = start_server(write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url),
                           tmp / "data")
    yield running
    assert stop_server(running) == 0


def _studies_of(service: StudyService, datasets: list[Dataset]) -> list[StudySummary]:
    """The server's studies among those of ``datasets``."""
    uids = {str(ds.StudyInstanceUID) for ds in datasets}
    return [s for s in service.list_studies() if s.study_instance_uid in uids]


@pytest.fixture
def disc(tmp_path: Path) -> tuple[WrittenFileSet, list[Dataset]]:
    datasets = study("UI1", "First^Patient") + study("UI2", "Second^Patient")
    writer = FileSetWriter(tmp_path / "disc")
    for ds in datasets:
        assert writer.add(ds)
    return writer.write(), datasets


def _read(qtbot: QtBot, dialog: MediaImportDialog, path: Path) -> None:
    with qtbot.waitSignal(dialog.tree_loaded, timeout=30000):
        dialog.read(path)


def test_import_a_partial_selection_through_the_tree(
    qtbot: QtBot, service: StudyService, disc: tuple[WrittenFileSet, list[Dataset]]
) -> None:
    written, datasets = disc
    dialog = MediaImportDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    _read(qtbot, dialog, written.root)
    patients = dialog.tree.patient_items()
    assert [p.text(0) for p in patients] == ["First, Patient  [UI1]", "Second, Patient  [UI2]"]
    study_item = patients[1].child(0)
    assert (study_item.text(2), study_item.text(3), study_item.text(4)) == ("CT of UI2", "CT\\KO\\PR\\SR", "6")
    assert study_item.childCount() == 4 and study_item.child(0).text(3) == "CT"
    # untick the first patient and the second patient's SR series: the study shows partly ticked
    patients[0].setCheckState(0, Qt.CheckState.Unchecked)
    sr = next(study_item.child(i) for i in range(4) if study_item.child(i).text(3) == "SR")
    sr.setCheckState(0, Qt.CheckState.Unchecked)
    assert study_item.checkState(0) == Qt.CheckState.PartiallyChecked
    assert patients[0].child(0).child(0).checkState(0) == Qt.CheckState.Unchecked
    assert len(dialog.tree.selections()) == 3 and dialog.import_button.isEnabled()
    with qtbot.waitSignal(dialog.import_finished, timeout=60000) as blocker:
        dialog.import_button.click()
    report = blocker.args[0]
    assert isinstance(report, ImportReport) and report.complete and len(report.imported) == 5
    assert "Imported 5 object(s)." in dialog.report.toPlainText()
    expected = {str(ds.SOPInstanceUID) for ds in datasets if ds.PatientID == "UI2" and ds.Modality != "SR"}
    assert set(report.imported) == expected
    studies = _studies_of(service, datasets)
    assert [(s.patient_id, s.number_of_images) for s in studies] == [("UI2", 5)]
    dialog.shutdown()


def test_open_in_viewer_without_import(qtbot: QtBot, service: StudyService,
                                       disc: tuple[WrittenFileSet, list[Dataset]]) -> None:  # fmt: skip
    written, datasets = disc
    opened: list[list[object]] = []
    dialog = MediaImportDialog(service, open_sources=opened.append)
    qtbot.addWidget(dialog)
    _read(qtbot, dialog, written.root / "DICOMDIR")
    dialog.tree.set_all(False)
    assert not dialog.open_button.isEnabled()
    study_item = dialog.tree.patient_items()[0].child(0)
    pr = next(study_item.child(i) for i in range(study_item.childCount()) if study_item.child(i).text(3) == "PR")
    for item in (pr, study_item.child(0)):  # the presentation state first: image series still come first
        item.setCheckState(0, Qt.CheckState.Checked)
    sources = dialog.open_selected()
    assert opened == [sources] and [s.is_image for s in sources] == [True, False]
    thumbnail = sources[0].thumbnail()
    assert thumbnail is not None and max(thumbnail.shape[:2]) <= 128 and sources[1].thumbnail() is None
    loaded = list(sources[0].load(CancelToken()))
    assert {str(ds.SOPInstanceUID) for ds in loaded} == {
        str(ds.SOPInstanceUID) for ds in datasets if ds.PatientID == "UI1" and ds.Modality == "CT"}  # fmt: skip
    assert "First" in sources[0].title
    assert _studies_of(service, datasets) == []  # nothing imported
    dialog.shutdown()


def test_a_damaged_disc_is_read_with_its_problems_listed(
    qtbot: QtBot, service: StudyService, disc: tuple[WrittenFileSet, list[Dataset]]
) -> None:
    written, _datasets = disc
    (written.root / next(iter(written.file_ids.values()))).unlink()
    dialog = MediaImportDialog(service)
    qtbot.addWidget(dialog)
    _read(qtbot, dialog, written.root)
    assert "the file the DICOMDIR names is missing" in dialog.report.toPlainText()
    assert "11 object(s)" in dialog.summary.text()
    dialog.shutdown()


def test_the_export_dialog_writes_the_ticked_studies(qtbot: QtBot, service: StudyService, tmp_path: Path) -> None:
    images = study("EX1", "Export^One", 2) + study("EX2", "Export^Two", 2)
    assert service.store_files([to_bytes(ds) for ds in images]).stored == len(images)
    summaries = sorted(_studies_of(service, images), key=lambda s: s.patient_id)
    dialog = MediaExportDialog(service, summaries)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        burner_message = ""
        detect_burner()
    except BurnerError as exc:
        burner_message = str(exc)
    assert dialog.burn_check.isEnabled() == (not burner_message)
    assert burner_message in dialog.burn_note.text()
    assert not dialog.export_button.isEnabled()  # no folder yet
    dialog.folder_edit.setText(str(tmp_path / "out"))
    dialog.iso_check.setChecked(True)
    dialog.iso_edit.setText(str(tmp_path / "out.iso"))
    dialog.study_list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert dialog.chosen_studies() == [summaries[0].study_instance_uid]
    with qtbot.waitSignal(dialog.export_finished, timeout=60000) as blocker:
        dialog.export_button.click()
    report = blocker.args[0]
    assert isinstance(report, ExportReport) and report.ok and report.written == 5 and report.patients == 1
    assert "read back" in dialog.report.toPlainText()
    assert (tmp_path / "out" / "DICOMDIR").is_file() and (tmp_path / "out.iso").is_file()
    assert {"README.TXT", "INDEX.HTM"} <= {p.name for p in (tmp_path / "out").iterdir()}
    # a second export into the same (no longer empty) folder is refused with the reason
    dialog.study_list.item(1).setCheckState(Qt.CheckState.Checked)
    dialog.iso_check.setChecked(False)
    dialog.export_button.click()
    qtbot.waitUntil(lambda: "empty folder" in dialog.report.toPlainText(), timeout=30000)


def test_hooks_in_the_information_window(
    qtbot: QtBot, service: StudyService, disc: tuple[WrittenFileSet, list[Dataset]]
) -> None:
    window = MainWindow(service, refresh_seconds=5)
    qtbot.addWidget(window)
    actions = install_media(window)
    file_actions = [a.text() for a in window.menu("File").actions()]
    assert "Import media..." in file_actions
    assert file_actions.index("Import media...") < file_actions.index("Quit")
    window.import_media_action.trigger()
    assert actions.import_dialog is not None and actions.import_dialog.isVisible()
    window.export_requested.emit([])
    assert actions.export_dialog is not None and actions.export_dialog.isVisible()
    # series opened from a disc: image series in the viewer's matrix, the presentation state as a badge
    written, _datasets = disc
    with open_media(written.root) as opened:
        sources = series_sources(opened.tree, [Selection("UI1")])
        viewer = actions.open_sources(sources)
        qtbot.addWidget(viewer)
        assert viewer is window.launcher.viewers[f"media:{sources[0].key}"]  # the information window's launcher
        bar = viewer.annotations.toolbar  # the annotation toolbar; storing on the server needs an import
        assert bar.tools and not bar.save_action.isEnabled() and "import the study first" in bar.key_action.toolTip()
        assert viewer.matrix.series_keys() == [s.key for s in sources if s.is_image]
        assert set(viewer.matrix.objects) == {s.key for s in sources if not s.is_image}
        qtbot.waitUntil(lambda: viewer.active_viewport().current_dataset() is not None, timeout=30000)
        shown = viewer.active_viewport().current_dataset()
        assert shown is not None and shown.SeriesInstanceUID == sources[0].key  # read from the disc
        viewer.close()
    actions.shutdown()
    window.shutdown()
