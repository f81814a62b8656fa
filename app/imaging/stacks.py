"""Stacks: the frames of a series in viewing order, by one of the reference's sort keys.

A stack is an ordered list of (data set index, frame) positions; multi-frame objects are
split into their frames (PS3.3 C.7.6.6). Frame-level values of enhanced multi-frame images
come from their functional groups (PS3.3 C.7.6.16, see :mod:`app.imaging.functional_groups`).

Sort keys (:class:`SortKey`): slice location (0020,1041), content date+time (0008,0023/0033;
Frame Acquisition DateTime of Frame Content Sequence for enhanced frames), instance number
(0020,0013), echo time (0018,0081; Effective Echo Time of MR Echo Sequence), temporal position
identifier (0020,0100; Temporal Position Index of Frame Content Sequence), image position along
the normal of the image orientation (Image Position (Patient) (0020,0032) projected on the cross
product of the row and column cosines of Image Orientation (Patient) (0020,0037), PS3.3
C.7.6.2.1.1) and image orientation (frames grouped by orientation, each group along its normal).

The order is stable and total: frames without the key come after those with it; ties and
missing keys fall back to instance number, then SOP Instance UID (compared component by
component as numbers), then frame number, then the input order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
from pydicom.dataset import Dataset

from app.imaging.frames import number_of_frames
from app.imaging.functional_groups import frame_value, group_value


class SortKey(Enum):
    """The sort keys a viewer can offer (value = label shown to the user)."""

    INSTANCE_NUMBER = "Instance number"
    SLICE_LOCATION = "Slice location"
    CONTENT_DATETIME = "Content date and time"
    ECHO_TIME = "Echo time"
    TEMPORAL_POSITION = "Temporal position"
    IMAGE_POSITION = "Image position along the normal"
    IMAGE_ORIENTATION = "Image orientation"


@dataclass(frozen=True, order=True)
class StackPosition:
    """One frame of a series: the index of its data set in the series and its 0-based frame."""

    dataset_index: int
    frame: int = 0


@dataclass(frozen=True)
class Stack:
    """Frames in viewing order, sorted by ``key``; ``orientation`` set for an orientation group."""

    positions: tuple[StackPosition, ...]
    key: SortKey
    orientation: tuple[float, ...] | None = None

    def __len__(self) -> int:
        return len(self.positions)


def frame_positions(datasets: Sequence[Dataset]) -> list[StackPosition]:
    """Every frame of every data set, in input order (multi-frame objects split into frames)."""
    return [StackPosition(i, f) for i, ds in enumerate(datasets) for f in range(number_of_frames(ds))]


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _floats(value: object, count: int) -> np.ndarray | None:
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        out = np.array([float(v) for v in value], dtype=np.float64)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    return out if out.size == count and np.all(np.isfinite(out)) else None


def image_orientation(ds: Dataset, frame: int = 0) -> np.ndarray | None:
    """Row and column direction cosines of a frame (6 values), or None (PS3.3 C.7.6.2.1.1)."""
    value = group_value(ds, frame, "PlaneOrientationSequence", "ImageOrientationPatient")
    return _floats(value if value is not None else ds.get("ImageOrientationPatient"), 6)


def image_position(ds: Dataset, frame: int = 0) -> np.ndarray | None:
    """Image Position (Patient) of a frame (x, y, z in mm), or None (PS3.3 C.7.6.2.1.1)."""
    value = group_value(ds, frame, "PlanePositionSequence", "ImagePositionPatient")
    return _floats(value if value is not None else ds.get("ImagePositionPatient"), 3)


def position_along_normal(ds: Dataset, frame: int = 0) -> float | None:
    """The frame's position projected on the normal (row cosines x column cosines), in mm."""
    orientation, position = image_orientation(ds, frame), image_position(ds, frame)
    if orientation is None or position is None:
        return None
    normal = np.cross(orientation[:3], orientation[3:])
    return float(np.dot(normal, position))


def _content_datetime(ds: Dataset, frame: int) -> float | None:
    value = group_value(ds, frame, "FrameContentSequence", "FrameAcquisitionDateTime")
    text = str(value) if value is not None else ""
    if not text:
        date = str(ds.get("ContentDate", "") or ds.get("AcquisitionDate", "") or "").strip()
        time = str(ds.get("ContentTime", "") or ds.get("AcquisitionTime", "") or "").strip()
        if not date:
            return None
        text = date + time
    return _datetime_seconds(text)


