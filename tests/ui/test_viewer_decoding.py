"""The viewer never decodes on the GUI thread (issue 5, responsiveness).

Real compressed data made with pydicom's encoders: an RLE Lossless multi-frame image (frames
decoded on demand on a worker, neighbours prefetched, stale requests dropped) and a JPEG 2000
Lossless stack of one-frame images (decoded by the loader as they arrive, the compressed copy
dropped). Which thread decodes is recorded by :func:`app.imaging.frames.add_decode_listener`,
called by the real :func:`~app.imaging.frames.decode_frame`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    RLELossless,
)
from pytestqt.qtbot import QtBot

from app.imaging.frames import add_decode_listener
from app.imaging.pipeline import GreyPipeline
from app.ui.viewer_window import ViewerWindow
from app.ui.viewport import PREFETCH, Viewport
from tests.ui.viewer_data import ct_stack, phantom
from tests.ui.viewer_support import open_series, viewer_fixture
from tests.unit.imaging.synth import image

__all__ = ["viewer_fixture"]

SIZE = 128
FRAMES = 40


class DecodeLog:
    """(thread id, frame) of every decode_frame call, optionally held at a gate."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()

    def __call__(self, ds: Dataset, index: int) -> None:
        with self.lock:
            self.calls.append((threading.get_ident(), index))
        assert self.gate.wait(10), "the test never opened the gate"

    def frames_since(self, start: int) -> set[int]:
        with self.lock:
            return {frame for _, frame in self.calls[start:]}

    def threads(self) -> set[int]:
        with self.lock:
            return {thread for thread, _ in self.calls}


@pytest.fixture(name="decodes")
def decodes_fixture() -> Iterator[DecodeLog]:
    log = DecodeLog()
    remove = add_decode_listener(log)
    yield log
    log.gate.set()
    remove()


def rle_multiframe() -> tuple[Dataset, np.ndarray]:
    """A 40-frame signed 16-bit image compressed with pydicom's RLE Lossless encoder, and its frames."""
    frames = np.stack([phantom(SIZE, z * 7.0) + np.int16(z) for z in range(FRAMES)])
    ds = image(frames, signed=True, sop_class=MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
               PatientName="Decode^Test", PatientID="DEC1", SeriesDescription="RLE frames", InstanceNumber=1,
               RescaleIntercept=0, RescaleSlope=1, WindowCenter=40, WindowWidth=400)  # fmt: skip
    ds.compress(RLELossless, frames, generate_instance_uid=False)
    return ds, frames


def expected_display(ds: Dataset, stored: np.ndarray) -> np.ndarray:
    pipe = GreyPipeline.from_dataset(ds)
    index = pipe.index(stored)
    return pipe.render(index, pipe.default_voi(index))


def shows(vp: Viewport, image: np.ndarray) -> bool:
    shown = vp.canvas.displayed_array()
    return shown is not None and shown.shape == image.shape and bool(np.array_equal(shown, image))


def test_multiframe_frames_decode_on_workers_and_stale_requests_drop(
    qtbot: QtBot, viewer: ViewerWindow, decodes: DecodeLog
) -> None:
    ds, frames = rle_multiframe()
    images = [expected_display(ds, f) for f in frames]
    vp = open_series(qtbot, viewer, [ds])
    qtbot.waitUntil(lambda: shows(vp, images[0]), timeout=10000)
    qtbot.waitUntil(lambda: not vp.decoder.busy, timeout=10000)
    assert decodes.frames_since(0) == set(range(PREFETCH + 1))  # the first frame and the ones after it
    assert vp.canvas.view_text is not None

    # hold the decoder inside frame 10, then scroll on fast: no backlog builds up
    decodes.gate.clear()
    start = len(decodes.calls)
    vp.go_to(10)
    qtbot.waitUntil(lambda: len(decodes.calls) > start, timeout=5000)
    for position in range(11, 36):
        vp.go_to(position)
    assert vp.position == 35
    assert shows(vp, images[0]), "while the wanted frame decodes, the last image stays on screen"
    decodes.gate.set()
    qtbot.waitUntil(lambda: shows(vp, images[35]), timeout=10000)
    qtbot.waitUntil(lambda: not vp.decoder.busy, timeout=10000)
    wanted_last = {35, *range(36, 36 + PREFETCH), 34}
    assert decodes.frames_since(start) == {10} | wanted_last  # 11..33 were dropped, never decoded

    # back to a prefetched frame: shown at once, nothing decoded
    before = len(decodes.calls)
    vp.go_to(36)
    assert shows(vp, images[36])
    qtbot.waitUntil(lambda: not vp.decoder.busy, timeout=10000)
    assert decodes.frames_since(before) == set()

    assert decodes.calls and threading.main_thread().ident not in decodes.threads()
    np.testing.assert_array_equal(vp.stack.pixels(35), frames[35])  # type: ignore[union-attr]


def test_compressed_stack_decodes_in_the_loader_and_keeps_one_copy(
    qtbot: QtBot, viewer: ViewerWindow, decodes: DecodeLog
) -> None:
    series = ct_stack(6, SIZE, overlay=False)
    originals = [np.frombuffer(ds.PixelData, dtype="<i2").reshape(SIZE, SIZE).copy() for ds in series]
    images = [expected_display(ds, stored) for ds, stored in zip(series, originals, strict=True)]
    for ds in series:
        ds.compress(JPEG2000Lossless, generate_instance_uid=False)
    compressed = sum(len(ds.PixelData) for ds in series)
    vp = open_series(qtbot, viewer, series)
    qtbot.waitUntil(lambda: shows(vp, images[0]), timeout=10000)
    for position in range(len(series)):
        vp.go_to(position)
        assert shows(vp, images[position])  # already decoded: shown at once
    assert decodes.frames_since(0) == {0} and len(decodes.calls) == len(series)  # each once, by the loader
    assert threading.main_thread().ident not in decodes.threads()
    assert vp.stack is not None
    for ds, stored in zip(vp.stack.datasets, originals, strict=True):
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian  # decoded in place ...
        assert len(ds.PixelData) == stored.nbytes  # ... the compressed copy dropped
        np.testing.assert_array_equal(np.frombuffer(ds.PixelData, dtype="<i2").reshape(SIZE, SIZE), stored)
    assert compressed < sum(o.nbytes for o in originals)  # it really was compressed


def test_start_up_warm_up_opens_a_hidden_image_once(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The application's warm-up runs the first-image path (load, render, corner text, paint) once per process."""
    from PySide6.QtCore import QThreadPool

    from app.ui import viewer_warmup

    monkeypatch.setattr(viewer_warmup, "_DONE", [])
    pool = QThreadPool()
    shown: list[np.ndarray | None] = []
    warming = viewer_warmup.warm_up_viewer(pool)
    assert warming is not None and not warming.isVisible()
    warming.first_image.connect(lambda: shown.append(warming.canvas.displayed_array()))
    qtbot.waitUntil(lambda: bool(warming.warmed), timeout=10000)  # type: ignore[attr-defined]
    assert len(shown) == 1 and shown[0] is not None and shown[0].shape == (viewer_warmup.SIZE, viewer_warmup.SIZE)
    assert len(set(np.unique(shown[0]))) > 2  # the synthetic ramp through its window, not a blank
    assert viewer_warmup.warm_up_viewer(pool) is None  # once per process
    pool.waitForDone(5000)
