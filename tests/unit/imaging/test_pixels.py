"""Pixels: every accepted transfer syntax, grey bit layouts, colour models, reference defaults."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, get_decoder
from pydicom.uid import UID, HTJ2KLossless, HTJ2KLosslessRPCL

from app.core.errors import DicomInputError
from app.dicom.transfer_syntaxes import STORAGE_PREFERENCE, UNCOMPRESSED
from app.imaging.frames import decode_frame, is_grey, number_of_frames, photometric_interpretation, rgb_frame
from app.imaging.pipeline import GreyPipeline
from app.imaging.pixel_attributes import PixelDefaultWarning, pixel_defaults, with_pixel_defaults
from app.imaging.voi_lut import Window
from tests.unit.imaging.synth import image, ramp


def _file(name: str) -> Dataset:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return dcmread(path)


@pytest.mark.parametrize("ts", [ts for ts in STORAGE_PREFERENCE if ts not in UNCOMPRESSED], ids=str)
def test_every_accepted_transfer_syntax_has_a_decoder(ts: UID) -> None:
    assert get_decoder(ts).is_available, ts.name


@pytest.mark.parametrize(
    ("name", "reference", "max_error"),
    [
        ("image_dfl.dcm", None, 0),  # deflated explicit VR little endian
        ("JPGLosslessP14SV1_1s_1f_8b.dcm", None, 0),  # JPEG lossless SV1
        ("JPEG-LL.dcm", None, 0),  # JPEG lossless process 14
        ("JPGExtended.dcm", None, 0),  # JPEG extended 12 bit
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm", 0),
        ("JPEGLSNearLossless_16.dcm", None, 0),
        ("MR_small_jp2klossless.dcm", "MR_small.dcm", 0),
        ("MR2_J2KI.dcm", "MR2_UNCI.dcm", 64),  # lossy JPEG 2000
        ("MR_small_RLE.dcm", "MR_small.dcm", 0),
        ("RG1_J2KR.dcm", "RG1_UNCR.dcm", 0),  # MONOCHROME1, 15 bits
        ("693_J2KR.dcm", "693_UNCR.dcm", 0),  # signed
    ],
)
def test_grey_transfer_syntaxes(name: str, reference: str | None, max_error: int) -> None:
    ds = _file(name)
    arr, photometric = decode_frame(ds)
    assert photometric in ("MONOCHROME1", "MONOCHROME2")
    assert arr.shape == (ds.Rows, ds.Columns)
    if reference is not None:
        expected, _ = decode_frame(_file(reference))
        assert np.abs(arr.astype(np.int64) - expected.astype(np.int64)).max() <= max_error
    out = GreyPipeline.from_dataset(ds).render_stored(arr)
    assert out.dtype == np.uint8 and out.shape == arr.shape


@pytest.mark.parametrize("ts", [HTJ2KLossless, HTJ2KLosslessRPCL], ids=str)
def test_htj2k_path(ts: UID) -> None:
    # HTJ2K decoders (PS3.5 A.4.8) also read Part 1 codestreams: relabel a lossless J2K file.
    ds = _file("MR_small_jp2klossless.dcm")
    ds.file_meta.TransferSyntaxUID = ts
    arr, _ = decode_frame(ds)
    np.testing.assert_array_equal(arr, decode_frame(_file("MR_small.dcm"))[0])


@pytest.mark.parametrize(
    ("bits_allocated", "bits_stored", "signed"),
    [(8, 8, False), (8, 6, False), (8, 8, True), (16, 12, False), (16, 12, True), (16, 16, True), (16, 10, True)],
)
def test_grey_bit_layouts(bits_allocated: int, bits_stored: int, signed: bool) -> None:
    lo, hi = (-(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1) if signed else (0, 2**bits_stored - 1)
    stored = ramp(16, 20, lo, hi)
    ds = image(stored, bits_allocated=bits_allocated, bits_stored=bits_stored, signed=signed)
    arr, _ = decode_frame(ds)
    np.testing.assert_array_equal(arr.astype(np.int64), stored)
    out = GreyPipeline.from_dataset(ds).render_stored(arr)
    assert out[0, 0] < 5 and out[-1, -1] > 250  # full-range window over the ramp


def test_unused_high_bits_are_masked() -> None:
    # 12 bits stored in 16: garbage (e.g. an overlay) in bits 12..15 must not reach the pipeline
    stored = ramp(8, 8, 0, 4095)
    ds = image(stored, bits_allocated=16, bits_stored=12)
    raw = np.frombuffer(ds.PixelData, dtype=np.uint16) | np.uint16(0xF000)
    ds.PixelData = raw.tobytes()
    arr, _ = decode_frame(ds)
    np.testing.assert_array_equal(arr.astype(np.int64), stored)


def test_monochrome1_inverted() -> None:
    stored = ramp(8, 8, 0, 255)
    m2 = GreyPipeline.from_dataset(image(stored, bits_allocated=8)).render_stored(stored)
    m1 = GreyPipeline.from_dataset(image(stored, bits_allocated=8, photometric="MONOCHROME1")).render_stored(stored)
    np.testing.assert_array_equal(m1.astype(int), 255 - m2.astype(int))


def test_multiframe_every_frame() -> None:
    stored = np.stack([ramp(6, 7, 0, 1000, seed=i) for i in range(4)])
    ds = image(stored, bits_stored=10)
    assert number_of_frames(ds) == 4
    for i in range(4):
        np.testing.assert_array_equal(decode_frame(ds, i)[0], stored[i])


def test_reference_defaults_applied_with_warning() -> None:
    stored = ramp(8, 8, 0, 4095)
    ds = image(stored, bits_allocated=16, bits_stored=12)
    for keyword in ("SamplesPerPixel", "PhotometricInterpretation", "HighBit", "PixelRepresentation"):
        delattr(ds, keyword)
    assert pixel_defaults(ds) == {
        "SamplesPerPixel": 1,
        "PhotometricInterpretation": "MONOCHROME2",
        "PixelRepresentation": 0,
        "HighBit": 11,
    }
    assert is_grey(ds) and photometric_interpretation(ds) == "MONOCHROME2"
    with pytest.warns(PixelDefaultWarning, match="HighBit=11"):
        arr, photometric = decode_frame(ds)
    np.testing.assert_array_equal(arr, stored)
    assert photometric == "MONOCHROME2"
    assert "HighBit" not in ds  # the original is left as received
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PixelDefaultWarning)
        pipe = GreyPipeline.from_dataset(ds)
    assert pipe.range.bits_stored == 12 and not pipe.range.signed


def test_invalid_high_bit_and_bits_stored() -> None:
    ds = image(ramp(4, 4, 0, 255), bits_allocated=8)
    ds.HighBit, ds.BitsStored = 12, 9
    assert pixel_defaults(ds) == {"BitsStored": 8, "HighBit": 7}
    with pytest.warns(PixelDefaultWarning):
        fixed = with_pixel_defaults(ds)
    assert fixed.HighBit == 7 and ds.HighBit == 12


def test_missing_rows_refused() -> None:
    ds = image(ramp(4, 4, 0, 255), bits_allocated=8)
    del ds.Rows
    with pytest.raises(DicomInputError, match="Rows"):
        decode_frame(ds)


def test_complete_dataset_is_not_copied() -> None:
    ds = _file("CT_small.dcm")
    assert with_pixel_defaults(ds) is ds


# -- colour ----------------------------------------------------------------------------------
def _rgb(name: str, index: int = 0) -> np.ndarray:
    return rgb_frame(_file(name), index)


@pytest.mark.parametrize(
    ("name", "max_mean_error"),
    [
        ("SC_rgb_expb.dcm", 0.0),  # big endian, by pixel
        ("SC_rgb_rle.dcm", 0.0),  # RLE: planar in the codec
        ("SC_rgb_jpeg_gdcm.dcm", 0.0),  # JPEG lossless RGB
        ("SC_rgb_dcmtk_+eb+cy+np.dcm", 3.0),  # JPEG baseline YBR_FULL_422
        ("SC_rgb_dcmtk_+eb+cy+n1.dcm", 3.0),  # JPEG baseline YBR_FULL
        ("SC_rgb_jls_lossy_line.dcm", 3.0),  # JPEG-LS near lossless
        ("SC_rgb_16bit.dcm", 1.0),  # 16 bits scaled to 8
        ("SC_ybr_full_422_uncompressed.dcm", 8.0),  # native YBR_FULL_422
    ],
)
def test_colour_models(name: str, max_mean_error: float) -> None:
    out = _rgb(name)
    expected = _rgb("SC_rgb.dcm")
    assert out.shape == expected.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - expected.astype(int)).mean() <= max_mean_error


def test_planar_configuration_1() -> None:
    ds = _file("SC_rgb.dcm")
    by_pixel = ds.pixel_array
    planar = copy.deepcopy(ds)
    planar.PlanarConfiguration = 1
    planar.PixelData = np.ascontiguousarray(by_pixel.transpose(2, 0, 1)).tobytes()
    np.testing.assert_array_equal(rgb_frame(planar), by_pixel)


def test_multiframe_colour() -> None:
    ds = _file("SC_rgb_2frame.dcm")
    np.testing.assert_array_equal(rgb_frame(ds, 1), ds.pixel_array[1])


def test_segmented_palette() -> None:
    ds = _file("gdcm-US-ALOKA-16.dcm")
    assert "SegmentedRedPaletteColorLookupTableData" in ds
    out = rgb_frame(ds)
    lut = apply_color_lut(ds.pixel_array, ds)
    np.testing.assert_array_equal(out, (lut >> 8).astype(np.uint8))
    assert out.shape == (ds.Rows, ds.Columns, 3)


def test_palette_multiframe_rle() -> None:
    ds = _file("OBXXXX1A_rle_2frame.dcm")
    expected = apply_color_lut(ds.pixel_array[1], ds)
    bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    np.testing.assert_array_equal(rgb_frame(ds, 1), (expected >> (bits - 8) if bits > 8 else expected))


def test_palette_color_underscore_spelling() -> None:
    ds = _file("OBXXXX1A.dcm")
    ds.PhotometricInterpretation = "PALETTE_COLOR"  # spelling seen in the wild
    assert photometric_interpretation(ds) == "PALETTE COLOR"


def test_32_bit_grey_renders_without_a_table() -> None:
    ds = _file("rtdose_1frame.dcm")  # 32 bits allocated and stored, unsigned
    arr, _ = decode_frame(ds)
    pipe = GreyPipeline.from_dataset(ds)
    assert pipe.direct
    lo, hi = int(arr.min()), int(arr.max())
    window = Window(center=(lo + hi) / 2 + 0.5, width=hi - lo + 1)
    out = pipe.render_stored(arr, window)
    expected = np.clip(((arr.astype(np.float64) - (window.center - 0.5)) / (window.width - 1) + 0.5) * 255, 0, 255)
    assert np.abs(out - expected).max() <= 0.5 + 1e-9
    default = pipe.render(pipe.index(arr))  # robust percentile window
    assert default.dtype == np.uint8 and default.max() == 255
    with pytest.raises(DicomInputError):
        pipe.table()


def test_32_bit_signed_rescaled() -> None:
    stored = ramp(6, 6, -(2**30), 2**30)
    ds = image(stored.astype(np.int64), bits_allocated=16, RescaleSlope=1e-6, RescaleIntercept=5)
    ds.BitsAllocated = ds.BitsStored = 32
    ds.HighBit, ds.PixelRepresentation = 31, 1
    ds.PixelData = stored.astype(np.int32).tobytes()
    arr, _ = decode_frame(ds)
    np.testing.assert_array_equal(arr, stored)
    pipe = GreyPipeline.from_dataset(ds)
    assert pipe.modality_range(pipe.index(arr)) == pytest.approx((-(2**30) * 1e-6 + 5, 2**30 * 1e-6 + 5))
    out = pipe.render_stored(arr, pipe.full_range_voi())
    assert out[0, 0] < out[-1, -1]


@pytest.mark.parametrize(("name", "max_mean_error"), [("US1_J2KR.dcm", 0.0), ("US1_J2KI.dcm", 3.0)])
def test_colour_jpeg2000_ybr_rct_ict(name: str, max_mean_error: float) -> None:
    # YBR_RCT / YBR_ICT (PS3.3 C.7.6.3.1.2): the codec's colour transform is undone to RGB
    out = _rgb(name)
    expected = _rgb("US1_UNCR.dcm")
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected.astype(int)).mean() <= max_mean_error


def test_one_bit_allocated() -> None:
    ds = _file("liver_1frame.dcm")  # a binary segmentation frame: Bits Allocated 1
    arr, _ = decode_frame(ds)
    assert set(np.unique(arr)) <= {0, 1}
    np.testing.assert_array_equal(arr, ds.pixel_array)
    out = GreyPipeline.from_dataset(ds).render_stored(arr, Window(0.5, 1))  # width 1: a threshold
    np.testing.assert_array_equal(out, arr.astype(np.uint8) * 255)


def test_ybr_full_by_plane() -> None:
    ds = _file("SC_ybr_full_uncompressed.dcm")
    by_pixel = rgb_frame(ds)
    planar = copy.deepcopy(ds)
    raw = np.frombuffer(ds.PixelData, dtype=np.uint8)[: ds.Rows * ds.Columns * 3].reshape(ds.Rows, ds.Columns, 3)
    planar.PlanarConfiguration = 1
    planar.NumberOfFrames = 1
    planar.PixelData = np.ascontiguousarray(raw.transpose(2, 0, 1)).tobytes()
    np.testing.assert_array_equal(rgb_frame(planar), by_pixel)
