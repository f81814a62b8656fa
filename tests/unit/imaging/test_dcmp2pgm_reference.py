"""The grey pipeline against DCMTK's ``dcmp2pgm`` (a real peer, PEERS.md; never skipped).

For each image of the corpus (pydicom's bundled files, read offline, and synthesised 8/12/16-bit,
signed, MONOCHROME1, rescaled, Modality LUT and VOI LUT images) ``dcmp2pgm`` renders the
first VOI of the image (its first window, else its first VOI LUT) to an 8-bit PGM, and our
rendering must agree within one grey level on at least 99.9 % of the pixels.

Without any VOI in the image, DCMTK maps the whole range of possible modality values (every
stored value through the modality stage) to the display range, while Lightbox's interactive
default is a percentile window (:mod:`app.imaging.presets`). Those images are compared under
:meth:`~app.imaging.pipeline.GreyPipeline.full_range_voi`, the same mapping as DCMTK's.
"""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from app.imaging.frames import decode_frame
from app.imaging.pipeline import GreyPipeline
from app.imaging.voi_lut import VOI, Window
from tests.conftest import require_tool
from tests.unit.imaging.synth import image, lut_item, ramp

pytestmark = pytest.mark.peer

AGREEMENT = 0.999  # share of pixels within one grey level


def read_pgm(path: Path) -> np.ndarray:
    """An 8-bit binary PGM (P5) as a (rows, columns) uint8 array."""
    raw = path.read_bytes()
    magic, width, height, maxval, rest = raw.split(maxsplit=4)
    assert magic == b"P5" and int(maxval) == 255, (magic, maxval)
    rows, columns = int(height), int(width)
    return np.frombuffer(rest[-rows * columns :], dtype=np.uint8).reshape(rows, columns)


