"""MPPS SCP on the Q/R AE (PS3.4 F.7) against the real server process over real associations:
N-CREATE / N-SET state rules, persistence across a restart, the worklist link, the admin API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.conftest import RunningServer, server_index_url, start_server, stop_server, write_server_config
from tests.mpps_peers import final_modification, n_create, n_create_attributes, n_set

pytestmark = pytest.mark.postgresql  # module-scoped servers also on a PostgreSQL index

PPS_STATUS = "00400252"


@pytest.fixture(scope="module")
def mpps_server(
    tmp_path_factory: pytest.TempPathFactory, index_backend: str, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("mpps")
    url = server_index_url(index_backend, request)
    config = write_server_config(tmp / "server.toml", tmp / "data", index_url=url)
    server = start_server(config, tmp / "data")
    yield server
    stop_server(server)


def _port(server: RunningServer) -> int:
    assert server.qr_port is not None
    return server.qr_port


def _created(server: RunningServer, **kwargs: str) -> str:
    uid = generate_uid()
    status, _ = n_create(_port(server), n_create_attributes(**kwargs), uid)
    assert status.Status == 0x0000
    return uid


def _stored(server: RunningServer, uid: str) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{server.http_url}/api/mpps/{uid}", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/dicom+json")
    return response.json()  # type: ignore[no-any-return]


def _status(server: RunningServer, uid: str) -> str:
    return str(_stored(server, uid)[PPS_STATUS]["Value"][0])


def test_create_then_complete_stores_the_step_and_lists_it(mpps_server: RunningServer) -> None:
    uid = _created(mpps_server)
    stored = _stored(mpps_server, uid)
    assert stored[PPS_STATUS]["Value"] == ["IN PROGRESS"]
    assert stored["00080018"]["Value"] == [uid]  # SOP Instance UID
    assert stored["00100010"]["Value"] == [{"Alphabetic": "Müller^Jörg"}]  # Latin-1 decoded
    modification = final_modification()
    status = n_set(_port(mpps_server), modification, uid)
    assert status.Status == 0x0000
    stored = _stored(mpps_server, uid)
    assert stored[PPS_STATUS]["Value"] == ["COMPLETED"]
    series = stored["00400340"]["Value"][0]  # Performed Series Sequence
    assert series["0020000E"]["Value"] == [modification.PerformedSeriesSequence[0].SeriesInstanceUID]
    assert stored["00400244"]["Value"] == ["20261127"]  # start date kept from the N-CREATE
    listed = httpx.get(f"{mpps_server.http_url}/api/mpps", params={"status": "COMPLETED"}, timeout=10).json()
    assert uid in [item["sop_instance_uid"] for item in listed]
    assert all(item["status"] == "COMPLETED" for item in listed)
    in_progress = httpx.get(f"{mpps_server.http_url}/api/mpps", params={"status": "IN PROGRESS"}, timeout=10).json()
    assert uid not in [item["sop_instance_uid"] for item in in_progress]
    entry = next(item for item in listed if item["sop_instance_uid"] == uid)
    assert entry["calling_ae_title"] == "MODALITY" and entry["patient_id"] == "PID1"


def test_create_without_uid_gets_one_made_by_the_scp(mpps_server: RunningServer) -> None:
    status, uid = n_create(_port(mpps_server), n_create_attributes(), None)
    assert status.Status == 0x0000
    assert uid.startswith("2.25.")
    assert _status(mpps_server, uid) == "IN PROGRESS"


@pytest.mark.parametrize("keyword", [
    "PerformedProcedureStepID", "PerformedStationAETitle", "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime", "PerformedProcedureStepStatus", "Modality", "ScheduledStepAttributesSequence",
    "PatientID", "PerformedSeriesSequence",  # Type 2: present, may be empty
])
def test_create_without_a_required_attribute_is_0120(mpps_server: RunningServer, keyword: str) -> None:
    attributes = n_create_attributes()
    delattr(attributes, keyword)
    uid = generate_uid()
    status, _ = n_create(_port(mpps_server), attributes, uid)
    assert status.Status == 0x0120
    assert keyword in str(status.ErrorComment)
    assert httpx.get(f"{mpps_server.http_url}/api/mpps/{uid}", timeout=10).status_code == 404


def test_create_without_the_study_uid_of_a_scheduled_step_is_0120(mpps_server: RunningServer) -> None:
    attributes = n_create_attributes()
    del attributes.ScheduledStepAttributesSequence[0].StudyInstanceUID
    status, _ = n_create(_port(mpps_server), attributes, generate_uid())
    assert status.Status == 0x0120
    assert "StudyInstanceUID" in str(status.ErrorComment)


@pytest.mark.parametrize("keyword", ["PerformedProcedureStepID", "Modality", "PerformedStationAETitle"])
def test_create_with_an_empty_type1_attribute_is_0121(mpps_server: RunningServer, keyword: str) -> None:
    attributes = n_create_attributes()
    setattr(attributes, keyword, "")
    status, _ = n_create(_port(mpps_server), attributes, generate_uid())
    assert status.Status == 0x0121


@pytest.mark.parametrize("value", ["COMPLETED", "DISCONTINUED", "SCHEDULED"])
def test_create_in_another_state_than_in_progress_is_0106(mpps_server: RunningServer, value: str) -> None:
    uid = generate_uid()
    status, _ = n_create(_port(mpps_server), n_create_attributes(status=value), uid)
    assert status.Status == 0x0106
    assert httpx.get(f"{mpps_server.http_url}/api/mpps/{uid}", timeout=10).status_code == 404


def test_a_second_create_of_the_same_uid_is_0111_and_changes_nothing(mpps_server: RunningServer) -> None:
    uid = _created(mpps_server)
    other = n_create_attributes()
    other.PerformedProcedureStepID = "OTHER"
    status, _ = n_create(_port(mpps_server), other, uid)
    assert status.Status == 0x0111
    assert _stored(mpps_server, uid)["00400253"]["Value"] == ["PPS1"]


def test_set_of_an_unknown_step_is_0112(mpps_server: RunningServer) -> None:
    assert n_set(_port(mpps_server), final_modification(), generate_uid()).Status == 0x0112


@pytest.mark.parametrize("final", ["COMPLETED", "DISCONTINUED"])
def test_set_of_a_final_step_is_0110_may_no_longer_be_updated(mpps_server: RunningServer, final: str) -> None:
    uid = _created(mpps_server)
    assert n_set(_port(mpps_server), final_modification(final), uid).Status == 0x0000
    again = Dataset()
    again.PerformedProcedureStepDescription = "changed afterwards"
    status = n_set(_port(mpps_server), again, uid)
    assert status.Status == 0x0110
    assert status.ErrorComment == "Performed Procedure Step Object may no longer be updated"
    assert status.ErrorID == 0xA710
    back = Dataset()
    back.PerformedProcedureStepStatus = "IN PROGRESS"
    assert n_set(_port(mpps_server), back, uid).Status == 0x0110
    stored = _stored(mpps_server, uid)
    assert stored[PPS_STATUS]["Value"] == [final]
    assert stored["00400254"]["Value"] == ["CT head"]


@pytest.mark.parametrize(("keyword", "value"), [
    ("PerformedProcedureStepStartDate", "20261128"),
    ("PerformedStationAETitle", "OTHER"),
    ("PatientID", "PID2"),
    ("Modality", "MR"),
    ("PerformedProcedureStepID", "PPS9"),
])
def test_set_of_an_attribute_not_allowed_in_n_set_is_0106(mpps_server: RunningServer, keyword: str,
                                                           value: str) -> None:
    uid = _created(mpps_server)
    modification = Dataset()
    modification.PerformedProcedureStepDescription = "would be allowed"
    setattr(modification, keyword, value)
    status = n_set(_port(mpps_server), modification, uid)
    assert status.Status == 0x0106
    assert keyword in str(status.ErrorComment)
    listed = status.AttributeIdentifierList
    assert tag_for_keyword(keyword) in [int(t) for t in (listed if isinstance(listed, list) else [listed])]
    stored = _stored(mpps_server, uid)
    assert stored["00400254"]["Value"] == ["CT head"]  # nothing of the refused N-SET was applied


def test_set_of_the_scheduled_step_sequence_is_0106(mpps_server: RunningServer) -> None:
    uid = _created(mpps_server)
    modification = Dataset()
    modification.ScheduledStepAttributesSequence = n_create_attributes().ScheduledStepAttributesSequence
    assert n_set(_port(mpps_server), modification, uid).Status == 0x0106


def test_set_of_an_unknown_status_value_is_0106(mpps_server: RunningServer) -> None:
    uid = _created(mpps_server)
    modification = final_modification()
    modification.PerformedProcedureStepStatus = "SCHEDULED"
    assert n_set(_port(mpps_server), modification, uid).Status == 0x0106
    assert _status(mpps_server, uid) == "IN PROGRESS"


@pytest.mark.parametrize("missing", ["PerformedSeriesSequence", "PerformedProcedureStepEndDate",
                                     "PerformedProcedureStepEndTime", "ProtocolName", "SeriesInstanceUID"])
@pytest.mark.parametrize("final", ["COMPLETED", "DISCONTINUED"])
def test_ending_a_step_without_its_final_state_attributes_is_0121(mpps_server: RunningServer, missing: str,
                                                                  final: str) -> None:
    uid = _created(mpps_server)
    modification = final_modification(final)
    if missing in ("ProtocolName", "SeriesInstanceUID"):
        delattr(modification.PerformedSeriesSequence[0], missing)
    else:
        delattr(modification, missing)
    status = n_set(_port(mpps_server), modification, uid)
    assert status.Status == 0x0121
    assert _status(mpps_server, uid) == "IN PROGRESS"


def test_in_progress_updates_merge_and_the_final_set_may_come_in_parts(mpps_server: RunningServer) -> None:
    uid = _created(mpps_server)
    first = final_modification()
    del first.PerformedProcedureStepStatus
    first.PerformedProcedureStepDescription = "CT head with contrast"
    assert n_set(_port(mpps_server), first, uid).Status == 0x0000
    stored = _stored(mpps_server, uid)
    assert stored[PPS_STATUS]["Value"] == ["IN PROGRESS"]
    assert stored["00400254"]["Value"] == ["CT head with contrast"]
    end = Dataset()
    end.PerformedProcedureStepStatus = "COMPLETED"  # the series and end time came with the first N-SET
    assert n_set(_port(mpps_server), end, uid).Status == 0x0000
    stored = _stored(mpps_server, uid)
    assert stored[PPS_STATUS]["Value"] == ["COMPLETED"]
    assert stored["00400254"]["Value"] == ["CT head with contrast"]


def test_admin_api_validates_uids_and_statuses(mpps_server: RunningServer) -> None:
    base = mpps_server.http_url
    bad = httpx.get(f"{base}/api/mpps/not-a-uid", timeout=10)
    assert bad.status_code == 400 and "not a valid UID" in bad.json()["error"]
    assert httpx.get(f"{base}/api/mpps/1.2.3.{'4' * 70}", timeout=10).status_code == 400
    missing = httpx.get(f"{base}/api/mpps/{generate_uid()}", timeout=10)
    assert missing.status_code == 404 and "GET /api/mpps" in missing.json()["error"]
    wrong = httpx.get(f"{base}/api/mpps", params={"status": "DONE"}, timeout=10)
    assert wrong.status_code == 400 and "IN PROGRESS" in wrong.json()["error"]


def test_steps_survive_a_restart_and_can_be_completed_after_it(tmp_path: Path, index_url: str) -> None:
    config = write_server_config(tmp_path / "server.toml", tmp_path / "data", index_url=index_url)
    server = start_server(config, tmp_path / "data")
    try:
        uid = _created(server)
        done = _created(server)
        assert n_set(_port(server), final_modification(), done).Status == 0x0000
    finally:
        stop_server(server)
    server = start_server(config, tmp_path / "data")
    try:
        assert _status(server, uid) == "IN PROGRESS"
        assert _status(server, done) == "COMPLETED"
        assert n_set(_port(server), final_modification(), uid).Status == 0x0000
        assert n_set(_port(server), final_modification(), done).Status == 0x0110  # still final after the restart
        assert _status(server, uid) == "COMPLETED"
    finally:
        stop_server(server)


def test_create_with_an_invalid_sop_instance_uid_is_0117(mpps_server: RunningServer) -> None:
    from pynetdicom import _config

    enforce = _config.ENFORCE_UID_CONFORMANCE
    _config.ENFORCE_UID_CONFORMANCE = False
    try:
        status, _ = n_create(_port(mpps_server), n_create_attributes(), "1.2.03.4")  # a leading zero
    finally:
        _config.ENFORCE_UID_CONFORMANCE = enforce
    assert status.Status == 0x0117
    listed = httpx.get(f"{mpps_server.http_url}/api/mpps", timeout=10).json()
    assert "1.2.03.4" not in [item["sop_instance_uid"] for item in listed]
