"""MWL identifiers: which keys go to SQL, matching of the others on the stored item (PS3.4 C.2.2.2),
and the answer's keys (PS3.4 K.4.1.1.3.2)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from app.server.mwl_match import IdentifierError, item_matches, matches, parse_identifier, response


def _code(value: str, scheme: str = "LB") -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = value, scheme
    return code


def _stored() -> Dataset:
    ds = Dataset()
    ds.PatientName, ds.PatientID = "Müller^Anna", "P3"
    ds.PatientWeight = "72.5"
    ds.AdmissionID = "ADM-7"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.RequestedProcedureCodeSequence = [_code("A1"), _code("B2", "XX")]
    sps = Dataset()
    sps.Modality = "CT"
    sps.ScheduledProcedureStepDescription = "CT chest"
    sps.ScheduledProcedureStepStartDate, sps.ScheduledProcedureStepStartTime = "20240111", "060000.25"
    sps.ScheduledProtocolCodeSequence = [_code("PC")]
    ds.ScheduledProcedureStepSequence = [sps]
    return ds


def _query(**keys: str) -> Dataset:
    ds = Dataset()
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def test_column_keys_go_to_sql_and_others_stay_for_the_item() -> None:
    query = _query(PatientName="m*", QueryRetrieveLevel="STUDY", AdmissionID="")
    sps = _query(Modality="CT", ScheduledProcedureStepDescription="CT*", ScheduledStationAETitle="")
    query.ScheduledProcedureStepSequence = [sps]
    parsed = parse_identifier(query)
    assert parsed.filters == {"PatientName": "m*", "Modality": "CT"}
    assert parsed.residual  # the SPS description is matched on the item
    assert not parse_identifier(_query(PatientName="x", AdmissionID="*")).residual


def test_two_scheduled_procedure_steps_are_refused() -> None:
    query = _query(PatientName="")
    query.ScheduledProcedureStepSequence = [_query(Modality="CT"), _query(Modality="MR")]
    with pytest.raises(IdentifierError, match="one item"):
        parse_identifier(query)


@pytest.mark.parametrize(("keys", "expected"), [
    ({"AdmissionID": "ADM-7"}, True),
    ({"AdmissionID": "adm-7"}, False),  # case-sensitive
    ({"AdmissionID": "ADM-?"}, True),
    ({"AdmissionID": "A*7"}, True),
    ({"AdmissionID": "ADM"}, False),  # single value matching is exact
    ({"PatientWeight": "72.50"}, True),  # numbers by value
    ({"StudyInstanceUID": "9.9\\1.2.3.4"}, True),  # list of UIDs
    ({"StudyInstanceUID": "1.2.3"}, False),
    ({"AdmittingDate": "20240101-"}, False),  # the item has no value: only universal matching succeeds
    ({"AdmittingDate": ""}, True),
])
def test_single_value_wildcard_uid_list_and_number(keys: dict[str, str], expected: bool) -> None:
    assert item_matches(_query(**keys), _stored()) is expected


@pytest.mark.parametrize(("date", "time", "expected"), [
    ("20240110-20240111", "", True),
    ("20240112-", "", False),
    ("20240111", "0500-060000", True),  # fractions ignored, the upper end includes its whole second
    ("20240111", "060001-", False),
    ("", "06", True),  # a single time names the whole hour
])
def test_date_and_time_ranges_on_other_keys(date: str, time: str, expected: bool) -> None:
    query = _query()
    sps = _query(ScheduledProcedureStepDescription="CT chest")
    query.ScheduledProcedureStepSequence = [sps]
    stored = _stored()
    # Matched here as any DA/TM key would be (these two are SQL columns in the server).
    stored.AdmittingDate, stored.AdmittingTime = "20240111", "060000.25"
    if date:
        query.AdmittingDate = date
    if time:
        query.AdmittingTime = time
    assert item_matches(query, stored) is expected


def test_sequence_matching_needs_one_item_matching_every_key() -> None:
    query = _query()
    query.RequestedProcedureCodeSequence = [_code("B2", "XX")]
    assert item_matches(query, _stored())
    query.RequestedProcedureCodeSequence = [_code("B2", "LB")]  # B2 and LB are in different items
    assert not item_matches(query, _stored())
    query.RequestedProcedureCodeSequence = []  # universal
    assert item_matches(query, _stored())
    inner = _query()
    inner.ScheduledProtocolCodeSequence = [_code("P*")]
    query.ScheduledProcedureStepSequence = [inner]
    assert matches(parse_identifier(query), _stored())
    inner.ScheduledProtocolCodeSequence = [_code("X*")]
    assert not matches(parse_identifier(query), _stored())


def test_the_answer_has_exactly_the_requested_keys() -> None:
    query = _query(PatientName="", PatientSize="", AdmissionID="")
    query.RequestedProcedureCodeSequence = []
    sps = _query(Modality="")
    sps.ScheduledProtocolCodeSequence = [_query(CodeValue="")]
    query.ScheduledProcedureStepSequence = [sps]
    answer = response(parse_identifier(query), _stored())
    assert {e.keyword for e in answer} == {"SpecificCharacterSet", "PatientName", "PatientSize", "AdmissionID",
                                           "RequestedProcedureCodeSequence", "ScheduledProcedureStepSequence"}
    assert answer.SpecificCharacterSet == "ISO_IR 192" and answer.PatientSize is None
    assert [c.CodeValue for c in answer.RequestedProcedureCodeSequence] == ["A1", "B2"]  # empty sequence: whole
    [item] = answer.ScheduledProcedureStepSequence
    assert {e.keyword for e in item} == {"Modality", "ScheduledProtocolCodeSequence"}
    assert [{e.keyword for e in c} for c in item.ScheduledProtocolCodeSequence] == [{"CodeValue"}]


def test_an_ascii_answer_declares_no_character_set_and_a_latin1_request_gets_latin1() -> None:
    assert "SpecificCharacterSet" not in response(parse_identifier(_query(PatientID="")), _stored())
    query = _query(SpecificCharacterSet="ISO_IR 100", PatientName="")
    assert response(parse_identifier(query), _stored()).SpecificCharacterSet == "ISO_IR 100"
