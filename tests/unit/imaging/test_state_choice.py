"""Presentation states offered for an image frame: only those referencing it, newest first."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import GrayscaleSoftcopyPresentationStateStorage, generate_uid

from app.imaging.state_choice import creation_datetime, references_image, state_choices
from tests.unit.imaging.synth import image, ramp


def _state(
    label: str,
    series_uid: str,
    instance_uid: str,
    date: str | None = None,
    time: str | None = None,
    frames: list[int] | None = None,
    uid: str | None = None,
) -> Dataset:
    ps = Dataset()
    ps.SOPClassUID = GrayscaleSoftcopyPresentationStateStorage
    ps.SOPInstanceUID = uid or generate_uid()
    ps.ContentLabel = label
    ps.ContentDescription = f"{label} description"
    ps.ContentCreatorName = "Reader^One"
    if date is not None:
        ps.PresentationCreationDate = date
    if time is not None:
        ps.PresentationCreationTime = time
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ref.ReferencedSOPInstanceUID = instance_uid
    if frames is not None:
        ref.ReferencedFrameNumber = frames
    series = Dataset()
    series.SeriesInstanceUID = series_uid
    series.ReferencedImageSequence = [ref]
    ps.ReferencedSeriesSequence = [series]
    return ps


def _image(frames: int = 1) -> Dataset:
    stored = np.stack([ramp(4, 4, 0, 100, seed=i) for i in range(frames)]) if frames > 1 else ramp(4, 4, 0, 100)
    return image(stored)


def test_only_states_referencing_the_image_newest_first() -> None:
    img = _image()
    series, inst = str(img.SeriesInstanceUID), str(img.SOPInstanceUID)
    old = _state("OLD", series, inst, "20240101", "080000")
    new = _state("NEW", series, inst, "20240301", "070000")
    same_day_later = _state("LATER", series, inst, "20240101", "235959.5")
    undated = _state("UNDATED", series, inst)
    other_image = _state("OTHER", series, generate_uid(), "20250101", "000000")
    other_series = _state("WRONG SERIES", generate_uid(), inst, "20250101", "000000")
    choices = state_choices(img, [old, undated, other_image, new, other_series, same_day_later])
    assert [c.label for c in choices] == ["NEW", "LATER", "OLD", "UNDATED"]
    first = choices[0]
    assert first.description == "NEW description" and first.creator == "Reader^One"
    assert first.created == dt.datetime(2024, 3, 1, 7, 0, 0)
    assert first.sop_instance_uid == str(new.SOPInstanceUID) and first.dataset is new
    assert choices[-1].created is None


def test_equal_times_ordered_by_uid() -> None:
    img = _image()
    series, inst = str(img.SeriesInstanceUID), str(img.SOPInstanceUID)
    uids = ["1.2.3.9", "1.2.3.10", "1.2.3.2"]
    states = [_state(f"S{i}", series, inst, "20240101", "120000", uid=u) for i, u in enumerate(uids)]
    undated = [_state(f"U{i}", series, inst, uid=u) for i, u in enumerate(uids)]
    choices = state_choices(img, states + undated)
    assert [c.sop_instance_uid for c in choices] == sorted(uids) * 2


def test_frame_references() -> None:
    img = _image(frames=3)
    series, inst = str(img.SeriesInstanceUID), str(img.SOPInstanceUID)
    frame_two = _state("F2", series, inst, "20240101", "120000", frames=[2])
    all_frames = _state("ALL", series, inst, "20230101", "120000")
    assert [c.label for c in state_choices(img, [frame_two, all_frames], frame=1)] == ["F2", "ALL"]
    assert [c.label for c in state_choices(img, [frame_two, all_frames], frame=0)] == ["ALL"]
    assert references_image(frame_two, img, 1) and not references_image(frame_two, img, 2)


def test_creation_datetime_edge_cases() -> None:
    ps = Dataset()
    assert creation_datetime(ps) is None
    ps.PresentationCreationDate = "20241231"
    assert creation_datetime(ps) == dt.datetime(2024, 12, 31)  # no time: midnight
    ps.PresentationCreationTime = "1530"
    assert creation_datetime(ps) == dt.datetime(2024, 12, 31, 15, 30)
    with pytest.warns(UserWarning):  # pydicom warns on the invalid DA when it is set
        ps.PresentationCreationDate = "20249999"
    assert creation_datetime(ps) is None
