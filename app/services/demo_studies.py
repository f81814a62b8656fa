"""Demo studies for a first start: synthetic CT, MR and CR images made here (never downloaded).

They are written at install time into an installed data folder and stored into the server from
there (:mod:`app.services.demo_files`).

Three patients, one study each:

* CT: 24 axial slices of a head phantom (ellipses in Hounsfield units), CT Image IOD (PS3.3
  A.3) with image plane geometry, and a Grayscale Softcopy Presentation State (A.33.1) with a
  brain window, an ellipse round the "lesion" and a text label (app.imaging.gsps_writer);
* MR: 16 slices of the same phantom as T2-like intensities, MR Image IOD (A.4);
* CR: one chest-like image with an Overlay Plane (C.9.2, group 6000: an arrow and a box) and a
  presentation state with a window and a text; CR Image IOD (A.2).

Every object has the Type 1 and 2 attributes its IOD asks for (checked with dciodvfy by the
tests). UIDs come from :func:`app.dicom.uids.generate_uid`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from app import __version__
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, generate_uid
from app.imaging.annotations import GraphicObject, TextObject
from app.imaging.gsps_model import Annotation, Layer, PresentationModel, VOISetting
from app.imaging.gsps_writer import write_gsps
from app.imaging.voi_lut import Window
from app.services.presentation_save import OVERLAY_LAYER, activate_overlays

CT_IMAGE = UID("1.2.840.10008.5.1.4.1.1.2")
MR_IMAGE = UID("1.2.840.10008.5.1.4.1.1.4")
CR_IMAGE = UID("1.2.840.10008.5.1.4.1.1.1")
MANUFACTURER = "Lightbox demo"


@dataclass(frozen=True)
class DemoStudy:
    """One demo study: what it is, and its objects (images, then presentation states)."""

    description: str
    datasets: tuple[Dataset, ...]

    @property
    def study_instance_uid(self) -> str:
        return str(self.datasets[0].StudyInstanceUID)


def _phantom(size: int, values: tuple[float, float, float, float], z: float) -> np.ndarray:
    """A head-like phantom at height ``z`` in -1..1: background, skull, brain, lesion values."""
    background, skull, brain, lesion = values
    y, x = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    scale = max(0.05, 1.0 - z * z)
    image = np.full((size, size), background, dtype=np.float64)
    outer = (x / (0.85 * scale)) ** 2 + (y / (0.95 * scale)) ** 2 <= 1
    inner = (x / (0.78 * scale)) ** 2 + (y / (0.88 * scale)) ** 2 <= 1
    image[outer] = skull
    image[inner] = brain + 10 * np.sin(6 * x[inner]) * np.cos(5 * y[inner])
    if abs(z - 0.2) < 0.3:
        image[((x - 0.3) / 0.15) ** 2 + ((y + 0.2) / 0.12) ** 2 <= 1] = lesion
    return image


def _base(sop_class: UID, patient: tuple[str, str, str, str], study: Dataset, modality: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    ds.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient
    for keyword in ("StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
                    "StudyDescription", "ReferringPhysicianName", "SeriesInstanceUID", "SeriesNumber",
                    "SeriesDescription", "FrameOfReferenceUID", "SeriesDate", "SeriesTime"):
        if keyword in study:
            setattr(ds, keyword, study.data_element(keyword).value)  # type: ignore[union-attr]
    ds.Modality = modality
    ds.Manufacturer = MANUFACTURER
    ds.SoftwareVersions = __version__
    ds.InstitutionName = "Lightbox demo"
    ds.ContentDate, ds.ContentTime = study.StudyDate, study.StudyTime
    ds.PatientOrientation = ""
    return ds


def _pixels(ds: Dataset, image: np.ndarray, signed: bool) -> None:
    data = np.round(image).astype(np.int16 if signed else np.uint16)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = data.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12 if not signed else 16, 11 if not signed else 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelData = data.tobytes()


def _study(description: str, accession: str, when: dt.datetime, series: str, number: int) -> Dataset:
    study = Dataset()
    study.StudyInstanceUID = generate_uid()
    study.StudyDate = study.SeriesDate = when.strftime("%Y%m%d")
    study.StudyTime = study.SeriesTime = when.strftime("%H%M%S")
    study.StudyID = accession[-4:]
    study.AccessionNumber = accession
    study.StudyDescription = description
    study.ReferringPhysicianName = "Demo^Referrer"
    study.SeriesInstanceUID = generate_uid()
    study.SeriesNumber = number
    study.SeriesDescription = series
    study.FrameOfReferenceUID = generate_uid()
    return study


def _slices(sop_class: UID, modality: str, patient: tuple[str, str, str, str], study: Dataset, count: int,
            values: tuple[float, float, float, float], signed: bool) -> Iterator[Dataset]:
    size, spacing, thickness = 128, 1.8, 5.0
    for i in range(count):
        ds = _base(sop_class, patient, study, modality)
        z = -60.0 + i * thickness
        ds.InstanceNumber = i + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL" if modality == "CT" else "OTHER"]
        ds.PositionReferenceIndicator = ""
        ds.BodyPartExamined = "HEAD"
        ds.PatientPosition = "HFS"
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-size * spacing / 2, -size * spacing / 2, z]
        ds.PixelSpacing = [spacing, spacing]
        ds.SliceThickness = thickness
        ds.SliceLocation = z
        ds.AcquisitionNumber = 1
        ds.KVP = 120 if modality == "CT" else None
        _pixels(ds, _phantom(size, values, (i - count / 2) / (count / 2)), signed)
        if modality == "CT":
            ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
            ds.WindowCenter, ds.WindowWidth = 40, 80
            ds.ConvolutionKernel = "STANDARD"
        else:
            del ds.KVP
            ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions = "SE", "NONE", ""
            ds.MRAcquisitionType = "2D"
            ds.RepetitionTime, ds.EchoTime, ds.EchoTrainLength = 4000.0, 100.0, 1
            ds.MagneticFieldStrength = 1.5
            ds.ImagingFrequency = 63.9
            ds.ImagedNucleus = "1H"
            ds.WindowCenter, ds.WindowWidth = 600, 1200
        yield ds


def _state(images: list[Dataset], window: Window, label: str, graphics: tuple[GraphicObject, ...],
           text: TextObject, overlays: bool = False) -> Dataset:
    layers: tuple[Layer, ...] = (Layer("DEMO", 1, (Annotation(graphics=graphics, texts=(text,)),), "Demo annotations"),)
    if overlays:
        layers += (Layer(OVERLAY_LAYER, 2, (), "Image overlays"),)
    model = PresentationModel(
        label=label, description=f"Demo presentation state: {label.lower()}", creator="Demo^Reader",
        vois=(VOISetting(window),), layers=layers,
    )
    state = write_gsps(model, images)
    if overlays:  # a GSPS shows only the overlays it activates (PS3.3 C.11.7)
        activate_overlays(state, images[0], None)
    state.file_meta = FileMetaDataset()
    state.file_meta.MediaStorageSOPClassUID = state.SOPClassUID
    state.file_meta.MediaStorageSOPInstanceUID = state.SOPInstanceUID
    state.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    state.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    state.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return state


def ct_study(when: dt.datetime) -> DemoStudy:
    """24 CT slices and a presentation state (brain window, the lesion circled and labelled)."""
    study = _study("CT head (demo)", "DEMO0001", when, "Axial 5 mm", 1)
    patient = ("Demo^Cerebrum", "DEMO-CT", "19580312", "F")
    images = list(_slices(CT_IMAGE, "CT", patient, study, 24, (0, 1024 + 900, 1024 + 35, 1024 + 70), False))
    lesion = images[len(images) // 2 + 2]
    state = _state([lesion], Window(40, 80), "LESION", (
        GraphicObject("ELLIPSE", ((73.0, 51.0), (95.0, 51.0), (84.0, 43.0), (84.0, 59.0))),),
        TextObject("enhancing lesion", anchor=(84.0, 40.0), anchor_visible=True,
                   bounding_box=((60.0, 20.0), (120.0, 32.0))))
    return DemoStudy("CT head, 24 slices, a presentation state", (*images, state))


def mr_study(when: dt.datetime) -> DemoStudy:
    """16 T2-like MR slices of the same phantom."""
    study = _study("MR brain (demo)", "DEMO0002", when, "T2 axial", 1)
    patient = ("Demo^Magnus", "DEMO-MR", "19720630", "M")
    images = list(_slices(MR_IMAGE, "MR", patient, study, 16, (0, 80, 700, 1300), False))
    return DemoStudy("MR brain, 16 slices", tuple(images))


def _overlay(rows: int, columns: int) -> np.ndarray:
    """An arrow and a box, one bit per pixel (PS3.3 C.9.2)."""
    mask = np.zeros((rows, columns), dtype=bool)
    mask[60:64, 40:200] = mask[60:200, 196:200] = mask[196:200, 40:200] = mask[60:200, 40:44] = True
    for i in range(30):
        mask[220 + i, 120 - i // 2: 120 + i // 2 + 1] = True
    mask[250:300, 118:123] = True
    return mask


def cr_study(when: dt.datetime) -> DemoStudy:
    """One CR image with an overlay plane and a presentation state (window, a text)."""
    study = _study("CR chest (demo)", "DEMO0003", when, "PA", 1)
    del study.FrameOfReferenceUID
    patient = ("Demo^Thorax", "DEMO-CR", "19661105", "O")
    ds = _base(CR_IMAGE, patient, study, "CR")
    ds.InstanceNumber = 1
    ds.BodyPartExamined, ds.ViewPosition = "CHEST", "PA"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PatientOrientation = ["L", "F"]
    ds.ImagerPixelSpacing = [0.4, 0.4]
    rows = columns = 320
    y, x = np.mgrid[-1:1:rows * 1j, -1:1:columns * 1j]
    lungs = (((x + 0.38) / 0.3) ** 2 + (y / 0.6) ** 2 <= 1) | (((x - 0.38) / 0.3) ** 2 + (y / 0.6) ** 2 <= 1)
    image = 2600 - 900 * lungs + 300 * np.exp(-(x ** 2) * 30) + 40 * np.cos(18 * y)
    _pixels(ds, image, False)
    ds.WindowCenter, ds.WindowWidth = 2200, 2000
    mask = _overlay(rows, columns)
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", columns)
    ds.add_new(0x60000022, "LO", "Demo findings")
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", np.packbits(mask.ravel(), bitorder="little").tobytes())
    state = _state([ds], Window(2200, 1800), "FINDINGS", (
        GraphicObject("POLYLINE", ((40.0, 260.0), (120.0, 300.0))),),
        TextObject("see overlay", anchor=(40.0, 260.0), anchor_visible=True,
                   bounding_box=((20.0, 230.0), (150.0, 250.0))), overlays=True)
    return DemoStudy("CR chest with an overlay, a presentation state", (ds, state))


def demo_studies(now: dt.datetime | None = None) -> list[DemoStudy]:
    """The three demo studies, dated ``now`` (default: the current time)."""
    when = (now or dt.datetime.now()).replace(microsecond=0)
    return [ct_study(when), mr_study(when), cr_study(when)]

