"""The worklist store on a real SQLite index: CRUD, column matching (PS3.4 C.2.2.2, K.2.2.1), status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.server.index.records import QueryError
from app.server.index.stores import IndexStores, open_index
from app.server.index.worklist_records import FINAL_STATUSES, WorklistSearch

pytestmark = pytest.mark.postgresql  # index_url: SQLite and PostgreSQL


@pytest.fixture
def stores(index_url: str) -> Iterator[IndexStores]:
    opened = open_index(index_url, busy_timeout_ms=500)
    yield opened
    opened.close()


def _keys(name: str, date: str, time: str, station: str = "CT1", **more: str) -> dict[str, str]:
    return {"PatientName": name, "PatientID": name[:3], "ScheduledProcedureStepStartDate": date,
            "ScheduledProcedureStepStartTime": time, "ScheduledStationAETitle": station, "Modality": "CT", **more}


def _ids(stores: IndexStores, **filters: str) -> set[int]:
    return {r.id for r in stores.worklist.search(WorklistSearch(filters))}


def test_crud_round_trip(stores: IndexStores) -> None:
    store = stores.worklist
    item_id = store.create(_keys("Doe^John", "20240110", "0800"), {"00100010": {"vr": "PN"}})
    record = store.get(item_id)
    assert record is not None and record.status == "SCHEDULED" and record.dataset == {"00100010": {"vr": "PN"}}
    assert store.update(item_id, _keys("Roe^Jane", "20240111", "0900"), {"x": 1})
    assert _ids(stores, PatientName="roe*") == {item_id}
    assert store.get(item_id).dataset == {"x": 1}  # type: ignore[union-attr]
    assert [r.id for r in store.list_items()] == [item_id]
    assert store.delete(item_id) and store.get(item_id) is None
    assert not store.delete(item_id) and not store.update(item_id, {}, {})


def test_date_time_ranges_combine_into_one_interval(stores: IndexStores) -> None:
    store = stores.worklist
    early = store.create(_keys("A^A", "20240110", "070000"), {})
    late_first_day = store.create(_keys("B^B", "20240110", "200000"), {})
    early_next_day = store.create(_keys("C^C", "20240111", "060000"), {})
    late_next_day = store.create(_keys("D^D", "20240111", "210000"), {})
    both = _ids(stores, ScheduledProcedureStepStartDate="20240110-20240111",
                ScheduledProcedureStepStartTime="080000-200000")
    # 2024-01-10 08:00 .. 2024-01-11 20:00, not "08:00-20:00 on each day".
    assert both == {late_first_day, early_next_day}
    # A time range without a date means today: none of these is today.
    assert _ids(stores, ScheduledProcedureStepStartTime="080000-200000") == set()
    assert _ids(stores, ScheduledProcedureStepStartDate="20240111") == {early_next_day, late_next_day}
    assert _ids(stores, ScheduledProcedureStepStartDate="-20240110") == {early, late_first_day}
    with pytest.raises(QueryError):
        _ids(stores, ScheduledProcedureStepStartDate="2024-01-10")


def test_multi_valued_station_and_case_rules(stores: IndexStores) -> None:
    store = stores.worklist
    first = store.create(_keys("Müller^Anna", "20240110", "0800", station="AA32\\AA33",
                               ReferringPhysicianName="Smith^Bob"), {})
    second = store.create(_keys("MÜLLER^ANNE", "20240110", "0900", station="AA3"), {})
    assert _ids(stores, ScheduledStationAETitle="AA33") == {first}
    assert _ids(stores, ScheduledStationAETitle="AA3") == {second}
    assert _ids(stores, ScheduledStationAETitle="AA3?") == {first}
    assert _ids(stores, PatientName="müller^ann*") == {first, second}
    assert _ids(stores, ReferringPhysicianName="Smith^Bob") == {first}
    assert _ids(stores, ReferringPhysicianName="SMITH^BOB") == set()


def test_status_and_exclusion(stores: IndexStores) -> None:
    store = stores.worklist
    item = store.create(_keys("A^A", "20240110", "0800", StudyInstanceUID="1.2.3", ScheduledProcedureStepID="S1"), {})
    other = store.create(_keys("B^B", "20240110", "0800"), {})
    assert store.set_status_for_step(study_instance_uid="1.2.3", sps_id="S1", status="COMPLETED") == 1
    assert store.get(item).status == "COMPLETED"  # type: ignore[union-attr]
    found = store.search(WorklistSearch({}, exclude_statuses=FINAL_STATUSES))
    assert [r.id for r in found] == [other]
    assert store.set_status(item, "IN PROGRESS") and not store.set_status(9999, "COMPLETED")
    assert _ids(stores, ScheduledProcedureStepStatus="IN PROGRESS") == {item}
