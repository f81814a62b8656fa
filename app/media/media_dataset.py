"""An instance made ready for interchange media (STD-GEN-CD / STD-GEN-DVD-RAM, PS3.11 D).

- Transfer syntax Explicit VR Little Endian, the only one of the General Purpose profiles:
  compressed pixel data are decoded (a lossy source keeps Lossy Image Compression "01",
  PS3.3 C.7.6.1.1.5), big endian data are byte-swapped.
- File Meta Information of our implementation; no Source AE Title (the reference does not
  use it).
- Catalogue values win: where the server's catalogue has a value that differs from the file's,
  the file takes the catalogue's, so the DICOMDIR and the images agree.
- Keys a directory record needs (PS3.3 F.5: Type 1) but the instance lacks are filled in,
  in the file as well, and reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian

from app.core.errors import DicomInputError
from app.dicom.transfer_syntaxes import LOSSY
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

#: Catalogue keys (QIDO-RS study and series level) that a file on a disc must agree with.
CATALOGUE_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "StudyDescription", "AccessionNumber", "StudyID", "ReferringPhysicianName",
    "Modality", "SeriesNumber", "SeriesDescription",
)  # fmt: skip

_LOSSY_METHOD = {"1.2.840.10008.1.2.4.50": "ISO_10918_1", "1.2.840.10008.1.2.4.51": "ISO_10918_1",
                 "1.2.840.10008.1.2.4.81": "ISO_14495_1", "1.2.840.10008.1.2.4.91": "ISO_15444_1",
                 "1.2.840.10008.1.2.4.203": "ISO_15444_15"}  # fmt: skip


@dataclass(frozen=True)
class Preparation:
    """What was done to an instance: elements changed to match the catalogue, keys filled in."""

    changed: tuple[str, ...] = ()
    invented: tuple[str, ...] = ()
    decompressed_from: str = ""


def _swap_big_endian(ds: Dataset) -> None:
    """Explicit VR Big Endian -> little endian: numbers are decoded values, OW bytes are swapped."""
    for elem in ds.iterall():
        if elem.VR == "OW" and isinstance(elem.value, bytes) and len(elem.value) % 2 == 0:
            elem.value = np.frombuffer(elem.value, ">u2").astype("<u2").tobytes()
        elif elem.VR == "OF" and isinstance(elem.value, bytes):
            elem.value = np.frombuffer(elem.value, ">f4").astype("<f4").tobytes()
        elif elem.VR in ("OL", "OD") and isinstance(elem.value, bytes):
            kind = ">u4" if elem.VR == "OL" else ">f8"
            elem.value = np.frombuffer(elem.value, kind).astype(kind.replace(">", "<")).tobytes()


def to_explicit_little(ds: Dataset) -> str:
    """Re-encode ``ds`` in Explicit VR Little Endian in place; returns the source syntax when it changed."""
    meta = getattr(ds, "file_meta", None)
    source = UID(str(meta.get("TransferSyntaxUID", ExplicitVRLittleEndian))) if meta else ExplicitVRLittleEndian
    if source == ExplicitVRLittleEndian:
        return ""
    if source.is_compressed:
        try:
            ds.decompress(generate_instance_uid=False)
        except Exception as exc:  # any decoder failure: the instance cannot go on the disc
            raise DicomInputError(f"its {source.name} pixel data could not be decoded ({exc})") from exc
        if source in LOSSY:
            ds.LossyImageCompression = "01"
            if "LossyImageCompressionMethod" not in ds and source in _LOSSY_METHOD:
                ds.LossyImageCompressionMethod = _LOSSY_METHOD[source]
    elif source == ExplicitVRBigEndian:
        for _ in ds.iterall():
            pass  # decode every raw element while the data set still knows it is big endian
        _swap_big_endian(ds)
    ds.set_original_encoding(False, True, ds.original_character_set)
    return str(source)


def _encodable(ds: Dataset, value: str) -> bool:
    if value.isascii():
        return True
    charsets = ds.get("SpecificCharacterSet")
    names = [charsets] if isinstance(charsets, str) else list(charsets or [])
    return "ISO_IR 192" in names


def _catalogue_value(catalogue: Mapping[str, str], keyword: str) -> str:
    return (catalogue.get(keyword) or "").strip()


def catalogue_differences(ds: Dataset, catalogue: Mapping[str, str]) -> tuple[str, ...]:
    """The keywords whose catalogue value is set and differs from the file's."""
    out = []
    for keyword in CATALOGUE_KEYWORDS:
        value = _catalogue_value(catalogue, keyword)
        current = ds.get(keyword)
        if value and (current is None or str(current).strip() != value):
            out.append(keyword)
    return tuple(out)


