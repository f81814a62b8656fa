"""Identifiers with URL-special characters reach the admin API and DICOMweb intact: a Patient ID
(LO) may hold ``/``, ``?``, ``#``, ``%`` or spaces, and the clients percent-encode each path segment."""

from __future__ import annotations

from io import BytesIO

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from app.client.admin import AdminClient
from app.client.dicomweb import DicomWebClient
from tests.conftest import RunningServer

ODD_ID = "AB/12?x#1 %20"


def _instance(patient_id: str, study_uid: str) -> bytes:
    ds = dcmread(get_testdata_file("CT_small.dcm", download=False))
    ds.PatientID, ds.PatientName = patient_id, "Odd^Identifier"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_patient_id_with_url_characters_is_corrected_merged_and_retrieved(server: RunningServer) -> None:
    study, other = generate_uid(), generate_uid()
    with DicomWebClient(server.http_url) as web, AdminClient(server.http_url) as admin:
        assert web.store_instances([_instance(ODD_ID, study), _instance("PLAIN1", other)]).stored == 2
        admin.correct_patient(ODD_ID, {"PatientName": "Corrected^Name"})
        (row,) = web.search_studies(StudyInstanceUID=study)
        assert row.text("PatientName") == "Corrected^Name"
        assert row.values("PatientID") == [ODD_ID]
        assert len(list(web.retrieve_study(study))) == 1
        admin.merge_patients("PLAIN1", into=ODD_ID)
        (moved,) = web.search_studies(StudyInstanceUID=other)
        assert moved.values("PatientID") == [ODD_ID]
