"""Studies for the media tests: CT images (from pydicom's CT_small) with a presentation state, a key
object selection and a structured report, for any patient; optionally RLE-compressed."""

from __future__ import annotations

from io import BytesIO

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    BasicTextSRStorage,
    ExplicitVRLittleEndian,
    GrayscaleSoftcopyPresentationStateStorage,
    KeyObjectSelectionDocumentStorage,
    RLELossless,
    generate_uid,
)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _common(ds: Dataset, image: Dataset, sop_class: str, modality: str, number: int) -> Dataset:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate",
                    "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName", "StudyDescription"):
        if keyword in image:
            setattr(ds, keyword, image[keyword].value)
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.SeriesNumber = 900 + number
    ds.InstanceNumber = 1
    ds.Manufacturer = "Lightbox tests"
    return ds


def _references(images: list[Dataset]) -> Sequence:
    series = Dataset()
    series.SeriesInstanceUID = images[0].SeriesInstanceUID
    series.ReferencedImageSequence = Sequence()
    for image in images:
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = image.SOPClassUID, image.SOPInstanceUID
        series.ReferencedImageSequence.append(ref)
    return Sequence([series])


def presentation_state(images: list[Dataset]) -> Dataset:
    ds = _common(Dataset(), images[0], GrayscaleSoftcopyPresentationStateStorage, "PR", 1)
    ds.ContentLabel, ds.ContentDescription = "WINDOW", "Soft tissue window"
    ds.PresentationCreationDate, ds.PresentationCreationTime = "20240102", "101500"
    ds.ContentCreatorName = "Reader^One"
    ds.ReferencedSeriesSequence = _references(images)
    ds.PresentationLUTShape = "IDENTITY"
    return ds


def _document(ds: Dataset, concept: Dataset, content: list[Dataset]) -> Dataset:
    ds.ContentDate, ds.ContentTime = "20240102", "103000"
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([concept])
    ds.ContentSequence = Sequence(content)
    return ds


def key_objects(images: list[Dataset]) -> Dataset:
    ds = _common(Dataset(), images[0], KeyObjectSelectionDocumentStorage, "KO", 2)
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", "IMAGE"
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = images[0].SOPClassUID, images[0].SOPInstanceUID
    item.ReferencedSOPSequence = Sequence([ref])
    evidence = Dataset()
    evidence.StudyInstanceUID = images[0].StudyInstanceUID
    evidence.ReferencedSeriesSequence = Sequence([Dataset()])
    evidence.ReferencedSeriesSequence[0].SeriesInstanceUID = images[0].SeriesInstanceUID
    evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence = Sequence([ref])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])
    return _document(ds, _code("113000", "DCM", "Of Interest"), [item])


def report(images: list[Dataset]) -> Dataset:
    ds = _common(Dataset(), images[0], BasicTextSRStorage, "SR", 3)
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    text = Dataset()
    text.RelationshipType, text.ValueType = "CONTAINS", "TEXT"
    text.ConceptNameCodeSequence = Sequence([_code("121071", "DCM", "Finding")])
    text.TextValue = "No abnormality."
    language = Dataset()
    language.RelationshipType, language.ValueType = "HAS CONCEPT MOD", "CODE"
    language.ConceptNameCodeSequence = Sequence([_code("121049", "DCM", "Language of Content Item and Descendants")])
    language.ConceptCodeSequence = Sequence([_code("en", "RFC5646", "English")])
    return _document(ds, _code("18748-4", "LN", "Diagnostic imaging report"), [language, text])


def ct_images(patient_id: str, patient_name: str, count: int = 3, series: int = 1, compress: bool = False,
              study_uid: str | None = None) -> list[Dataset]:  # fmt: skip
    """``series`` x ``count`` CT images of one study of one patient (distinct pixels per image)."""
    study_uid = study_uid or generate_uid()
    out = []
    for s in range(1, series + 1):
        series_uid = generate_uid()
        for i in range(1, count + 1):
            ds = dcmread(get_testdata_file("CT_small.dcm", download=False))
            ds.PatientID, ds.PatientName = patient_id, patient_name
            ds.PatientBirthDate, ds.PatientSex = "19700101", "O"
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.StudyDescription, ds.SeriesDescription = f"CT of {patient_id}", f"Series {s}"
            ds.AccessionNumber = f"ACC{patient_id}"[:16]
            ds.SeriesNumber, ds.InstanceNumber = s, i
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.ImagePositionPatient = [0.0, 0.0, float(i)]
            ds.PixelData = np.roll(ds.pixel_array, 5 * (i + s), axis=1).astype(np.int16).tobytes()
            if compress:
                ds.compress(RLELossless)
            out.append(ds)
    return out


def study(patient_id: str, patient_name: str, count: int = 3, compress: bool = False) -> list[Dataset]:
    """A study: CT images plus a GSPS, a KOS and a Basic Text SR referencing them."""
    images = ct_images(patient_id, patient_name, count, compress=compress)
    return [*images, presentation_state(images), key_objects(images), report(images)]


def to_bytes(ds: Dataset) -> bytes:
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
