"""Stored values of the frames annotations measure (ROI mean and SD), never decoded on the GUI thread.

Region statistics (:func:`app.services.annotations_model.measure`) read the stored values of a
grey frame. :class:`RegionPixels` takes them from the viewer's stack (:class:`~app.services.image_stack.ImageStack`)
when the frame is ready there (native, or already decoded by the viewport's workers, as the frame
shown is); otherwise it has a worker decode the frame into the stack and signals ``ready(uid, frame)``
so that the measurements are made again (issue 5: the UI thread never blocks on decoding).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np
from pydicom.dataset import Dataset
from PySide6.QtCore import QObject, Signal

from app.imaging.frames import is_grey
from app.imaging.stacks import StackPosition
from app.services.image_stack import ImageStack
from app.ui.workers import WorkerPool

log = logging.getLogger(__name__)

FRAMES_KEPT = 8
"""Frames whose stored values are kept here (the stack's own cache may drop them sooner)."""


class RegionPixels(QObject):
    """See the module docstring. ``stacks`` gives the stacks shown (the images measured come from them).

    Signal: ``ready(str, int)``: the frame (SOP Instance UID, 0-based frame) is decoded; measure again.
    """

    ready = Signal(str, int)

    def __init__(self, stacks: Callable[[], Iterable[ImageStack]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stacks = stacks
        self._kept: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._decoding: set[tuple[str, int]] = set()
        self._workers: WorkerPool | None = None

    def pending(self, image: Dataset, frame: int) -> bool:
        """True while frame ``frame`` of ``image`` is being decoded for its statistics."""
        return (str(image.SOPInstanceUID), frame) in self._decoding

    def values(self, image: Dataset, frame: int) -> np.ndarray | None:
        """Stored values of frame ``frame`` of a grey ``image``; None for colour, while decoding, or on failure."""
        if not is_grey(image):
            return None
        key = (str(image.SOPInstanceUID), frame)
        found = self._kept.get(key)
        if found is not None:
            return found
        held = self._stack_of(image)
        if held is None:
            return None
        stack, index = held
        ref = StackPosition(index, frame)
        if not stack.is_decoded(ref):
            self._decode(stack, ref, key)
            return None
        try:
            found = stack.pixels_of(ref)
        except Exception as exc:  # the frame cannot be decoded: measure without statistics
            log.warning("no pixel statistics for frame %d of %s: %s", frame + 1, key[0], exc)
            return None
        self._kept[key] = found
        if len(self._kept) > FRAMES_KEPT:
            self._kept.popitem(last=False)
        return found

    def _stack_of(self, image: Dataset) -> tuple[ImageStack, int] | None:
        """The stack holding ``image`` (this very data set) and its instance index there."""
        for stack in self.stacks():
            for index, ds in enumerate(stack.datasets):
                if ds is image:
                    return stack, index
        return None

    def _decode(self, stack: ImageStack, ref: StackPosition, key: tuple[str, int]) -> None:
        if key in self._decoding:
            return
        self._decoding.add(key)
        if self._workers is None:
            self._workers = WorkerPool(self, max_threads=1)

        def decoded(_result: object = None) -> None:
            self._decoding.discard(key)
            self.ready.emit(*key)

        self._workers.submit(stack.decode, ref, on_done=decoded, on_error=lambda _exc: decoded())
