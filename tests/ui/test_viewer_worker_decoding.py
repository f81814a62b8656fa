"""What else the viewer reads of a compressed multi-frame image is decoded on workers too (issue 5).

ROI statistics of an annotation and the mask frames a presentation state subtracts (PS3.3
C.11.13) come from frames decoded on the pool, never from the GUI thread. Which thread decodes
is recorded by :func:`app.imaging.frames.add_decode_listener` (the real decoder calls it);
the expected values come from the uncompressed frames.
"""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless, XRayAngiographicImageStorage
from pytestqt.qtbot import QtBot

from app.imaging.calibration import calibration_from
from app.imaging.render import render_frame
from app.services.annotations_model import Kind, UserAnnotation, measure
from app.ui.viewer_window import ViewerWindow
from tests.ui.annotation_support import open_annotated, press_drag
from tests.ui.test_viewer_decoding import DecodeLog, decodes_fixture, expected_display, rle_multiframe, shows
from tests.ui.viewer_support import open_series, viewer_fixture
from tests.unit.imaging.synth import image, mask_item, state_of

__all__ = ["decodes_fixture", "viewer_fixture"]

XA_FRAMES, XA_SIZE = 12, 96


def on_gui_thread(log: DecodeLog, start: int = 0) -> bool:
    """True when a decode since call ``start`` ran on the GUI thread."""
    with log.lock:
        return any(thread == threading.main_thread().ident for thread, _ in log.calls[start:])


def test_roi_statistics_of_a_compressed_multiframe_come_from_worker_decoded_frames(
    qtbot: QtBot, viewer: ViewerWindow, decodes: DecodeLog
) -> None:
    ds, frames = rle_multiframe()
    controller, vp = open_annotated(qtbot, viewer, [ds])
    vp.go_to(7)
    qtbot.waitUntil(lambda: shows(vp, expected_display(ds, frames[7])), timeout=10000)
    controller.set_kind(Kind.RECTANGLE)
    press_drag(vp, (30, 40), (90, 70))  # on the frame shown: decoded already, for display
    (drawn,) = controller.annotations
    assert drawn.frame == 7
    calibration = calibration_from(ds, 7)
    exact = measure(drawn, frames[7], ds, calibration).roi
    found = controller.measurement(drawn).roi
    assert found is not None and exact is not None
    assert (found.mean, found.sd) == (exact.mean, exact.sd)
    other = measure(drawn, frames[0], ds, calibration).roi
    assert other is not None and other.mean != exact.mean  # the frames differ: frame 7's values were used

    # an ROI on a frame not decoded yet (not shown, not prefetched): no statistics until a worker decodes it
    far = UserAnnotation(Kind.ELLIPSE, ((20.0, 20.0), (100.0, 90.0)), str(ds.SOPInstanceUID), 30)
    assert vp.stack is not None and not vp.stack.is_decoded(vp.stack.frames[30])
    decodes.gate.clear()
    start = len(decodes.calls)
    controller.add(far)
    assert controller.measurement(far).roi is None  # the GUI thread did not wait for the decoder
    qtbot.waitUntil(lambda: len(decodes.calls) > start, timeout=5000)
    decodes.gate.set()
    expected_far = measure(far, frames[30], ds, calibration_from(ds, 30)).roi
    assert expected_far is not None
    qtbot.waitUntil(lambda: controller.measurement(far).roi is not None, timeout=10000)
    roi = controller.measurement(far).roi
    assert roi is not None and (roi.mean, roi.sd) == (expected_far.mean, expected_far.sd)
    assert 30 in decodes.frames_since(start)
    assert decodes.calls and not on_gui_thread(decodes)


def xa_multiframe() -> tuple[Dataset, Dataset]:
    """A 12-bit XA-like run compressed with RLE Lossless, and the same image uncompressed."""
    rng = np.random.default_rng(11)
    base = rng.integers(800, 1200, size=(XA_SIZE, XA_SIZE))
    vessel = np.zeros((XA_SIZE, XA_SIZE), dtype=np.int64)
    vessel[:, XA_SIZE // 2 - 4 : XA_SIZE // 2 + 4] = 1
    frames = np.stack([base + vessel * (40 * f) + rng.integers(0, 20, size=base.shape) for f in range(XA_FRAMES)])
    frames = frames.astype(np.uint16)
    ds = image(frames, bits_stored=12, sop_class=XRayAngiographicImageStorage, PatientName="Mask^Test",
               PatientID="MSK1", Modality="XA", SeriesDescription="XA run", InstanceNumber=1)  # fmt: skip
    native = copy.deepcopy(ds)
    ds.compress(RLELossless, frames, generate_instance_uid=False)
    return ds, native


def mask_state(ds: Dataset, mask_frames: list[int]) -> Dataset:
    """A GSPS of ``ds`` with a Presentation State Mask (PS3.3 C.11.13): AVG_SUB of ``mask_frames``."""
    return state_of(ds, mask_item("AVG_SUB", MaskFrameNumbers=mask_frames))


@pytest.mark.parametrize("position", [0, 8])
def test_mask_frames_of_a_presentation_state_decode_on_workers(
    qtbot: QtBot, viewer: ViewerWindow, decodes: DecodeLog, position: int
) -> None:
    ds, native = xa_multiframe()
    masks = [10, 11]  # 1-based, far from the frames shown and prefetched
    state = mask_state(ds, masks)
    wanted = render_frame(native, position, state).pixels  # the reference: uncompressed, decoded here
    first = len(decodes.calls)
    vp = open_series(qtbot, viewer, [ds])
    qtbot.waitUntil(lambda: vp.canvas.displayed_array() is not None, timeout=10000)
    vp.go_to(position)
    vp.set_presentation_state(state, "Subtracted")
    qtbot.waitUntil(lambda: shows(vp, wanted), timeout=10000)
    assert {9, 10} <= decodes.frames_since(first)  # the mask frames were decoded (prefetched at 8) ...
    assert not on_gui_thread(decodes, first)  # ... on workers, as every other frame of the viewer
    assert len(np.unique(wanted)) > 2 and not np.array_equal(wanted, expected_display(native, native.pixel_array[0]))
