"""Stacks and their sort keys: orders built by hand from how the test data were made."""

from __future__ import annotations

import math

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from app.imaging.stacks import SortKey, StackPosition, build_stack, build_stacks, frame_positions, sort_value

AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
SAGITTAL = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]


def _ds(uid: str, number: int | None = None, **attributes: object) -> Dataset:
    ds = Dataset()
    ds.SOPInstanceUID = uid
    if number is not None:
        ds.InstanceNumber = number
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def _order(datasets: list[Dataset], key: SortKey, **kwargs: object) -> list[str]:
    stack = build_stack(datasets, key, **kwargs)  # type: ignore[arg-type]
    return [f"{datasets[p.dataset_index].SOPInstanceUID}#{p.frame}" for p in stack.positions]


def test_slice_location_orders_and_missing_values_go_last_by_instance_number() -> None:
    datasets = [
        _ds("1.5", 1, SliceLocation="12.5"),
        _ds("1.1", 2, SliceLocation="-30"),
        _ds("1.9", 4),  # no slice location
        _ds("1.3", 3, SliceLocation="0.0"),
        _ds("1.8", 3),  # no slice location, instance number 3 < 4
    ]
    assert _order(datasets, SortKey.SLICE_LOCATION) == ["1.1#0", "1.3#0", "1.5#0", "1.8#0", "1.9#0"]
    assert _order(datasets, SortKey.SLICE_LOCATION, descending=True) == ["1.5#0", "1.3#0", "1.1#0", "1.8#0", "1.9#0"]


def test_ties_fall_back_to_instance_number_then_uid_compared_as_numbers() -> None:
    datasets = [
        _ds("1.2.10", 7, EchoTime="20"),
        _ds("1.2.9", 7, EchoTime="20"),  # same echo, same number: UID 1.2.9 < 1.2.10 numerically
        _ds("1.2.3", 2, EchoTime="20"),
        _ds("1.2.4", 1, EchoTime="90"),
    ]
    assert _order(datasets, SortKey.ECHO_TIME) == ["1.2.3#0", "1.2.9#0", "1.2.10#0", "1.2.4#0"]
    # without any instance number, the UID alone decides
    bare = [_ds("1.2.10"), _ds("1.2.2"), _ds("1.2.9")]
    assert _order(bare, SortKey.INSTANCE_NUMBER) == ["1.2.2#0", "1.2.9#0", "1.2.10#0"]


def test_position_along_the_normal_of_an_oblique_orientation() -> None:
    theta = math.radians(30)
    row = [math.cos(theta), math.sin(theta), 0.0]
    column = [0.0, 0.0, -1.0]
    normal = [-math.sin(theta), math.cos(theta), 0.0]  # row x column, worked out by hand
    steps = [3, -1, 4, 0, 2]  # slice k lies k * 2.5 mm along the normal
    datasets = []
    for i, k in enumerate(steps):
        in_plane = 17.0 * (i - 2)  # moves inside the plane must not change the order
        position = [k * 2.5 * n + in_plane * r + 5.0 for n, r in zip(normal, row, strict=True)]
        ipp = [f"{v:.6f}" for v in position]
        datasets.append(_ds(f"1.{i}", 10 - i, ImageOrientationPatient=row + column, ImagePositionPatient=ipp))
    expected = [f"1.{steps.index(k)}#0" for k in sorted(steps)]
    assert _order(datasets, SortKey.IMAGE_POSITION) == expected
    offset = 5.0 * sum(normal)  # the constant part of every position, projected
    value = sort_value(datasets[0], 0, SortKey.IMAGE_POSITION)
    assert value is not None and math.isclose(value, 3 * 2.5 + offset, abs_tol=1e-5)


