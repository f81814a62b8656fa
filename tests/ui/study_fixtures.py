"""Synthetic studies for the information window tests, stored on the real server by STOW-RS, and
what its study list shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydicom import dcmread
from pydicom.uid import generate_uid
from pytestqt.qtbot import QtBot

from app.services.studies import StudyService
from app.ui.main_window import MainWindow
from app.ui.models import StudyTableModel
from tests.ui.uihelpers import dicom_path, to_bytes


@dataclass(frozen=True)
class StudySpec:
    """What one synthetic study holds."""

    patient_name: str
    patient_id: str
    accession: str
    date: dt.date
    modality: str = "CT"
    images: int = 1
    description: str = ""
    birth_date: str = "19700101"


def store_study(service: StudyService, spec: StudySpec) -> str:
    """Store ``spec`` as one series of ``spec.images`` images (from CT_small); returns its Study Instance UID."""
    study_uid, series_uid = generate_uid(), generate_uid()
    files = []
    for number in range(1, spec.images + 1):
        ds = dcmread(dicom_path("CT_small.dcm"))
        ds.PatientName, ds.PatientID = spec.patient_name, spec.patient_id
        ds.AccessionNumber = spec.accession
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = spec.date.strftime("%Y%m%d")
        ds.StudyTime = "101500"
        ds.StudyDescription = spec.description or f"{spec.modality} study of {spec.patient_id}"
        ds.Modality = spec.modality
        ds.PatientBirthDate = spec.birth_date
        ds.SeriesDescription = f"{spec.description or spec.modality} series"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = number
        files.append(to_bytes(ds))
    result = service.store_files(files)
    assert result.stored == spec.images and result.failed == 0, result
    return study_uid


def reading_room(today: dt.date) -> list[StudySpec]:
    """Four patients: today, yesterday, five days ago (MR) and forty days ago, 1/2/10/3 images."""
    day = dt.timedelta(days=1)
    return [
        StudySpec("Doe^Jane", "PID001", "ACC100", today, "CT", 1),
        StudySpec("Roe^Richard", "PID002", "ACC200", today - day, "CT", 2),
        StudySpec("Moe^Anna", "XID003", "ACC210", today - 5 * day, "MR", 10),
        StudySpec("Doe^John", "XID004", "BCC300", today - 40 * day, "CT", 3),
    ]


def shown(win: MainWindow, column: int = StudyTableModel.PATIENT_ID) -> list[str]:
    """The cells of ``column`` of the study list in the order the table shows them (filtered, sorted)."""
    model = win.study_view.model()
    return [model.index(r, column).data() for r in range(model.rowCount())]


def wait_shown(qtbot: QtBot, win: MainWindow, ids: set[str], timeout_ms: int = 15000) -> None:
    """Wait until the study list shows exactly the studies of the patient IDs ``ids``."""
    qtbot.waitUntil(lambda: set(shown(win)) == ids, timeout=timeout_ms)
