"""The grey pipeline against pydicom's processing functions (the oracle, DESIGN.md section 4)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi, apply_windowing

from app.core.errors import DicomInputError
from app.imaging.frames import decode_frame
from app.imaging.modality_lut import modality_lut_from
from app.imaging.pipeline import GreyPipeline
from app.imaging.presentation_lut import presentation_lut_shape
from app.imaging.voi_lut import Window, voi_luts_from, window_from_range, windows_from


def _file(name: str) -> Dataset:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return dcmread(path)


def _oracle_window(stored: np.ndarray, ds: Dataset, window: Window) -> np.ndarray:
    """pydicom apply_windowing on modality values, normalised to 0..255 (its own output range)."""
    ds = copy.deepcopy(ds)
    ds.WindowCenter = window.center
    ds.WindowWidth = window.width
    ds.VOILUTFunction = window.function
    modality = apply_modality_lut(stored, ds)
    with np.errstate(over="ignore"):  # pydicom's SIGMOID overflows exp() far from the center
        out = apply_windowing(modality, ds)
    if ds.get("ModalityLUTSequence"):
        lo, hi = 0.0, 2.0 ** ds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
    else:
        bits = ds.BitsStored
        lo, hi = (-(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1) if ds.PixelRepresentation else (0.0, 2.0**bits - 1)
        if "RescaleSlope" in ds and "RescaleIntercept" in ds:
            lo, hi = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept), hi * float(
                ds.RescaleSlope
            ) + float(ds.RescaleIntercept)
    return (out - lo) / (hi - lo) * 255.0


def _assert_close(ours: np.ndarray, oracle: np.ndarray) -> None:
    assert ours.dtype == np.uint8
    diff = np.abs(ours.astype(np.float64) - oracle)
    assert diff.max() <= 0.5 + 1e-6, diff.max()


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm"])
@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_files_match_pydicom(name: str, function: str) -> None:
    ds = _file(name)
    stored = ds.pixel_array
    pipe = GreyPipeline.from_dataset(ds)
    modality = stored * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
    lo, hi = float(modality.min()), float(modality.max())
    for window in (
        Window((lo + hi) / 2, (hi - lo) / 2, function),  # type: ignore[arg-type]
        Window(lo + (hi - lo) / 4, 40.0, function),  # type: ignore[arg-type]
        Window(hi, 1.0 if function == "LINEAR" else 0.5, function),  # type: ignore[arg-type]
    ):
        _assert_close(pipe.render_stored(stored, window), _oracle_window(stored, ds, window))


def test_ct_default_window_is_the_data_sets() -> None:
    ds = _file("CT_small.dcm")
    pipe = GreyPipeline.from_dataset(ds)
    assert pipe.range.signed and pipe.range.bits_stored == 16
    assert pipe.modality.intercept == float(ds.RescaleIntercept)
    if "WindowCenter" in ds:
        assert pipe.default_voi() == windows_from(ds)[0]


def test_mlut_18_modality_lut_sequence() -> None:
    ds = _file("mlut_18.dcm")
    stored = ds.pixel_array
    ours = modality_lut_from(ds).apply(stored)
    np.testing.assert_allclose(ours, apply_modality_lut(stored, ds))
    pipe = GreyPipeline.from_dataset(ds)
    mod = apply_modality_lut(stored, ds)
    window = Window(float(mod.mean()), float(mod.max() - mod.min()) / 2)
    _assert_close(pipe.render_stored(stored, window), _oracle_window(stored, ds, window))


def test_vlut_04_voi_lut_sequence() -> None:
    ds = _file("vlut_04.dcm")
    stored = ds.pixel_array
    luts = voi_luts_from(ds)
    assert luts
    pipe = GreyPipeline.from_dataset(ds)
    oracle = apply_voi(apply_modality_lut(stored, ds), ds).astype(np.float64)
    oracle = oracle / luts[0].lut.max_output * 255.0
    if presentation_lut_shape(ds) == "INVERSE":
        oracle = 255.0 - oracle
    _assert_close(pipe.render_stored(stored, luts[0]), oracle)


@pytest.mark.parametrize(
    ("bits", "signed"), [(8, False), (8, True), (12, False), (12, True), (16, False), (16, True), (1, False)]
)
@pytest.mark.parametrize(("slope", "intercept"), [(1.0, 0.0), (2.5, -1024.0), (0.5, 10.0)])
def test_synthetic_bit_depths(bits: int, signed: bool, slope: float, intercept: float) -> None:
    rng = np.random.default_rng(bits * 7 + signed)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    stored = rng.integers(lo, hi + 1, size=(32, 40)).astype(np.int16 if signed else np.uint16)
    stored[0, 0], stored[0, 1] = lo, hi
    ds = Dataset()
    ds.BitsAllocated = 16
    ds.BitsStored = bits
    ds.PixelRepresentation = int(signed)
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    pipe = GreyPipeline.from_dataset(ds)
    m_lo, m_hi = lo * slope + intercept, hi * slope + intercept
    for function in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        window = Window((m_lo + m_hi) / 2 + 1, max((m_hi - m_lo) / 3, 1.0), function)  # type: ignore[arg-type]
        _assert_close(pipe.render_stored(stored, window), _oracle_window(stored, ds, window))


def test_monochrome1_inverts() -> None:
    ds = Dataset()
    ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation = 16, 12, 0
    stored = np.array([[0, 1024, 2048, 4095]], dtype=np.uint16)
    ds.PhotometricInterpretation = "MONOCHROME2"
    mono2 = GreyPipeline.from_dataset(ds).render_stored(stored, Window(2048, 4096))
    ds.PhotometricInterpretation = "MONOCHROME1"
    mono1 = GreyPipeline.from_dataset(ds).render_stored(stored, Window(2048, 4096))
    np.testing.assert_array_equal(mono1, 255 - mono2)
    assert mono1[0, 0] == 255 and mono1[0, -1] == 0
    ds.PresentationLUTShape = "IDENTITY"  # an explicit shape decides
    np.testing.assert_array_equal(GreyPipeline.from_dataset(ds).render_stored(stored, Window(2048, 4096)), mono2)


def test_linear_window_formula_edges() -> None:
    # PS3.3 C.11.2.1.2.1 with c=100, w=11: x <= 94.5 -> 0, x > 104.5 -> 255
    y = Window(100, 11).apply(np.array([94.0, 94.5, 95.0, 99.5, 104.5, 105.0]))
    assert y[0] == 0 and y[1] == 0 and y[-1] == 255
    assert y[4] == pytest.approx(255.0)
    assert y[3] == pytest.approx(127.5)


def test_window_from_range_spans_exactly() -> None:
    w = window_from_range(-100, 300)
    y = w.apply(np.array([-100.0, 300.0]))
    assert y[0] == 0 and y[1] == 255


def test_default_window_from_pixels_when_none() -> None:
    ds = Dataset()
    ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation = 16, 16, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    stored = np.array([[100, 200], [300, 400]], dtype=np.uint16)
    pipe = GreyPipeline.from_dataset(ds)
    index = pipe.index(stored)
    out = pipe.render(index, pipe.default_voi(index))
    assert out.min() == 0 and out.max() == 255


def test_table_cached_and_one_take() -> None:
    ds = _file("CT_small.dcm")
    pipe = GreyPipeline.from_dataset(ds)
    w = Window(40, 400)
    assert pipe.table(w) is pipe.table(Window(40, 400))
    assert pipe.table(w).shape == (65536,)


def test_bits_stored_out_of_range() -> None:
    with pytest.raises(DicomInputError):
        GreyPipeline(bits_stored=33, signed=False)


def test_decode_frame_ct() -> None:
    arr, photometric = decode_frame(_file("CT_small.dcm"))
    assert arr.shape == (128, 128) and photometric == "MONOCHROME2"
