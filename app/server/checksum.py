"""Checksums of stored files, recorded at ingest and checked by storage commitment (PS3.4 J.3.3).

The ingest computes the checksum of each file while its bytes are written (never by
reading the file back) and the index keeps it as ``"<algorithm>:<hex>"`` in
``instance.checksum``. XXH3-64 (the ``xxhash`` library) is used: a 64-bit non-cryptographic
hash that detects the accidental damage storage commitment is about (truncation, flipped
or overwritten blocks) at about 30 GB/s, some 0.02 ms per CT image, where zlib's CRC-32
takes ten times longer (measured with ``timeit`` on a 512 KiB buffer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xxhash

#: Algorithm name written before the colon.
ALGORITHM = "xxh3_64"

#: Read size when a stored file is verified.
_CHUNK = 1024 * 1024


class RunningChecksum:
    """A checksum updated with each block of bytes written, in order."""

    __slots__ = ("_hash", "size")

    def __init__(self) -> None:
        self._hash = xxhash.xxh3_64()
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Account for ``data``, the next bytes of the file."""
        self._hash.update(data)
        self.size += len(data) if not isinstance(data, memoryview) else data.nbytes

    def text(self) -> str:
        """The checksum as stored in the index: ``xxh3_64:<16 hex digits>``."""
        return f"{ALGORITHM}:{self._hash.hexdigest()}"


def checksum_of_bytes(data: bytes | bytearray | memoryview) -> str:
    """The checksum text of ``data`` (see :meth:`RunningChecksum.text`)."""
    running = RunningChecksum()
    running.update(data)
    return running.text()


@dataclass(frozen=True)
class FileDigest:
    """Size and checksum of a file as it is on disk now."""

    size: int
    checksum: str


def digest_file(path: Path) -> FileDigest:
    """Read ``path`` once and return its size and checksum; raises ``OSError``."""
    running = RunningChecksum()
    with path.open("rb") as fh:
        while True:
            block = fh.read(_CHUNK)
            if not block:
                break
            running.update(block)
    return FileDigest(running.size, running.text())


def is_supported(checksum: str) -> bool:
    """Whether a recorded checksum uses an algorithm this version can verify."""
    return checksum.startswith(ALGORITHM + ":")
