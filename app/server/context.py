"""Ingest: write file -> commit index -> roll back the file on failure -> notify listeners.

One :class:`Ingest` per server process, shared by the Storage SCP's C-STORE handler
(called concurrently from pynetdicom's threads) and STOW-RS. It provides full (level 2)
storage (PS3.4 B.4.1): the data set is kept exactly as received, private and retired
elements included, and never re-encoded; the only exception is the Patient ID fallback
below. Success is answered only once the file is written, fsynced and renamed into place
*and* its index row is committed; on any failure nothing partial remains.

Patient ID fallback (PS3.4 B.4.1.3, coercion). The index needs a Patient ID. When a data
set has none, the Patient Name is used, and when that is empty too, a generated request
number (``LBX`` + 8 digits). The *stored file* is changed accordingly, so that what
C-FIND/QIDO report is what C-MOVE/WADO deliver: the data set is decoded, Patient ID set,
the original (empty) value recorded in the Original Attributes Sequence (0400,0561,
PS3.3 C.12.1.1.9) and the data set re-encoded in its own transfer syntax. The sender is
answered 0xB000 (coercion of data elements, PS3.4 B.2.3) and a WARNING is logged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any, BinaryIO

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import _read_file_meta_info, read_partial, read_preamble
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from app.core.config import ServerConfig
from app.core.errors import AppError, StorageError
from app.dicom.element_scan import ScanError, scan_values
from app.dicom.file_meta import file_meta_bytes
from app.dicom.transfer_syntaxes import STORAGE_PREFERENCE
from app.dicom.uids import IMPLEMENTATION_VERSION_NAME
from app.server.index.records import CatalogueProtocol, InstanceRecord
from app.server.storage import Storage, TempFile

LOGGER = logging.getLogger(__name__)

#: Statuses of PS3.4 Table B.2-1 and PS3.7 Annex C.
SUCCESS = 0x0000
DUPLICATE = 0x0111
OUT_OF_RESOURCES = 0xA700
DATASET_MISMATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
COERCED = 0xB000

#: Attributes the index reads from a received data set (parsed with stop_before_pixels).
INDEX_KEYWORDS = (
    "SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "StudyDate", "SeriesDate", "StudyTime",
    "SeriesTime", "AccessionNumber", "Modality", "ReferringPhysicianName", "StudyDescription",
    "SeriesDescription", "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
    "BodyPartExamined", "StudyInstanceUID", "SeriesInstanceUID", "StudyID", "SeriesNumber",
    "InstanceNumber", "NumberOfFrames", "Rows", "Columns",
)

_INDEX_TAGS = [int(tag_for_keyword(k) or 0) for k in INDEX_KEYWORDS]
_INDEX_TAG_SET = frozenset(_INDEX_TAGS)
_LAST_INDEX_TAG = max(_INDEX_TAGS)


#: The index attributes of one data set, by keyword (decoded text, integers or pydicom values).
Attributes = Mapping[str, Any] | Dataset

#: Every syntax but deflate encodes the data set's elements (all but pixel data) plainly.
_PLAIN_SYNTAXES = frozenset(
    uid for uid in STORAGE_PREFERENCE if uid != DeflatedExplicitVRLittleEndian
) | {ImplicitVRLittleEndian}


def _after_sop_uids(tag: int, _vr: str | None, _length: int) -> bool:
    return tag > 0x00080018


def _after_index_tags(tag: int, _vr: str | None, _length: int) -> bool:
    """Stop reading once past the last attribute the index needs (all precede pixel data)."""
    return tag > _LAST_INDEX_TAG


@dataclass(frozen=True)
class StoreOutcome:
    """What to answer for one stored instance (PS3.4 B.2.3, PS3.7 C.4).

    ``status`` is the DICOM status: 0x0000 success, 0xA700 out of resources (disk or
    index failure), 0x0111 duplicate rejected, 0xA900 data set does not match SOP class,
    0xC000 cannot understand, 0xB000 coercion of data elements (stored, with a warning).
    ``comment`` is the Error Comment (at most 64 characters).
    """

    status: int
    comment: str = ""
    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""

    @property
    def stored(self) -> bool:
        """True for success and warnings (the instance is stored)."""
        return self.status == SUCCESS or 0xB000 <= self.status <= 0xBFFF


@dataclass(frozen=True)
class StoredEvent:
    """Told to listeners after an instance was stored and committed."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    relpath: str
    source: str


Listener = Callable[[StoredEvent], None]


