"""The storage area: ``data_dir/storage``, one Part 10 file per received SOP instance.

Files are written atomically (PS3.4 B.2.2 asks that success be answered only once the
instance is stored): into ``storage/tmp`` first, flushed and fsynced, then renamed into
their fan-out folder (whose entry is fsynced too with ``sync_directories``), so that no
file is ever seen half-written, even after a power loss. File names are generated
(:func:`app.dicom.filenames.new_storage_name`); no received string ever becomes part of
a path, and every relative path read back is checked with
:func:`app.dicom.filenames.is_safe_relpath`.

Several server processes may share one storage area (with a shared PostgreSQL index):
stored names are 128 random bits, so they cannot collide, and each temporary file is held
under an exclusive ``flock`` by the process writing it until it is renamed into place; a
starting or stopping process removes only the leftovers it can lock, i.e. those of a
process that died, never the file another live process is receiving.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from app.core.errors import NotFoundError, StorageError
from app.dicom.filenames import is_safe_relpath, new_storage_name, storage_relpath
from app.server.checksum import RunningChecksum

LOGGER = logging.getLogger(__name__)

_TMP = "tmp"
_TMP_SUFFIX = ".part"
CHUNK = 1024 * 1024


def _fsync_dir(path: Path) -> None:
    """Make a directory entry (a rename, a create) durable; no-op where not supported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class TempFile:
    """A file being written in ``storage/tmp``; :meth:`Storage.commit` moves it into place.

    Bytes written through :meth:`write` and :meth:`copy_from` are checksummed as they go
    (:attr:`checksum`, recorded in the index for storage commitment, PS3.4 J.3.3).
    """

    def __init__(self, path: Path, fh: BinaryIO) -> None:
        self.path = path
        self.file = fh
        #: Checksum of everything written through :meth:`write` / :meth:`copy_from`.
        self.checksum = RunningChecksum()
        #: An fsync started by :meth:`Storage.begin_sync`, still running or done.
        self.pending: Future[None] | None = None

    def wait_pending(self) -> None:
        """Wait for a started fsync; raises its OSError."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``."""
        self.file.write(data)
        self.checksum.update(data)

    def copy_from(self, source: BinaryIO) -> None:
        """Append everything readable from ``source`` (read in 1 MiB chunks)."""
        while True:
            block = source.read(CHUNK)
            if not block:
                return
            self.file.write(block)
            self.checksum.update(block)

    def discard(self) -> None:
        """Close and remove the temporary file; never raises."""
        with contextlib.suppress(OSError):
            self.wait_pending()  # never close a descriptor an fsync is still using
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


