"""Viewers of series that are not on the server (``lightbox FILE``, media, Fetch): the whole series of
a file opened from the desktop, the annotation toolbar with measurements, presentation states read
from the PR files beside the images, and saving to the server disabled. Real files, real rendering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from app.imaging.gsps_writer import write_gsps
from app.imaging.voi_lut import Window
from app.services.annotations_model import Kind, label_anchor
from app.services.cancel import CancelToken
from app.services.local_series import LocalSeriesSource
from app.services.open_paths import sources_for
from app.services.presentation_display import presentation_states
from app.services.presentation_save import ViewSettings, presentation_model
from app.services.studies import StudyService
from app.ui.annotated_viewer import AnnotatedViewer
from app.ui.path_opener import PathOpener
from app.ui.viewer_launch import ViewerLauncher
from tests.ui.annotation_support import amber, press_drag, screen
from tests.ui.uihelpers import to_bytes
from tests.ui.viewer_support import expected
from tests.unit.services.calibrated import COLUMN_MM, calibrated_image, stored_values


def _series(count: int, description: str) -> list[Dataset]:
    """``count`` calibrated images of one new series, each with its own pixel values (instance i: +40 i)."""
    first = calibrated_image(stored=stored_values())
    out = [first] + [
        calibrated_image(True, str(first.StudyInstanceUID), str(first.SeriesInstanceUID), i + 1,
                         stored_values() + 40 * i)
        for i in range(1, count)
    ]  # fmt: skip
    for ds in out:
        ds.SeriesDescription = description
    return out


def _write(folder: Path, datasets: list[Dataset], prefix: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i, ds in enumerate(reversed(datasets)):  # file names in the reverse of the stack order
        path = folder / f"{prefix}{i:02d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return list(reversed(paths))  # paths[i] holds datasets[i]


@pytest.fixture(name="opener")
def opener_fixture(qtbot: QtBot) -> Iterator[PathOpener]:
    pool = QThreadPool()
    launcher = ViewerLauncher(None, pool)
    opener = PathOpener(launcher)
    opener.warn = False
    yield opener
    launcher.close_all()
    opener.shutdown()
    pool.waitForDone(10000)


def _open(qtbot: QtBot, opener: PathOpener, path: Path, count: int) -> AnnotatedViewer:
    with qtbot.waitSignal(opener.opened, timeout=30000) as opened:
        opener.open([path])
    viewer = opened.args[0]
    assert isinstance(viewer, AnnotatedViewer)
    viewer.resize(900, 700)
    qtbot.waitExposed(viewer)
    vp = viewer.active_viewport()
    qtbot.waitUntil(lambda: vp.stack is not None and len(vp.stack) == count and not vp.loading,
                    timeout=30000)  # fmt: skip
    return viewer


def test_a_file_opens_its_whole_series_with_it_shown_and_measures(
    qtbot: QtBot, opener: PathOpener, tmp_path: Path
) -> None:
    images = _series(5, "Five")
    paths = _write(tmp_path / "desk", images, "IMG")
    other = _series(2, "Other")
    _write(tmp_path / "desk", other, "ZZ")
    (tmp_path / "desk" / "notes.txt").write_text("not DICOM")
    viewer = _open(qtbot, opener, paths[2], 5)
    vp = viewer.active_viewport()
    assert vp.stack is not None
    assert [int(vp.stack.dataset(i).InstanceNumber) for i in range(5)] == [1, 2, 3, 4, 5]  # sorted by the pipeline
    shown = vp.current_dataset()
    assert shown is not None and shown.SOPInstanceUID == images[2].SOPInstanceUID and vp.position == 2
    np.testing.assert_array_equal(vp.canvas.displayed_array(), expected(images[2]))  # the file opened is on screen
    qtbot.waitUntil(lambda: len(viewer.matrix.series_keys()) == 2, timeout=30000)  # the folder's other series
    assert viewer.matrix.series_keys() == [str(images[0].SeriesInstanceUID), str(other[0].SeriesInstanceUID)]
    # the full toolbar; the GSPS and key image stay disabled until the study is imported
    bar = viewer.annotations.toolbar
    assert set(bar.tools) == set(Kind) and bar.export_action.isEnabled()
    for action in (bar.save_action, bar.key_action):
        assert not action.isEnabled() and "import the study first" in action.toolTip()
    # a distance drawn on the local image shows its value (0.25 mm columns: 40 px = 10 mm)
    controller = viewer.annotations
    controller.set_kind(Kind.DISTANCE)
    press_drag(vp, (10, 10.5), (50, 10.5))
    (line,) = controller.annotations
    assert controller.measurement(line).label == f"{40 * COLUMN_MM:.2f} mm"
    controller.select(None)
    shot, ratio = screen(vp)
    anchor = vp.canvas.image_to_widget(*label_anchor(line))
    label_box = [anchor + type(anchor)(dx, dy) for dx in range(10, 60, 2) for dy in range(6, 18, 2)]
    assert sum(amber(shot, p, ratio) for p in label_box) > 5  # the label's amber text beside the line
    before = screen(vp)[0]
    controller.delete(line)
    assert not np.array_equal(before, screen(vp)[0])  # and it goes with the annotation
    controller.save()  # asked anyway (Ctrl+S): refused with the reason, nothing sent anywhere
    assert "import the study first" in viewer.statusBar().currentMessage()


def test_presentation_state_beside_the_files_applies(qtbot: QtBot, opener: PathOpener, tmp_path: Path) -> None:
    images = _series(3, "With a state")
    paths = _write(tmp_path / "disc", images, "IMG")
    model = presentation_model(ViewSettings(window=Window(900.0, 60.0)), [], [images[0]], label="LOCAL")
    state = write_gsps(model, [images[0]])
    state.save_as(tmp_path / "disc" / "PR01.dcm", enforce_file_format=True)
    viewer = _open(qtbot, opener, paths[0], 3)
    qtbot.waitUntil(lambda: bool(viewer.matrix.objects), timeout=30000)
    assert set(viewer.matrix.objects) == {str(state.SeriesInstanceUID)}  # the state's series: a badge
    vp = viewer.active_viewport()
    qtbot.waitUntil(lambda: vp.presentation_label == "LOCAL", timeout=20000)
    frame = vp.render_frame()
    assert frame is not None and frame.voi == Window(900.0, 60.0)
    np.testing.assert_array_equal(vp.canvas.displayed_array(), expected(images[0], Window(900.0, 60.0)))


def _uids(source: LocalSeriesSource) -> list[str]:
    return [str(ds.SOPInstanceUID) for ds in source.load(CancelToken())]


def test_the_folder_scan_is_bounded(tmp_path: Path) -> None:
    images = _series(6, "Six")
    paths = _write(tmp_path / "big", images, "IMG")
    [own] = sources_for(paths[5], limit=2)  # itself and two more files of the folder looked at
    uids = _uids(own)
    assert len(uids) == 3 and uids[0] == images[5].SOPInstanceUID  # the file first, before the folder is read
    [whole] = sources_for(paths[5])
    assert sorted(_uids(whole)) == sorted(str(ds.SOPInstanceUID) for ds in images)


def test_a_server_study_opened_by_the_launcher_saves_its_state_on_the_server(
    qtbot: QtBot, service: StudyService
) -> None:
    images = _series(2, "On the server")
    assert service.store_files([to_bytes(ds) for ds in images]).stored == 2
    study_uid = str(images[0].StudyInstanceUID)
    [study] = [s for s in service.list_studies() if s.study_instance_uid == study_uid]
    pool = QThreadPool()
    launcher = ViewerLauncher(service, pool)
    try:
        viewer = launcher.open(study, service.list_series(study_uid))
        assert isinstance(viewer, AnnotatedViewer)
        vp = viewer.active_viewport()
        controller = viewer.annotations
        qtbot.waitUntil(lambda: vp.stack is not None and len(vp.stack) == 2 and controller.picker.loaded,
                        timeout=30000)  # fmt: skip
        bar = controller.toolbar
        assert bar.save_action.isEnabled() and bar.key_action.isEnabled()
        controller.set_kind(Kind.DISTANCE)
        press_drag(vp, (10, 10.5), (50, 10.5))
        with qtbot.waitSignal(controller.saved, timeout=30000) as saved:
            bar.save_action.trigger()
        assert saved.args[0].stored
        stored = presentation_states(service, study_uid)
        assert [str(s.SOPInstanceUID) for s in stored] == [saved.args[0].sop_instance_uid]
        assert launcher.open(study, service.list_series(study_uid)) is viewer  # one window per study
    finally:
        launcher.close_all()
        pool.waitForDone(10000)
