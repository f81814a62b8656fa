"""Cine: playing a stack (the frames of a multi-frame image, or a series' images) in a loop.

The rate comes from the object's Cine Module (:func:`app.services.view_state.cine_rate`:
Recommended Display Frame Rate, Cine Rate, Frame Time; PS3.3 C.7.6.5) when playing starts,
and can be changed while playing (:meth:`Cine.set_rate`). A QTimer on the GUI thread steps
the viewport; the stack's frames are decoded on demand and cached (a few dozen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from app.services.view_state import MAX_CINE_FPS, cine_rate

if TYPE_CHECKING:
    from app.ui.viewport import Viewport


class Cine(QObject):
    """Plays one viewport. Signals: ``running_changed(bool)``, ``rate_changed(float)``."""

    running_changed = Signal(bool)
    rate_changed = Signal(float)

    def __init__(self, viewport: Viewport) -> None:
        super().__init__(viewport)
        self.viewport = viewport
        self.rate = 0.0  # 0 = from the object when playing starts
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.advance)

    @property
    def running(self) -> bool:
        return self.timer.isActive()

    def object_rate(self) -> float:
        """The rate the current image's Cine Module asks for."""
        ds = self.viewport.current_dataset()
        return cine_rate(ds) if ds is not None else 10.0

    def set_rate(self, fps: float) -> None:
        """Frames per second (1..MAX_CINE_FPS); 0 goes back to the object's rate."""
        self.rate = 0.0 if fps <= 0 else min(max(fps, 1.0), MAX_CINE_FPS)
        if self.running:
            self.timer.setInterval(round(1000.0 / self.effective_rate()))
        self.rate_changed.emit(self.effective_rate())

    def effective_rate(self) -> float:
        return self.rate or self.object_rate()

    def start(self) -> None:
        stack = self.viewport.stack
        if stack is None or len(stack) < 2:
            return
        self.timer.start(round(1000.0 / self.effective_rate()))
        self.running_changed.emit(True)

    def stop(self) -> None:
        if self.running:
            self.timer.stop()
            self.running_changed.emit(False)

    def toggle(self) -> None:
        self.stop() if self.running else self.start()

    def advance(self) -> None:
        """Next frame, back to the first after the last."""
        stack = self.viewport.stack
        if stack is None or not len(stack):
            self.stop()
            return
        self.viewport.go_to((self.viewport.position + 1) % len(stack))
