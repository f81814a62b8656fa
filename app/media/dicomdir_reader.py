"""File-set Reader (FSR): a DICOMDIR's records as a patient / study / series tree (PS3.10 8, PS3.3 F).

The record hierarchy is followed by its offsets (Offset of the First Directory Record of the
Root Directory Entity, Offset of the Next Directory Record, Offset of Referenced Lower-Level
Directory Entity, PS3.3 F.3.2.1), each record once (a loop in the offsets is reported, not
followed). pydicom's ``FileSet`` refuses a whole DICOMDIR when one record is wrong; a reader of
discs from elsewhere must instead import what is good and say what is not, so the walk is here:

- a record whose Referenced File ID leaves the root is skipped (:mod:`app.media.paths`);
- a missing referenced file is reported;
- a record outside the hierarchy (orphan) that references a file is read from the file's header;
- a DICOMDIR that cannot be read at all makes :func:`open_file_set` scan the folder instead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import MediaStorageDirectoryStorage

from app.core.errors import DicomInputError
from app.media.folder_scan import (
    PATIENT_KEYS,
    SERIES_KEYS,
    STUDY_KEYS,
    header_row,
    scan_folder,
    scan_rows,
    text_of,
    values_of,
)
from app.media.paths import UnsafePathError, resolve_file_id
from app.media.tree import MediaInstance, MediaTree, Problem, Row, build_tree

log = logging.getLogger(__name__)

#: Directory Record Sequence items read at most (a DICOMDIR of a full DVD has some 10^5).
MAX_RECORDS = 2_000_000


class DicomdirError(DicomInputError):
    """The DICOMDIR cannot be read as a Media Storage Directory."""


def find_dicomdir(folder: Path) -> Path | None:
    """The DICOMDIR file at the top of ``folder`` (any letter case), or None."""
    exact = folder / "DICOMDIR"
    if exact.is_file():
        return exact
    try:
        for entry in folder.iterdir():
            if entry.name.upper() == "DICOMDIR" and entry.is_file():
                return entry
    except OSError:
        return None
    return None


def _load(path: Path) -> Dataset:
    try:
        ds = dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError, AttributeError) as exc:
        raise DicomdirError(f"{path.name} is not a readable DICOM file ({exc})") from exc
    if ds.file_meta.get("MediaStorageSOPClassUID") != MediaStorageDirectoryStorage:
        raise DicomdirError(f"{path.name} is not a Media Storage Directory (DICOMDIR) object")
    if "DirectoryRecordSequence" not in ds:
        raise DicomdirError(f"{path.name} has no Directory Record Sequence")
    return ds


class _Walk:
    """One pass over a DICOMDIR's record hierarchy."""

    def __init__(self, root: Path, ds: Dataset) -> None:
        self.root = root
        self.rows: list[Row] = []
        self.problems: list[Problem] = []
        self.visited: set[int] = set()
        try:
            items = list(ds.DirectoryRecordSequence)
        except Exception as exc:  # pydicom parses sequences lazily: a broken item surfaces here
            raise DicomdirError(f"the DICOMDIR's records cannot be read ({exc})") from exc
        if len(items) > MAX_RECORDS:
            raise DicomdirError(f"the DICOMDIR has {len(items)} records, more than {MAX_RECORDS} read at most")
        self.records: dict[int, Dataset] = {}
        for item in items:
            offset = getattr(item, "seq_item_tell", None)
            if isinstance(offset, int):
                self.records[offset] = item

    def _chain(self, offset: Any) -> list[Dataset]:
        """The records of one directory entity, following Offset of the Next Directory Record."""
        out: list[Dataset] = []
        while isinstance(offset, int) and offset:
            if offset in self.visited:
                self.problems.append(Problem("DICOMDIR", f"the record offsets loop back at {offset}; stopped there"))
                break
            record = self.records.get(offset)
            if record is None:
                self.problems.append(Problem("DICOMDIR", f"no directory record at offset {offset}; part of the "
                                                         "directory is lost (the folder scan may find the files)"))
                break
            self.visited.add(offset)
            out.append(record)
            offset = record.get("OffsetOfTheNextDirectoryRecord", 0)
        return out

    def walk(self, offset: Any, context: dict[str, dict[str, str]]) -> None:
        for record in self._chain(offset):
            if record.get("RecordInUseFlag", 0xFFFF) == 0:
                continue  # an inactive record (PS3.3 F.3.2.1)
            kind = text_of(record, "DirectoryRecordType").upper()
            below = dict(context)
            if kind == "PATIENT":
                below = {"patient": values_of(record, PATIENT_KEYS)}
            elif kind == "STUDY":
                below = {**context, "study": values_of(record, STUDY_KEYS)}
            elif kind == "SERIES":
                below = {**context, "series": values_of(record, SERIES_KEYS)}
            if "ReferencedFileID" in record:
                self.leaf(record, kind, context)
            self.walk(record.get("OffsetOfReferencedLowerLevelDirectoryEntity", 0), below)

    def leaf(self, record: Dataset, kind: str, context: dict[str, dict[str, str]]) -> None:
        components = record.ReferencedFileID
        parts = [str(components)] if isinstance(components, str) else [str(c) for c in components or []]
        file_id = "/".join(parts)
        try:
            path = resolve_file_id(self.root, parts)
        except UnsafePathError as exc:
            self.problems.append(Problem(file_id or "DICOMDIR", str(exc)))
            return
        if not path.is_file():
            self.problems.append(Problem(file_id, "the file the DICOMDIR names is missing"))
            return
        if "series" not in context or "patient" not in context:
            self.orphan(path, file_id, "outside a patient/study/series")
            return
        instance = MediaInstance(
            path=path,
            file_id=file_id,
            sop_instance_uid=text_of(record, "ReferencedSOPInstanceUIDInFile"),
            sop_class_uid=text_of(record, "ReferencedSOPClassUIDInFile"),
            transfer_syntax_uid=text_of(record, "ReferencedTransferSyntaxUIDInFile"),
            record_type=kind,
            instance_number=text_of(record, "InstanceNumber"),
        )
        if not instance.sop_instance_uid:
            self.orphan(path, file_id, "without Referenced SOP Instance UID in File")
            return
        self.rows.append(Row(context["patient"], context.get("study", {}), context["series"], instance))

    def orphan(self, path: Path, file_id: str, why: str) -> None:
        try:
            self.rows.append(header_row(self.root, path))
        except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
            self.problems.append(Problem(file_id, f"a record {why} whose file is not readable DICOM ({exc})"))

    def orphans(self) -> None:
        for offset, record in self.records.items():
            if offset not in self.visited and "ReferencedFileID" in record and record.get("RecordInUseFlag", 1):
                self.visited.add(offset)
                components = record.ReferencedFileID
                parts = [str(components)] if isinstance(components, str) else [str(c) for c in components or []]
                try:
                    path = resolve_file_id(self.root, parts)
                except UnsafePathError as exc:
                    self.problems.append(Problem("/".join(parts) or "DICOMDIR", str(exc)))
                    continue
                if path.is_file():
                    self.orphan(path, "/".join(parts), "outside the directory hierarchy")
                else:
                    self.problems.append(Problem("/".join(parts), "the file the DICOMDIR names is missing"))