def test_image_orientation_groups_then_sorts_each_group_along_its_normal() -> None:
    datasets = [
        _ds("1.1", 1, ImageOrientationPatient=AXIAL, ImagePositionPatient=[0, 0, 10]),
        _ds("1.2", 2, ImageOrientationPatient=SAGITTAL, ImagePositionPatient=[5, 0, 0]),
        _ds("1.3", 3, ImageOrientationPatient=AXIAL, ImagePositionPatient=[0, 0, -10]),
        _ds("1.4", 4, ImageOrientationPatient=SAGITTAL, ImagePositionPatient=[-5, 0, 0]),
        _ds("1.5", 5),
    ]
    stacks = build_stacks(datasets, SortKey.IMAGE_ORIENTATION)
    # axial normal = +z (foot to head): z -10 before z 10; sagittal normal = (0,1,0)x(0,0,-1) = (-1,0,0):
    # x = 5 projects to -5, x = -5 to +5, so 1.2 comes before 1.4
    assert [[datasets[p.dataset_index].SOPInstanceUID for p in s.positions] for s in stacks] == [
        ["1.3", "1.1"],
        ["1.2", "1.4"],
        ["1.5"],
    ]
    assert stacks[0].orientation == tuple(AXIAL) and stacks[2].orientation is None
    assert _order(datasets, SortKey.IMAGE_ORIENTATION) == ["1.3#0", "1.1#0", "1.2#0", "1.4#0", "1.5#0"]


def test_content_datetime_across_midnight_and_temporal_position() -> None:
    datasets = [
        _ds("1.1", 1, ContentDate="20240102", ContentTime="000010", TemporalPositionIdentifier=3),
        _ds("1.2", 2, ContentDate="20240101", ContentTime="235959.5", TemporalPositionIdentifier=1),
        _ds("1.3", 3, ContentDate="20240101", ContentTime="235959.25", TemporalPositionIdentifier=2),
    ]
    assert _order(datasets, SortKey.CONTENT_DATETIME) == ["1.3#0", "1.2#0", "1.1#0"]
    assert _order(datasets, SortKey.TEMPORAL_POSITION) == ["1.2#0", "1.3#0", "1.1#0"]
    first = sort_value(datasets[1], 0, SortKey.CONTENT_DATETIME)
    last = sort_value(datasets[0], 0, SortKey.CONTENT_DATETIME)
    assert first is not None and last is not None and math.isclose(last - first, 10.5)


def _enhanced(uid: str, z_values: list[float], echoes: list[float]) -> Dataset:
    ds = _ds(uid, 1, NumberOfFrames=len(z_values))
    shared = Dataset()
    orientation = Dataset()
    orientation.ImageOrientationPatient = AXIAL
    shared.PlaneOrientationSequence = [orientation]
    ds.SharedFunctionalGroupsSequence = [shared]
    frames = []
    for z, te in zip(z_values, echoes, strict=True):
        item, plane, echo = Dataset(), Dataset(), Dataset()
        plane.ImagePositionPatient = [0, 0, z]
        echo.EffectiveEchoTime = te
        item.PlanePositionSequence = [plane]
        item.MREchoSequence = [echo]
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = frames
    return ds


def test_multi_frame_objects_split_into_frames_sorted_by_their_functional_groups() -> None:
    enhanced = _enhanced("1.7", [30.0, 10.0, 20.0], [80.0, 10.0, 40.0])
    classic = _ds("1.2", 2, NumberOfFrames=2)
    single = _ds("1.3", 3)
    datasets = [classic, enhanced, single]
    assert frame_positions(datasets) == [
        StackPosition(0, 0),
        StackPosition(0, 1),
        StackPosition(1, 0),
        StackPosition(1, 1),
        StackPosition(1, 2),
        StackPosition(2, 0),
    ]
    assert _order([enhanced], SortKey.IMAGE_POSITION) == ["1.7#1", "1.7#2", "1.7#0"]
    assert _order([enhanced], SortKey.ECHO_TIME) == ["1.7#1", "1.7#2", "1.7#0"]
    # instance number order keeps frames of one object together, in frame order
    assert _order(datasets, SortKey.INSTANCE_NUMBER) == ["1.7#0", "1.7#1", "1.7#2", "1.2#0", "1.2#1", "1.3#0"]


def test_enhanced_ct_test_file_frames_along_the_normal() -> None:
    path = get_testdata_file("eCT_Supplemental.dcm")
    assert path is not None
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    # orientation (-1,0,0 / 0,1,0): normal = (0,0,-1), so the position along it is -z
    z = [float(f.PlanePositionSequence[0].ImagePositionPatient[2]) for f in ds.PerFrameFunctionalGroupsSequence]
    expected = sorted(range(len(z)), key=lambda i: -z[i])
    assert [p.frame for p in build_stack([ds], SortKey.IMAGE_POSITION).positions] == expected
    assert expected == [1, 0]  # the file's frames lie at z -159 and -149
