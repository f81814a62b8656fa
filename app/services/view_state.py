"""What the user did to one viewport's image, as a value: window, invert, zoom, pan, rotation, flip, layers.

The viewer keeps one :class:`ViewState` per viewport and replaces it on every gesture
(:func:`dataclasses.replace`); rendering (:mod:`app.services.view_render`) and the text layer
read it. Rotation and flip follow PS3.3 C.10.6.1 (clockwise rotation, then horizontal flip),
so the state maps onto a presentation state's Spatial Transformation Module when saved.

Coordinates: *image* points are (column, row) in continuous pixel coordinates (the image's
top left corner at 0.0, PS3.3 C.10.5.1.2 PIXEL units); *displayed* points are the same after
the rotation and flip (:class:`~app.imaging.view_geometry.ViewGeometry`); *widget* points are
displayed points scaled by :attr:`ViewState.scale` and shifted so the image is centred, then
panned by :attr:`ViewState.pan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from pydicom.dataset import Dataset

from app.imaging.spatial import SpatialTransform
from app.imaging.view_geometry import ViewGeometry
from app.imaging.voi_lut import Window

SizeMode = Literal["fit", "true", "zoom"]
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.05, 40.0
DEFAULT_CINE_FPS = 10.0
MAX_CINE_FPS = 120.0


@dataclass(frozen=True)
class ViewState:
    """The user's view of a stack (applies to every frame of it).

    Attributes
    ----------
    window
        The user's window, None for each image's own VOI (PS3.3 C.11.2).
    invert
        Display values reversed (white <-> black) after the pipeline.
    size_mode
        "fit" (scale to the widget), "true" (1:1 physical size on the screen) or "zoom" (:attr:`zoom`).
    zoom
        Screen pixels per displayed image pixel in "zoom" mode.
    pan
        Shift of the image centre from the widget centre, in widget pixels.
    rotation, flip
        Clockwise rotation (0, 90, 180, 270) then horizontal flip (PS3.3 C.10.6.1).
    overlays
        Overlay groups shown (0x6000...), None for all of them (PS3.3 C.9.2).
    shutters
        Display shutters applied (PS3.3 C.7.6.11).
    """

    window: Window | None = None
    invert: bool = False
    size_mode: SizeMode = "fit"
    zoom: float = 1.0
    pan: tuple[float, float] = (0.0, 0.0)
    rotation: int = 0
    flip: bool = False
    overlays: frozenset[int] | None = None
    shutters: bool = True

    @property
    def transform(self) -> SpatialTransform:
        return SpatialTransform(self.rotation, self.flip)

    def rotated(self, degrees: int) -> ViewState:
        """Turned clockwise by ``degrees`` (a multiple of 90; negative = counter-clockwise) on screen.

        After a flip the picture on screen is mirrored, so a clockwise turn of what the user
        sees is a counter-clockwise turn of the image before the flip.
        """
        step = -degrees if self.flip else degrees
        return replace(self, rotation=(self.rotation + step) % 360)

    def flipped(self) -> ViewState:
        """Mirrored left-right on screen."""
        return replace(self, flip=not self.flip)

    def zoomed(self, factor: float, current_scale: float) -> ViewState:
        """Zoom mode at ``current_scale * factor`` (clamped to MIN_ZOOM..MAX_ZOOM)."""
        return replace(self, size_mode="zoom", zoom=min(max(current_scale * factor, MIN_ZOOM), MAX_ZOOM))

    def reset(self) -> ViewState:
        """Everything back to the image's own display (overlay and shutter choices kept)."""
        return ViewState(overlays=self.overlays, shutters=self.shutters)

    def with_overlay(self, group: int, shown: bool, available: tuple[int, ...]) -> ViewState:
        """One overlay group shown or hidden (``available``: the groups the image has)."""
        current = set(available) if self.overlays is None else set(self.overlays)
        current = current | {group} if shown else current - {group}
        return replace(self, overlays=None if current >= set(available) else frozenset(current))

    def overlay_shown(self, group: int) -> bool:
        return self.overlays is None or group in self.overlays


