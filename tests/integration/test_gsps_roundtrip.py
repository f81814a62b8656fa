"""Round trip: a GSPS we write, read back by us and by DCMTK's ``dcmp2pgm -p``, shows what the model says.

The written state is saved and read from the file. ``dcmp2pgm`` (a real peer, never skipped)
renders its modality, VOI and presentation LUT stages with rotation and flip: our rendering
of the same stages must agree within one grey level on 99.9 % of the pixels. What DCMTK does
not draw (shutter, graphic layers, displayed area) is checked against masks built here from
the model's numbers with plain numpy slicing, independently of the code under test.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import MultiFrameGrayscaleWordSecondaryCaptureImageStorage

from app.imaging.annotations import GraphicObject, TextObject
from app.imaging.gsps_model import (
    Annotation,
    AreaSetting,
    FrameRef,
    Layer,
    PresentationModel,
    ShutterSetting,
    VOISetting,
)
from app.imaging.gsps_writer import write_gsps
from app.imaging.render import render_frame
from app.imaging.spatial import DisplayedArea, SpatialTransform
from app.imaging.voi_lut import Window
from tests.conftest import require_tool
from tests.unit.imaging.synth import image, ramp
from tests.unit.imaging.test_dcmp2pgm_reference import assert_agrees, read_pgm

pytestmark = pytest.mark.peer

#: Graphic objects (PIXEL units, column\row, pixel (r, c) covers [c, c+1) x [r, r+1)) and the
#: pixels each must cover, written out by hand.
UNDER = Annotation(graphics=(GraphicObject("POLYLINE", ((2, 2), (20, 2), (20, 20), (2, 20), (2, 2)), filled=True),))
OVER = Annotation(
    graphics=(GraphicObject("POINT", ((30.5, 40.5),)), GraphicObject("POLYLINE", ((5.5, 10.5), (40.5, 10.5))))
)


def under_mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[2:21, 2:21] = True  # outline on rows/columns 2..20, fill of the pixel centres inside
    return mask


def over_mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[40, 30] = True
    mask[10, 5:41] = True
    return mask


LAYERS = (Layer("Over", 2, (OVER,), grey=250), Layer("Under", 1, (UNDER,), grey=100))


@dataclass
class Case:
    image: Dataset
    model: PresentationModel
    shutter_open: np.ndarray | None  # pixels the shutter leaves open
    windows: list[Window | None]  # expected VOI per frame (None: not checked)
    text_box: tuple[slice, slice] | None = None  # rows, columns (image pixels) a text may cover
    layers: bool = True
    frames: list[int] = field(default_factory=lambda: [1])


def _rect_open(shape: tuple[int, int], left: int, right: int, upper: int, lower: int) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    out[upper - 1 : lower, left - 1 : right] = True
    return out


def _circle_open(shape: tuple[int, int], row: int, column: int, radius: int) -> np.ndarray:
    rows, columns = np.mgrid[1 : shape[0] + 1, 1 : shape[1] + 1]  # 1-based pixel positions
    return (rows - row) ** 2 + (columns - column) ** 2 <= radius**2


def _triangle_open(shape: tuple[int, int]) -> np.ndarray:
    """The triangle (row, column) (10, 10), (10, 120), (120, 10): its long edge is row + column = 130."""
    rows, columns = np.mgrid[1 : shape[0] + 1, 1 : shape[1] + 1]
    return (rows >= 10) & (columns >= 10) & (rows + columns <= 130)


def _file(name: str) -> Dataset:
    return dcmread(get_testdata_file(name, download=False))


def _multiframe() -> Dataset:
    stored = np.stack([ramp(24, 20, 0, 4095, seed=i) for i in range(3)])
    ds = image(stored, bits_stored=12, photometric="MONOCHROME1", WindowCenter=2048, WindowWidth=4096)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MultiFrameGrayscaleWordSecondaryCaptureImageStorage
    return ds


def _cases() -> dict[str, Case]:
    mr, ct, mf = _file("MR_small.dcm"), _file("CT_small.dcm"), _multiframe()
    mf_uid = str(mf.SOPInstanceUID)
    text = Layer("Text", 3, (Annotation(texts=(TextObject("R", bounding_box=((40, 44), (60, 60))),)),), grey=255)
    return {
        "rotate 90, window, rectangle": Case(
            mr,
            PresentationModel(
                label="a",
                vois=(VOISetting(Window(900, 700)),),
                transform=SpatialTransform(90),
                shutter=ShutterSetting(rectangle=(3, 60, 4, 50), grey=40),
                layers=(*LAYERS, text),
            ),
            _rect_open((64, 64), 3, 60, 4, 50),
            [Window(900, 700)],
            text_box=(slice(44, 60), slice(40, 60)),
        ),
        "rotate 180, flip, inverse, circle, area": Case(
            mr,
            PresentationModel(
                label="b",
                vois=(VOISetting(Window(600, 1600)),),
                transform=SpatialTransform(180, True),
                areas=(AreaSetting(DisplayedArea((5, 9), (50, 40))),),
                shutter=ShutterSetting(circle=((32, 32), 25), grey=255),
                layers=LAYERS,
                presentation="INVERSE",
            ),
            _circle_open((64, 64), 32, 32, 25),
            [Window(600, 1600)],
        ),
        "CT rescale, rotate 270, flip, polygon": Case(
            ct,
            PresentationModel(
                label="c",
                vois=(VOISetting(Window(40, 400)),),
                transform=SpatialTransform(270, True),
                shutter=ShutterSetting(polygon=((10, 10), (10, 120), (120, 10)), grey=0),
            ),
            _triangle_open((128, 128)),
            [Window(40, 400)],
            layers=False,
        ),
        "modality LUT sequence, flip": Case(
            _file("mlut_18.dcm"),
            PresentationModel(label="d", transform=SpatialTransform(0, True)),
            None,
            [None],
            layers=False,
        ),
        "multi-frame MONOCHROME1, window per frame": Case(
            mf,
            PresentationModel(
                label="e",
                vois=(
                    VOISetting(Window(1000, 500), (FrameRef(mf_uid, (2,)),)),
                    VOISetting(Window(3000, 1500), (FrameRef(mf_uid, (1, 3)),)),
                ),
                transform=SpatialTransform(90, True),
                areas=(AreaSetting(DisplayedArea((2, 3), (15, 20)), (FrameRef(mf_uid, (3,)),)),),
            ),
            None,
            [Window(3000, 1500), Window(1000, 500), Window(3000, 1500)],
            layers=False,
            frames=[1, 2, 3],
        ),
    }


def _dcmp2pgm(image_path: Path, ps_path: Path, frame: int, out: Path) -> np.ndarray:
    done = subprocess.run(
        [require_tool("dcmp2pgm"), "-p", str(ps_path), "-f", str(frame), str(image_path), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return read_pgm(out)


def _transform(arr: np.ndarray, transform: SpatialTransform) -> np.ndarray:
    out = np.rot90(arr, k=-(transform.rotation // 90))  # np.rot90 turns counter-clockwise
    return out[:, ::-1] if transform.flip else out


@pytest.mark.parametrize("name", list(_cases()))
def test_written_state_renders_as_the_model_says(name: str, tmp_path: Path) -> None:
    case = _cases()[name]
    image_path, ps_path = tmp_path / "image.dcm", tmp_path / "ps.dcm"
    case.image.save_as(image_path, enforce_file_format=True)
    write_gsps(case.model, [case.image]).save_as(ps_path, enforce_file_format=True)
    img, ps = dcmread(image_path), dcmread(ps_path)
    shape = (int(img.Rows), int(img.Columns))
    for frame, window in zip(case.frames, case.windows, strict=True):
        rendered = render_frame(img, frame - 1, ps)
        assert rendered.transform == case.model.transform
        if window is not None:
            assert rendered.voi == window
        # the grey stages, rotated and flipped, against DCMTK
        reference = _dcmp2pgm(image_path, ps_path, frame, tmp_path / f"{frame}.pgm")
        assert_agrees(_transform(rendered.pixels, case.model.transform), reference, name)
        # shutter, graphic layers (lowest order first), displayed area, transform: against masks
        expected = rendered.pixels.copy()
        if case.model.shutter is not None:
            assert rendered.shutter is not None
            if case.shutter_open is not None:
                np.testing.assert_array_equal(rendered.shutter.mask, ~case.shutter_open)
            expected[rendered.shutter.mask] = case.model.shutter.grey
        if case.layers:
            expected[under_mask(shape)] = 100
            expected[over_mask(shape)] = 250
        top, left, bottom, right = 1, 1, shape[0], shape[1]
        areas = [a for a in case.model.areas if not a.applies_to or any(frame in r.frames for r in a.applies_to)]
        if areas:
            (c1, r1), (c2, r2) = areas[0].area.top_left, areas[0].area.bottom_right
            top, left, bottom, right = min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)
        expected = _transform(expected[top - 1 : bottom, left - 1 : right], case.model.transform)
        out = rendered.composite()
        assert out.shape == expected.shape
        differs = out != expected
        if case.text_box is None:
            assert not differs.any(), f"{int(differs.sum())} pixels differ"
        else:  # the text is drawn inside its bounding box only, and is drawn
            box = np.zeros(shape, dtype=bool)
            box[case.text_box] = True
            inside = _transform(box[top - 1 : bottom, left - 1 : right], case.model.transform)
            assert differs.any() and not (differs & ~inside).any()
