"""One stack position rendered with a viewport's :class:`~app.services.view_state.ViewState`.

The pixels come from :class:`~app.services.image_stack.ImageStack` (the grey pipeline's cached
table, or RGB); the overlays (PS3.3 C.9.2) and the display shutter (C.7.6.11) are the
pipeline's layers (:mod:`app.imaging.overlays`, :mod:`app.imaging.shutters`), kept apart and
composited by :meth:`app.imaging.render.RenderedFrame.composite` with the state's rotation
and flip (C.10.6). With a presentation state set, the frame is rendered by
:func:`app.imaging.render.render_frame` under it instead (its VOI, shutters, overlays and
graphics), the user's window and spatial transform still winning when set.

Invert is applied to the display values (255 - v) after the presentation stage.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

import numpy as np
from pydicom.dataset import Dataset

from app.imaging.overlays import Overlay, OverlayLayer, overlay_layers, overlays_from
from app.imaging.render import RenderedFrame, render_frame
from app.imaging.shutters import ShutterLayer, shutter_layer
from app.imaging.spatial import SpatialTransform
from app.imaging.stacks import StackPosition
from app.imaging.voi_lut import VOI
from app.services.image_stack import ImageStack
from app.services.view_state import ViewState

_OVERLAY_CACHE = 64


class StackRenderer:
    """Renders positions of one stack; caches each frame's overlay masks and each image's shutter."""

    def __init__(self, stack: ImageStack) -> None:
        self.stack = stack
        self._overlays: OrderedDict[StackPosition, list[OverlayLayer]] = OrderedDict()
        self._shutters: dict[int, ShutterLayer | None] = {}
        self._planes: dict[int, list[Overlay]] = {}

    def _overlay_planes(self, dataset_index: int) -> list[Overlay]:
        planes = self._planes.get(dataset_index)
        if planes is None:
            planes = overlays_from(self.stack.datasets[dataset_index])
            self._planes[dataset_index] = planes
        return planes

    def overlay_groups(self, position: int) -> tuple[int, ...]:
        """The overlay groups (0x6000...) of the image at ``position``."""
        return tuple(o.group for o in self._overlay_planes(self.stack.frames[position].dataset_index))

    def overlays(self, position: int) -> list[OverlayLayer]:
        """Every overlay layer of the frame at ``position`` (masks cached for the last few frames)."""
        ref = self.stack.frames[position]
        layers = self._overlays.get(ref)
        if layers is None:
            ds = self.stack.datasets[ref.dataset_index]
            planes = self._overlay_planes(ref.dataset_index)
            layers = overlay_layers(ds, ref.frame, overlays=planes) if planes else []
            self._overlays[ref] = layers
            if len(self._overlays) > _OVERLAY_CACHE:
                self._overlays.popitem(last=False)
        return layers

    def shutter(self, position: int) -> ShutterLayer | None:
        """The image's own display shutter (PS3.3 C.7.6.11), or None."""
        ref = self.stack.frames[position]
        if ref.dataset_index not in self._shutters:
            ds = self.stack.datasets[ref.dataset_index]
            self._shutters[ref.dataset_index] = shutter_layer(ds, (int(ds.Rows), int(ds.Columns)))
        return self._shutters[ref.dataset_index]

    def voi(self, position: int, state: ViewState) -> VOI | None:
        """The VOI in use at ``position``: the user's window on grey images, else the image's own."""
        if not self.stack.is_grey(position):
            return None
        return state.window if state.window is not None else self.stack.default_voi(position)

    def render(self, position: int, state: ViewState, presentation_state: Dataset | None = None) -> RenderedFrame:
        """The frame at ``position`` as the viewport shows it (before the drawn layers)."""
        if presentation_state is not None:
            return self._render_with_state(position, state, presentation_state)
        voi = self.voi(position, state)
        pixels = self.stack.render(position, voi)
        if state.invert:
            pixels = np.subtract(255, pixels, dtype=np.uint8)
        shutter = self.shutter(position) if state.shutters else None
        layers = [o for o in self.overlays(position) if state.overlay_shown(o.group)]
        return RenderedFrame(pixels, shutter, layers, state.transform, None, voi)

    def _render_with_state(self, position: int, state: ViewState, ps: Dataset) -> RenderedFrame:
        ref = self.stack.frames[position]
        image = self.stack.datasets[ref.dataset_index]
        window = state.window if self.stack.is_grey(position) else None
        stack = self.stack
        frame = render_frame(
            image, ref.frame, ps, window=window, decoded=stack.pixels(position),
            frames=lambda index: stack.pixels_of(StackPosition(ref.dataset_index, index)),
        )  # fmt: skip
        pixels = np.subtract(255, frame.pixels, dtype=np.uint8) if state.invert else frame.pixels
        transform = state.transform if state.transform != SpatialTransform() else frame.transform
        return replace(
            frame,
            pixels=pixels,
            transform=transform,
            shutter=frame.shutter if state.shutters else None,
            overlays=[o for o in frame.overlays if state.overlay_shown(o.group)],
        )
