"""The DICOMDIR of a file-set we write (PS3.10 8, PS3.3 F.2 Basic Directory IOD), with its record offsets.

The records form the usual hierarchy PATIENT -> STUDY -> SERIES -> leaf (IMAGE, PRESENTATION,
...), kept in arrival order. The Directory Record Sequence is encoded by pydicom; the offsets
(Offset of the First/Last Directory Record of the Root Directory Entity, Offset of the Next
Directory Record, Offset of Referenced Lower-Level Directory Entity, PS3.3 F.3.2.1) are the byte
positions of the records' items from the start of the file. They are found by encoding once,
reading the items' positions back, and encoding again with the offsets filled in (each offset
is a fixed 4-byte UL, so the positions do not move; this is checked).

pydicom's ``FileSet`` does the same, but adding an instance to it scans every instance already
added (measured: 800 instances of one series take 51 s to add), so a disc of a few thousand
images would take minutes; this tree is linear. pydicom's ``FileSet`` reads what we write (a test
checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, MediaStorageDirectoryStorage

from app.core.errors import StorageError
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, generate_uid


@dataclass
class Node:
    """A directory record and the records below it."""

    record: Dataset
    children: list[Node] = field(default_factory=list)
    index: dict[str, Node] = field(default_factory=dict)  # children by key (Patient ID, Study/Series UID)
    values: dict[str, str] | None = None  # the record's key values, once asked for

    def child(self, key: str, make: Callable[[], Dataset]) -> Node:
        """The child with ``key``; created with the record ``make()`` returns when new."""
        found = self.index.get(key)
        if found is not None:
            return found
        node = Node(make())
        self.index[key] = node
        self.children.append(node)
        return node


def _prepare(record: Dataset) -> Dataset:
    record.OffsetOfTheNextDirectoryRecord = 0
    record.RecordInUseFlag = 0xFFFF
    record.OffsetOfReferencedLowerLevelDirectoryEntity = 0
    return record


def _flatten(nodes: list[Node], out: list[Node]) -> None:
    for node in nodes:
        out.append(node)
        _flatten(node.children, out)


def _link(nodes: list[Node], offsets: dict[int, int]) -> None:
    for position, node in enumerate(nodes):
        following = nodes[position + 1] if position + 1 < len(nodes) else None
        node.record.OffsetOfTheNextDirectoryRecord = offsets[id(following)] if following else 0
        node.record.OffsetOfReferencedLowerLevelDirectoryEntity = offsets[id(node.children[0])] if node.children else 0
        _link(node.children, offsets)


def _encode(ds: Dataset) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _item_offsets(data: bytes) -> list[int]:
    items = dcmread(BytesIO(data)).DirectoryRecordSequence
    return [int(item.seq_item_tell) for item in items]


def encode_dicomdir(roots: list[Node], file_set_id: str, file_set_uid: str | None = None) -> bytes:
    """The DICOMDIR file's bytes for the record tree ``roots`` (the PATIENT nodes)."""
    flat: list[Node] = []
    _flatten(roots, flat)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
    ds.file_meta.MediaStorageSOPInstanceUID = UID(file_set_uid) if file_set_uid else generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    ds.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.FileSetID = file_set_id[:16]
    ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
    ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
    ds.FileSetConsistencyFlag = 0
    ds.DirectoryRecordSequence = Sequence([_prepare(node.record) for node in flat])
    first = _encode(ds)
    positions = _item_offsets(first)
    if len(positions) != len(flat):
        raise StorageError("The DICOMDIR did not read back with all its records; nothing was written.")
    offsets = {id(node): position for node, position in zip(flat, positions, strict=True)}
    _link(roots, offsets)
    if roots:
        ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = offsets[id(roots[0])]
        ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = offsets[id(roots[-1])]
    data = _encode(ds)
    if len(data) != len(first) or _item_offsets(data) != positions:
        raise StorageError("The DICOMDIR's record offsets moved while they were written; nothing was written.")
    return data


def write_dicomdir(path: Path, roots: list[Node], file_set_id: str, file_set_uid: str | None = None) -> Path:
    path.write_bytes(encode_dicomdir(roots, file_set_id, file_set_uid))
    return path
