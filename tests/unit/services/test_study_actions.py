"""Study actions: the admin API's job object read as progress (the calls themselves: tests/ui/test_study_actions.py)."""

from __future__ import annotations

from app.services.study_actions import JobProgress


def test_job_progress_from_the_admin_api() -> None:
    running = JobProgress.from_json(7, {"id": 7, "state": "running", "progress": {"total": 10, "completed": 3},
                                        "attempts": 0, "max_attempts": 20, "last_error": ""})  # fmt: skip
    assert (running.completed, running.total, running.finished, running.failed) == (3, 10, False, False)
    assert running.describe() == "running (3/10 images)"
    retrying = JobProgress.from_json(7, {"state": "queued", "progress": {}, "attempts": 1, "max_attempts": 3,
                                         "last_error": "AssociationError: refused"})  # fmt: skip
    assert retrying.job_id == 7 and not retrying.finished
    assert retrying.describe() == "queued (0 images); retrying (attempt 2 of 3): AssociationError: refused"
    refused = JobProgress.from_json(8, {"state": "done", "progress": {"total": 4, "completed": 4, "failed": 1}})
    assert refused.finished and refused.failed
    assert refused.describe() == "done (4/4 images, 1 refused)"
    done = JobProgress.from_json(9, {"state": "done", "progress": {"total": 2, "completed": 2}})
    assert done.finished and not done.failed
    failed = JobProgress.from_json(9, {"state": "failed", "last_error": "no route"})
    assert failed.failed and failed.describe() == "failed (0 images): no route"