def dcmp2pgm(path: Path, out: Path, frame: int = 1) -> np.ndarray:
    """Render ``path`` with DCMTK (frame numbers from 1, as ``dcmp2pgm -f``)."""
    exe = require_tool("dcmp2pgm")
    done = subprocess.run([exe, "-f", str(frame), str(path), str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return read_pgm(out)


def ours(ds: Dataset, frame: int = 1) -> np.ndarray:
    """Render frame ``frame`` (from 1) with the image's own VOI, or the full range when it has none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stored, _ = decode_frame(ds, frame - 1)
        pipe = GreyPipeline.from_dataset(ds)
    voi: VOI = pipe.voi_choices()[0] if pipe.voi_choices() else pipe.full_range_voi()
    return pipe.render_stored(stored, voi)


def assert_agrees(mine: np.ndarray, reference: np.ndarray, reason: str = "") -> None:
    assert mine.shape == reference.shape
    diff = np.abs(mine.astype(np.int64) - reference.astype(np.int64))
    share = float((diff <= 1).mean())
    assert share >= AGREEMENT, f"{share:.5f} of pixels within 1 grey level (max diff {diff.max()}) {reason}"


# -- pydicom's files -------------------------------------------------------------------------
FILES = [
    ("CT_small.dcm", 1),  # signed 16, rescale, no window: full range
    ("MR_small.dcm", 1),
    ("MR_small_bigendian.dcm", 1),
    ("MR_small_implicit.dcm", 1),
    ("mlut_18.dcm", 1),  # Modality LUT Sequence
    ("vlut_04.dcm", 1),  # VOI LUT Sequence
    ("693_UNCR.dcm", 1),  # signed 14 bits
    ("MR2_UNCR.dcm", 1),  # 12 bits, 1024 x 1024
    ("RG3_UNCR.dcm", 1),  # MONOCHROME1, 10 bits
    ("emri_small.dcm", 3),  # multi-frame, no window
    ("JPEG2000_UNC.dcm", 1),
    ("MR-SIEMENS-DICOM-WithOverlays.dcm", 1),  # 12 of 16 bits, overlay plane alongside
]


@pytest.mark.parametrize(("name", "frame"), FILES)
def test_pydicom_files(name: str, frame: int, tmp_path: Path) -> None:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    reference = dcmp2pgm(Path(path), tmp_path / "out.pgm", frame)
    assert_agrees(ours(dcmread(path), frame), reference)


# -- synthesised ----------------------------------------------------------------------------
def _u(bits: int) -> np.ndarray:
    return ramp(48, 40, 0, 2**bits - 1)


def _s(bits: int) -> np.ndarray:
    return ramp(48, 40, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


SYNTH: dict[str, Callable[[], Dataset]] = {
    "u8 window": lambda: image(_u(8), bits_allocated=8, WindowCenter=100, WindowWidth=120),
    "u8 no window": lambda: image(_u(8), bits_allocated=8),
    "u12 window": lambda: image(_u(12), bits_stored=12, WindowCenter=1500, WindowWidth=1000),
    "u12 no window": lambda: image(ramp(48, 40, 100, 900), bits_stored=12),
    "u16 window": lambda: image(_u(16), WindowCenter=30000, WindowWidth=20001),
    "s12 window": lambda: image(_s(12), bits_stored=12, signed=True, WindowCenter=-300, WindowWidth=900),
    "s16 window": lambda: image(_s(16), signed=True, WindowCenter=0, WindowWidth=30000),
    "s16 no window": lambda: image(_s(16), signed=True),
    "s8 window": lambda: image(_s(8), bits_allocated=8, signed=True, WindowCenter=10, WindowWidth=100),
    "m1 u12 window": lambda: image(
        _u(12), bits_stored=12, photometric="MONOCHROME1", WindowCenter=2000, WindowWidth=3000
    ),
    "m1 u8 no window": lambda: image(_u(8), bits_allocated=8, photometric="MONOCHROME1"),
    "ct rescale": lambda: image(
        _u(12), bits_stored=12, RescaleSlope=1, RescaleIntercept=-1024, WindowCenter=40, WindowWidth=400
    ),
    "fractional rescale": lambda: image(
        _u(12), bits_stored=12, RescaleSlope=0.25, RescaleIntercept=-100.5, WindowCenter=300, WindowWidth=555
    ),
    "signed rescale": lambda: image(
        _s(12), bits_stored=12, signed=True, RescaleSlope=2, RescaleIntercept=50, WindowCenter=-500, WindowWidth=3001
    ),
    "width 1": lambda: image(_u(8), bits_allocated=8, WindowCenter=128, WindowWidth=1),
    "two windows": lambda: image(_u(12), bits_stored=12, WindowCenter=[700, 2000], WindowWidth=[300, 4000]),
    "modality lut": lambda: image(
        _u(12),
        bits_stored=12,
        ModalityLUTSequence=[lut_item(0, 16, (np.sqrt(np.arange(4096)) * 1000).astype(np.int64))],
        WindowCenter=32000,
        WindowWidth=64000,
    ),
    "modality lut offset": lambda: image(
        _u(12),
        bits_stored=12,
        ModalityLUTSequence=[lut_item(500, 12, (np.arange(3000) * 4095 // 2999))],
        WindowCenter=2048,
        WindowWidth=4096,
    ),
    "voi lut": lambda: image(
        _u(12),
        bits_stored=12,
        VOILUTSequence=[lut_item(200, 16, (np.linspace(0, 1, 3500) ** 2 * 65535).astype(np.int64))],
    ),
    "voi lut 8 bit": lambda: image(
        _u(10), bits_stored=10, VOILUTSequence=[lut_item(0, 8, np.linspace(255, 0, 1024).astype(np.int64))]
    ),
    "m1 voi lut": lambda: image(
        _u(12),
        bits_stored=12,
        photometric="MONOCHROME1",
        VOILUTSequence=[lut_item(0, 16, np.linspace(0, 65535, 4096).astype(np.int64))],
    ),
    "linear exact": lambda: image(
        _u(12), bits_stored=12, WindowCenter=2000.5, WindowWidth=777, VOILUTFunction="LINEAR_EXACT"
    ),
}


@pytest.mark.parametrize("case", list(SYNTH))
def test_synthesised(case: str, tmp_path: Path) -> None:
    ds = SYNTH[case]()
    path = tmp_path / "in.dcm"
    ds.save_as(path, enforce_file_format=True)
    reference = dcmp2pgm(path, tmp_path / "out.pgm")
    assert_agrees(ours(dcmread(path)), reference)


def test_multiframe_synthesised(tmp_path: Path) -> None:
    stored = np.stack([ramp(32, 24, 0, 4095, seed=i) // (i + 1) for i in range(3)])
    ds = image(stored, bits_stored=12, WindowCenter=1000, WindowWidth=2000)
    path = tmp_path / "in.dcm"
    ds.save_as(path, enforce_file_format=True)
    for frame in (1, 2, 3):
        assert_agrees(ours(dcmread(path), frame), dcmp2pgm(path, tmp_path / f"{frame}.pgm", frame))


def test_sigmoid_where_dcmtk_is_wrong(tmp_path: Path) -> None:
    """DCMTK 3.6.7's presentation state path drops VOI LUT Function: it renders SIGMOID as LINEAR.

    dcmpstat's softcopy VOI has no VOI LUT Function, so ``dcmp2pgm`` shows a SIGMOID window
    (PS3.3 C.11.2.1.3.1) linearly. We check that this is what it does (it agrees with our
    LINEAR rendering of the same window) and that ours differs from it as the sigmoid must;
    the SIGMOID curve itself is checked against pydicom in test_grey_stages.py.
    """
    ds = image(_u(12), bits_stored=12, WindowCenter=2000, WindowWidth=1500, VOILUTFunction="SIGMOID")
    path = tmp_path / "in.dcm"
    ds.save_as(path, enforce_file_format=True)
    reference = dcmp2pgm(path, tmp_path / "out.pgm")
    stored, _ = decode_frame(ds)
    pipe = GreyPipeline.from_dataset(ds)
    assert_agrees(pipe.render_stored(stored, Window(2000, 1500, "LINEAR")), reference, "(DCMTK draws it linearly)")
    sigmoid = pipe.render_stored(stored, pipe.default_voi()).astype(np.int64)
    assert np.abs(sigmoid - reference).max() > 10  # the sigmoid's soft shoulders
