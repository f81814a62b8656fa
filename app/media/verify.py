"""The final check of an export: read back what was written, as a File-set Reader would.

The DICOMDIR is read again (:func:`app.media.dicomdir_reader.read_dicomdir`) and every instance
expected must be listed. Each file is read back whole: when the writer's checksum is known
(XXH3-64 of the bytes it wrote) the bytes must match it and the File Meta Information must say
Explicit VR Little Endian and the SOP Instance UID its record names; otherwise the file is parsed
as DICOM and checked the same way. An ISO image must hold the same files as the folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import xxhash
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian

from app.media.dicomdir_reader import DicomdirError, read_dicomdir
from app.media.iso_image import list_iso
from app.media.tree import MediaInstance, MediaTree, Problem


@dataclass(frozen=True)
class Verification:
    """Outcome of the re-read: how many instances were checked, and what was wrong."""

    checked: int
    problems: tuple[Problem, ...]
    tree: MediaTree | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_file(instance: MediaInstance, uid: str, checksum: int | None) -> list[Problem]:
    """The problems of one file read back (none when it is what was written)."""
    try:
        if checksum is not None:
            data = instance.path.read_bytes()
            if xxhash.xxh3_64_intdigest(data) != checksum:
                return [Problem(instance.file_id, "its bytes differ from what was written")]
            meta: Dataset = read_file_meta_info(instance.path)  # the first few hundred bytes again
            found = str(meta.get("MediaStorageSOPInstanceUID", ""))
        else:
            ds = dcmread(instance.path)
            _ = ds.get("PixelData")
            meta, found = ds.file_meta, str(ds.get("SOPInstanceUID", ""))
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        return [Problem(instance.file_id, f"does not read back as DICOM ({exc})")]
    problems = []
    if meta.get("TransferSyntaxUID") != ExplicitVRLittleEndian:
        problems.append(Problem(instance.file_id, "not in Explicit VR Little Endian"))
    if found != uid:
        problems.append(Problem(instance.file_id, "its SOP Instance UID differs from its DICOMDIR record"))
    return problems


def verify_file_set(
    root: Path,
    expected: Iterable[str],
    checksums: Mapping[str, int] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Verification:
    """Re-read the file-set at ``root``.

    Parameters
    ----------
    expected
        The SOP Instance UIDs that must be on it.
    checksums
        XXH3-64 of each file as written, by SOP Instance UID
        (:attr:`~app.media.file_set_writer.WrittenFileSet.checksums`); without them each file is parsed.
    """
    try:
        tree = read_dicomdir(Path(root) / "DICOMDIR")
    except DicomdirError as exc:
        return Verification(0, (Problem("DICOMDIR", f"the written DICOMDIR does not read back: {exc}"),))
    checksums = checksums or {}
    problems = list(tree.problems)
    listed = {i.sop_instance_uid: i for i in tree.instances()}
    for uid in expected:
        if uid not in listed:
            problems.append(Problem(uid, "written but not listed in the DICOMDIR"))
    checked = 0
    for uid, instance in listed.items():
        if should_stop is not None and should_stop():
            problems.append(Problem(".", "the check was stopped before the end"))
            break
        found = _check_file(instance, uid, checksums.get(uid))
        problems.extend(found)
        if not any("does not read back" in p.reason for p in found):
            checked += 1
    return Verification(checked, tuple(problems), tree)


def verify_iso(iso_path: Path, root: Path) -> tuple[Problem, ...]:
    """The image must list exactly the folder's files (ISO 9660 names, no versions)."""
    on_disc = set(list_iso(iso_path))
    in_folder = {p.relative_to(root).as_posix() for p in Path(root).rglob("*") if p.is_file()}
    problems = [Problem(name, "in the folder but not in the ISO image") for name in sorted(in_folder - on_disc)]
    problems += [Problem(name, "in the ISO image but not in the folder") for name in sorted(on_disc - in_folder)]
    return tuple(problems)