def _datetime_seconds(text: str) -> float | None:
    """Seconds since the epoch of a DA+TM or DT value (PS3.5 6.2); offsets ignored."""
    text = text.strip().split("+")[0].split("-")[0]
    digits, _, fraction = text.partition(".")
    if len(digits) < 8 or not digits.isdigit():
        return None
    digits = digits.ljust(14, "0")[:14]
    try:
        stamp = dt.datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return stamp.timestamp() + (float("0." + fraction) if fraction.isdigit() else 0.0)


def sort_value(ds: Dataset, frame: int, key: SortKey) -> float | None:
    """The value of ``key`` for frame ``frame`` (0-based) of ``ds``, or None when absent.

    IMAGE_ORIENTATION sorts within an orientation group, so its value is the position along
    the normal.
    """
    if key is SortKey.INSTANCE_NUMBER:
        return _float(ds.get("InstanceNumber"))
    if key is SortKey.SLICE_LOCATION:
        return _float(frame_value(ds, frame, "SliceLocation"))
    if key is SortKey.CONTENT_DATETIME:
        return _content_datetime(ds, frame)
    if key is SortKey.ECHO_TIME:
        echo = group_value(ds, frame, "MREchoSequence", "EffectiveEchoTime")
        return _float(echo if echo is not None else ds.get("EchoTime"))
    if key is SortKey.TEMPORAL_POSITION:
        index = group_value(ds, frame, "FrameContentSequence", "TemporalPositionIndex")
        return _float(index if index is not None else ds.get("TemporalPositionIdentifier"))
    return position_along_normal(ds, frame)


def _uid_key(uid: str) -> tuple[int, ...]:
    parts = uid.strip().split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else ()


def _fallback(ds: Dataset, position: StackPosition) -> tuple[object, ...]:
    number = _float(ds.get("InstanceNumber"))
    uid = str(ds.get("SOPInstanceUID", "") or "")
    return (
        number is None,
        number if number is not None else 0.0,
        _uid_key(uid),
        uid,
        position.frame,
        position.dataset_index,
    )


def _sorted(
    datasets: Sequence[Dataset], positions: list[StackPosition], key: SortKey, descending: bool
) -> list[StackPosition]:
    def order(position: StackPosition) -> tuple[object, ...]:
        ds = datasets[position.dataset_index]
        value = sort_value(ds, position.frame, key)
        primary = 0.0 if value is None else (-value if descending else value)
        return (value is None, primary, _fallback(ds, position))

    return sorted(positions, key=order)


def _orientation_group(ds: Dataset, frame: int, decimals: int) -> tuple[float, ...] | None:
    orientation = image_orientation(ds, frame)
    if orientation is None:
        return None
    return tuple(float(v) + 0.0 for v in np.round(orientation, decimals))  # + 0.0: no -0.0 groups


def build_stacks(
    datasets: Sequence[Dataset], key: SortKey = SortKey.INSTANCE_NUMBER, *, descending: bool = False, decimals: int = 3
) -> list[Stack]:
    """The stacks of a series: one stack, or one per orientation for IMAGE_ORIENTATION.

    Parameters
    ----------
    datasets
        The data sets of one series (pixel data need not be loaded).
    key
        The sort key. IMAGE_ORIENTATION groups frames whose direction cosines agree to
        ``decimals`` places (frames without one form the last group), sorts each group along
        its normal, and orders the groups by their first frame in instance-number order.
    descending
        Reverse the primary key (fallback keys stay ascending).
    """
    positions = frame_positions(datasets)
    if key is not SortKey.IMAGE_ORIENTATION:
        return [Stack(tuple(_sorted(datasets, positions, key, descending)), key)]
    groups: dict[tuple[float, ...] | None, list[StackPosition]] = {}
    for position in _sorted(datasets, positions, SortKey.INSTANCE_NUMBER, False):
        orientation = _orientation_group(datasets[position.dataset_index], position.frame, decimals)
        groups.setdefault(orientation, []).append(position)
    ordered = sorted(groups.items(), key=lambda item: item[0] is None)  # dict keeps first-seen order
    return [
        Stack(tuple(_sorted(datasets, members, SortKey.IMAGE_POSITION, descending)), key, orientation)
        for orientation, members in ordered
    ]


def build_stack(
    datasets: Sequence[Dataset], key: SortKey = SortKey.INSTANCE_NUMBER, *, descending: bool = False
) -> Stack:
    """All frames of a series as one stack sorted by ``key`` (orientation groups one after another)."""
    stacks = build_stacks(datasets, key, descending=descending)
    return Stack(tuple(p for s in stacks for p in s.positions), key)
