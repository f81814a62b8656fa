"""Loading a :class:`~app.services.series_source.SeriesSource` on a pool thread, progressively.

The first data set is handed to the GUI thread as soon as it arrives (so the first image
shows while the rest load); later ones in batches (every :data:`BATCH_SECONDS` or
:data:`BATCH_SIZE` data sets) so a fast source does not flood the event loop. Cancel sets
the token the source checks between data sets. Connect the signals before starting it on a
``QThreadPool``. ``decode`` (optional) runs on the pool thread for every data set before it is
handed over (the viewport decodes one-frame compressed images there, so the GUI thread never
decodes them); ``prepare`` (optional) for every data set but the first (the viewport warms its
corner text cache there).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pydicom.dataset import Dataset
from PySide6.QtCore import QObject, QRunnable, Signal

from app.services.cancel import CancelledError, CancelToken
from app.services.series_source import SeriesSource

log = logging.getLogger(__name__)

BATCH_SECONDS = 0.1
BATCH_SIZE = 64
FIRST_IMAGE_GRACE = 0.5
"""Seconds the loader waits after the first data set for the viewer to show it (it parses the
next ones in Python, which would otherwise share the interpreter lock with the first render)."""


class LoaderSignals(QObject):
    """``arrived(list[Dataset])``, ``finished(count)``, ``failed(exception)``, ``cancelled()``."""

    arrived = Signal(object)
    finished = Signal(int)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()


class SeriesLoader(QRunnable):
    """Reads ``source.load(cancel)`` on a pool thread and emits the data sets in batches."""

    def __init__(
        self,
        source: SeriesSource,
        prepare: Callable[[Dataset], None] | None = None,
        decode: Callable[[Dataset], object] | None = None,
    ) -> None:
        super().__init__()
        self.prepare = prepare
        self.decode = decode
        self.setAutoDelete(False)
        self.source = source
        self.cancel_token = CancelToken()
        self.signals = LoaderSignals()
        self.done = False
        self.first_shown = threading.Event()

    def cancel(self) -> None:
        self.cancel_token.cancel()
        self.first_shown.set()

    def run(self) -> None:
        try:
            self._load()
        finally:
            self.signals.done.emit()

    def _load(self) -> None:
        batch: list[Dataset] = []
        count = 0
        last = time.monotonic()
        try:
            for ds in self.source.load(self.cancel_token):
                if self.decode is not None:
                    self.decode(ds)
                if self.prepare is not None and count:  # the first one goes to the screen at once
                    self.prepare(ds)
                batch.append(ds)
                count += 1
                now = time.monotonic()
                if count == 1 or len(batch) >= BATCH_SIZE or now - last >= BATCH_SECONDS:
                    self.signals.arrived.emit(batch)
                    batch, last = [], now
                    if count == 1:  # leave the interpreter to the GUI thread until the image is up
                        self.first_shown.wait(FIRST_IMAGE_GRACE)
            self.cancel_token.raise_if_cancelled()
            if batch:
                self.signals.arrived.emit(batch)
        except CancelledError:
            self.done = True
            self.signals.cancelled.emit()
            return
        except Exception as exc:  # every failure goes back to the UI
            log.debug("loading %s failed: %s", getattr(self.source, "title", "?"), exc)
            self.done = True
            self.signals.failed.emit(exc)
            return
        self.done = True
        self.signals.finished.emit(count)
