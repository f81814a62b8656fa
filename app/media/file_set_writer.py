"""File-set Creator (FSC): a multi-patient file-set with its DICOMDIR (PS3.10 8, PS3.11 STD-GEN-CD/DVD-RAM).

Instances are added one by one (:meth:`FileSetWriter.add` / :meth:`FileSetWriter.add_bytes`),
made ready for media by :mod:`app.media.media_dataset` and written at once to their final place
with 8-character file IDs (``PT000000/ST000000/SE000000/IM000000``, PS3.10 8.5; PS3.12 for CD/DVD),
each file once, so a whole DVD is never staged in the temporary folder. An instance that needs
no change (already Explicit VR Little Endian, its values equal to the catalogue's and to the
records already written for its patient, study and series, no key missing) is not re-encoded:
its data set bytes are kept behind our File Meta Information. :meth:`FileSetWriter.write` writes
the DICOMDIR (:mod:`app.media.dicomdir_writer`, records from :mod:`app.media.records`). An
instance that cannot go on a disc is refused with its reason and the others are written.
"""

from __future__ import annotations

import logging
import shutil
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import xxhash
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian

from app.core.errors import AppError, DicomInputError, StorageError
from app.dicom.file_meta import file_meta_bytes
from app.dicom.uids import generate_uid
from app.media.dicomdir_writer import Node, write_dicomdir
from app.media.media_dataset import (
    CATALOGUE_KEYWORDS,
    Preparation,
    apply_catalogue,
    catalogue_differences,
    fill_required,
    media_file_meta,
    missing_required,
    to_explicit_little,
)
from app.media.records import leaf_record, patient_record, record_type, series_record, study_record

log = logging.getLogger(__name__)

#: File-set ID of our discs (CS, at most 16 characters, PS3.3 F.3.2.1).
DEFAULT_FILE_SET_ID = "LIGHTBOX"

#: The first two letters of a leaf's file ID by record type (the rest: its number in the series).
FILE_PREFIX = {"IMAGE": "IM", "PRESENTATION": "PR", "SR DOCUMENT": "SR", "KEY OBJECT DOC": "KO",
               "ENCAP DOC": "ED", "WAVEFORM": "WV"}  # fmt: skip


@dataclass(frozen=True)
class Refused:
    """An instance left off the disc, and why."""

    sop_instance_uid: str
    reason: str


@dataclass(frozen=True)
class WrittenFileSet:
    """The folder written: its DICOMDIR and the File ID of every instance."""

    root: Path
    dicomdir: Path
    file_ids: dict[str, str]  # SOP Instance UID -> "PT000000/ST000000/SE000000/IM000000"
    refused: tuple[Refused, ...] = ()
    prepared: dict[str, Preparation] = field(default_factory=dict)
    checksums: dict[str, int] = field(default_factory=dict)  # SOP Instance UID -> XXH3-64 of the file written


