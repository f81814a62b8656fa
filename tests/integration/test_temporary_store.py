"""The workstation's temporary Storage SCP fed by DCMTK ``storescu`` (reference 3.1, 2.2.6.1):
duplicates kept as second images, a wrong called AE rejected, the association limit, folders
never named from received strings, everything removed at exit, and the left-overs of a crashed
workstation removed at the next start while a live one's folder is left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import AE

from app.dicom.sop_classes import VERIFICATION
from app.net.temporary_store import TemporaryStorageSCP
from tests.conftest import require_tool
from tests.qr_archive import dcmtk_env, temporary_store, write_study

pytestmark = pytest.mark.peer

AE_TITLE = "READ1STORE"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TemporaryStorageSCP]:
    with temporary_store(tmp_path / "root", AE_TITLE, max_associations=2, timeout=10) as scp:
        yield scp


def storescu(port: int, files: list[Path], called: str = AE_TITLE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("storescu"), "-v", "-aet", "MODALITY1", "-aec", called, "127.0.0.1", str(port), *map(str, files)],
        env=dcmtk_env(), capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(params=[False, True], ids=["in-memory", "chunked"])
def pynetdicom_receive_mode(request: pytest.FixtureRequest) -> Iterator[bool]:
    """pynetdicom's process-wide STORE_RECV_CHUNKED_DATASET (the server's SCP turns it on in its
    process): the temporary store must keep whole images either way."""
    from pynetdicom import _config

    before = _config.STORE_RECV_CHUNKED_DATASET
    _config.STORE_RECV_CHUNKED_DATASET = request.param
    yield request.param
    _config.STORE_RECV_CHUNKED_DATASET = before


def test_images_sorted_by_source_study_series_under_counter_names(
    store: TemporaryStorageSCP, tmp_path: Path, pynetdicom_receive_mode: bool
) -> None:
    study = write_study(tmp_path / "in", "P1", "DOE^JANE", [2, 3])
    done = storescu(store.port, study.files)
    assert done.returncode == 0, done.stderr
    assert store.area is not None
    images = store.area.images()
    assert len(images) == 5 and {i.source_ae for i in images} == {"MODALITY1"}
    folders = {i.path.parent.relative_to(store.area.folder) for i in images}
    assert folders == {Path("a001/s0001/r0001"), Path("a001/s0001/r0002")}
    for image in images:
        ds = dcmread(image.path)
        assert ds.SOPInstanceUID == image.sop_instance_uid and ds.file_meta.SourceApplicationEntityTitle == "MODALITY1"
        assert ds.StudyInstanceUID == study.study_uid
        assert len(ds.PixelData) == ds.Rows * ds.Columns * 2  # the whole image, not a truncated one
    # Series from a second source land in a folder of their own.
    for series_uid in study.series:
        assert len(store.area.series_images(study.study_uid, series_uid)) == len(study.series[series_uid])


def test_duplicate_is_kept_as_a_second_image(
    store: TemporaryStorageSCP, tmp_path: Path, pynetdicom_receive_mode: bool
) -> None:
    study = write_study(tmp_path / "in", "P2", "DOE^JOHN", [1])
    for _ in range(2):
        done = storescu(store.port, study.files)
        assert done.returncode == 0, done.stderr
    assert store.area is not None
    images = store.area.images()
    assert len(images) == 2 and images[0].sop_instance_uid == images[1].sop_instance_uid
    assert [i.copy for i in images] == [0, 1] and images[0].path != images[1].path
    assert all(p.exists() for p in (images[0].path, images[1].path))
    assert dcmread(images[0].path).PixelData == dcmread(images[1].path).PixelData


def test_wrong_called_ae_is_rejected(store: TemporaryStorageSCP, tmp_path: Path) -> None:
    study = write_study(tmp_path / "in", "P3", "DOE^JIM", [1])
    done = storescu(store.port, study.files, called="SOMEONEELSE")
    assert done.returncode != 0
    assert "Called AE Title Not Recognized" in done.stderr + done.stdout
    assert store.area is not None and store.area.images() == []


def test_association_limit(store: TemporaryStorageSCP, tmp_path: Path) -> None:
    study = write_study(tmp_path / "in", "P4", "DOE^JOE", [1])
    held = []
    for _ in range(2):  # the limit of this store
        ae = AE("HOLDER")
        ae.add_requested_context(VERIFICATION)
        assoc = ae.associate("127.0.0.1", store.port, ae_title=AE_TITLE)
        assert assoc.is_established
        held.append(assoc)
    try:
        refused = storescu(store.port, study.files)
        assert refused.returncode != 0
        assert "Local Limit Exceeded" in refused.stderr + refused.stdout
    finally:
        for assoc in held:
            assoc.release()
    accepted = storescu(store.port, study.files)
    assert accepted.returncode == 0, accepted.stderr
    assert store.area is not None and len(store.area.images()) == 1


def test_everything_removed_at_exit(tmp_path: Path) -> None:
    scp = TemporaryStorageSCP(tmp_path / "root", AE_TITLE, 0, 5, host="127.0.0.1")
    scp.start()
    assert scp.area is not None
    folder = scp.area.folder
    done = storescu(scp.port, write_study(tmp_path / "in", "P5", "DOE^JAY", [3]).files)
    assert done.returncode == 0 and len(list(folder.rglob("*.dcm"))) == 3
    scp.stop()
    assert not folder.exists() and list((tmp_path / "root").iterdir()) == []


_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from app.net.temporary_store import TemporaryStorageSCP
    scp = TemporaryStorageSCP(Path(sys.argv[1]), "READ1STORE", 0, 5, host="127.0.0.1")
    port = scp.start()
    print(port, scp.area.folder, flush=True)
    time.sleep(600)
""")


def _workstation(root: Path) -> tuple[subprocess.Popen[str], int, Path]:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(root)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout is not None
    port, folder = proc.stdout.readline().split()
    return proc, int(port), Path(folder)


def test_crash_left_overs_removed_at_next_start_live_ones_kept(tmp_path: Path) -> None:
    root = tmp_path / "root"
    crashed, port, crashed_folder = _workstation(root)
    live, _live_port, live_folder = _workstation(root)
    try:
        done = storescu(port, write_study(tmp_path / "in", "P6", "DOE^JED", [2]).files)
        assert done.returncode == 0, done.stderr
        assert len(list(crashed_folder.rglob("*.dcm"))) == 2
        os.kill(crashed.pid, signal.SIGKILL)  # a crash: no clean-up runs
        crashed.wait(10)
        assert crashed_folder.exists()
        scp = TemporaryStorageSCP(root, AE_TITLE, 0, 5, host="127.0.0.1")
        scp.start()
        try:
            assert not crashed_folder.exists(), "the crashed run's images were not removed"
            assert live_folder.exists(), "a live workstation's folder was removed"
        finally:
            scp.stop()
    finally:
        for proc in (crashed, live):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
