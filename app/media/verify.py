"""The final check of an export: read back what was written, as a File-set Reader would.

The DICOMDIR is read again (:func:`app.media.dicomdir_reader.read_dicomdir`), every instance
expected must be listed and its file must read as DICOM in Explicit VR Little Endian with the
SOP Instance UID its record names. An ISO image must hold the same files as the folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian

from app.media.dicomdir_reader import DicomdirError, read_dicomdir
from app.media.iso_image import list_iso
from app.media.tree import MediaTree, Problem


@dataclass(frozen=True)
class Verification:
    """Outcome of the re-read: how many instances were checked, and what was wrong."""

    checked: int
    problems: tuple[Problem, ...]
    tree: MediaTree | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_file_set(
    root: Path, expected: Iterable[str], should_stop: Callable[[], bool] | None = None
) -> Verification:
    """Re-read the file-set at ``root``; ``expected`` are the SOP Instance UIDs that must be on it."""
    try:
        tree = read_dicomdir(Path(root) / "DICOMDIR")
    except DicomdirError as exc:
        return Verification(0, (Problem("DICOMDIR", f"the written DICOMDIR does not read back: {exc}"),))
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
        try:
            ds = dcmread(instance.path)
            _ = ds.PixelData if "PixelData" in ds else None
        except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
            problems.append(Problem(instance.file_id, f"does not read back as DICOM ({exc})"))
            continue
        checked += 1
        if ds.file_meta.get("TransferSyntaxUID") != ExplicitVRLittleEndian:
            problems.append(Problem(instance.file_id, "not in Explicit VR Little Endian"))
        if str(ds.get("SOPInstanceUID", "")) != uid:
            problems.append(Problem(instance.file_id, "its SOP Instance UID differs from its DICOMDIR record"))
    return Verification(checked, tuple(problems), tree)


def verify_iso(iso_path: Path, root: Path) -> tuple[Problem, ...]:
    """The image must list exactly the folder's files (ISO 9660 names, no versions)."""
    on_disc = set(list_iso(iso_path))
    in_folder = {p.relative_to(root).as_posix() for p in Path(root).rglob("*") if p.is_file()}
    problems = [Problem(name, "in the folder but not in the ISO image") for name in sorted(in_folder - on_disc)]
    problems += [Problem(name, "in the ISO image but not in the folder") for name in sorted(on_disc - in_folder)]
    return tuple(problems)
