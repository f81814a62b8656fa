"""The search form's keys as C-FIND identifiers (reference 3.2.2.2; PS3.4 C.6.2.1, K.6.1.2.2),
quick date ranges, and merged match rows."""

from __future__ import annotations

import datetime as dt

from pydicom.dataset import Dataset

from app.services.search import Match, StudyQuery, WorklistQuery, level_identifier, quick_range


def test_study_identifier_has_the_table_keys_and_only_the_typed_matching_values() -> None:
    ds = StudyQuery(patient_name="SMITH*", study_date="20240101-20240131", modality="CT").identifier()
    assert ds.QueryRetrieveLevel == "STUDY"
    assert ds.PatientName == "SMITH*" and ds.StudyDate == "20240101-20240131" and ds.ModalitiesInStudy == "CT"
    for keyword in ("PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID", "AccessionNumber",
                    "StudyDescription"):
        assert keyword in ds and ds[keyword].value in ("", None), keyword


def test_worklist_identifier_nests_the_sps_keys() -> None:
    ds = WorklistQuery(scheduled_station_ae_title="CT01", modality="CT", sps_start_date="20240105",
                       sps_start_time="0800-1200", patient_name="DOE*").identifier()
    assert "QueryRetrieveLevel" not in ds
    sps = ds.ScheduledProcedureStepSequence[0]
    assert sps.ScheduledStationAETitle == "CT01" and sps.Modality == "CT"
    assert sps.ScheduledProcedureStepStartDate == "20240105" and sps.ScheduledProcedureStepStartTime == "0800-1200"
    assert sps.ScheduledStationName == "" and ds.PatientName == "DOE*" and ds.StudyInstanceUID == ""


def test_level_identifiers() -> None:
    series = level_identifier("series", "1.2.3")
    assert series.QueryRetrieveLevel == "SERIES" and series.StudyInstanceUID == "1.2.3" and "SeriesNumber" in series
    image = level_identifier("IMAGE", "1.2.3", "1.2.3.4", keys={"InstanceNumber": "5"})
    assert image.SeriesInstanceUID == "1.2.3.4" and image.InstanceNumber == "5" and "SOPInstanceUID" in image


def test_quick_ranges() -> None:
    day = dt.date(2026, 3, 1)
    assert quick_range("Today", day) == "20260301"
    assert quick_range("Yesterday", day) == "20260228"
    assert quick_range("Last 7 days", day) == "20260223-20260301"
    assert quick_range("Last 30 days", day) == "20260131-20260301"


def test_match_rows_flatten_the_sps_and_name_their_node() -> None:
    ds = Dataset()
    ds.PatientName = "DOE^JANE"
    ds.StudyInstanceUID = "1.2.3"
    sps = Dataset()
    sps.Modality = "MR"
    sps.ScheduledStationAETitle = ["A1", "A2"]
    ds.ScheduledProcedureStepSequence = [sps]
    match = Match.from_dataset("ris", "WORKLIST", ds)
    assert match.node == "ris" and match.uid == "1.2.3"
    assert match.get("Modality") == "MR" and match.get("ScheduledStationAETitle") == "A1\\A2"
    study = Dataset()
    study.QueryRetrieveLevel = "STUDY"
    study.StudyInstanceUID = "9.8"
    assert Match.from_dataset("pacs", "STUDY", study).get("QueryRetrieveLevel") == ""
