"""ImageStack and display order: Qt-free parts of the viewer."""

from __future__ import annotations

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from app.imaging.pipeline import GreyPipeline
from app.imaging.stacks import SortKey, StackPosition
from app.imaging.voi_lut import Window
from app.services.image_stack import ImageStack, describe_voi
from app.services.studies import sort_for_display


def _file(name: str) -> Dataset:
    path = get_testdata_file(name, download=False)
    assert path is not None
    return dcmread(path)


def test_sort_by_instance_number_then_position() -> None:
    items = []
    for number, z in [(3, 0.0), (1, 5.0), (None, 1.0), (2, 9.0), (2, 1.0)]:
        ds = Dataset()
        if number is not None:
            ds.InstanceNumber = number
        ds.ImagePositionPatient = [0, 0, z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SOPInstanceUID = f"1.{number or 0}.{int(z)}"
        items.append(ds)
    ordered = [(ds.get("InstanceNumber"), ds.ImagePositionPatient[2]) for ds in sort_for_display(items)]
    assert ordered == [(1, 5.0), (2, 1.0), (2, 9.0), (3, 0.0), (None, 1.0)]


def test_stack_of_single_and_multiframe() -> None:
    ct, emri, rgb = _file("CT_small.dcm"), _file("emri_small.dcm"), _file("SC_rgb.dcm")
    stack = ImageStack([ct, emri, rgb])
    assert len(stack) == 1 + int(emri.NumberOfFrames) + int(rgb.get("NumberOfFrames", 1))
    at = {ref: i for i, ref in enumerate(stack.frames)}
    first = stack.render(at[StackPosition(0, 0)])
    pipe = GreyPipeline.from_dataset(ct)
    index = pipe.index(ct.pixel_array)
    expected = pipe.render(index, pipe.default_voi(index))
    np.testing.assert_array_equal(first, expected)
    windowed = stack.render(at[StackPosition(0, 0)], Window(0, 100))
    assert not np.array_equal(first, windowed)
    assert stack.render(at[StackPosition(1, 1)]).shape == (emri.Rows, emri.Columns)
    assert stack.render(at[StackPosition(2, 0)]).shape == (rgb.Rows, rgb.Columns, 3)
    assert stack.default_voi(at[StackPosition(2, 0)]) is None
    assert describe_voi(Window(40.2, 400)) == "W 400 L 40"


def test_pipelines_shared_within_a_series() -> None:
    a, b, c = _file("CT_small.dcm"), _file("CT_small.dcm"), _file("CT_small.dcm")
    c.RescaleIntercept = -1000
    stack = ImageStack([a, b, c])
    assert stack.pipeline(0) is stack.pipeline(1)
    assert stack.pipeline(2) is not stack.pipeline(0)


def _slice(number: int, location: float) -> Dataset:
    ds = _file("CT_small.dcm")
    ds.InstanceNumber = number
    ds.SliceLocation = location
    return ds


def test_stack_grows_and_resorts_keeping_caches() -> None:
    """Frames appended while loading go to the end; resort() orders them by the sort key."""
    stack = ImageStack()
    for number, location in [(3, 10.0), (1, 30.0), (2, 20.0)]:
        stack.append(_slice(number, location))
    assert [ref.dataset_index for ref in stack.frames] == [0, 1, 2]  # arrival order until resorted
    before = stack.render(0)  # decoded once, cached by (data set, frame)
    stack.resort()
    assert [int(stack.dataset(i).InstanceNumber) for i in range(3)] == [1, 2, 3]
    stack.resort(SortKey.SLICE_LOCATION)
    assert [float(stack.dataset(i).SliceLocation) for i in range(3)] == [10.0, 20.0, 30.0]
    stack.resort(SortKey.SLICE_LOCATION, descending=True)
    assert [float(stack.dataset(i).SliceLocation) for i in range(3)] == [30.0, 20.0, 10.0]
    assert stack.position_of(StackPosition(0, 0)) == 2
    np.testing.assert_array_equal(stack.render(2), before)


def test_sixteen_bit_index_fast_path_matches_the_general_one() -> None:
    """A 16-bit frame indexes the table in one pass; the result is the clipped offset of the general path."""
    for signed, dtype in ((True, np.int16), (False, np.uint16)):
        pipe = GreyPipeline(16, signed)
        info = np.iinfo(dtype)
        values = np.array([info.min, info.min + 1, -1 if signed else 1, 0, 1, info.max], dtype=dtype)
        general = np.clip(values.astype(np.int64) - pipe.range.minimum, 0, pipe.range.size - 1).astype(np.uint16)
        fast = pipe.index(values)
        assert fast.dtype == np.uint16
        np.testing.assert_array_equal(fast, general)
        np.testing.assert_array_equal(pipe.index(values.astype(np.int32)), general)  # the general path itself


def test_native_sixteen_bit_frames_are_read_in_place() -> None:
    """Uncompressed frames equal the decoder's: 16-in-16 ones are views of Pixel Data; compressed are not taken."""
    from app.imaging.frames import decode_frame
    from app.services.image_stack import native_frame
    from tests.ui.viewer_data import ct_stack

    ds = ct_stack(1, 32)[0]
    view = native_frame(ds, 0)
    assert view is not None and not view.flags.writeable and view.dtype == np.int16
    np.testing.assert_array_equal(view, decode_frame(ds, 0)[0])
    ds.PixelRepresentation = 0
    ds.PixelData = (np.arange(32 * 32, dtype=np.uint16) * 60).tobytes()
    np.testing.assert_array_equal(native_frame(ds, 0), decode_frame(ds, 0)[0])
    ct = _file("CT_small.dcm")
    ct.BitsStored = 8  # bits to mask and sign-extend (PS3.5 8.1.1): masked, no longer a view
    masked = native_frame(ct, 0)
    assert masked is not None and masked.flags.writeable
    np.testing.assert_array_equal(masked, decode_frame(ct, 0)[0])
    raw = np.frombuffer(ct.PixelData, dtype="<i2", count=128 * 128)
    assert masked.min() < 0 <= int(raw.min())  # stored values over 127 became negative
    assert native_frame(_file("emri_small_jpeg_2k_lossless.dcm"), 0) is None  # compressed
