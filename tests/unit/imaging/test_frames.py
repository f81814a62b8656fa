"""Frames: compressed transfer syntaxes decode like their uncompressed originals; colour to RGB."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut

from app.core.errors import DicomInputError
from app.imaging.frames import decode_frame, is_grey, number_of_frames, rgb_frame


def _file(name: str) -> Dataset:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return dcmread(path)


@pytest.mark.parametrize(
    "name",
    ["MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm"],
)
def test_lossless_equals_original(name: str) -> None:
    original, _ = decode_frame(_file("MR_small.dcm"))
    arr, photometric = decode_frame(_file(name))
    assert photometric == "MONOCHROME2"
    np.testing.assert_array_equal(arr, original)


def test_jpeg2000_and_jpeg_lossless_decode() -> None:
    for name in ("JPEG2000.dcm", "JPEG-LL.dcm", "MR2_J2KR.dcm"):
        ds = _file(name)
        arr, _ = decode_frame(ds)
        assert arr.shape[:2] == (ds.Rows, ds.Columns)


def test_multiframe_index() -> None:
    ds = _file("emri_small.dcm")
    assert number_of_frames(ds) == int(ds.NumberOfFrames) > 1
    last, _ = decode_frame(ds, number_of_frames(ds) - 1)
    np.testing.assert_array_equal(last, ds.pixel_array[-1])
    with pytest.raises(DicomInputError):
        decode_frame(ds, number_of_frames(ds))


def test_rgb() -> None:
    ds = _file("SC_rgb.dcm")
    assert not is_grey(ds)
    out = rgb_frame(ds)
    assert out.dtype == np.uint8 and out.shape == (ds.Rows, ds.Columns, 3)
    np.testing.assert_array_equal(out, ds.pixel_array if ds.pixel_array.ndim == 3 else ds.pixel_array[0])


def test_ybr_full_to_rgb() -> None:
    # SC_ybr_full_uncompressed is SC_rgb's first frame encoded as YBR_FULL (PS3.3 C.7.6.3.1.2)
    ds = _file("SC_ybr_full_uncompressed.dcm")
    assert ds.PhotometricInterpretation == "YBR_FULL"
    out = rgb_frame(ds)
    expected = rgb_frame(_file("SC_rgb.dcm"))
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 8  # rounding of the YBR->RGB matrix


def test_palette_colour() -> None:
    ds = _file("OBXXXX1A.dcm")
    assert ds.PhotometricInterpretation == "PALETTE COLOR"
    out = rgb_frame(ds)
    lut = apply_color_lut(ds.pixel_array if number_of_frames(ds) == 1 else ds.pixel_array[0], ds)
    bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    expected = lut >> (bits - 8) if bits > 8 else lut
    np.testing.assert_array_equal(out, expected.astype(np.uint8))


def test_no_pixel_data() -> None:
    with pytest.raises(DicomInputError):
        decode_frame(Dataset())


@pytest.mark.parametrize(("name", "mean_error"), [("SC_rgb_rle.dcm", 0.0), ("SC_rgb_jpeg_dcmtk.dcm", 10.0)])
def test_compressed_colour_to_rgb(name: str, mean_error: float) -> None:
    # the same picture as SC_rgb.dcm, RLE (lossless) or JPEG baseline YBR_FULL_422 (lossy)
    out = rgb_frame(_file(name))
    expected = rgb_frame(_file("SC_rgb.dcm"))
    assert out.shape == expected.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - expected.astype(int)).mean() <= mean_error