def apply_catalogue(ds: Dataset, catalogue: Mapping[str, str]) -> tuple[str, ...]:
    """Set the file's elements to the catalogue's values where they differ (empty catalogue values are ignored)."""
    changed = catalogue_differences(ds, catalogue)
    for keyword in changed:
        value = _catalogue_value(catalogue, keyword)
        if not _encodable(ds, value):
            ds.decode()  # every text element to Unicode before the character set changes
            ds.SpecificCharacterSet = "ISO_IR 192"
        setattr(ds, keyword, int(value) if keyword == "SeriesNumber" and value.lstrip("-").isdigit() else value)
    return changed


def _missing(ds: Dataset, keyword: str) -> bool:
    return keyword not in ds or ds[keyword].VM == 0 or str(ds[keyword].value).strip() == ""


def _first_value(ds: Dataset, *keywords: str) -> str:
    for keyword in keywords:
        if not _missing(ds, keyword):
            return str(ds[keyword].value).strip()
    return ""


#: Type 1 keys of the directory records (PS3.3 F.5) an instance must have, by leaf record type.
_REQUIRED = ("PatientID", "StudyDate", "StudyTime", "StudyID", "Modality", "SeriesNumber", "InstanceNumber")
_REQUIRED_LEAF = {"PRESENTATION": ("PresentationCreationDate", "PresentationCreationTime", "ContentLabel"),
                  "SR DOCUMENT": ("ContentDate", "ContentTime"), "KEY OBJECT DOC": ("ContentDate", "ContentTime")}


def missing_required(ds: Dataset, record_kind: str) -> tuple[str, ...]:
    """The directory records' Type 1 keys the instance lacks (what :func:`fill_required` would fill)."""
    missing = [k for k in (*_REQUIRED, *_REQUIRED_LEAF.get(record_kind, ())) if _missing(ds, k)]
    return tuple(missing + ([] if "PatientName" in ds else ["PatientName"]))


def fill_required(ds: Dataset, ordinals: Mapping[str, int], record_kind: str) -> tuple[str, ...]:
    """Fill in the Type 1 keys of the directory records that the instance lacks (in the file too).

    ``ordinals`` gives ``study``, ``series`` and ``instance`` numbers (1-based positions in the
    file-set) for invented Study ID, Series Number and Instance Number.
    """
    invented: list[str] = []
    today = dt.date.today().strftime("%Y%m%d")

    def fill(keyword: str, value: object) -> None:
        if _missing(ds, keyword):
            setattr(ds, keyword, value)
            invented.append(keyword)

    fill("PatientID", "NOID" + str(ds.get("StudyInstanceUID", ""))[-12:].replace(".", ""))
    if "PatientName" not in ds:
        ds.PatientName = ""
    fill("StudyDate", _first_value(ds, "SeriesDate", "AcquisitionDate", "ContentDate") or today)
    fill("StudyTime", _first_value(ds, "SeriesTime", "AcquisitionTime", "ContentTime") or "000000")
    fill("StudyID", str(ordinals.get("study", 1)))
    fill("Modality", "OT")
    fill("SeriesNumber", ordinals.get("series", 1))
    fill("InstanceNumber", ordinals.get("instance", 1))
    created_date = _first_value(ds, "InstanceCreationDate", "ContentDate", "StudyDate") or today
    created_time = _first_value(ds, "InstanceCreationTime", "ContentTime", "StudyTime") or "000000"
    if record_kind == "PRESENTATION":
        fill("PresentationCreationDate", created_date)
        fill("PresentationCreationTime", created_time)
        fill("ContentLabel", "UNNAMED")
    elif record_kind in ("SR DOCUMENT", "KEY OBJECT DOC"):
        fill("ContentDate", created_date)
        fill("ContentTime", created_time)
    return tuple(invented)


def media_file_meta(ds: Dataset) -> FileMetaDataset:
    """File Meta Information for the disc (PS3.10 7.1): our implementation, no Source AE Title."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta
