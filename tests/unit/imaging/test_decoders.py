"""Decoder choice per transfer syntax: every syntax decodes right, the preferred plugin decodes it,
and a missing or failing plugin falls back to the next one (real plugins, no mocks).

Frames are encoded here by real encoders: pydicom's (RLE; JPEG-LS through pyjpegls; JPEG 2000
through pylibjpeg-openjpeg), DCMTK's ``dcmcjpeg`` for the JPEG processes (a peer: missing =
failure). HTJ2K has no encoder among our dependencies: ``data/htj2k_*_64x64_12bit.j2c`` are
:func:`texture` (64, 64, 12) encoded once by OpenJPH (``imagecodecs.htj2k_encode``; reversible,
and irreversible with quantisation step 0.0002).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    HTJ2KLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from app.core.errors import DicomInputError
from app.imaging.decoders import PREFERENCE, decode, plugin_order
from app.imaging.frames import decode_frame
from tests.conftest import require_tool
from tests.unit.imaging.synth import image

DATA = Path(__file__).parent / "data"


def texture(rows: int, columns: int, bits: int) -> np.ndarray:
    """A ramp over the full range with a deterministic integer texture (no RNG: the HTJ2K files hold it)."""
    y, x = np.mgrid[0:rows, 0:columns].astype(np.int64)
    top = 2**bits - 1
    base = (x + y) * top // (rows + columns - 2)
    noise = (x * x * 31 + y * 17 + x * y * 7) % 61 - 30
    return np.clip(base + noise, 0, top)


def _original(bits: int, signed: bool = False, frames: int = 1) -> tuple[np.ndarray, Dataset]:
    values = np.stack([np.roll(texture(64, 48, bits), 5 * i, axis=1) for i in range(frames)])
    if signed:
        values = values - 2 ** (bits - 1)
    values = values[0] if frames == 1 else values
    return values, image(values, bits_allocated=8 if bits <= 8 else 16, bits_stored=bits, signed=signed)


def _dcmcjpeg(ds: Dataset, option: str, tmp_path: Path) -> Dataset:
    src, dst = tmp_path / "src.dcm", tmp_path / f"dst{option}.dcm"
    ds.save_as(src, enforce_file_format=True)
    done = subprocess.run([require_tool("dcmcjpeg"), option, str(src), str(dst)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return dcmread(dst)


def _htj2k(name: str, ts: UID) -> Dataset:
    ds = image(texture(64, 64, 12), bits_stored=12)
    ds.file_meta.TransferSyntaxUID = ts
    ds.PixelData = encapsulate([(DATA / name).read_bytes()])
    ds["PixelData"].VR = "OB"
    return ds


def _compressed(ts: UID, signed: bool, tmp_path: Path) -> tuple[np.ndarray, Dataset]:
    """Original values and the data set encoded in ``ts`` by a real encoder."""
    bits = {JPEGBaseline8Bit: 8, JPEGExtended12Bit: 12}.get(ts, 12 if not signed else 16)
    values, ds = _original(bits, signed, frames=2 if ts in (RLELossless, JPEGLSLossless, JPEG2000Lossless) else 1)
    if ts in (HTJ2KLossless, HTJ2K):
        kind = "lossless" if ts == HTJ2KLossless else "lossy"
        return texture(64, 64, 12), _htj2k(f"htj2k_{kind}_64x64_12bit.j2c", ts)
    options = {JPEGBaseline8Bit: "+eb", JPEGExtended12Bit: "+ee", JPEGLosslessSV1: "+e1", JPEGLossless: "+el"}
    if ts in options:
        return values, _dcmcjpeg(ds, options[ts], tmp_path)
    if ts == DeflatedExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = ts
        path = tmp_path / "deflated.dcm"
        ds.save_as(path, enforce_file_format=True)
        return values, dcmread(path)
    kwargs = {JPEGLSNearLossless: {"jls_error": 2}, JPEG2000: {"j2k_cr": [8]}}.get(ts, {})
    ds.compress(ts, **kwargs)  # type: ignore[arg-type]
    return values, ds


#: syntax, signed, largest error allowed against the original (0 = lossless)
CASES = [
    (JPEGBaseline8Bit, False, 24),
    (JPEGExtended12Bit, False, 96),
    (JPEGLosslessSV1, False, 0),
    (JPEGLosslessSV1, True, 0),
    (JPEGLossless, True, 0),
    (JPEGLSLossless, False, 0),
    (JPEGLSLossless, True, 0),
    (JPEGLSNearLossless, False, 2),  # NEAR = 2 bounds the error (ISO 14495-1)
    (JPEG2000Lossless, False, 0),
    (JPEG2000Lossless, True, 0),
    (JPEG2000, False, 256),
    (HTJ2KLossless, False, 0),
    (HTJ2K, False, 40),
    (RLELossless, False, 0),
    (RLELossless, True, 0),
    (DeflatedExplicitVRLittleEndian, False, 0),
]


@pytest.mark.parametrize(("ts", "signed", "max_error"), CASES, ids=lambda v: getattr(v, "name", str(v)))
def test_every_syntax_decodes_with_the_preferred_plugin(ts: UID, signed: bool, max_error: int, tmp_path: Path) -> None:
    values, ds = _compressed(ts, signed, tmp_path)
    assert ds.file_meta.TransferSyntaxUID == ts
    frames = values if values.ndim == 3 else values[None]
    for index, expected in enumerate(frames):
        decoded = decode(ds, ts, index)
        error = np.abs(decoded.array.astype(np.int64) - expected).max()
        if max_error == 0:
            np.testing.assert_array_equal(decoded.array.astype(np.int64), expected)
        else:
            assert 0 < error <= max_error, error  # lossy, but close
        assert decoded.photometric == "MONOCHROME2"
        available = get_decoder(ts).available_plugins
        expected_plugin = plugin_order(ts, available)[0] if available else ""
        assert decoded.plugin == expected_plugin
        if ts in PREFERENCE:  # the measured first choice is installed (python-gdcm, pyjpegls: dependencies)
            assert decoded.plugin == PREFERENCE[ts][0]
    np.testing.assert_array_equal(decode_frame(ds, len(frames) - 1)[0], decode(ds, ts, len(frames) - 1).array)


@pytest.mark.parametrize("ts", [JPEGBaseline8Bit, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless, RLELossless])
def test_every_available_plugin_agrees(ts: UID, tmp_path: Path) -> None:
    # the table changes which decoder runs, never what it gives (lossy: within IDCT rounding)
    values, ds = _compressed(ts, False, tmp_path)
    first = values if values.ndim == 2 else values[0]
    results = {p: decode(ds, ts, 0, preference=[p]) for p in get_decoder(ts).available_plugins}
    assert len(results) >= 2, results.keys()
    for plugin, decoded in results.items():
        assert decoded.plugin == plugin
        tolerance = 2 if ts == JPEGBaseline8Bit else 0
        assert np.abs(decoded.array.astype(np.int64) - results[PREFERENCE[ts][0]].array).max() <= tolerance
        if ts != JPEGBaseline8Bit:
            np.testing.assert_array_equal(decoded.array.astype(np.int64), first)


def test_plugin_order() -> None:
    available = ("gdcm", "pillow", "pylibjpeg")
    assert plugin_order(JPEGBaseline8Bit, available) == ["pillow", "gdcm", "pylibjpeg"]
    assert plugin_order(JPEGBaseline8Bit, ("pylibjpeg",)) == ["pylibjpeg"]  # preferred ones missing
    assert plugin_order(JPEGBaseline8Bit, available, ["no-such-plugin", "pylibjpeg"]) == ["pylibjpeg", "gdcm", "pillow"]
    assert plugin_order("1.2.3.4", ("b", "a")) == ["b", "a"]  # a syntax without a table: pydicom's order


def test_missing_preferred_plugin_falls_back(tmp_path: Path) -> None:
    values, ds = _compressed(JPEGLosslessSV1, False, tmp_path)
    decoded = decode(ds, JPEGLosslessSV1, 0, preference=["no-such-plugin", "pylibjpeg"])
    assert decoded.plugin == "pylibjpeg"
    np.testing.assert_array_equal(decoded.array.astype(np.int64), values)
    arr, _ = decode_frame(ds, 0, preference=["no-such-plugin"])  # then the installed ones, in pydicom's order
    np.testing.assert_array_equal(arr.astype(np.int64), values)


def test_failing_plugin_falls_back(tmp_path: Path) -> None:
    # Pillow and GDCM really refuse 12-bit JPEG extended frames (they raise): pylibjpeg takes over
    values, ds = _compressed(JPEGExtended12Bit, False, tmp_path)
    assert {"pillow", "gdcm"} <= set(get_decoder(JPEGExtended12Bit).available_plugins)
    decoded = decode(ds, JPEGExtended12Bit, 0, preference=["pillow", "gdcm", "pylibjpeg"])
    assert decoded.plugin == "pylibjpeg"
    np.testing.assert_array_equal(decoded.array, decode(ds, JPEGExtended12Bit, 0, preference=["pylibjpeg"]).array)
    assert np.abs(decoded.array.astype(np.int64) - values).max() <= 96


def test_every_plugin_failing_says_which(tmp_path: Path) -> None:
    _, ds = _compressed(JPEGLSLossless, False, tmp_path)
    ds.PixelData = encapsulate([b"\xff\xd8" + bytes(range(256)) * 4, b"\xff\xd8" + bytes(1024)])  # no JPEG-LS
    with pytest.raises(DicomInputError) as caught:
        decode(ds, JPEGLSLossless, 0)
    for plugin in get_decoder(JPEGLSLossless).available_plugins:
        assert f"{plugin}:" in str(caught.value)
