"""The storage area: atomic writes, safe paths, no leftovers (app.server.storage)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest

from app.core.errors import NotFoundError
from app.dicom.filenames import is_safe_relpath
from app.server.storage import Storage


def test_write_is_atomic_and_lands_in_fan_out_folder(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage")
    relpath = storage.write_bytes(b"DICM-data")
    assert is_safe_relpath(relpath)
    assert (tmp_path / "storage" / relpath).read_bytes() == b"DICM-data"
    assert list(storage.tmp_dir.iterdir()) == []
    with storage.open(relpath) as fh:
        assert fh.read() == b"DICM-data"
    assert b"".join(storage.read_chunks(relpath, chunk=3)) == b"DICM-data"
    assert storage.size(relpath) == 9


def test_temp_file_streams_and_discard_leaves_nothing(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage", fsync=False)
    temp = storage.create_temp()
    temp.copy_from(BytesIO(b"x" * 3_000_000))
    assert temp.path.parent == storage.tmp_dir
    temp.discard()
    assert list(storage.tmp_dir.iterdir()) == []
    temp = storage.create_temp()
    temp.write(b"abc")
    relpath = storage.commit(temp)
    assert not temp.path.exists()
    assert storage.size(relpath) == 3


def test_leftover_temp_files_are_removed_at_start(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage")
    storage.create_temp().file.close()  # as if the process died while writing
    (storage.tmp_dir / "unrelated.txt").write_text("kept")
    assert Storage(tmp_path / "storage").remove_leftovers() == 1
    assert [p.name for p in storage.tmp_dir.iterdir()] == ["unrelated.txt"]


def test_a_starting_process_keeps_the_temp_files_of_another_live_process(tmp_path: Path) -> None:
    """Two server processes on one storage volume: one starting (or stopping) must not remove
    the file the other is receiving; names of stored files never collide."""
    writer = Storage(tmp_path / "storage")
    receiving = writer.create_temp()
    receiving.write(b"half an instance")
    other = Storage(tmp_path / "storage")
    assert other.remove_leftovers() == 0
    assert receiving.path.exists()
    other.close()
    relpaths = {writer.commit(receiving)} | {writer.write_bytes(b"x") for _ in range(50)}
    assert len(relpaths) == 51 and all((writer.root / r).exists() for r in relpaths)
    writer.close()


@pytest.mark.parametrize("relpath", ["../etc/passwd", "ab/cd/../../x.dcm", "/etc/passwd", "ab/cd/abcd.dcm", ""])
def test_unsafe_relpaths_are_refused(tmp_path: Path, relpath: str) -> None:
    storage = Storage(tmp_path / "storage")
    with pytest.raises(NotFoundError):
        storage.open(relpath)


def test_delete(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage")
    relpath = storage.write_bytes(b"1")
    assert storage.delete(relpath) is True
    assert storage.delete(relpath) is False
    with pytest.raises(NotFoundError):
        storage.open(relpath)


def test_both_durability_levels_store_whole_files(tmp_path: Path) -> None:
    for sync_directories in (False, True):
        storage = Storage(tmp_path / f"s{sync_directories}", fsync=True, sync_directories=sync_directories)
        temp = storage.create_temp()
        temp.write(b"x" * 100_000)
        storage.begin_sync(temp)  # fsync in the background, as the ingest does
        relpath = storage.commit(temp)
        assert storage.path_of(relpath).read_bytes() == b"x" * 100_000
        assert list(storage.tmp_dir.iterdir()) == []
        storage.close()


def test_discard_waits_for_a_running_fsync(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage")
    temp = storage.create_temp()
    temp.write(b"y" * 1_000_000)
    storage.begin_sync(temp)
    temp.discard()  # must not close the descriptor under the fsync thread
    assert temp.pending is None
    assert list(storage.tmp_dir.iterdir()) == []
    storage.close()
