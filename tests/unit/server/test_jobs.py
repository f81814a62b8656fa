"""Durable jobs: the job table on a real index (SQLite and PostgreSQL), and the runner's retry rules."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from app.server.index.job_records import Job, JobState
from app.server.index.stores import IndexStores, open_index
from app.server.jobs import JobControl, JobRunner, PermanentJobError

pytestmark = pytest.mark.postgresql  # index_url: SQLite and PostgreSQL


@pytest.fixture
def stores(index_url: str) -> Iterator[IndexStores]:
    opened = open_index(index_url, busy_timeout_ms=500)
    yield opened
    opened.close()


def _later(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=seconds)


def test_a_job_survives_reopening_the_index(index_url: str) -> None:
    first = open_index(index_url)
    job_id = first.jobs.enqueue("report", {"uid": "1.2.3"}, description="commitment 1.2.3", max_attempts=4)
    claimed = first.jobs.claim_due(frozenset({"report"}))
    assert claimed is not None and claimed.id == job_id and claimed.state is JobState.RUNNING
    first.close()  # the server stops (or dies) while the job runs
    second = open_index(index_url)
    try:
        assert second.jobs.requeue_interrupted() == 1
        again = second.jobs.claim_due(frozenset({"report"}))
        assert again is not None and again.payload == {"uid": "1.2.3"} and again.attempts == 2
    finally:
        second.close()


def test_claim_takes_due_jobs_of_known_kinds_oldest_first(stores: IndexStores) -> None:
    jobs = stores.jobs
    later = jobs.enqueue("report", {"n": 0}, not_before=_later(3600))
    first = jobs.enqueue("report", {"n": 1})
    jobs.enqueue("other", {"n": 2})
    second = jobs.enqueue("report", {"n": 3})
    kinds = frozenset({"report"})
    claimed = [jobs.claim_due(kinds), jobs.claim_due(kinds), jobs.claim_due(kinds)]
    assert [c.id if c else None for c in claimed] == [first, second, None]
    assert jobs.get(later) is not None and jobs.get(later).state is JobState.QUEUED  # type: ignore[union-attr]


def test_failed_attempts_back_off_then_fail(stores: IndexStores) -> None:
    jobs = stores.jobs
    job_id = jobs.enqueue("report", {}, max_attempts=2)
    jobs.claim_due(frozenset({"report"}))
    assert jobs.retry_or_fail(job_id, "refused", 60) is JobState.QUEUED
    assert jobs.claim_due(frozenset({"report"})) is None  # not due for a minute
    assert jobs.claim_due(frozenset({"report"}), now=_later(61)) is not None
    assert jobs.retry_or_fail(job_id, "refused again", 60) is JobState.FAILED
    failed = jobs.get(job_id)
    assert failed is not None and failed.last_error == "refused again" and failed.attempts == 2


def test_cancel_only_unfinished_jobs(stores: IndexStores) -> None:
    jobs = stores.jobs
    queued = jobs.enqueue("report", {})
    done = jobs.enqueue("report", {})
    claimed = jobs.claim_due(frozenset({"report"}))
    assert claimed is not None and claimed.id == queued
    claimed = jobs.claim_due(frozenset({"report"}))
    assert claimed is not None
    jobs.finish(done, {"sent": 3})
    assert jobs.cancel(queued) is True
    assert jobs.cancel(done) is False
    assert jobs.cancel(999) is False
    assert [j.state for j in jobs.list()] == [JobState.DONE, JobState.CANCELLED]
    assert jobs.get(done).progress == {"sent": 3}  # type: ignore[union-attr]
    jobs.finish(queued)  # a handler finishing after a cancel does not resurrect the job
    assert jobs.get(queued).state is JobState.CANCELLED  # type: ignore[union-attr]


def test_runner_retries_until_the_handler_succeeds(stores: IndexStores) -> None:
    calls: list[int] = []
    done = threading.Event()

    def handler(job: Job, control: JobControl) -> dict[str, Any]:
        calls.append(job.attempts)
        control.progress(step=job.attempts)
        if job.attempts < 3:
            raise ConnectionRefusedError("peer down")
        done.set()
        return {"delivered": True}

    runner = JobRunner(stores.jobs, retry_seconds=0.05, poll_seconds=0.02)
    runner.register("report", handler)
    job_id = stores.jobs.enqueue("report", {"x": 1})
    runner.start()
    try:
        assert done.wait(10)
    finally:
        runner.stop()
    final = stores.jobs.get(job_id)
    assert calls == [1, 2, 3]
    assert final is not None and final.state is JobState.DONE and final.progress == {"delivered": True}


def test_permanent_errors_fail_at_once(stores: IndexStores) -> None:
    def handler(job: Job, control: JobControl) -> None:
        raise PermanentJobError("destination ZZZ is not configured")

    runner = JobRunner(stores.jobs, retry_seconds=0.01)
    runner.register("report", handler)
    job_id = stores.jobs.enqueue("report", {}, max_attempts=10)
    assert runner.run_once() is True
    assert runner.run_once() is False
    final = stores.jobs.get(job_id)
    assert final is not None and final.state is JobState.FAILED and "ZZZ" in final.last_error
    assert final.attempts == 1


def test_a_cancelled_job_is_seen_by_its_handler(stores: IndexStores) -> None:
    seen: list[bool] = []

    def handler(job: Job, control: JobControl) -> None:
        seen.append(control.cancelled())
        stores.jobs.cancel(job.id)
        seen.append(control.cancelled())

    runner = JobRunner(stores.jobs)
    runner.register("send", handler)
    job_id = stores.jobs.enqueue("send", {})
    runner.run_once()
    assert seen == [False, True]
    assert stores.jobs.get(job_id).state is JobState.CANCELLED  # type: ignore[union-attr]


def test_a_slow_job_does_not_hold_the_others(stores: IndexStores) -> None:
    release = threading.Event()
    quick_done = threading.Event()

    def slow(job: Job, control: JobControl) -> None:
        assert release.wait(10)

    def quick(job: Job, control: JobControl) -> None:
        quick_done.set()

    runner = JobRunner(stores.jobs, poll_seconds=0.02, workers=2)
    runner.register("slow", slow)
    runner.register("quick", quick)
    stores.jobs.enqueue("slow", {})
    stores.jobs.enqueue("quick", {})
    runner.start()
    try:
        assert quick_done.wait(10)  # done while the slow one still runs
    finally:
        release.set()
        runner.stop()
    assert {j.state for j in stores.jobs.list()} == {JobState.DONE}


def test_two_processes_share_the_job_table_and_run_each_job_once(stores: IndexStores, index_url: str) -> None:
    """Two server processes on one index (two engines, two runners of three workers each): every
    job runs exactly once, claimed by one process only (FOR UPDATE SKIP LOCKED); a third process
    starting meanwhile requeues none of the running jobs (PostgreSQL: an SQLite index belongs
    to one process); after the first one dies, its running job is requeued."""
    other = open_index(index_url, busy_timeout_ms=500)
    ran: list[tuple[str, int]] = []
    lock = threading.Lock()

    def handler(name: str) -> Any:
        def run(job: Job, control: JobControl) -> dict[str, Any]:
            with lock:
                ran.append((name, job.id))
            threading.Event().wait(0.02)
            return {}
        return run

    runners = []
    for name, index in (("first", stores), ("second", other)):
        runner = JobRunner(index.jobs, retry_seconds=0.05, poll_seconds=0.05)
        runner.register("work", handler(name))
        runners.append(runner)
    try:
        for runner in runners:
            runner.start()
        ids = [stores.jobs.enqueue("work", {"n": n}) for n in range(40)]
        for runner in runners:
            runner.wake()
        deadline = dt.datetime.now() + dt.timedelta(seconds=60)
        while len(stores.jobs.list(state=JobState.DONE, limit=100)) < len(ids) and dt.datetime.now() < deadline:
            threading.Event().wait(0.1)
    finally:
        for runner in runners:
            runner.stop()
    assert sorted(job_id for _, job_id in ran) == ids  # each job once, none lost
    assert other.jobs.requeue_orphaned() == 0
    if stores.engine.dialect.name == "postgresql":
        assert {name for name, _ in ran} == {"first", "second"}  # both processes took work

        held = stores.jobs.enqueue("work", {"n": "held"})
        claimed = stores.jobs.claim_due(frozenset({"work"}))
        assert claimed is not None and claimed.id == held
        assert other.jobs.requeue_interrupted() == 0  # a live process's running job is left alone
        assert other.jobs.claim_due(frozenset({"work"})) is None
        stores.jobs.release_all()  # the first process dies: its lock goes with its connection
        assert other.jobs.requeue_orphaned() == 1  # the live process's periodic check
        again = other.jobs.claim_due(frozenset({"work"}))
        assert again is not None and again.id == held and again.attempts == 2
    other.close()


def test_a_held_destination_is_refused_to_another_process_until_the_job_ends(
    stores: IndexStores, index_url: str
) -> None:
    """:meth:`JobStore.hold` (the send destination, one association at a time): on a shared
    PostgreSQL index a job of another process cannot hold what a running job holds, until that
    job is finished or its process dies; other names stay free. An SQLite index belongs to one
    process: every hold succeeds (the sender's in-process lock keeps its own jobs apart)."""
    other = open_index(index_url, busy_timeout_ms=500)
    try:
        first_id, second_id = (stores.jobs.enqueue("send", {"n": n}) for n in (1, 2))
        first = stores.jobs.claim_due(frozenset({"send"}))
        second = other.jobs.claim_due(frozenset({"send"}))
        assert first is not None and second is not None and {first.id, second.id} == {first_id, second_id}
        assert stores.jobs.hold(first.id, "send-destination:STORESCP")
        shared = stores.engine.dialect.name == "postgresql"
        assert other.jobs.hold(second.id, "send-destination:STORESCP") is not shared
        assert other.jobs.hold(second.id, "send-destination:ELSEWHERE")
        other.jobs.postpone(second.id, "waits", 0)  # drops what the second job held
        stores.jobs.finish(first.id)  # the first job ends: its destination is free
        again = other.jobs.claim_due(frozenset({"send"}))
        assert again is not None and again.id == second.id
        assert other.jobs.hold(again.id, "send-destination:STORESCP")
        third_id = stores.jobs.enqueue("send", {"n": 3})
        third = stores.jobs.claim_due(frozenset({"send"}))
        assert third is not None and third.id == third_id
        assert stores.jobs.hold(third.id, "send-destination:STORESCP") is not shared
        other.close()  # the holding process dies (its connections close): the hold goes with it
        assert stores.jobs.hold(third.id, "send-destination:STORESCP")
    finally:
        other.close()
