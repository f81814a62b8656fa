"""C-FIND handler and identifier parsing without a network (PS3.4 C.4.1, C.6)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydicom.dataset import Dataset

from app.core.config import QueryRetrieveAE
from app.server.handlers.find import handle_find
from app.server.index.records import Level, QueryError, SearchRequest
from app.server.qr_models import PATIENT_ROOT, PATIENT_STUDY_ONLY, STUDY_ROOT, IdentifierError, parse_find, parse_move


class FakeCatalogue:
    def __init__(self, rows: int = 3, error: Exception | None = None) -> None:
        self.rows = rows
        self.error = error
        self.requests: list[SearchRequest] = []

    def search(self, request: SearchRequest) -> list[dict[str, Any]]:
        self.requests.append(request)
        if self.error:
            raise self.error
        return [{"StudyInstanceUID": f"1.2.{n}", "PatientName": "Doe^J"} for n in range(self.rows)]


def _event(model_uid: str, cancel_after: int | None = None, **keys: str) -> Any:
    identifier = Dataset()
    for k, v in keys.items():
        setattr(identifier, k, v)
    state = {"calls": 0}

    class Event(SimpleNamespace):
        @property
        def is_cancelled(self) -> bool:
            state["calls"] += 1
            return cancel_after is not None and state["calls"] > cancel_after

    return Event(request=SimpleNamespace(AffectedSOPClassUID=model_uid), identifier=identifier)


def test_pending_per_match_then_cancel() -> None:
    catalogue = FakeCatalogue(rows=5)
    qr = QueryRetrieveAE()
    out = list(handle_find(_event(STUDY_ROOT.find, QueryRetrieveLevel="STUDY", StudyInstanceUID=""), catalogue, qr))
    assert [s for s, _ in out] == [0xFF00] * 5
    # A key the index has no value for: returned empty, pending with warning 0xFF01.
    unknown = _event(STUDY_ROOT.find, QueryRetrieveLevel="STUDY", PatientAge="", RetrieveAETitle="")
    out = list(handle_find(unknown, FakeCatalogue(rows=1), qr))
    assert out[0][0] == 0xFF01 and out[0][1].RetrieveAETitle == qr.ae_title and not out[0][1].PatientAge
    out = list(handle_find(_event(STUDY_ROOT.find, QueryRetrieveLevel="STUDY", RetrieveAETitle=""),
                           FakeCatalogue(rows=1), qr))
    assert out[0][0] == 0xFF00
    assert catalogue.requests[0].limit == qr.hit_limit + 1 and catalogue.requests[0].combine_date_time
    assert catalogue.requests[0].time_range_means_today  # the reference's C-FIND rule (4.4.3.2)
    out = list(handle_find(_event(STUDY_ROOT.find, cancel_after=2, QueryRetrieveLevel="STUDY"), catalogue, qr))
    assert [s for s, _ in out] == [0xFF00, 0xFF00, 0xFE00]


@pytest.mark.parametrize(("empty", "statuses"), [(False, [0xA700]), (True, [])])
def test_hit_limit(empty: bool, statuses: list[int]) -> None:
    qr = QueryRetrieveAE(hit_limit=2, hit_limit_empty=empty)
    out = list(handle_find(_event(STUDY_ROOT.find, QueryRetrieveLevel="STUDY"), FakeCatalogue(rows=3), qr))
    assert [s.Status for s, _ in out] == statuses
    if statuses:
        assert "narrow" in out[0][0].ErrorComment


def test_failures_never_raise() -> None:
    qr = QueryRetrieveAE()
    bad = FakeCatalogue(error=QueryError("date value 'x' is malformed"))
    (status, _), = handle_find(_event(STUDY_ROOT.find, QueryRetrieveLevel="STUDY"), bad, qr)
    assert status.Status == 0xC000 and "malformed" in status.ErrorComment
    broken = FakeCatalogue(error=RuntimeError("disk"))
    (status, _), = handle_find(_event(STUDY_ROOT.find, QueryRetrieveLevel="STUDY"), broken, qr)
    assert status.Status == 0xC000
    (status, _), = handle_find(_event(STUDY_ROOT.find), FakeCatalogue(), qr)
    assert status.Status == 0xA900 and "Level" in status.ErrorComment


def test_parse_find_levels_keys_and_hierarchy() -> None:
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = "1.2.3"
    ds.Modality = "CT"
    ds.PatientAge = ""
    ds.NumberOfSeriesRelatedInstances = ""
    query = parse_find(ds, STUDY_ROOT, limit=10)
    assert query.level is Level.SERIES
    assert dict(query.search.filters) == {"StudyInstanceUID": "1.2.3", "Modality": "CT"}
    assert "SeriesInstanceUID" in query.returned and "NumberOfSeriesRelatedInstances" in query.returned
    assert list(query.unknown) == [0x00101010]
    ds.StudyInstanceUID = "1.2.*"
    with pytest.raises(IdentifierError, match="StudyInstanceUID"):
        parse_find(ds, STUDY_ROOT, limit=10)
    with pytest.raises(IdentifierError, match="Patient/Study Only"):
        parse_find(ds, PATIENT_STUDY_ONLY, limit=10)
    patient = Dataset()
    patient.QueryRetrieveLevel = "PATIENT"
    patient.PatientName = "doe*"
    patient.NumberOfPatientRelatedStudies = ""
    query = parse_find(patient, PATIENT_ROOT, limit=None)
    assert dict(query.search.filters) == {"PatientName": "doe*"}
    assert "NumberOfPatientRelatedStudies" in query.search.returned


def test_parse_move_needs_the_unique_keys() -> None:
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID = "1.2"
    ds.SeriesInstanceUID = "1.2.3"
    ds.SOPInstanceUID = ["1.2.3.4", "1.2.3.5"]
    level, keys = parse_move(ds, STUDY_ROOT)
    assert level is Level.IMAGE and keys["SOPInstanceUID"] == "1.2.3.4\\1.2.3.5"
    ds.SOPInstanceUID = "1.2.3.*"
    with pytest.raises(IdentifierError, match="wildcard"):
        parse_move(ds, STUDY_ROOT)
    del ds.SOPInstanceUID
    with pytest.raises(IdentifierError, match="SOPInstanceUID is missing"):
        parse_move(ds, STUDY_ROOT)


@pytest.mark.parametrize(
    ("model", "keys"),
    [
        (STUDY_ROOT, {}),
        (PATIENT_STUDY_ONLY, {"QueryRetrieveLevel": "IMAGE"}),
        (PATIENT_ROOT, {"QueryRetrieveLevel": "IMAGE", "PatientID": "P"}),
        (STUDY_ROOT, {"QueryRetrieveLevel": "SERIES", "StudyInstanceUID": "1.2\\1.3"}),
    ],
)
def test_error_comments_fit_in_an_lo(model: Any, keys: dict[str, str]) -> None:
    ds = Dataset()
    for k, v in keys.items():
        setattr(ds, k, v)
    with pytest.raises(IdentifierError) as find_error:
        parse_find(ds, model, limit=None)
    with pytest.raises(IdentifierError) as move_error:
        parse_move(ds, model)
    for error in (find_error.value, move_error.value):
        assert 0 < len(error.comment) <= 64 and error.status == 0xA900
