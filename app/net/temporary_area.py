"""The folders of the temporary Storage SCP (reference 3.1.3.2, 2.2.6.1).

Received images are sorted into folders per source AE title, study and series, but no
received string ever becomes part of a path: each source, study and series gets a counter
name (``a001/s0001/r0001``) and each image a fresh file name (``000001.dcm``), so a second
copy of an image is kept as a second file, never written over the first. The mapping from
AE title and UIDs to folders lives in memory (:class:`AreaIndex`).

Each running workstation owns one folder under the root, holding ``owner.lock``: a file
locked (``fcntl.flock``) for as long as the process lives and holding its PID. The folder
is removed when the workstation exits (:meth:`TemporaryArea.remove`); a folder whose lock
nobody holds is the left-over of a crash and is removed at the next start
(:func:`sweep_left_overs`), while the folder of another live workstation is left alone.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: PID check only
    fcntl = None  # type: ignore[assignment]

LOGGER = logging.getLogger(__name__)

LOCK_NAME = "owner.lock"
_FOLDER_PREFIX = "session-"


@dataclass(frozen=True)
class ReceivedImage:
    """One image in the temporary store: where it came from, what it is, where its file is.

    ``copy`` counts earlier receptions of the same SOP Instance UID (0 = the first)."""

    source_ae: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    path: Path
    copy: int = 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_left_over(folder: Path) -> bool:
    """True when no live process owns ``folder`` (its lock is free, or its PID is gone)."""
    lock = folder / LOCK_NAME
    if not lock.exists():
        return True
    if fcntl is not None:
        try:
            with lock.open("r+") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    return False
                fcntl.flock(fh, fcntl.LOCK_UN)
                return True
        except OSError:
            return False
    try:
        return not _pid_alive(int(lock.read_text().strip() or "0"))
    except (OSError, ValueError):
        return True


def sweep_left_overs(root: Path) -> list[Path]:
    """Remove the folders under ``root`` that no live workstation owns; returns them."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.startswith(_FOLDER_PREFIX) and _is_left_over(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
            LOGGER.info("removed the temporary images left by an earlier run: %s", folder)
    return removed


class AreaIndex:
    """Which folder holds which source/study/series, and every image received (in memory)."""

    def __init__(self) -> None:
        self._folders: dict[tuple[str, ...], str] = {}
        self._counts: dict[tuple[str, ...], int] = {}
        self._copies: dict[str, int] = {}
        self.images: list[ReceivedImage] = []

    def _child(self, parent: tuple[str, ...], key: str, prefix: str, width: int) -> str:
        full = (*parent, key)
        name = self._folders.get(full)
        if name is None:
            n = self._counts.get(parent, 0) + 1
            self._counts[parent] = n
            name = self._folders[full] = f"{prefix}{n:0{width}d}"
        return name

    def folder_of(self, source_ae: str, study: str, series: str) -> Path:
        """The relative folder of a series: counter names only."""
        a = self._child((), source_ae, "a", 3)
        s = self._child((source_ae,), study, "s", 4)
        r = self._child((source_ae, study), series, "r", 4)
        return Path(a, s, r)

    def next_copy(self, sop_instance_uid: str) -> int:
        n = self._copies.get(sop_instance_uid, 0)
        self._copies[sop_instance_uid] = n + 1
        return n


class TemporaryArea:
    """This workstation's folder of temporary images, with its index and change listeners.

    Thread-safe: the Storage SCP's association threads call :meth:`reserve` and
    :meth:`commit`; viewers read :meth:`series_images` and wait with :meth:`wait_for_more`.
    """

    def __init__(self, folder: Path, lock: IO[str] | None) -> None:
        self.folder = folder
        self._lock_file = lock
        self._index = AreaIndex()
        self._files = 0
        self._changed = threading.Condition()
        self._listeners: list[Callable[[ReceivedImage], None]] = []

    @classmethod
    def claim(cls, root: Path) -> TemporaryArea:
        """Sweep left-overs of crashed runs under ``root``, then make and lock a folder of our own."""
        root.mkdir(parents=True, exist_ok=True)
        sweep_left_overs(root)
        folder = root / f"{_FOLDER_PREFIX}{secrets.token_hex(6)}"
        folder.mkdir(mode=0o700)
        fh = (folder / LOCK_NAME).open("w")
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        return cls(folder, fh)

    def add_listener(self, listener: Callable[[ReceivedImage], None]) -> None:
        """Call ``listener(image)`` (on an association thread) after each image is written."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[ReceivedImage], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def reserve(self, source_ae: str, study: str, series: str, sop_instance_uid: str) -> tuple[Path, int]:
        """A new, unused file path for an image (its folders made) and its copy number."""
        with self._changed:
            relative = self._index.folder_of(source_ae, study, series)
            self._files += 1
            name = f"{self._files:06d}.dcm"
            copy = self._index.next_copy(sop_instance_uid)
        target = self.folder / relative
        target.mkdir(parents=True, exist_ok=True)
        return target / name, copy

    def commit(self, image: ReceivedImage) -> None:
        """Record a written image and tell the listeners."""
        with self._changed:
            self._index.images.append(image)
            self._changed.notify_all()
        for listener in list(self._listeners):
            try:
                listener(image)
            except Exception:  # a listener's failure never fails the C-STORE
                LOGGER.exception("a temporary store listener failed")

    def images(self) -> list[ReceivedImage]:
        with self._changed:
            return list(self._index.images)

    def series_images(self, study: str, series: str) -> list[ReceivedImage]:
        """Images of one series, in arrival order (every copy)."""
        with self._changed:
            return [
                i for i in self._index.images
                if i.study_instance_uid == study and i.series_instance_uid == series
            ]

    def wait_for_more(self, seen: int, timeout: float) -> int:
        """Wait up to ``timeout`` s until more than ``seen`` images are stored; returns the count."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._index.images) > seen, timeout)
            return len(self._index.images)

    def remove(self) -> None:
        """Delete every temporary image and the folder (at exit), then release the lock."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        with self._changed:
            self._index = AreaIndex()