class _Refused(Exception):
    """Internal: the instance cannot be stored; carries the status to answer."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment


def _text(ds: Attributes, keyword: str, limit: int = 64) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = "\\".join(str(v) for v in value)
    text = str(value).strip()
    if keyword.endswith("Name") and not text.replace("^", "").replace("=", "").strip():
        return ""  # a PN of separators only (``^^^^``) is empty (PS3.5 6.2.1)
    return text[:limit]


def _int(ds: Attributes, keyword: str) -> int | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    if type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if -(2**31) <= number < 2**31 else None


def _uid(ds: Attributes, keyword: str) -> str:
    return str(ds.get(keyword) or "").strip().rstrip("\x00")


class Ingest:
    """Stores received instances: storage area + index, with the configured policies.

    Parameters
    ----------
    config
        Server settings (``duplicates`` policy).
    storage
        The storage area.
    catalogue
        The index (``app.server.index.catalogue.Catalogue``).
    """

    def __init__(self, config: ServerConfig, storage: Storage, catalogue: CatalogueProtocol) -> None:
        self.config = config
        self.storage = storage
        self.catalogue = catalogue
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        #: True for a SOP Instance UID (sent by a calling AE title) being fetched back from the
        #: archive (by this process, or, on a shared index, by another): the received copy then
        #: replaces the instance's offline row(s) whatever the duplicates policy
        #: (``ArchiveFetcher.restoring``; None: no archive tier).
        self.restoring: Callable[[str, str], bool] | None = None

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(event)`` after each instance is stored and committed."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        """Stop calling ``callback``."""
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    # -- entry points ------------------------------------------------------------------

    def store_encoded(
        self,
        dataset: bytes | memoryview | BinaryIO,
        *,
        transfer_syntax: str,
        sop_class_uid: str,
        sop_instance_uid: str,
        source_ae: str = "",
        called_ae: str = "",
    ) -> StoreOutcome:
        """Store an encoded data set as received in a C-STORE request (PS3.4 B.2.2).

        Parameters
        ----------
        dataset
            The data set, without file meta, encoded in ``transfer_syntax``: bytes or a
            readable binary file positioned at its first element.
        transfer_syntax, sop_class_uid, sop_instance_uid
            From the presentation context and the C-STORE command (Affected SOP Class /
            Instance UID).
        source_ae, called_ae
            Calling and called AE titles, recorded in the file meta.

        Returns
        -------
        StoreOutcome
            Never raises; failures are statuses.
        """
        return self._guarded(
            dataset, transfer_syntax=transfer_syntax, sop_class_uid=sop_class_uid,
            sop_instance_uid=sop_instance_uid, source_ae=source_ae, called_ae=called_ae,
        )

    def store_part10(
        self, fileobj: BinaryIO, *, source: str = "", expected_study_uid: str | None = None
    ) -> StoreOutcome:
        """Store a PS3.10 file (a STOW-RS part, PS3.18 10.5), its data set untouched.

        ``expected_study_uid`` (``POST /studies/{study}``) refuses an instance of another
        study with 0xA900.
        """
        try:
            if read_preamble(fileobj, False) is None:
                raise _Refused(CANNOT_UNDERSTAND, "not a DICOM PS3.10 file (no DICM prefix)")
            meta = _read_file_meta_info(fileobj)
            transfer_syntax = _uid(meta, "TransferSyntaxUID")
            if not transfer_syntax:
                raise _Refused(CANNOT_UNDERSTAND, "file meta has no Transfer Syntax UID")
            offset = fileobj.tell()
            # The sender's file meta is replaced by ours: the data set's own UIDs are what count.
            fileobj.seek(0)
            head = read_partial(fileobj, stop_when=_after_sop_uids, specific_tags=[0x00080016, 0x00080018])
            fileobj.seek(offset)
            sop_class = _uid(head, "SOPClassUID") or _uid(meta, "MediaStorageSOPClassUID")
            sop_instance = _uid(head, "SOPInstanceUID") or _uid(meta, "MediaStorageSOPInstanceUID")
        except _Refused as refused:
            return StoreOutcome(refused.status, refused.comment)
        except Exception as exc:
            LOGGER.info("unreadable PS3.10 file from %s: %s", source or "STOW-RS", exc)
            return StoreOutcome(CANNOT_UNDERSTAND, "cannot read the file meta information or data set")
        return self._guarded(
            fileobj, transfer_syntax=transfer_syntax, sop_class_uid=sop_class,
            sop_instance_uid=sop_instance, source_ae=source, called_ae="",
            expected_study_uid=expected_study_uid,
        )

    def store_dataset(self, ds: Dataset, *, source: str = "") -> StoreOutcome:
        """Store a parsed data set (STOW-RS); encoded in its file meta's transfer syntax
        (Explicit VR Little Endian when it has none), then as :meth:`store_part10`."""
        try:
            if not hasattr(ds, "file_meta") or "TransferSyntaxUID" not in ds.file_meta:
                ds = ds.copy()
                ds.file_meta = FileMetaDataset()
                ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            buffer = BytesIO()
            pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
            buffer.seek(0)
        except Exception as exc:
            LOGGER.info("cannot encode a data set from %s: %s", source or "STOW-RS", exc)
            return StoreOutcome(CANNOT_UNDERSTAND, f"cannot encode the data set: {exc}"[:64])
        return self.store_part10(buffer, source=source)

    # -- the work ----------------------------------------------------------------------

    def _guarded(self, dataset: bytes | memoryview | BinaryIO, **kwargs: Any) -> StoreOutcome:
        try:
            return self._store(dataset, **kwargs)
        except _Refused as refused:
            return StoreOutcome(
                refused.status, refused.comment[:64], kwargs.get("sop_instance_uid", ""),
                kwargs.get("sop_class_uid", ""),
            )
        except Exception:
            LOGGER.exception("storing an instance failed unexpectedly")
            return StoreOutcome(OUT_OF_RESOURCES, "internal error while storing", kwargs.get("sop_instance_uid", ""))

    def _store(
        self,
        dataset: bytes | memoryview | BinaryIO,
        *,
        transfer_syntax: str,
        sop_class_uid: str,
        sop_instance_uid: str,
        source_ae: str,
        called_ae: str,
        expected_study_uid: str | None = None,
    ) -> StoreOutcome:
        policy = self.config.duplicates
        if self.restoring is not None and sop_instance_uid and self.restoring(sop_instance_uid, source_ae):
            policy = "overwrite"  # fetched back from the archive: the copy replaces its offline row
        if policy == "reject" and sop_instance_uid and self._has(sop_instance_uid):
            LOGGER.info("duplicate SOP instance %s from %s rejected", sop_instance_uid, source_ae or "?")
            return StoreOutcome(DUPLICATE, "duplicate SOP Instance UID", sop_instance_uid)
        temp = self._write_temp(dataset, transfer_syntax, sop_class_uid, sop_instance_uid, source_ae, called_ae)
        self.storage.begin_sync(temp)  # the disk flushes while we parse
        try:
            ds = self._parse(temp, dataset, transfer_syntax)
            sop_instance_uid = self._check(ds, sop_class_uid, sop_instance_uid, expected_study_uid)
            status, comment = SUCCESS, ""
            patient_id = _text(ds, "PatientID")
            if not patient_id:
                patient_id = self._fallback_patient_id(ds)
                temp = self._coerce_patient_id(temp, patient_id)
                status, comment = COERCED, "Patient ID was empty; coerced"
            size = temp.file.tell()
            checksum = temp.checksum.text() if temp.checksum.size == size else None
        except BaseException:
            temp.discard()
            raise
        relpath = self.storage.new_relpath()
        placed: list[str] = []

        def place_file() -> None:
            # Inside the index transaction, before COMMIT: the rows were written while the
            # file's fsync ran; the row is committed only once the file is in place.
            if not placed:
                self.storage.settle(self.storage.place(temp, relpath))
                placed.append(relpath)

        try:
            record = self._record(ds, patient_id, transfer_syntax, relpath, size, source_ae, checksum)
            result = self.catalogue.add_instance(record, duplicates=policy, before_commit=place_file)
        except Exception as exc:
            if placed:
                self._delete_quietly(relpath)
            else:
                temp.discard()
            if isinstance(exc, StorageError):
                LOGGER.error("%s", exc)
                return StoreOutcome(OUT_OF_RESOURCES, "storage area full or not writable", sop_instance_uid)
            LOGGER.error("index update failed, instance %s not stored: %s", sop_instance_uid, exc)
            return StoreOutcome(OUT_OF_RESOURCES, "index update failed", sop_instance_uid)
        if not result.added:
            temp.discard()
            return StoreOutcome(DUPLICATE, "duplicate SOP Instance UID", sop_instance_uid)
        for old in result.replaced:
            self._delete_quietly(old.relpath)
        if result.replaced:
            LOGGER.info("instance %s overwrote %d earlier copy(ies)", sop_instance_uid, len(result.replaced))
        self._notify(StoredEvent(
            record.study_instance_uid, record.series_instance_uid, sop_instance_uid, record.sop_class_uid,
            relpath, source_ae,
        ))
        return StoreOutcome(
            status, comment, sop_instance_uid, record.sop_class_uid, record.study_instance_uid,
            record.series_instance_uid,
        )

    def _has(self, sop_instance_uid: str) -> bool:
        try:
            return self.catalogue.has_instance(sop_instance_uid)
        except AppError as exc:
            raise _Refused(OUT_OF_RESOURCES, "index unavailable") from exc

    def _write_temp(
        self, dataset: bytes | memoryview | BinaryIO, transfer_syntax: str, sop_class_uid: str, sop_instance_uid: str,
        source_ae: str, called_ae: str,
    ) -> TempFile:
        if not transfer_syntax.strip():
            raise _Refused(CANNOT_UNDERSTAND, "no transfer syntax")
        try:
            header = file_meta_bytes(transfer_syntax, sop_class_uid, sop_instance_uid, source_ae, called_ae)
        except Exception as exc:
            raise _Refused(CANNOT_UNDERSTAND, f"invalid UIDs in the command: {exc}") from exc
        try:
            temp = self.storage.create_temp()
        except AppError as exc:
            LOGGER.error("%s", exc)
            raise _Refused(OUT_OF_RESOURCES, "cannot create a file in the storage area") from exc
        try:
            temp.write(header)
            if isinstance(dataset, bytes | bytearray | memoryview):
                temp.write(dataset)  # bytes or a buffer view: written without a copy
            else:
                temp.copy_from(dataset)
            temp.file.flush()
        except OSError as exc:
            temp.discard()
            LOGGER.error("cannot write to the storage area: %s", exc)
            raise _Refused(OUT_OF_RESOURCES, "storage area full or not writable") from exc
        except BaseException:
            temp.discard()
            raise
        return temp

    @staticmethod
    def _parse(temp: TempFile, received: bytes | memoryview | BinaryIO, transfer_syntax: str) -> Attributes:
        """Read only what the index needs (stop before pixel data), by keyword: with the
        element scanner from the received bytes, else (deflate, odd encodings) with
        pydicom from the written file."""
        try:
            if isinstance(received, bytes | bytearray | memoryview) and transfer_syntax in _PLAIN_SYNTAXES:
                try:
                    return scan_values(
                        received, implicit_vr=transfer_syntax == ImplicitVRLittleEndian,
                        little_endian=transfer_syntax != ExplicitVRBigEndian, wanted=_INDEX_TAG_SET,
                        stop_after=_LAST_INDEX_TAG,
                    )
                except ScanError as exc:  # pydicom's reader is more forgiving of odd encodings
                    LOGGER.debug("element scan failed (%s); reading with pydicom", exc)
            with temp.path.open("rb") as fh:
                ds = read_partial(fh, stop_when=_after_index_tags, specific_tags=_INDEX_TAGS)
            return {keyword: ds.get(keyword) for keyword in INDEX_KEYWORDS}  # a broken value fails here
        except Exception as exc:
            LOGGER.info("received data set cannot be parsed: %s", exc)
            raise _Refused(CANNOT_UNDERSTAND, f"malformed data set: {type(exc).__name__}") from exc

    @staticmethod
    def _check(ds: Attributes, sop_class_uid: str, sop_instance_uid: str, expected_study: str | None) -> str:
        """Check the UIDs (PS3.4 B.2.3: 0xA900 when the data set does not match)."""
        ds_sop = _uid(ds, "SOPInstanceUID")
        if not ds_sop:
            raise _Refused(DATASET_MISMATCH, "SOP Instance UID (0008,0018) missing")
        if sop_instance_uid and ds_sop != sop_instance_uid:
            raise _Refused(DATASET_MISMATCH, "SOP Instance UID differs from the command")
        ds_class = _uid(ds, "SOPClassUID")
        if not ds_class:
            raise _Refused(DATASET_MISMATCH, "SOP Class UID (0008,0016) missing")
        if sop_class_uid and ds_class != sop_class_uid:
            raise _Refused(DATASET_MISMATCH, "SOP Class UID differs from the command")
        for keyword, tag in (("StudyInstanceUID", "0020,000D"), ("SeriesInstanceUID", "0020,000E")):
            value = _uid(ds, keyword)
            if not value:
                raise _Refused(DATASET_MISMATCH, f"{keyword} ({tag}) missing")
            if len(value) > 64:
                raise _Refused(DATASET_MISMATCH, f"{keyword} ({tag}) longer than 64")
        if len(ds_sop) > 64 or len(ds_class) > 64:
            raise _Refused(DATASET_MISMATCH, "UID longer than 64 characters")
        if expected_study and _uid(ds, "StudyInstanceUID") != expected_study:
            raise _Refused(DATASET_MISMATCH, "instance belongs to another study")
        return ds_sop

    def _fallback_patient_id(self, ds: Attributes) -> str:
        """Patient Name, else a request number (the reference's section 4.2.3.2 rule)."""
        name = _text(ds, "PatientName", 324)
        if name:
            patient_id = name[:64]
            LOGGER.warning("instance %s has no Patient ID; using its Patient Name", _uid(ds, "SOPInstanceUID"))
        else:
            try:
                number = self.catalogue.next_request_number()
            except AppError as exc:
                raise _Refused(OUT_OF_RESOURCES, "index unavailable") from exc
            patient_id = f"LBX{number:08d}"
            LOGGER.warning(
                "instance %s has no Patient ID nor Patient Name; using request number %s",
                _uid(ds, "SOPInstanceUID"), patient_id,
            )
        return patient_id

    def _coerce_patient_id(self, temp: TempFile, patient_id: str) -> TempFile:
        """Rewrite the file with ``patient_id`` set, in the same transfer syntax (PS3.4 B.4.1.3)."""
        try:
            full = pydicom.dcmread(temp.path)
            original = Dataset()
            original.PatientID = full.get("PatientID", "") or ""
            item = Dataset()
            item.ModifiedAttributesSequence = [original]
            item.AttributeModificationDateTime = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
            item.ModifyingSystem = IMPLEMENTATION_VERSION_NAME
            item.ReasonForTheAttributeModification = "COERCE"
            full.PatientID = patient_id
            sequence = full.get("OriginalAttributesSequence") or []
            full.OriginalAttributesSequence = [*sequence, item]
            rewritten = self.storage.create_temp()
        except Exception as exc:
            raise _Refused(CANNOT_UNDERSTAND, f"cannot decode the data set: {type(exc).__name__}") from exc
        try:
            encoded = BytesIO()
            pydicom.dcmwrite(encoded, full, enforce_file_format=True)
            rewritten.write(encoded.getbuffer())  # checksummed as it is written
            rewritten.file.flush()
        except Exception as exc:
            rewritten.discard()
            raise _Refused(OUT_OF_RESOURCES, f"cannot rewrite the data set: {type(exc).__name__}") from exc
        temp.discard()
        return rewritten

    @staticmethod
    def _record(
        ds: Attributes, patient_id: str, transfer_syntax: str, relpath: str, size: int, source_ae: str,
        checksum: str | None,
    ) -> InstanceRecord:
        return InstanceRecord(
            study_instance_uid=_uid(ds, "StudyInstanceUID"),
            series_instance_uid=_uid(ds, "SeriesInstanceUID"),
            sop_instance_uid=_uid(ds, "SOPInstanceUID"),
            sop_class_uid=_uid(ds, "SOPClassUID"),
            transfer_syntax_uid=transfer_syntax.strip()[:64],
            relpath=relpath,
            size=size,
            patient_id=patient_id,
            issuer=_text(ds, "IssuerOfPatientID"),
            patient_name=_text(ds, "PatientName", 324),
            birth_date=_text(ds, "PatientBirthDate", 8),
            sex=_text(ds, "PatientSex", 16),
            study_date=_text(ds, "StudyDate", 8),
            study_time=_text(ds, "StudyTime", 16),
            study_description=_text(ds, "StudyDescription"),
            accession_number=_text(ds, "AccessionNumber"),
            referring_physician_name=_text(ds, "ReferringPhysicianName", 324),
            study_id=_text(ds, "StudyID", 16),
            modality=_text(ds, "Modality", 16),
            series_number=_int(ds, "SeriesNumber"),
            series_description=_text(ds, "SeriesDescription"),
            series_date=_text(ds, "SeriesDate", 8),
            series_time=_text(ds, "SeriesTime", 16),
            body_part=_text(ds, "BodyPartExamined", 16),
            instance_number=_int(ds, "InstanceNumber"),
            rows=_int(ds, "Rows"),
            columns=_int(ds, "Columns"),
            number_of_frames=_int(ds, "NumberOfFrames"),
            source_ae=source_ae.strip()[:64],
            checksum=checksum,
        )

    def _delete_quietly(self, relpath: str) -> None:
        try:
            self.storage.delete(relpath)
        except AppError:
            LOGGER.exception("could not remove %s from the storage area", relpath)

    def _notify(self, event: StoredEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(event)
            except Exception:
                LOGGER.exception("a store listener failed")