def _walk(dicomdir: Path) -> _Walk:
    root = dicomdir.parent.resolve()
    ds = _load(dicomdir)
    walk = _Walk(root, ds)
    walk.walk(ds.get("OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity", 0), {})
    walk.orphans()
    return walk


def read_dicomdir(dicomdir: Path) -> MediaTree:
    """The tree of a DICOMDIR (root = its folder), exactly as its records say.

    Raises
    ------
    DicomdirError
        When the file is not a readable Media Storage Directory; per-record problems are
        reported in :attr:`MediaTree.problems` instead.
    """
    walk = _walk(dicomdir)
    return build_tree(walk.root, walk.rows, walk.problems, source="DICOMDIR")


def open_file_set(path: Path) -> MediaTree:
    """The tree of a folder (or its DICOMDIR file): read the DICOMDIR, or scan when there is none.

    A DICOMDIR that cannot be read is reported as the first problem and the folder is scanned
    instead; one whose record links are broken is read as far as it goes and the folder is scanned
    for the files it lost, so a damaged disc still shows everything it holds.
    """
    path = Path(path)
    if path.is_file():
        dicomdir: Path | None = path
        root = path.parent.resolve()
    elif path.is_dir():
        root = path.resolve()
        dicomdir = find_dicomdir(root)
    else:
        raise DicomInputError(f"{path} is neither a folder nor a DICOMDIR file; choose the disc or its folder.")
    if dicomdir is None:
        return scan_folder(root, [Problem("DICOMDIR", "there is no DICOMDIR; the folder was scanned instead")])
    try:
        walk = _walk(dicomdir)
    except DicomdirError as exc:
        log.warning("DICOMDIR unreadable, scanning %s instead: %s", root, exc)
        return scan_folder(root, [Problem("DICOMDIR", f"{exc}; the folder was scanned instead")])
    if not any(p.where == "DICOMDIR" for p in walk.problems):
        return build_tree(root, walk.rows, walk.problems, source="DICOMDIR")
    known = {row.instance.path for row in walk.rows}
    rows, problems = scan_rows(root, skip=known)
    note = Problem("DICOMDIR", f"the DICOMDIR is damaged; {len(rows)} file(s) it lost were found by scanning")
    return build_tree(root, walk.rows + rows, [*walk.problems, note, *problems], source="DICOMDIR + folder scan")