def check_output_folder(out_dir: Path) -> None:
    """The output folder must be new or empty (a file-set is written whole, never merged)."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise StorageError(f"{out_dir} is not an empty folder; choose a new or empty folder for the file-set.")


def _data_set_offset(data: bytes) -> int | None:
    """Where the data set starts after a Part 10 header with a File Meta Group Length, else None."""
    if len(data) < 144 or data[128:132] != b"DICM" or data[132:138] != b"\x02\x00\x00\x00UL":
        return None
    (length,) = struct.unpack("<I", data[140:144])
    end = 144 + length
    return end if end <= len(data) else None


def _encode(ds: Dataset) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _record_values(node: Node | None) -> dict[str, str]:
    """The catalogue keys a PATIENT/STUDY/SERIES record holds (records do not change once made)."""
    if node is None:
        return {}
    if node.values is None:
        record = node.record
        node.values = {k: str(record[k].value).strip() for k in CATALOGUE_KEYWORDS if k in record and record[k].VM}
    return node.values


class FileSetWriter:
    """Collects instances of one or several patients and writes them as one file-set into ``out_dir``.

    Raises
    ------
    StorageError
        When ``out_dir`` is not new or empty.
    """

    def __init__(self, out_dir: Path, file_set_id: str = DEFAULT_FILE_SET_ID) -> None:
        self.out_dir = Path(out_dir)
        check_output_folder(self.out_dir)
        self.file_set_id = file_set_id[:16]
        self.file_set_uid = generate_uid()
        self.root = Node(Dataset())
        self.refused: list[Refused] = []
        self.prepared: dict[str, Preparation] = {}
        self.file_ids: dict[str, str] = {}
        self.checksums: dict[str, int] = {}
        self._created = not self.out_dir.exists()

    def __len__(self) -> int:
        return len(self.prepared)

    def add(self, ds: Dataset, catalogue: Mapping[str, str] | None = None) -> bool:
        """Make ``ds`` ready for media (in place) and write it; False (and a :class:`Refused`) when it cannot go.

        Parameters
        ----------
        catalogue
            The server catalogue's values of the instance's patient, study and series (DICOM keywords);
            where one differs from the file's, the file is updated.
        """
        return self._add(ds, None, catalogue or {})

    def add_bytes(self, data: bytes, catalogue: Mapping[str, str] | None = None) -> bool:
        """Like :meth:`add` for a Part 10 file's bytes; kept byte for byte when nothing needs to change."""
        try:
            ds = dcmread(BytesIO(data))
        except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError) as exc:
            self.refused.append(Refused("?", f"not a readable DICOM file ({exc})"))
            return False
        return self._add(ds, data, catalogue or {})

    def _nodes(self, ds: Dataset, catalogue: Mapping[str, str]) -> list[Node | None]:
        """The PATIENT, STUDY and SERIES nodes the instance would join (None where new)."""
        patient = self.root.index.get((catalogue.get("PatientID") or str(ds.get("PatientID", ""))).strip())
        study = patient.index.get(str(ds.StudyInstanceUID)) if patient else None
        series = study.index.get(str(ds.SeriesInstanceUID)) if study else None
        return [patient, study, series]

    def _target(self, ds: Dataset, catalogue: Mapping[str, str]) -> dict[str, str]:
        """The values the file must carry: the records already written, then the catalogue's."""
        wanted: dict[str, str] = {}
        for node in self._nodes(ds, catalogue):
            wanted.update(_record_values(node))
        wanted.update({k: v for k, v in catalogue.items() if v})
        return wanted

    def _place(self, ds: Dataset, kind: str) -> str:
        """Join the tree (creating PATIENT/STUDY/SERIES records as needed); the new leaf's file ID."""
        leaf = Node(leaf_record(ds, kind))  # first: it may refuse the instance
        patient = self.root.child(str(ds.PatientID), lambda: patient_record(ds))
        study = patient.child(str(ds.StudyInstanceUID), lambda: study_record(ds))
        series = study.child(str(ds.SeriesInstanceUID), lambda: series_record(ds))
        series.children.append(leaf)
        parts = (f"PT{self.root.children.index(patient):06d}", f"ST{patient.children.index(study):06d}",
                 f"SE{study.children.index(series):06d}",
                 f"{FILE_PREFIX.get(kind, 'IM')}{len(series.children) - 1:06d}")  # fmt: skip
        record = leaf.record
        record.ReferencedFileID = list(parts)
        record.ReferencedSOPClassUIDInFile = ds.SOPClassUID
        record.ReferencedSOPInstanceUIDInFile = ds.SOPInstanceUID
        record.ReferencedTransferSyntaxUIDInFile = ExplicitVRLittleEndian
        return "/".join(parts)

    def _add(self, ds: Dataset, data: bytes | None, catalogue: Mapping[str, str]) -> bool:
        uid = str(ds.get("SOPInstanceUID", "")) or "?"
        try:
            if uid in self.prepared:
                return True
            for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
                if not str(ds.get(keyword, "")).strip():
                    raise DicomInputError(f"it has no {keyword}")
            kind = record_type(ds)
            target = self._target(ds, catalogue)
            offset = _data_set_offset(data) if data is not None else None
            as_is = (offset is not None and ds.file_meta.get("TransferSyntaxUID") == ExplicitVRLittleEndian
                     and not catalogue_differences(ds, target) and not missing_required(ds, kind))  # fmt: skip
            nodes = self._nodes(ds, target)
            ordinals = {"study": len(nodes[0].children) + 1 if nodes[0] else 1,
                        "series": len(nodes[1].children) + 1 if nodes[1] else 1,
                        "instance": len(nodes[2].children) + 1 if nodes[2] else 1}  # fmt: skip
            if as_is and data is not None and offset is not None:
                content = file_meta_bytes(ExplicitVRLittleEndian, str(ds.SOPClassUID), uid, "", "") + data[offset:]
                preparation = Preparation()
            else:
                source = to_explicit_little(ds)
                changed = apply_catalogue(ds, target)
                invented = fill_required(ds, ordinals, kind)
                ds.file_meta = media_file_meta(ds)
                content = _encode(ds)
                preparation = Preparation(changed, invented, source)
            file_id = self._place(ds, kind)
            path = self.out_dir.joinpath(*file_id.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        except OSError as exc:
            raise StorageError(f"Writing to {self.out_dir} failed ({exc}); check the free space.") from exc
        except (AppError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.info("instance %s not written to media: %s", uid, exc)
            self.refused.append(Refused(uid, str(exc)))
            return False
        self.file_ids[uid] = file_id
        self.checksums[uid] = xxhash.xxh3_64_intdigest(content)
        self.prepared[uid] = preparation
        return True

    def write(self) -> WrittenFileSet:
        """Write the DICOMDIR; returns what was written.

        Raises
        ------
        StorageError
            When nothing was added or the disk refuses the write.
        """
        if not self.prepared:
            self.abort()
            raise StorageError("No instance could be written to the file-set; see the refused instances.")
        dicomdir = self.out_dir / "DICOMDIR"
        try:
            write_dicomdir(dicomdir, self.root.children, self.file_set_id, self.file_set_uid)
        except OSError as exc:
            raise StorageError(f"Writing the DICOMDIR to {self.out_dir} failed ({exc}); check the free space.") from exc
        return WrittenFileSet(self.out_dir, dicomdir, dict(self.file_ids), tuple(self.refused), dict(self.prepared),
                              dict(self.checksums))  # fmt: skip

    def abort(self) -> None:
        """Remove what was written (a cancelled export leaves the folder as it found it)."""
        if self._created:
            shutil.rmtree(self.out_dir, ignore_errors=True)
            return
        for index in range(len(self.root.children)):
            shutil.rmtree(self.out_dir / f"PT{index:06d}", ignore_errors=True)
        (self.out_dir / "DICOMDIR").unlink(missing_ok=True)
