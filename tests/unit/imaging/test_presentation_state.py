"""GSPS applied by the pipeline, against DCMTK ``dcmp2pgm -p`` (a real peer; never skipped).

``dcmp2pgm +S`` writes the default presentation state of an image; we edit it (softcopy VOI,
per-frame VOI, VOI LUT, presentation LUT shape, rotation, flip, rescale) and compare both
renderings within one grey level on 99.9 % of the pixels. Shutters, overlays and the
displayed area (which dcmp2pgm does not draw, PEERS.md) are checked against masks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from app.core.errors import DicomInputError
from app.imaging.presentation_state import PresentationState
from app.imaging.render import png_bytes, render_frame
from app.imaging.render_cli import main as render_main
from app.imaging.shutters import circular
from app.imaging.voi_lut import Window
from tests.conftest import require_tool
from tests.unit.imaging.synth import image, lut_item, ramp
from tests.unit.imaging.test_dcmp2pgm_reference import assert_agrees, read_pgm

pytestmark = pytest.mark.peer


def default_state(image_path: Path, tmp_path: Path) -> Dataset:
    """DCMTK's default GSPS for an image (``dcmp2pgm +S``)."""
    exe = require_tool("dcmp2pgm")
    ps_path = tmp_path / "default_ps.dcm"
    done = subprocess.run(
        [exe, "+S", str(ps_path), str(image_path), str(tmp_path / "ignored.pgm")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return dcmread(ps_path)


def dcmtk_render(image_path: Path, ps: Dataset, tmp_path: Path, frame: int = 1) -> np.ndarray:
    ps_path = tmp_path / "ps.dcm"
    ps.save_as(ps_path)
    out = tmp_path / "out.pgm"
    done = subprocess.run(
        [require_tool("dcmp2pgm"), "-p", str(ps_path), "-f", str(frame), str(image_path), str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return read_pgm(out)


def _mr(tmp_path: Path) -> tuple[Path, Dataset]:
    path = Path(get_testdata_file("MR_small.dcm", download=False))  # type: ignore[arg-type]
    return path, dcmread(path)


def _set_window(ps: Dataset, center: float, width: float) -> None:
    item = ps.SoftcopyVOILUTSequence[0]
    item.WindowCenter, item.WindowWidth = center, width


@pytest.mark.parametrize(
    ("rotation", "flip", "shape"),
    [(0, "N", "IDENTITY"), (90, "N", "IDENTITY"), (180, "Y", "INVERSE"), (270, "Y", "IDENTITY"), (0, "Y", "INVERSE")],
)
def test_window_rotation_flip_shape(rotation: int, flip: str, shape: str, tmp_path: Path) -> None:
    path, img = _mr(tmp_path)
    ps = default_state(path, tmp_path)
    _set_window(ps, 900, 700)
    ps.ImageRotation, ps.ImageHorizontalFlip, ps.PresentationLUTShape = rotation, flip, shape
    reference = dcmtk_render(path, ps, tmp_path)
    rendered = render_frame(img, 0, ps)
    assert rendered.voi == Window(900, 700)
    assert_agrees(rendered.composite(), reference)


def test_softcopy_voi_lut(tmp_path: Path) -> None:
    path, img = _mr(tmp_path)
    ps = default_state(path, tmp_path)
    item = ps.SoftcopyVOILUTSequence[0]
    del item.WindowCenter, item.WindowWidth
    item.VOILUTSequence = Sequence([lut_item(0, 16, (np.linspace(0, 1, 2000) ** 0.7 * 65535).astype(np.int64))])
    assert_agrees(render_frame(img, 0, ps).composite(), dcmtk_render(path, ps, tmp_path))


def test_state_rescale_replaces_image_rescale(tmp_path: Path) -> None:
    path = Path(get_testdata_file("CT_small.dcm", download=False))  # type: ignore[arg-type]
    img = dcmread(path)
    ps = default_state(path, tmp_path)
    ps.RescaleSlope, ps.RescaleIntercept, ps.RescaleType = 2, -500, "US"
    voi = Dataset()
    voi.WindowCenter, voi.WindowWidth = 300, 1200
    ps.SoftcopyVOILUTSequence = Sequence([voi])  # CT_small has no window: one VOI for all images
    assert_agrees(render_frame(img, 0, ps).composite(), dcmtk_render(path, ps, tmp_path))


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_state_without_voi_is_identity(name: str, tmp_path: Path) -> None:
    path = Path(get_testdata_file(name, download=False))  # type: ignore[arg-type]
    ps = default_state(path, tmp_path)
    if "SoftcopyVOILUTSequence" in ps:
        del ps.SoftcopyVOILUTSequence  # MR_small's own window must then not be used
    assert_agrees(render_frame(dcmread(path), 0, ps).composite(), dcmtk_render(path, ps, tmp_path))


def test_per_frame_voi(tmp_path: Path) -> None:
    stored = np.stack([ramp(24, 20, 0, 4095, seed=i) for i in range(3)])
    img = image(stored, bits_stored=12, WindowCenter=2048, WindowWidth=4096)
    path = tmp_path / "mf.dcm"
    img.save_as(path, enforce_file_format=True)
    img = dcmread(path)
    ps = default_state(path, tmp_path)
    first = ps.SoftcopyVOILUTSequence[0]
    second = Dataset()
    second.ReferencedImageSequence = Sequence([Dataset()])
    second.ReferencedImageSequence[0].ReferencedSOPClassUID = img.SOPClassUID
    second.ReferencedImageSequence[0].ReferencedSOPInstanceUID = img.SOPInstanceUID
    second.ReferencedImageSequence[0].ReferencedFrameNumber = 2
    second.WindowCenter, second.WindowWidth = 1000, 500
    first.ReferencedImageSequence[0].ReferencedFrameNumber = [1, 3]
    first.WindowCenter, first.WindowWidth = 3000, 1500
    ps.SoftcopyVOILUTSequence = Sequence([first, second])
    for frame, window in [(1, Window(3000, 1500)), (2, Window(1000, 500)), (3, Window(3000, 1500))]:
        rendered = render_frame(img, frame - 1, ps)
        assert rendered.voi == window
        assert_agrees(rendered.composite(), dcmtk_render(path, ps, tmp_path, frame))


def test_shutter_overlay_and_area_from_state(tmp_path: Path) -> None:
    path, img = _mr(tmp_path)
    ps = default_state(path, tmp_path)
    ps.ShutterShape = "CIRCULAR"
    ps.CenterOfCircularShutter, ps.RadiusOfCircularShutter = [32, 32], 20
    ps.ShutterPresentationValue = 0
    # an overlay carried by the state, activated on layer "L1"
    plane = np.zeros((64, 64), dtype=bool)
    plane[10:12, 5:60] = True
    ps.add_new((0x6000, 0x0010), "US", 64)
    ps.add_new((0x6000, 0x0011), "US", 64)
    ps.add_new((0x6000, 0x0040), "CS", "G")
    ps.add_new((0x6000, 0x0050), "SS", [1, 1])
    ps.add_new((0x6000, 0x0100), "US", 1)
    ps.add_new((0x6000, 0x0102), "US", 0)
    ps.add_new((0x6000, 0x1001), "CS", "L1")
    ps.add_new((0x6000, 0x3000), "OW", np.packbits(plane.ravel(), bitorder="little").tobytes())
    area = ps.DisplayedAreaSelectionSequence[0]
    area.DisplayedAreaTopLeftHandCorner, area.DisplayedAreaBottomRightHandCorner = [9, 5], [40, 50]
    rendered = render_frame(img, 0, ps)
    assert rendered.shutter is not None and rendered.shutter.shapes == ("CIRCULAR",)
    np.testing.assert_array_equal(rendered.shutter.mask, circular((64, 64), (32, 32), 20))
    assert len(rendered.overlays) == 1 and np.array_equal(rendered.overlays[0].mask, plane)
    np.testing.assert_array_equal(
        rendered.pixels, render_frame(img, 0, None, Window(600, 1600)).pixels
    )  # layers never touch the pixels
    out = rendered.composite()
    assert out.shape == (46, 32)  # rows 5..50, columns 9..40
    expected = rendered.pixels.copy()
    expected[rendered.shutter.mask] = 0
    expected[plane] = 255
    np.testing.assert_array_equal(out, expected[4:50, 8:40])


def test_state_for_another_image_refused(tmp_path: Path) -> None:
    path, img = _mr(tmp_path)
    ps = default_state(path, tmp_path)
    other = dcmread(get_testdata_file("CT_small.dcm", download=False))
    assert PresentationState(ps).applies_to(img) and not PresentationState(ps).applies_to(other)
    with pytest.raises(DicomInputError, match="does not reference"):
        render_frame(other, 0, ps)
    with pytest.raises(DicomInputError, match="Grayscale Softcopy"):
        PresentationState(img)


def test_render_cli(tmp_path: Path) -> None:
    path, img = _mr(tmp_path)
    ps = default_state(path, tmp_path)
    ps.ImageRotation = 90
    ps_path = tmp_path / "rot.dcm"
    ps.save_as(ps_path)
    out = tmp_path / "out.png"
    assert render_main([str(path), "--pr", str(ps_path), "--window", "600,1600", "--output", str(out)]) == 0
    expected = render_frame(img, 0, ps, Window(600, 1600)).composite()
    assert out.read_bytes() == png_bytes(expected)
    assert render_main([str(path), "--frame", "2", "-o", str(out)]) == 1


@pytest.mark.parametrize("bits", [12, 16])
def test_presentation_lut_sequence_in_state(bits: int, tmp_path: Path) -> None:
    path, img = _mr(tmp_path)
    ps = default_state(path, tmp_path)
    _set_window(ps, 700, 1200)
    del ps.PresentationLUTShape
    top = 2**bits - 1
    curve = (np.linspace(0, 1, 4096) ** 1.8 * top).astype(np.int64)  # a gamma-like P-value curve
    ps.PresentationLUTSequence = Sequence([lut_item(0, bits, curve)])
    assert_agrees(render_frame(img, 0, ps).composite(), dcmtk_render(path, ps, tmp_path))


@pytest.mark.parametrize("shape", ["IDENTITY", "INVERSE"])
def test_monochrome1_under_state(shape: str, tmp_path: Path) -> None:
    img = image(ramp(32, 40, 0, 4095), bits_stored=12, photometric="MONOCHROME1", WindowCenter=2000, WindowWidth=3000)
    path = tmp_path / "m1.dcm"
    img.save_as(path, enforce_file_format=True)
    ps = default_state(path, tmp_path)
    ps.PresentationLUTShape = shape
    assert_agrees(render_frame(dcmread(path), 0, ps).composite(), dcmtk_render(path, ps, tmp_path))
