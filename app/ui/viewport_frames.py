"""Which frames a viewport needs to show its position, and asking the frame decoder for the rest.

A frame is shown when its pixels are ready (native, or decoded by a
:class:`~app.ui.frame_decoder.FrameDecoder` on the pool) and, under a presentation state with a
Presentation State Mask (PS3.3 C.11.13), when the mask and contrast frames it subtracts are too
(:func:`~app.imaging.mask_subtraction.subtraction_frames`). :class:`ViewportFrames` asks the
decoder for those first, then :data:`PREFETCH` neighbours in the direction of travel and the one
behind; each request replaces the previous one. When a wanted frame arrives the viewport shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QThreadPool

from app.imaging.mask_subtraction import subtraction_frames
from app.imaging.stacks import StackPosition
from app.ui.frame_decoder import FrameDecoder

if TYPE_CHECKING:
    from app.ui.viewport import Viewport

PREFETCH = 4
"""Frames decoded ahead of the one shown, in the direction of travel (compressed multi-frame images)."""


class ViewportFrames:
    """The frame requests of one viewport (see the module docstring)."""

    def __init__(self, viewport: Viewport, pool: QThreadPool) -> None:
        self.viewport = viewport
        self.decoder = FrameDecoder(pool)
        self.direction = 1
        """+1 while going forward through the stack, -1 backward (prefetch follows it)."""
        self.decoder.signals.decoded.connect(self._decoded)

    def moved(self, old: int, new: int) -> None:
        """The viewport goes from position ``old`` to ``new``: prefetch in that direction."""
        if new != old:
            self.direction = 1 if new > old else -1

    def needed(self, position: int) -> list[StackPosition]:
        """The frames position ``position`` is rendered from: itself, then the frames its mask subtraction reads."""
        vp = self.viewport
        stack = vp.stack
        if stack is None or not 0 <= position < len(stack):
            return []
        ref = stack.frames[position]
        state = vp.presentation_state
        if state is None or "MaskSubtractionSequence" not in state:
            return [ref]
        others = subtraction_frames(stack.datasets[ref.dataset_index], ref.frame, state)
        return [ref, *(StackPosition(ref.dataset_index, f) for f in others if f != ref.frame)]

    def ready(self, position: int) -> bool:
        """True when position ``position`` can be rendered without decoding on this thread."""
        stack = self.viewport.stack
        return stack is not None and all(stack.is_decoded(ref) for ref in self.needed(position))

    def request(self) -> None:
        """Ask the decoder for the frames of the current position not ready yet, then the neighbours'."""
        vp = self.viewport
        stack = vp.stack
        if stack is None or not len(stack) or not (stack.needs_decoding or self.decoder.busy):
            return
        position = vp.position
        ahead = [position + self.direction * d for d in range(1, PREFETCH + 1)]
        behind = [position - self.direction]
        wanted: list[StackPosition] = []
        for p in (position, *ahead, *behind):
            if 0 <= p < len(stack):
                wanted.extend(ref for ref in self.needed(p) if ref not in wanted and not stack.is_decoded(ref))
        if wanted or self.decoder.busy:
            self.decoder.request(stack, wanted)

    def cancel(self) -> None:
        self.decoder.cancel()

    def _decoded(self, stack: object, ref: StackPosition) -> None:
        """A frame came back from the decoder: show the current position once all it needs is there."""
        vp = self.viewport
        current = vp.stack
        if stack is not current or current is None or not vp.position < len(current):
            return
        if ref in self.needed(vp.position) and self.ready(vp.position):
            vp.show_current()
