"""Where a viewport's frame goes on its canvas, the text layer that describes it, and zoom/window gestures.

The scale comes from the view state (fit, zoom, true size: one image millimetre per screen
millimetre when the frame is calibrated, PS3.3 10.7.1.3), the pixel aspect and the canvas
size (:func:`app.services.view_state.scale_for`); the text layer (:func:`app.services.view_text.view_text`)
shows that scale (Zoom line, scale bar), so both are redone whenever the canvas is resized.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from app.imaging.calibration import calibration_from
from app.imaging.render import RenderedFrame
from app.imaging.voi_lut import Window
from app.services.view_state import ViewState, displayed_aspect, placement, scale_for
from app.services.view_text import view_text

if TYPE_CHECKING:
    from app.ui.viewport import Viewport


def place(vp: Viewport) -> None:
    """Scale and place the displayed frame for the canvas size and the view state (sets ``vp.scale``)."""
    geometry = vp.canvas.geometry_
    stack = vp.stack
    if geometry is None or stack is None or not len(stack):
        return
    ds, frame = stack.dataset(vp.position), vp.current_frame()
    aspect = displayed_aspect(stack.pixel_aspect(vp.position), vp.state.rotation)
    cal = calibration_from(ds, frame)
    size_mm = cal.pixel_size if cal.is_calibrated else None
    if size_mm is not None and vp.state.rotation in (90, 270):
        size_mm = (size_mm[1], size_mm[0])
    widget = (vp.canvas.width(), vp.canvas.height())
    vp.scale = scale_for(vp.state, geometry.shape, widget, size_mm, screen_mm(vp), aspect)
    vp.canvas.set_placement(placement(geometry.shape, widget, vp.scale, vp.state.pan, aspect))


def screen_mm(vp: Viewport) -> float | None:
    """Size of one screen pixel in mm (``vp.screen_pixel_mm``, else the screen's physical DPI)."""
    if vp.screen_pixel_mm:
        return vp.screen_pixel_mm
    screen = vp.screen()
    dpi = screen.physicalDotsPerInchX() if screen is not None else 0.0
    return 25.4 / dpi if dpi > 0 else None


def show_text(vp: Viewport, frame: RenderedFrame) -> None:
    """The text layer of the position shown (corner text, orientation, zoom, scale bar) at ``vp.scale``."""
    stack = vp.stack
    if stack is None or not len(stack):
        return
    vp.canvas.set_view_text(
        view_text(
            stack.dataset(vp.position), vp.current_frame(), cache=vp.text_cache, voi=frame.voi, zoom=vp.scale,
            transform=vp.state.transform, position=(vp.position + 1, len(stack)),
            presentation_label=vp.presentation_label, scale=vp.scale, width_px=vp.canvas.width(),
        )
    )  # fmt: skip


def zoomed_at(vp: Viewport, steps: int, x: float | None, y: float | None) -> ViewState | None:
    """The view state zoomed by 1.25^steps keeping the image point under widget (x, y) (default: the centre)."""
    where = vp.canvas.placement
    if where is None:
        return None
    x = vp.canvas.width() / 2 if x is None else x
    y = vp.canvas.height() / 2 if y is None else y
    px, py = where.from_widget(x, y)
    state = vp.state.zoomed(1.25**steps, vp.scale)
    rows, columns = vp.canvas.geometry_.shape if vp.canvas.geometry_ else (0, 0)
    sx = state.zoom
    sy = sx * (where.scale_y / where.scale_x)
    pan = (
        x - px * sx - (vp.canvas.width() - columns * sx) / 2,
        y - py * sy - (vp.canvas.height() - rows * sy) / 2,
    )
    return replace(state, pan=pan)


def dragged_window(vp: Viewport, dx: float, dy: float) -> Window | None:
    """Right-drag on a grey frame: right widens the window, down raises its centre (PS3.3 C.11.2.1.2)."""
    stack = vp.stack
    if stack is None or not len(stack) or not stack.is_grey(vp.position) or not vp.frames.ready(vp.position):
        return None
    lo, hi = stack.modality_range(vp.position)
    base = vp.state.window or (vp.renderer.voi(vp.position, vp.state) if vp.renderer else None)
    if not isinstance(base, Window):  # a VOI LUT: start from a window over the whole range
        base = Window((lo + hi) / 2, max(hi - lo, 1.0))
    step = max(hi - lo, 1.0) / 400.0
    return Window(base.center + dy * step, max(base.width + dx * step, 1.0), base.function)
