"""``lightbox render`` run as a real command, its PNG read back with Pillow and checked independently.

Grey values are checked against the LINEAR window formula of PS3.3 C.11.2.1.2.1 applied to
pydicom's ``pixel_array`` and ``apply_modality_lut``; geometry against ``np.rot90``/slicing of
that; annotations against the positions the GSPS gives.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, GrayscaleSoftcopyPresentationStateStorage, generate_uid

from tests.unit.imaging.synth import image, ramp


def _render(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "render", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def _test_file(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return Path(path)


def _linear(modality: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 LINEAR onto 0..255."""
    y = ((modality - (center - 0.5)) / (width - 1) + 0.5) * 255.0
    return np.clip(y, 0.0, 255.0)


def _agrees(ours: np.ndarray, oracle: np.ndarray) -> None:
    assert ours.shape == oracle.shape
    assert np.abs(ours.astype(np.float64) - oracle).max() <= 0.5 + 1e-6


def test_ct_with_window_matches_the_formula(tmp_path: Path) -> None:
    path, out = _test_file("CT_small.dcm"), tmp_path / "ct.png"
    result = _render(path, "--window", "40,400", "--output", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    ds = dcmread(path)
    _agrees(_png(out), _linear(apply_modality_lut(ds.pixel_array, ds).astype(np.float64), 40, 400))


def test_frame_of_a_multiframe_image(tmp_path: Path) -> None:
    path = _test_file("emri_small.dcm")
    ds = dcmread(path)
    assert int(ds.NumberOfFrames) == 10
    for frame in (1, 4):
        out = tmp_path / f"f{frame}.png"
        result = _render(path, "--frame", str(frame), "--window", "600,1200", "-o", out)
        assert result.returncode == 0, result.stderr
        stored = ds.pixel_array[frame - 1]
        _agrees(_png(out), _linear(apply_modality_lut(stored, ds).astype(np.float64), 600, 1200))
    assert not np.array_equal(_png(tmp_path / "f1.png"), _png(tmp_path / "f4.png"))


def test_colour_image_is_written_as_rgb(tmp_path: Path) -> None:
    path, out = _test_file("SC_rgb_rle.dcm"), tmp_path / "rgb.png"
    assert _render(path, "-o", out).returncode == 0
    np.testing.assert_array_equal(_png(out), dcmread(path).pixel_array)


def _files(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """An image (60 x 90) and a GSPS: rotation 90, displayed area columns 11..80 x rows 6..55,
    a DISPLAY-unit line at a quarter of the height and a text in a PIXEL-unit box."""
    stored = ramp(60, 90, 0, 255)
    img = image(stored, bits_allocated=8, WindowCenter=127.5, WindowWidth=256)
    img_path = tmp_path / "img.dcm"
    img.save_as(img_path, enforce_file_format=True)
    ps = Dataset()
    ps.file_meta = FileMetaDataset()
    ps.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ps.file_meta.MediaStorageSOPClassUID = ps.SOPClassUID = GrayscaleSoftcopyPresentationStateStorage
    ps.file_meta.MediaStorageSOPInstanceUID = ps.SOPInstanceUID = generate_uid()
    ps.Modality, ps.PresentationLUTShape = "PR", "IDENTITY"
    series, ref = Dataset(), Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = img.SOPClassUID, img.SOPInstanceUID
    series.SeriesInstanceUID, series.ReferencedImageSequence = img.SeriesInstanceUID, Sequence([ref])
    ps.ReferencedSeriesSequence = Sequence([series])
    ps.ImageRotation, ps.ImageHorizontalFlip = 90, "N"
    area = Dataset()
    area.DisplayedAreaTopLeftHandCorner, area.DisplayedAreaBottomRightHandCorner = [11, 6], [80, 55]
    area.PresentationSizeMode = "SCALE TO FIT"
    ps.DisplayedAreaSelectionSequence = Sequence([area])
    layer = Dataset()
    layer.GraphicLayer, layer.GraphicLayerOrder, layer.GraphicLayerRecommendedDisplayGrayscaleValue = "L", 1, 0
    ps.GraphicLayerSequence = Sequence([layer])
    item, line, text = Dataset(), Dataset(), Dataset()
    item.GraphicLayer = "L"
    line.GraphicAnnotationUnits, line.GraphicDimensions, line.NumberOfGraphicPoints = "DISPLAY", 2, 2
    line.GraphicData, line.GraphicType, line.GraphicFilled = [0.0, 0.25, 1.0, 0.25], "POLYLINE", "N"
    text.UnformattedTextValue, text.BoundingBoxAnnotationUnits = "Hi", "PIXEL"
    text.BoundingBoxTopLeftHandCorner, text.BoundingBoxBottomRightHandCorner = [40.0, 30.0], [70.0, 50.0]
    item.GraphicObjectSequence, item.TextObjectSequence = Sequence([line]), Sequence([text])
    ps.GraphicAnnotationSequence = Sequence([item])
    ps_path = tmp_path / "ps.dcm"
    ps.save_as(ps_path, enforce_file_format=True)
    return img_path, ps_path, stored


def test_presentation_state_geometry_and_annotations(tmp_path: Path) -> None:
    img_path, ps_path, stored = _files(tmp_path)
    bare, full = tmp_path / "bare.png", tmp_path / "full.png"
    assert _render(img_path, "--pr", ps_path, "--no-annotations", "-o", bare).returncode == 0
    result = _render(img_path, "--pr", ps_path, "-o", full)
    assert result.returncode == 0, result.stderr
    # the displayed area's resolution (50 rows x 70 columns), turned a quarter clockwise
    expected = np.rot90(_linear(stored[5:55, 10:80].astype(np.float64), 127.5, 256), k=-1)
    _agrees(_png(bare), expected)
    shown = _png(full)
    assert shown.shape == (70, 50)
    drawn = shown != _png(bare)
    np.testing.assert_array_equal(shown[int(0.25 * 70)], 0)  # the DISPLAY line, after the rotation
    # the text box: image columns 40..70, rows 30..50 -> area columns 30..60, rows 25..45 -> turned
    box = np.zeros((50, 70), dtype=bool)
    box[25:45, 30:60] = True
    box = np.rot90(box, k=-1)
    text = drawn.copy()
    text[int(0.25 * 70)] = False
    assert text.sum() > 20 and not text[~box].any()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "does not exist"),
        ("not_dicom", "not a DICOM file"),
        ("not_image", "not an image"),
        ("pr_other_image", "does not reference this image"),
        ("frame_out_of_range", "Frame 3 does not exist"),
        ("pr_not_gsps", "not a Grayscale Softcopy Presentation State"),
    ],
)
def test_bad_input_is_reported_with_exit_code_1(tmp_path: Path, case: str, message: str) -> None:
    img_path, ps_path, _ = _files(tmp_path)
    out = tmp_path / "out.png"
    args: list[str | Path] = {
        "missing": [tmp_path / "nothing.dcm"],
        "not_dicom": [ps_path.with_name("text.dcm")],
        "not_image": [ps_path],
        "pr_other_image": [_test_file("CT_small.dcm"), "--pr", ps_path],
        "frame_out_of_range": [img_path, "--frame", "3"],
        "pr_not_gsps": [img_path, "--pr", img_path],
    }[case]
    ps_path.with_name("text.dcm").write_text("not DICOM at all\n")
    result = _render(*args, "-o", out)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
