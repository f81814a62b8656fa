"""Directory records of the file-sets Lightbox writes (PS3.3 F.5), built on pydicom's record definitions.

PATIENT, STUDY and SERIES records carry their required keys and, when the instance has them,
the optional keys a reader shows (birth date, sex, referring physician, series description),
all of them values the catalogue supplies, so file and record can always be made to agree. The leaf
record is pydicom's for the instance's record type, with two changes the reference asks for:

- no Referenced Image Sequence in the records: IMAGE, SERIES, STUDY, SR DOCUMENT and KEY
  OBJECT DOC records never carry one. The one exception the standard forces is inside a
  PRESENTATION record, whose Referenced Series Sequence (Type 1C, PS3.3 F.5.23; dciodvfy reports
  its absence as an error) lists the referenced images of each series;
- SR DOCUMENT and KEY OBJECT DOC records carry only the Content Items the standard names for
  directory records (HAS CONCEPT MOD, PS3.3 F.5.21/F.5.24), not the whole document with its
  image references.
"""

from __future__ import annotations

from copy import deepcopy

from pydicom import uid as sop
from pydicom.dataset import Dataset
from pydicom.fileset import DIRECTORY_RECORDERS
from pydicom.sequence import Sequence

from app.core.errors import DicomInputError

#: Record types of the non-image classes that go on a disc (the reference's list of export classes).
LEAF_RECORD_TYPES: dict[str, str] = {
    sop.GrayscaleSoftcopyPresentationStateStorage: "PRESENTATION",
    sop.ColorSoftcopyPresentationStateStorage: "PRESENTATION",
    sop.PseudoColorSoftcopyPresentationStateStorage: "PRESENTATION",
    sop.BlendingSoftcopyPresentationStateStorage: "PRESENTATION",
    sop.XAXRFGrayscaleSoftcopyPresentationStateStorage: "PRESENTATION",
    sop.BasicTextSRStorage: "SR DOCUMENT",
    sop.EnhancedSRStorage: "SR DOCUMENT",
    sop.ComprehensiveSRStorage: "SR DOCUMENT",
    sop.Comprehensive3DSRStorage: "SR DOCUMENT",
    sop.ExtensibleSRStorage: "SR DOCUMENT",
    sop.ProcedureLogStorage: "SR DOCUMENT",
    sop.MammographyCADSRStorage: "SR DOCUMENT",
    sop.ChestCADSRStorage: "SR DOCUMENT",
    sop.ColonCADSRStorage: "SR DOCUMENT",
    sop.XRayRadiationDoseSRStorage: "SR DOCUMENT",
    sop.RadiopharmaceuticalRadiationDoseSRStorage: "SR DOCUMENT",
    sop.PatientRadiationDoseSRStorage: "SR DOCUMENT",
    sop.KeyObjectSelectionDocumentStorage: "KEY OBJECT DOC",
    sop.EncapsulatedPDFStorage: "ENCAP DOC",
    sop.EncapsulatedCDAStorage: "ENCAP DOC",
    sop.TwelveLeadECGWaveformStorage: "WAVEFORM",
    sop.GeneralECGWaveformStorage: "WAVEFORM",
    sop.BasicVoiceAudioWaveformStorage: "WAVEFORM",
}

#: Keys each intermediate record must have a value for (Type 1, PS3.3 F.5.1-F.5.3).
REQUIRED_KEYS = {
    "PATIENT": ("PatientID",),
    "STUDY": ("StudyDate", "StudyTime", "StudyID"),
    "SERIES": ("Modality", "SeriesInstanceUID", "SeriesNumber"),
    "IMAGE": ("InstanceNumber",),
}


def record_type(ds: Dataset) -> str:
    """The leaf record type of an instance; IMAGE for anything with pixel data.

    Raises
    ------
    DicomInputError
        For classes that do not go on a disc (neither images nor the reference's non-image list).
    """
    kind = LEAF_RECORD_TYPES.get(str(ds.get("SOPClassUID", "")))
    if kind:
        return kind
    if "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        return "IMAGE"
    raise DicomInputError(
        f"SOP class {ds.get('SOPClassUID', '?')} is neither an image nor a presentation state, key object "
        "selection, structured report, encapsulated document or waveform; it is not written to media"
    )


def _copy(record: Dataset, ds: Dataset, keywords: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    for keyword in keywords:
        if keyword in ds and (ds[keyword].VM or keyword in required):
            setattr(record, keyword, deepcopy(ds[keyword].value))
        elif keyword in required:
            setattr(record, keyword, None)


def _record(kind: str, ds: Dataset) -> Dataset:
    record = Dataset()
    record.DirectoryRecordType = kind
    if "SpecificCharacterSet" in ds:
        record.SpecificCharacterSet = ds.SpecificCharacterSet
    return record


def patient_record(ds: Dataset) -> Dataset:
    record = _record("PATIENT", ds)
    _copy(record, ds, ("PatientName", "PatientID"), required=("PatientName", "PatientID"))
    _copy(record, ds, ("PatientBirthDate", "PatientSex"))
    return record


def study_record(ds: Dataset) -> Dataset:
    record = _record("STUDY", ds)
    _copy(record, ds, ("StudyDate", "StudyTime", "StudyDescription", "StudyInstanceUID", "StudyID",
                       "AccessionNumber"), required=("StudyDescription", "AccessionNumber"))  # fmt: skip
    _copy(record, ds, ("ReferringPhysicianName",))
    return record


def series_record(ds: Dataset) -> Dataset:
    record = _record("SERIES", ds)
    _copy(record, ds, ("Modality", "SeriesInstanceUID", "SeriesNumber"))
    _copy(record, ds, ("SeriesDescription",))
    return record


def _concept_modifiers(items: Sequence) -> Sequence:
    return Sequence([deepcopy(i) for i in items if str(i.get("RelationshipType", "")) == "HAS CONCEPT MOD"])


def leaf_record(ds: Dataset, kind: str) -> Dataset:
    """The instance's own record (IMAGE, PRESENTATION, SR DOCUMENT, ...), without image references."""
    if kind == "IMAGE":
        record = _record("IMAGE", ds)
        _copy(record, ds, ("InstanceNumber",))
        return record
    try:
        record = DIRECTORY_RECORDERS[kind](ds)
    except (ValueError, KeyError, AttributeError) as exc:
        raise DicomInputError(f"cannot make its {kind} directory record: {exc}") from exc
    record.DirectoryRecordType = kind
    if "ContentSequence" in record:
        modifiers = _concept_modifiers(record.ContentSequence)
        if modifiers:
            record.ContentSequence = modifiers
        else:
            del record.ContentSequence
    record.pop("ReferencedImageSequence", None)
    if "SpecificCharacterSet" in ds:
        record.SpecificCharacterSet = ds.SpecificCharacterSet
    return record
