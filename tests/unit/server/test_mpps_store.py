"""The MPPS store: a step, its worklist link and its relay jobs commit together or not at all;
relay jobs wait for earlier ones without using attempts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.dicom.mpps import ScheduledStep
from app.server.index.job_records import Job, JobRequest, JobState
from app.server.index.mpps_records import DuplicateStep, MppsChange, MppsRecord, NewStep, NoSuchStep
from app.server.index.stores import IndexStores, open_index
from app.server.jobs import JobControl, JobNotReady, JobRunner

pytestmark = pytest.mark.postgresql  # index_url: SQLite and PostgreSQL

STEP = ScheduledStep("SPS1", "ACC1", "1.2.3.4")


@pytest.fixture
def stores(index_url: str) -> Iterator[IndexStores]:
    opened = open_index(index_url, busy_timeout_ms=500)
    yield opened
    opened.close()


def _worklist_item(stores: IndexStores, sps_id: str = "SPS1", study: str = "1.2.3.4", accession: str = "") -> int:
    keys = {"ScheduledProcedureStepID": sps_id, "StudyInstanceUID": study, "AccessionNumber": accession}
    return stores.worklist.create(keys, {})


def _new(uid: str, status: str = "IN PROGRESS", jobs: tuple[JobRequest, ...] = ()) -> NewStep:
    change = MppsChange(dataset={"00400252": {"vr": "CS", "Value": [status]}}, status=status, steps=(STEP,), jobs=jobs)
    return NewStep(uid, "MODALITY", "PID1", "1.2.3.4", "ACC1", change)


def _relay(uid: str, operation: str) -> JobRequest:
    return JobRequest("mpps-relay", {"sop_instance_uid": uid, "destination": "RECV", "operation": operation})


def test_create_links_the_worklist_and_queues_the_jobs_in_one_go(stores: IndexStores) -> None:
    linked, other = _worklist_item(stores), _worklist_item(stores, sps_id="SPS2")
    record = stores.mpps.create(_new("1.2.9", jobs=(_relay("1.2.9", "N-CREATE"),)))
    assert record.status == "IN PROGRESS" and record.calling_ae_title == "MODALITY"
    assert stores.worklist.get(linked).status == "IN PROGRESS"  # type: ignore[union-attr]
    assert stores.worklist.get(other).status == "SCHEDULED"  # type: ignore[union-attr]
    assert [j.payload["operation"] for j in stores.jobs.list(kind="mpps-relay")] == ["N-CREATE"]
    with pytest.raises(DuplicateStep):
        stores.mpps.create(_new("1.2.9", jobs=(_relay("1.2.9", "N-CREATE"),)))
    assert len(stores.jobs.list(kind="mpps-relay")) == 1


def test_a_refused_update_changes_nothing(stores: IndexStores) -> None:
    linked = _worklist_item(stores)
    stores.mpps.create(_new("1.2.10"))

    def refuse(current: MppsRecord) -> MppsChange:
        raise ValueError("refused")

    with pytest.raises(ValueError):
        stores.mpps.update("1.2.10", refuse)
    with pytest.raises(NoSuchStep):
        stores.mpps.update("1.2.11", refuse)

    def complete(current: MppsRecord) -> MppsChange:
        assert current.status == "IN PROGRESS"
        return MppsChange({"00400252": {"vr": "CS", "Value": ["COMPLETED"]}}, "COMPLETED", (STEP,),
                          (_relay("1.2.10", "N-SET"),))

    assert stores.mpps.get("1.2.10").status == "IN PROGRESS"  # type: ignore[union-attr]
    record = stores.mpps.update("1.2.10", complete)
    assert record.status == "COMPLETED" and record.dataset["00400252"]["Value"] == ["COMPLETED"]
    assert stores.worklist.get(linked).status == "COMPLETED"  # type: ignore[union-attr]
    assert [r.sop_instance_uid for r in stores.mpps.list(status="COMPLETED")] == ["1.2.10"]
    assert stores.mpps.list(status="IN PROGRESS") == []


def test_a_waiting_job_keeps_its_attempts_and_runs_after_the_earlier_one(stores: IndexStores) -> None:
    first = stores.jobs.enqueue("mpps-relay", {"n": 1})
    second = stores.jobs.enqueue("mpps-relay", {"n": 2})
    ran: list[int] = []

    def handler(job: Job, control: JobControl) -> dict[str, Any]:
        if stores.jobs.pending_before("mpps-relay", job.id):
            raise JobNotReady("earlier job pending")
        ran.append(job.payload["n"])
        return {}

    runner = JobRunner(stores.jobs, retry_seconds=0.0)
    runner.register("mpps-relay", handler)
    stores.jobs.retry_or_fail(stores.jobs.claim_due(frozenset({"mpps-relay"})).id, "down", 0.0)  # type: ignore[union-attr]
    assert [j.id for j in stores.jobs.pending_before("mpps-relay", second)] == [first]
    # the earlier job is due again; the later one must not overtake it
    while runner.run_once():
        pass
    assert ran == [1, 2]
    assert stores.jobs.get(second).attempts == 1  # type: ignore[union-attr]
    assert stores.jobs.get(first).state is JobState.DONE  # type: ignore[union-attr]
