"""The server's Modality Worklist SCP over real associations (PS3.4 K, C.2.2.2; the reference's appendix F).

The server is the real ``python -m app.server`` process; its items come in through the real
``lightbox server worklist import`` command from ``.wl`` files written with pydicom. DCMTK's
``findscu -W`` queries it (responses extracted with ``-X`` and read back); pynetdicom checks
the statuses (hit limit, refused identifiers).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydicom.dataset import Dataset

from tests.conftest import RunningServer, require_tool, server_index_url, start_server, stop_server, write_server_config
from tests.mpps_peers import final_modification, n_create, n_create_attributes, n_set
from tests.mwl_items import MWL, Item, find, findscu, import_files, item_dataset, names, write_wl

pytestmark = [pytest.mark.peer, pytest.mark.postgresql]  # module-scoped servers also on a PostgreSQL index

TODAY = dt.date.today().strftime("%Y%m%d")

ITEMS = [
    Item("Doe^John", "P1", "Smith^Alice", "20240110", "083000", "CT", "CT1", "CTROOM1", "House^Greg", "CT head",
         "PH", "A1"),
    Item("DOE^JANE", "P2", "SMITH^ALICE", "20240110", "200000", "MR", "MR1\\MR2", "MRROOM", "Grey^Meredith",
         "MR knee", "PK", "A2", part10=True),
    Item("Müller^Anna", "P3", "Weiß^Otto", "20240111", "060000.25", "CT", "CT1", "CTROOM1", "House^Greg",
         "CT chest", "PC", "A3", charset="ISO_IR 100"),
    Item("Roe^Richard", "P4", "Smith^Alice", "20240111", "210000", "US", "US1", "USROOM", "Ross^Doug", "US liver",
         "PL", "A4"),
    Item("Wałęsa^Lech", "P5", "Nowak^Jan", TODAY, "101500", "CT", "CT2", "CTROOM2", "House^Greg", "CT spine",
         "PS", "A5"),
]
ALL = {i.name for i in ITEMS}


def _start(tmp_path: Path, mwl: str, index_url: str = "") -> RunningServer:
    data_dir = tmp_path / "data"
    qr = f"[server.qr]\nport = 0\n{mwl}"
    config = write_server_config(tmp_path / "server.toml", data_dir, qr=qr, index_url=index_url)
    running = start_server(config, data_dir)
    assert running.mwl_port
    files = [write_wl(tmp_path, item) for item in ITEMS]
    done = import_files(running.http_url, files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("imported ") == len(ITEMS)
    return running


@pytest.fixture(scope="module")
def mwl_server(
    tmp_path_factory: pytest.TempPathFactory, index_backend: str, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    url = server_index_url(index_backend, request)
    running = _start(tmp_path_factory.mktemp("mwl"), "[server.mwl]\nport = 0\n", url)
    yield running
    assert stop_server(running) == 0


def _q(port: int, *keys: str | bytes) -> set[str]:
    responses, log = findscu(port, "PatientName", *keys)
    assert "Received Final Find Response (Success)" in log, log
    return names(responses)


def _sps(key: str) -> str:
    return f"ScheduledProcedureStepSequence[0].{key}"


# -- association ---------------------------------------------------------------------------------


def test_ready_line_reports_the_mwl_ae_and_it_answers_echo(mwl_server: RunningServer) -> None:
    assert mwl_server.mwl_ae_title == MWL and mwl_server.mwl_port not in (None, mwl_server.qr_port)
    echoscu = require_tool("echoscu")
    done = subprocess.run([echoscu, "-v", "-aec", MWL, "127.0.0.1", str(mwl_server.mwl_port)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Received Echo Response (Success)" in done.stdout + done.stderr


def test_wrong_called_ae_title_is_rejected(mwl_server: RunningServer) -> None:
    echoscu = require_tool("echoscu")
    done = subprocess.run([echoscu, "-aec", "NOT_MWL", "127.0.0.1", str(mwl_server.mwl_port)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Called AE Title Not Recognized" in done.stdout + done.stderr


# -- matching (PS3.4 C.2.2.2, K.6.1.2.2) ---------------------------------------------------------


def test_universal_query_returns_every_item(mwl_server: RunningServer) -> None:
    assert _q(mwl_server.mwl_port or 0) == ALL


def test_modality(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, _sps("Modality=MR")) == {"DOE^JANE"}
    assert _q(port, _sps("Modality=CT")) == {"Doe^John", "Müller^Anna", "Wałęsa^Lech"}


def test_scheduled_station_ae_title_matches_any_of_its_values(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, _sps("ScheduledStationAETitle=MR2")) == {"DOE^JANE"}
    assert _q(port, _sps("ScheduledStationAETitle=CT1")) == {"Doe^John", "Müller^Anna"}
    assert _q(port, _sps("ScheduledStationAETitle=CT*")) == {"Doe^John", "Müller^Anna", "Wałęsa^Lech"}


def test_scheduled_station_name_and_performing_physician(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, _sps("ScheduledStationName=USROOM")) == {"Roe^Richard"}
    assert _q(port, _sps("ScheduledPerformingPhysicianName=House^Greg"), _sps("Modality=CT"),
              _sps("ScheduledStationAETitle=CT1")) == {"Doe^John", "Müller^Anna"}


def test_sps_start_date_single_value_and_range(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, _sps("ScheduledProcedureStepStartDate=20240111")) == {"Müller^Anna", "Roe^Richard"}
    assert _q(port, _sps("ScheduledProcedureStepStartDate=20240110-20240111")) == ALL - {"Wałęsa^Lech"}
    assert _q(port, _sps("ScheduledProcedureStepStartDate=20240111-")) == {"Müller^Anna", "Roe^Richard",
                                                                            "Wałęsa^Lech"}
    assert _q(port, _sps("ScheduledProcedureStepStartDate=-20240110")) == {"Doe^John", "DOE^JANE"}


def test_sps_start_time_range_with_a_single_date(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, _sps("ScheduledProcedureStepStartDate=20240110"),
              _sps("ScheduledProcedureStepStartTime=080000-120000")) == {"Doe^John"}
    # Fractions of seconds are ignored: 06:00:00.25 is within 05:00-06:00:00.
    assert _q(port, _sps("ScheduledProcedureStepStartDate=20240111"),
              _sps("ScheduledProcedureStepStartTime=0500-060000")) == {"Müller^Anna"}


def test_sps_date_and_time_ranges_combine_into_one_interval(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    # From 2024-01-10 08:00 to 2024-01-11 07:00: not "07:00-08:00 on each day" (which is empty).
    found = _q(port, _sps("ScheduledProcedureStepStartDate=20240110-20240111"),
               _sps("ScheduledProcedureStepStartTime=080000-070000"))
    assert found == {"Doe^John", "DOE^JANE", "Müller^Anna"}


def test_sps_time_range_without_a_date_means_today(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, _sps("ScheduledProcedureStepStartTime=100000-103000")) == {"Wałęsa^Lech"}
    assert _q(port, _sps("ScheduledProcedureStepStartTime=050000-063000")) == set()  # 06:00 was on 2024-01-11


def test_patient_name_wildcards_match_case_insensitively(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, "PatientName=doe*") == {"Doe^John", "DOE^JANE"}
    assert _q(port, "PatientName=D?E^J*N*") == {"Doe^John", "DOE^JANE"}
    assert _q(port, "PatientName=roe^richard") == {"Roe^Richard"}


def test_latin1_query_matches_a_latin1_name_case_insensitively(mwl_server: RunningServer) -> None:
    responses, log = findscu(mwl_server.mwl_port or 0, "SpecificCharacterSet=ISO_IR 100",
                             "PatientName=müller*".encode("latin-1"), "ReferringPhysicianName")
    assert "Received Final Find Response (Success)" in log
    [answer] = responses
    assert answer.SpecificCharacterSet == "ISO_IR 100"
    assert str(answer.PatientName) == "Müller^Anna" and str(answer.ReferringPhysicianName) == "Weiß^Otto"


def test_a_name_latin1_cannot_hold_is_answered_in_utf8(mwl_server: RunningServer) -> None:
    responses, _log = findscu(mwl_server.mwl_port or 0, "SpecificCharacterSet=ISO_IR 100", "PatientName=W*")
    [answer] = responses
    assert answer.SpecificCharacterSet == "ISO_IR 192" and str(answer.PatientName) == "Wałęsa^Lech"


def test_an_ascii_answer_declares_no_character_set(mwl_server: RunningServer) -> None:
    responses, _log = findscu(mwl_server.mwl_port or 0, "PatientName=Doe^John")
    [answer] = responses
    assert "SpecificCharacterSet" not in answer


def test_referring_physician_matches_case_sensitively(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, "ReferringPhysicianName=Smith^Alice") == {"Doe^John", "Roe^Richard"}
    assert _q(port, "ReferringPhysicianName=SMITH^ALICE") == {"DOE^JANE"}
    assert _q(port, "ReferringPhysicianName=smith*") == set()


def test_other_top_level_keys(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, "AccessionNumber=A4") == {"Roe^Richard"}
    assert _q(port, "PatientID=P2") == {"DOE^JANE"}
    assert _q(port, "RequestedProcedureID=RPP3") == {"Müller^Anna"}
    assert _q(port, "StudyInstanceUID=1.2.826.0.1.3680043.10.543.9.1") == {"Doe^John"}
    assert _q(port, "AdmissionID=ADMP5") == {"Wałęsa^Lech"}  # not an appendix F column: matched on the item
    assert _q(port, "RequestedProcedureDescription=MR*") == {"DOE^JANE"}


def test_sps_keys_outside_the_columns_match_on_the_stored_item(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, _sps("ScheduledProcedureStepDescription=CT c*")) == {"Müller^Anna"}
    assert _q(port, _sps("ScheduledProcedureStepID=SPSP4")) == {"Roe^Richard"}


def test_sequence_matching_inside_the_scheduled_procedure_step(mwl_server: RunningServer) -> None:
    port = mwl_server.mwl_port or 0
    assert _q(port, _sps("ScheduledProtocolCodeSequence[0].CodeValue=PK")) == {"DOE^JANE"}
    assert _q(port, "RequestedProcedureCodeSequence[0].CodeValue=RPL") == {"Roe^Richard"}
    # Two keys of one item must match the same item.
    assert _q(port, "RequestedProcedureCodeSequence[0].CodeValue=RPL",
              "RequestedProcedureCodeSequence[0].CodingSchemeDesignator=XX") == set()


def test_answers_carry_exactly_the_requested_keys(mwl_server: RunningServer) -> None:
    responses, _log = findscu(
        mwl_server.mwl_port or 0, "PatientName=Roe^Richard", "PatientWeight", "MedicalAlerts", "PregnancyStatus",
        _sps("ScheduledStationAETitle"), _sps("ScheduledProcedureStepStatus"),
        _sps("ScheduledProtocolCodeSequence[0].CodeValue"), "RequestedProcedureCodeSequence",
    )
    [answer] = responses
    top = {e.keyword for e in answer}
    assert top == {"PatientName", "PatientWeight", "MedicalAlerts", "PregnancyStatus",
                   "ScheduledProcedureStepSequence", "RequestedProcedureCodeSequence"}
    assert answer.PatientWeight is None and answer.PregnancyStatus is None and answer.MedicalAlerts == "none"
    [sps] = answer.ScheduledProcedureStepSequence
    assert {e.keyword for e in sps} == {"ScheduledStationAETitle", "ScheduledProcedureStepStatus",
                                        "ScheduledProtocolCodeSequence"}
    assert sps.ScheduledStationAETitle == "US1" and sps.ScheduledProcedureStepStatus == "SCHEDULED"
    [code] = sps.ScheduledProtocolCodeSequence
    assert {e.keyword for e in code} == {"CodeValue"} and code.CodeValue == "PL"
    # A sequence asked for with no item comes back whole.
    [requested] = answer.RequestedProcedureCodeSequence
    assert requested.CodeValue == "RPL" and requested.CodingSchemeDesignator == "LB"


def test_every_appendix_f_key_is_returned(mwl_server: RunningServer) -> None:
    query = Dataset()
    query.SpecificCharacterSet = ""
    for keyword in ("RequestedProcedureID", "RequestedProcedureDescription", "StudyInstanceUID", "AccessionNumber",
                    "ReferringPhysicianName", "PatientID", "PatientName", "PatientBirthDate", "PatientSex"):
        setattr(query, keyword, "")
    sps = Dataset()
    for keyword in ("ScheduledStationAETitle", "ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime",
                    "Modality", "ScheduledPerformingPhysicianName", "ScheduledProcedureStepDescription",
                    "ScheduledStationName", "ScheduledProcedureStepID"):
        setattr(sps, keyword, "")
    query.ScheduledProcedureStepSequence = [sps]
    query.PatientID = "P2"
    matches, final = find(mwl_server.mwl_port or 0, query)
    assert final.Status == 0x0000
    [answer] = matches
    expected = item_dataset(ITEMS[1])
    for keyword in ("RequestedProcedureID", "RequestedProcedureDescription", "StudyInstanceUID", "AccessionNumber",
                    "ReferringPhysicianName", "PatientID", "PatientName", "PatientBirthDate", "PatientSex"):
        assert str(answer[keyword].value) == str(expected[keyword].value), keyword
    [got] = answer.ScheduledProcedureStepSequence
    [want] = expected.ScheduledProcedureStepSequence
    for keyword in sps.dir():
        assert got[keyword].value == want[keyword].value, keyword


# -- refused identifiers (PS3.4 Table K.4-2) -------------------------------------------------------


def test_two_scheduled_procedure_step_items_are_refused(mwl_server: RunningServer) -> None:
    query = Dataset()
    query.PatientName = ""
    first, second = Dataset(), Dataset()
    first.Modality, second.Modality = "CT", "MR"
    query.ScheduledProcedureStepSequence = [first, second]
    matches, final = find(mwl_server.mwl_port or 0, query)
    assert matches == [] and final.Status == 0xA900 and "one item" in final.ErrorComment


def test_a_malformed_date_is_unable_to_process(mwl_server: RunningServer) -> None:
    query = Dataset()
    query.PatientName = ""
    sps = Dataset()
    sps.ScheduledProcedureStepStartDate = "2024-01-10"
    query.ScheduledProcedureStepSequence = [sps]
    matches, final = find(mwl_server.mwl_port or 0, query)
    assert matches == [] and final.Status == 0xC000 and "date" in final.ErrorComment


# -- hit limit and completed steps ---------------------------------------------------------------


def _complete(server: RunningServer, pid: str) -> None:
    """Mark the item of ``pid`` COMPLETED through the admin API (as the MPPS SCP would)."""
    items = httpx.get(f"{server.http_url}/api/worklist", timeout=30).json()
    [entry] = [i for i in items if i["dataset"]["00100020"]["Value"] == [pid]]
    dataset = entry["dataset"]
    dataset["00400100"]["Value"][0]["00400020"] = {"vr": "CS", "Value": ["COMPLETED"]}
    answer = httpx.put(f"{server.http_url}/api/worklist/{entry['id']}", json=dataset,
                       headers={"Content-Type": "application/dicom+json"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["status"] == "COMPLETED"


@pytest.mark.parametrize("empty", [False, True])
def test_hit_limit(tmp_path: Path, empty: bool) -> None:
    running = _start(tmp_path, f"[server.mwl]\nport = 0\nhit_limit = 4\nhit_limit_empty = {str(empty).lower()}\n")
    try:
        query = Dataset()
        query.PatientName = ""
        matches, final = find(running.mwl_port or 0, query)
        assert matches == []
        if empty:
            assert final.Status == 0x0000
        else:
            assert final.Status == 0xA700 and "narrow the search" in final.ErrorComment
        query.PatientName = "doe*"  # 2 matches: within the limit
        matches, final = find(running.mwl_port or 0, query)
        assert final.Status == 0x0000 and len(matches) == 2
        # Completed steps drop off (drop_completed defaults to true): now 4 match, within the limit.
        _complete(running, "P4")
        query.PatientName = ""
        matches, final = find(running.mwl_port or 0, query)
        assert final.Status == 0x0000 and names(matches) == ALL - {"Roe^Richard"}
    finally:
        assert stop_server(running) == 0


def test_completed_steps_stay_when_drop_completed_is_off(tmp_path: Path) -> None:
    running = _start(tmp_path, "[server.mwl]\nport = 0\ndrop_completed = false\n")
    try:
        _complete(running, "P4")
        found = _q(running.mwl_port or 0, _sps("ScheduledProcedureStepStatus"))
        assert found == ALL
        assert _q(running.mwl_port or 0, _sps("ScheduledProcedureStepStatus=COMPLETED")) == {"Roe^Richard"}
    finally:
        assert stop_server(running) == 0


def test_a_step_performed_through_mpps_drops_off_the_worklist(tmp_path: Path) -> None:
    """The modality's MPPS (on the Q/R AE) moves the item on: IN PROGRESS, then COMPLETED and gone."""
    running = _start(tmp_path, "[server.mwl]\nport = 0\n")
    try:
        roe = item_dataset(ITEMS[3])
        attributes = n_create_attributes(study_uid=str(roe.StudyInstanceUID), accession=str(roe.AccessionNumber),
                                         sps_id=str(roe.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID))
        status, uid = n_create(running.qr_port or 0, attributes, None)
        assert status.Status == 0x0000 and uid
        responses, _log = findscu(running.mwl_port or 0, "PatientName=Roe*", _sps("ScheduledProcedureStepStatus"))
        [answer] = responses
        assert answer.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus == "IN PROGRESS"
        assert n_set(running.qr_port or 0, final_modification("COMPLETED"), uid).Status == 0x0000
        assert _q(running.mwl_port or 0) == ALL - {"Roe^Richard"}
    finally:
        assert stop_server(running) == 0
