"""Orientation labels: hand-worked directions, and edges followed through the real spatial transform."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from app.imaging.orientation import (
    EdgeLabels,
    direction_label,
    edge_labels,
    labels_from_cosines,
    labels_from_patient_orientation,
)
from app.imaging.spatial import SpatialTransform

TRANSFORMS = [SpatialTransform(r, f) for r in (0, 90, 180, 270) for f in (False, True)]


@pytest.mark.parametrize(
    ("cosines", "expected"),
    [
        # axial: rows run to the patient's left, columns to the back (radiological view)
        ([1, 0, 0, 0, 1, 0], EdgeLabels(top="A", bottom="P", left="R", right="L")),
        # sagittal: rows run posterior, columns to the feet
        ([0, 1, 0, 0, 0, -1], EdgeLabels(top="H", bottom="F", left="A", right="P")),
        # coronal
        ([1, 0, 0, 0, 0, -1], EdgeLabels(top="H", bottom="F", left="R", right="L")),
        # oblique, three letters each, largest share first: row (0.6, -0.48, 0.64), column (0.8, 0.36, -0.48)
        ([0.6, -0.48, 0.64, 0.8, 0.36, -0.48], EdgeLabels(top="RHA", bottom="LFP", left="FRP", right="HLA")),
    ],
)
def test_labels_from_image_orientation(cosines: list[float], expected: EdgeLabels) -> None:
    assert labels_from_cosines(cosines) == expected


def test_threshold_decides_which_small_components_are_named() -> None:
    nearly_left = [0.995, 0.0998, 0.0]
    assert direction_label(nearly_left) == "L"  # 0.0998 <= default threshold 0.1
    assert direction_label(nearly_left, threshold=0.05) == "LP"
    assert direction_label([0.0, 0.0, 0.0]) == ""


def test_patient_orientation_wins_and_gives_the_opposite_edges() -> None:
    ds = Dataset()
    ds.PatientOrientation = ["A", "FR"]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    assert edge_labels(ds) == EdgeLabels(top="HL", bottom="FR", left="P", right="A")
    assert labels_from_patient_orientation("L\\P") == EdgeLabels(top="A", bottom="P", left="R", right="L")
    assert labels_from_patient_orientation("L") is None
    del ds.PatientOrientation
    assert edge_labels(ds) == EdgeLabels(top="A", bottom="P", left="R", right="L")
    assert edge_labels(Dataset()) is None


def _edge_markers(shape: tuple[int, int]) -> np.ndarray:
    rows, columns = shape
    marks = np.zeros(shape, dtype=np.int64)
    marks[0, columns // 2], marks[rows - 1, columns // 2] = 1, 2  # top, bottom
    marks[rows // 2, 0], marks[rows // 2, columns - 1] = 3, 4  # left, right
    return marks


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: f"rot{t.rotation}{'-flip' if t.flip else ''}")
def test_labels_follow_the_pixels_through_the_spatial_transform(transform: SpatialTransform) -> None:
    labels = EdgeLabels(top="A", bottom="P", left="R", right="L")
    by_mark = {1: labels.top, 2: labels.bottom, 3: labels.left, 4: labels.right}
    shown = transform.apply(_edge_markers((5, 7)))
    rows, columns = shown.shape

    def mark(values: np.ndarray) -> int:
        (found,) = values[values > 0]
        return int(found)

    expected = EdgeLabels(
        top=by_mark[mark(shown[0, :])],
        bottom=by_mark[mark(shown[rows - 1, :])],
        left=by_mark[mark(shown[:, 0])],
        right=by_mark[mark(shown[:, columns - 1])],
    )
    assert labels.transformed(transform) == expected


def test_enhanced_frames_take_their_own_plane_orientation() -> None:
    ds = Dataset()
    ds.NumberOfFrames = 2
    frames = []
    for cosines in ([1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 0, -1]):
        item, plane = Dataset(), Dataset()
        plane.ImageOrientationPatient = cosines
        item.PlaneOrientationSequence = [plane]
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = frames
    assert edge_labels(ds, 0) == EdgeLabels(top="A", bottom="P", left="R", right="L")
    assert edge_labels(ds, 1) == EdgeLabels(top="H", bottom="F", left="A", right="P")
    assert edge_labels(ds, 1, SpatialTransform(90, False)) == EdgeLabels(top="A", bottom="P", left="F", right="H")


def test_test_file_orientation_read_from_the_file() -> None:
    path = get_testdata_file("eCT_Supplemental.dcm")
    assert path is not None
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    # shared Plane Orientation (-1,0,0 / 0,1,0): rows run to the patient's right, columns posterior
    assert edge_labels(ds, 1) == EdgeLabels(top="A", bottom="P", left="L", right="R")
