"""A viewport's progressive load: a :class:`~app.ui.series_loader.SeriesLoader` and what it delivers.

The loader decodes one-frame compressed images on its thread as they arrive
(:func:`~app.services.decoded_frames.decode_in_place`: one decoded copy kept, the compressed
one dropped). The first data set is shown as soon as it arrives (``first_image``); later ones are appended
to the stack and put in sort order every :data:`RESORT_EVERY` data sets and at the end,
keeping the frame on screen. The progress bar and Cancel button show while loading; the
loader warms the viewport's corner text cache on its thread. A loader is kept referenced
until its thread is done with it.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset

from app.services.decoded_frames import decode_in_place
from app.services.series_source import SeriesSource
from app.services.view_render import StackRenderer
from app.ui.series_loader import SeriesLoader

if TYPE_CHECKING:
    from app.ui.viewport import Viewport

log = logging.getLogger(__name__)


def release_free_memory() -> None:
    """Give freed heap pages back to the system after a load (glibc ``malloc_trim``; elsewhere nothing).

    A series arrives as many transient buffers (HTTP chunks, multipart parts) of about the size
    of its images; once they are freed glibc keeps most of them mapped, so the process would
    hold about twice the pixel data it uses.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass

RESORT_EVERY = 32
_RUNNING: set[SeriesLoader] = set()


class ViewportLoading:
    """Feeds one viewport from a series source."""

    def __init__(self, viewport: Viewport) -> None:
        self.viewport = viewport
        self.loader: SeriesLoader | None = None
        self._pending = 0

    @property
    def active(self) -> bool:
        return self.loader is not None

    def start(self, source: SeriesSource) -> None:
        """Start loading ``source`` (the viewport has been cleared)."""
        vp = self.viewport
        self.cancel()
        self._pending = 0
        vp.progress.setRange(0, source.count_hint() or 0)
        vp.progress.setValue(0)
        self._show_progress(True)
        loader = SeriesLoader(source, prepare=vp.text_cache.prepare, decode=decode_in_place)
        loader.signals.arrived.connect(functools.partial(self._arrived, loader))
        loader.signals.finished.connect(functools.partial(self._finished, loader))
        loader.signals.failed.connect(functools.partial(self._failed, loader))
        loader.signals.cancelled.connect(functools.partial(self._failed, loader, None))
        self.loader = loader
        _RUNNING.add(loader)
        loader.signals.done.connect(functools.partial(_RUNNING.discard, loader))
        vp.pool.start(loader)

    def cancel(self) -> None:
        """Stop loading (what arrived stays shown)."""
        if self.loader is not None:
            self.loader.cancel()
            self.loader = None
        self._show_progress(False)

    def _show_progress(self, shown: bool) -> None:
        self.viewport.progress.setVisible(shown)
        self.viewport.cancel_button.setVisible(shown)

    def _arrived(self, loader: SeriesLoader, batch: list[Dataset]) -> None:
        vp = self.viewport
        if loader is not self.loader or vp.stack is None:
            return
        first = not len(vp.stack)
        for ds in batch:
            vp.stack.append(ds)
        self._pending += len(batch)
        vp.progress.setValue(len(vp.stack.datasets))
        if first:
            vp.renderer = StackRenderer(vp.stack)
            self._pending = 0
            vp.update_scroll_range()
            vp.canvas.set_message("")
            vp.show_current()
            loader.first_shown.set()
            vp.first_image.emit()
        elif self._pending >= RESORT_EVERY:
            self._pending = 0
            vp.resort()
        else:
            vp.update_scroll_range()

    def _finished(self, loader: SeriesLoader, count: int) -> None:
        vp = self.viewport
        if loader is not self.loader:
            return
        self.loader = None
        self._show_progress(False)
        if vp.stack is None or not len(vp.stack):
            vp.canvas.set_message("The series has no images.")
            vp.load_failed.emit("The series has no images.")
            return
        vp.resort()
        release_free_memory()
        vp.loaded.emit(count)

    def _failed(self, loader: SeriesLoader, exc: object) -> None:
        if loader is not self.loader:
            return
        self.loader = None
        self._show_progress(False)
        if exc is None:
            return
        message = f"Cannot open the series: {exc}"
        log.warning("%s", message)
        self.viewport.canvas.set_message(message)
        self.viewport.load_failed.emit(message)
