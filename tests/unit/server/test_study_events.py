"""The study event registry: listeners called in order with frozen events, failures contained."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from app.server.study_events import StudyApproved, StudyCorrected, StudyDeleted, StudyEvents, StudyOffline


def test_listeners_get_each_event_in_order_and_can_unsubscribe() -> None:
    events = StudyEvents()
    seen: list[object] = []
    stop = events.on_approved(lambda e: seen.append(("first", e)))
    events.on_approved(lambda e: seen.append(("second", e)))
    events.on_deleted(seen.append)
    events.on_corrected(seen.append)
    at = dt.datetime(2026, 1, 2, 3, 4, 5)
    events.approved("1.2.3", "dr.who", at)
    events.deleted("1.2.3", "series", ["1.2.3.1"], study_gone=False, values={"PatientID": "P1"},
                   instances=(("1.2.3.1", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.1.1"),))
    events.corrected(["1.2.3", "1.2.4"], "patient", {"PatientName": "DOE^JANE"}, "adm")
    assert seen == [
        ("first", StudyApproved("1.2.3", "dr.who", at)),
        ("second", StudyApproved("1.2.3", "dr.who", at)),
        StudyDeleted("1.2.3", "series", ("1.2.3.1",), False, {"PatientID": "P1"},
                     (("1.2.3.1", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.1.1"),)),
        StudyCorrected(("1.2.3", "1.2.4"), "patient", {"PatientName": "DOE^JANE"}, "adm"),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen[-1].level = "x"  # type: ignore[union-attr]
    stop()
    seen.clear()
    events.approved("1.2.3", "dr.who")
    assert [name for name, _ in seen] == ["second"]  # type: ignore[misc]
    assert seen[0][1].at is not None  # type: ignore[index]


def test_a_failing_listener_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    events = StudyEvents()
    seen: list[str] = []

    def broken(_event: StudyApproved) -> None:
        raise RuntimeError("boom")

    events.on_approved(broken)
    events.on_approved(lambda e: seen.append(e.study_instance_uid))
    events.approved("1.2.3", "x")  # does not raise
    assert seen == ["1.2.3"]
    assert "a study approved listener failed" in caplog.text


def test_offline_listeners_get_the_removed_instances_and_why() -> None:
    events = StudyEvents()
    seen: list[StudyOffline] = []
    stop = events.on_offline(seen.append)
    instances = (("1.2.3.1", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.1.1"),)
    events.offline("1.2.3", instances, "less than 1 GiB free")
    assert [(e.study_instance_uid, e.instances, e.why) for e in seen] == [("1.2.3", instances, "less than 1 GiB free")]
    assert isinstance(seen[0], StudyOffline) and seen[0].at is not None
    stop()
    events.offline("1.2.3")
    assert len(seen) == 1
