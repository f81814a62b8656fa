"""Frames readable in place, decoding in place, the decoded-frame cache and a stack that never decodes inline."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, RLELossless

from app.imaging.frames import decode_frame, rgb_frame
from app.imaging.stacks import StackPosition
from app.services.decoded_frames import FrameCache, decode_in_place, native_frame
from app.services.image_stack import FrameNotReady, ImageStack
from tests.ui.viewer_data import ct_stack


def _file(name: str) -> Dataset:
    path = get_testdata_file(name, download=False)
    assert path is not None
    return dcmread(path)


def test_decode_in_place_keeps_one_native_copy_equal_to_the_decoder() -> None:
    ds = ct_stack(1, 64, overlay=False)[0]
    ds.compress(JPEGLSLossless, generate_instance_uid=False)
    decoded = decode_frame(ds, 0)[0]
    assert decode_in_place(ds)
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian and len(ds.PixelData) == 64 * 64 * 2
    np.testing.assert_array_equal(native_frame(ds, 0), decoded)
    assert not decode_in_place(ds)  # native now: nothing to do


@pytest.mark.parametrize("name", ["SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_small_odd_jpeg.dcm", "SC_rgb_rle.dcm"])
def test_decode_in_place_turns_colour_into_rgb(name: str) -> None:
    """JPEG baseline YBR_FULL_422 / YBR_FULL (odd size) and RLE RGB become by-pixel RGB equal to rgb_frame."""
    ds = _file(name)
    expected = rgb_frame(ds, 0)
    assert decode_in_place(ds)
    assert ds.PhotometricInterpretation == "RGB" and ds.PlanarConfiguration == 0 and ds.BitsAllocated == 8
    np.testing.assert_array_equal(native_frame(ds, 0), expected)
    ybr = _file("SC_ybr_full_uncompressed.dcm")  # by-plane YBR: not read in place (the decoders convert it)
    assert native_frame(ybr, 0) is None


def test_multiframe_images_are_left_to_on_demand_decoding() -> None:
    ds = _file("emri_small_RLE.dcm")
    assert not decode_in_place(ds) and ds.file_meta.TransferSyntaxUID == RLELossless
    stack = ImageStack([ds], decode_inline=False)
    assert not stack.is_ready(3)
    with pytest.raises(FrameNotReady, match="still being decoded"):
        stack.render(3)
    stack.decode(3)
    assert stack.is_ready(3) and not stack.is_ready(4)
    np.testing.assert_array_equal(stack.pixels(3), decode_frame(ds, 3)[0])


def test_frame_cache_drops_least_recently_used_by_count_and_bytes() -> None:
    cache = FrameCache(max_frames=3, max_bytes=10_000)
    for i in range(3):
        cache.put(StackPosition(0, i), np.zeros(1000, dtype=np.uint8))
    assert cache.get(StackPosition(0, 0)) is not None  # now the most recent
    cache.put(StackPosition(0, 3), np.zeros(1000, dtype=np.uint8))
    assert StackPosition(0, 1) not in cache and StackPosition(0, 0) in cache and len(cache) == 3
    cache.put(StackPosition(0, 4), np.zeros(9500, dtype=np.uint8))
    assert len(cache) == 1 and cache.nbytes == 9500