def scale_for(
    state: ViewState,
    displayed_shape: tuple[int, int],
    widget_size: tuple[int, int],
    pixel_size_mm: tuple[float, float] | None,
    screen_pixel_mm: float | None,
    aspect: float = 1.0,
) -> float:
    """Screen pixels per displayed image column.

    Parameters
    ----------
    displayed_shape
        (rows, columns) of the displayed frame (after rotation).
    widget_size
        (width, height) of the widget.
    pixel_size_mm
        (row spacing, column spacing) of the displayed frame in mm (calibration), None when uncalibrated.
    screen_pixel_mm
        Size of one screen pixel in mm (from the screen's physical DPI).
    aspect
        Height / width of one displayed pixel (drawn taller or wider).
    """
    rows, columns = displayed_shape
    width, height = widget_size
    if state.size_mode == "zoom":
        return state.zoom
    if state.size_mode == "true" and pixel_size_mm is not None and screen_pixel_mm:
        return pixel_size_mm[1] / screen_pixel_mm
    if not rows or not columns:
        return 1.0
    return max(min(width / columns, height / (rows * aspect)), 1e-6)


@dataclass(frozen=True)
class Placement:
    """Where the displayed frame sits in the widget: scale (x and y) and the top left corner."""

    scale_x: float
    scale_y: float
    left: float
    top: float

    def to_widget(self, x: float, y: float) -> tuple[float, float]:
        """Widget point of a displayed-frame point."""
        return self.left + x * self.scale_x, self.top + y * self.scale_y

    def from_widget(self, x: float, y: float) -> tuple[float, float]:
        """Displayed-frame point of a widget point."""
        return (x - self.left) / self.scale_x, (y - self.top) / self.scale_y


def placement(
    displayed_shape: tuple[int, int],
    widget_size: tuple[int, int],
    scale: float,
    pan: tuple[float, float],
    aspect: float,
) -> Placement:
    """The image centred in the widget at ``scale`` (x) and ``scale * aspect`` (y), then panned."""
    rows, columns = displayed_shape
    width, height = widget_size
    sx, sy = scale, scale * aspect
    return Placement(sx, sy, (width - columns * sx) / 2 + pan[0], (height - rows * sy) / 2 + pan[1])


def to_image(geometry: ViewGeometry, x: float, y: float) -> tuple[float, float]:
    """Image (column, row) of a displayed-frame point: the inverse of :meth:`ViewGeometry.from_pixel`."""
    rows, columns = geometry.area_shape
    if geometry.transform.flip:
        x = geometry.shape[1] - x
    rotation = geometry.transform.rotation
    if rotation == 90:
        x, y = y, rows - x
    elif rotation == 180:
        x, y = columns - x, rows - y
    elif rotation == 270:
        x, y = columns - y, x
    left, top = geometry.origin
    return x + left, y + top


def displayed_aspect(aspect: float, rotation: int) -> float:
    """Height / width of a displayed pixel given the image pixel's (a quarter turn swaps them)."""
    return 1.0 / aspect if rotation in (90, 270) and aspect > 0 else aspect


def cine_rate(ds: Dataset) -> float:
    """Frames per second to play a series at, from its Cine Module (PS3.3 C.7.6.5).

    Recommended Display Frame Rate (0008,2144) wins, then Cine Rate (0018,0040), then
    1000 / Frame Time (0018,1063, ms); else :data:`DEFAULT_CINE_FPS`. Clamped to 1..MAX_CINE_FPS.
    """
    for keyword in ("RecommendedDisplayFrameRate", "CineRate"):
        rate = _positive(ds.get(keyword))
        if rate is not None:
            return min(max(rate, 1.0), MAX_CINE_FPS)
    frame_time = _positive(ds.get("FrameTime"))
    if frame_time is not None:
        return min(max(1000.0 / frame_time, 1.0), MAX_CINE_FPS)
    return DEFAULT_CINE_FPS


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None