class Storage:
    """The storage area under ``root`` (normally ``data_dir/storage``).

    Parameters
    ----------
    root
        Folder of the storage area; created when missing.
    fsync
        Flush each file to the disk before it is renamed into place, and new folders'
        entries when created (``ServerConfig.fsync``; turn off only on test rigs).
    sync_directories
        Also flush the folder after each rename, so that the rename itself survives a
        power loss (``ServerConfig.sync_directories``).
    """

    def __init__(self, root: Path, *, fsync: bool = True, sync_directories: bool = False) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.sync_directories = sync_directories
        # fsync waits on the disk without the GIL: a few threads let it overlap with parsing
        # and indexing, so the disk's latency is paid once per instance rather than twice.
        self._syncer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fsync")
        self.tmp_dir = self.root / _TMP
        try:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the storage area {self.root}: {exc.strerror}; check the data directory."
            ) from exc

    def remove_leftovers(self) -> int:
        """Remove temporary files an interrupted write left behind (those no live process
        holds locked); returns how many."""
        removed = 0
        for path in self.tmp_dir.iterdir():
            if path.is_file() and path.name.endswith(_TMP_SUFFIX):
                with contextlib.suppress(OSError), path.open("rb") as fh:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: being written
                    path.unlink()
                    removed += 1
        if removed:
            LOGGER.warning("removed %d unfinished file(s) from %s", removed, self.tmp_dir)
        return removed

    def create_temp(self) -> TempFile:
        """Open a new temporary file in ``storage/tmp`` for writing."""
        try:
            fd, name = tempfile.mkstemp(suffix=_TMP_SUFFIX, dir=self.tmp_dir)
            fcntl.flock(fd, fcntl.LOCK_EX)  # ours until renamed into place (see remove_leftovers)
        except OSError as exc:
            raise StorageError(f"cannot create a file in {self.tmp_dir}: {exc.strerror}") from exc
        return TempFile(Path(name), os.fdopen(fd, "wb"))

    def begin_sync(self, temp: TempFile) -> None:
        """Flush ``temp`` and start its fsync in the background (see :meth:`place`)."""
        temp.file.flush()
        if self.fsync and temp.pending is None:
            temp.pending = self._syncer.submit(os.fsync, temp.file.fileno())
            time.sleep(0)  # yield the GIL so the fsync thread starts now, not at the next switch interval

    @staticmethod
    def new_relpath() -> str:
        """A fresh relative path for a file to :meth:`place` (random, never from input)."""
        return storage_relpath(new_storage_name())

    def place(self, temp: TempFile, relpath: str | None = None) -> Future[None] | None:
        """Make ``temp`` durable and rename it into its fan-out folder.

        ``relpath`` is where it goes (default: a new one, see :meth:`new_relpath`). Returns
        the fsync of its folder, started in the background: the rename is durable once
        :meth:`settle` has waited for it. On failure the temporary file is removed and
        :class:`StorageError` raised.
        """
        try:
            temp.file.flush()
            if temp.pending is not None:
                temp.wait_pending()
            elif self.fsync:
                os.fsync(temp.file.fileno())
            target = self.path_of(relpath or self.new_relpath())
            if not target.parent.is_dir():
                self._make_folder(target.parent)
            os.rename(temp.path, target)  # still open and locked: no other process removes it meanwhile
            temp.file.close()
        except OSError as exc:
            temp.discard()
            raise StorageError(f"cannot store a file in {self.root}: {exc.strerror or exc}") from exc
        if not (self.fsync and self.sync_directories):
            return None
        dir_sync = self._syncer.submit(_fsync_dir, target.parent)
        time.sleep(0)  # as in begin_sync
        return dir_sync

    def _make_folder(self, folder: Path) -> None:
        """Create a fan-out folder; with fsync on, durably (its parents' entries synced)."""
        missing = [p for p in (folder.parent, folder) if not p.is_dir()]
        folder.mkdir(parents=True, exist_ok=True)
        if self.fsync:
            for created in missing:
                _fsync_dir(created.parent)

    @staticmethod
    def settle(dir_sync: Future[None] | None) -> None:
        """Wait for a folder fsync :meth:`place` started."""
        if dir_sync is not None:
            dir_sync.result()

    def commit(self, temp: TempFile) -> str:
        """Flush, fsync and rename ``temp`` into its fan-out folder; returns its relative path.

        On failure the temporary file is removed and :class:`StorageError` raised.
        """
        relpath = self.new_relpath()
        self.settle(self.place(temp, relpath))
        return relpath

    def close(self) -> None:
        """Stop the background fsync threads (after the running ones finish)."""
        self._syncer.shutdown(wait=True)

    def write_bytes(self, data: bytes) -> str:
        """Store ``data`` atomically as a new file; returns its relative path."""
        temp = self.create_temp()
        try:
            temp.write(data)
        except OSError as exc:
            temp.discard()
            raise StorageError(f"cannot write to {self.tmp_dir}: {exc.strerror or exc}") from exc
        return self.commit(temp)

    def path_of(self, relpath: str) -> Path:
        """Absolute path of a stored file, after checking the shape of ``relpath``."""
        if not is_safe_relpath(relpath):
            raise NotFoundError(f"{relpath!r} is not a storage path made by Lightbox")
        return self.root / relpath

    def open(self, relpath: str) -> BinaryIO:
        """Open a stored file for reading."""
        try:
            return self.path_of(relpath).open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"stored file {relpath} is missing from {self.root}") from exc

    def read_chunks(self, relpath: str, chunk: int = CHUNK) -> Iterator[bytes]:
        """Yield the bytes of a stored file in chunks (for streaming responses)."""
        with self.open(relpath) as fh:
            while True:
                data = fh.read(chunk)
                if not data:
                    return
                yield data

    def size(self, relpath: str) -> int:
        """Size in bytes of a stored file."""
        try:
            return self.path_of(relpath).stat().st_size
        except FileNotFoundError as exc:
            raise NotFoundError(f"stored file {relpath} is missing from {self.root}") from exc

    def delete(self, relpath: str) -> bool:
        """Remove a stored file; False when it was already gone."""
        path = self.path_of(relpath)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot remove {path}: {exc.strerror or exc}") from exc
        if self.fsync and self.sync_directories:
            _fsync_dir(path.parent)
        return True
