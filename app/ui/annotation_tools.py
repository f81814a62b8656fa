"""The annotation mouse tool: draw, select, drag handles, move (a :class:`~app.ui.image_canvas.CanvasTool`).

With a kind chosen (:class:`~app.services.annotations_model.Kind`) the left button draws it:

- distance, rectangle, ellipse, arrow: press at one end (corner), drag, release at the other;
- angle: drag the first arm to the vertex, then press-drag-release the second arm's end;
- Cobb angle: drag the first line, then drag the second line;
- polyline: each press adds a point (drag places it); double-click, Enter or a tool change ends it;
- text: press where the note goes; the note is asked for.

Pressing on a handle of an annotation of the frame drags that point (editing it; its values are
measured again), on its outline moves it whole; either selects it. With no kind (the edit tool)
the left button only selects, drags and moves. Escape drops a drawing in progress.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QMenu

from app.services.annotations_model import POINTS, Kind, UserAnnotation, segment_distance
from app.ui.annotation_layer import widget_lines, widget_points
from app.ui.image_canvas import ImageCanvas

if TYPE_CHECKING:
    from app.ui.annotation_controller import AnnotationController
    from app.ui.viewport import Viewport

PICK = 7.0  # widget pixels: how near a press must be to a handle or a line
MIN_DRAG = 3.0  # widget pixels: a shorter two-point drag is a click, not a shape


def pick(annotations: list[UserAnnotation], canvas: ImageCanvas, at: QPointF) -> tuple[UserAnnotation, int] | None:
    """The annotation under widget point ``at`` and the handle index pressed (-1: its outline), topmost first."""
    for annotation in reversed(annotations):
        for index, point in enumerate(widget_points(annotation, canvas)):
            if math.hypot(point.x() - at.x(), point.y() - at.y()) <= PICK:
                return annotation, index
    for annotation in reversed(annotations):
        for line in widget_lines(annotation, canvas):
            points = [(q.x(), q.y()) for q in line]
            if any(segment_distance((at.x(), at.y()), a, b) <= PICK for a, b in itertools.pairwise(points)):
                return annotation, -1
    return None


class AnnotationTool:
    """The tool set on the viewports' canvases while annotating (one for all viewports)."""

    def __init__(self, controller: AnnotationController) -> None:
        self.controller = controller
        self._grab: tuple[UserAnnotation, int, tuple[float, float]] | None = None  # annotation, handle, last point
        self._start: QPointF | None = None
        self._waiting = False  # a multi-step drawing waits for its next press

    # -- helpers ----------------------------------------------------------------------------
    def _viewport(self, canvas: ImageCanvas) -> Viewport | None:
        return self.controller.viewport_of(canvas)

    def _frame(self, canvas: ImageCanvas) -> tuple[str, int] | None:
        viewport = self._viewport(canvas)
        shown = self.controller.frame_of(viewport) if viewport is not None else None
        return (str(shown[0].SOPInstanceUID), shown[1]) if shown is not None else None

    # -- CanvasTool -------------------------------------------------------------------------
    def press(self, canvas: ImageCanvas, event: QMouseEvent) -> None:
        frame = self._frame(canvas)
        if frame is None:
            return
        uid, number = frame
        at = event.position()
        point = canvas.widget_to_image(at.x(), at.y())
        drawing = self.controller.drawing
        if drawing is not None and self._waiting and drawing.on(uid, number):
            self._next_step(drawing, point)
            return
        if drawing is not None:
            self.finish()
        hit = pick(self.controller.on_frame(uid, number), canvas, at)
        if hit is not None:
            annotation, handle = hit
            self.controller.select(annotation)
            self._grab = (annotation, handle, point)
            return
        self.controller.select(None)
        kind = self.controller.kind
        if kind is None:
            return
        if kind == Kind.TEXT:
            note = self.controller.ask_text("")
            if note:
                self.controller.add(UserAnnotation(Kind.TEXT, (point,), uid, number, note))
            return
        self._start = at
        self.controller.set_drawing(UserAnnotation(kind, (point, point), uid, number))

    def move(self, canvas: ImageCanvas, event: QMouseEvent) -> None:
        at = event.position()
        point = canvas.widget_to_image(at.x(), at.y())
        if self._grab is not None:
            annotation, handle, last = self._grab
            changed = (
                annotation.moved(point[0] - last[0], point[1] - last[1])
                if handle < 0
                else annotation.with_point(handle, point)
            )
            self.controller.replace(annotation, changed)
            self._grab = (changed, handle, point)
            return
        drawing = self.controller.drawing
        if drawing is not None and drawing.points:
            self.controller.set_drawing(drawing.with_point(len(drawing.points) - 1, point))

    def release(self, canvas: ImageCanvas, event: QMouseEvent) -> None:
        if self._grab is not None:
            self._grab = None
            return
        drawing = self.controller.drawing
        if drawing is None:
            return
        self.move(canvas, event)
        drawing = self.controller.drawing
        assert drawing is not None
        at = event.position()
        short = self._start is not None and math.hypot(at.x() - self._start.x(), at.y() - self._start.y()) < MIN_DRAG
        self._start = None
        wanted = POINTS[drawing.kind]
        if wanted == 2:
            if short:
                self.controller.set_drawing(None)
            else:
                self.controller.add(drawing)
            self._waiting = False
        elif wanted is not None and len(drawing.points) >= wanted:
            self.controller.add(drawing)
            self._waiting = False
        else:
            if short and len(drawing.points) == 2 and drawing.kind != Kind.POLYLINE:
                self.controller.set_drawing(None)  # a click is not the first arm or line
                return
            self._waiting = True

    def _next_step(self, drawing: UserAnnotation, point: tuple[float, float]) -> None:
        """The next press of an angle (third point), Cobb angle (second line) or polyline (a point)."""
        added = (point, point) if drawing.kind == Kind.COBB else (point,)
        self.controller.set_drawing(UserAnnotation(drawing.kind, (*drawing.points, *added), drawing.sop_instance_uid,
                                                   drawing.frame))
        self._waiting = False

    def finish(self) -> None:
        """End a drawing in progress: a complete one (a polyline of two points or more) is kept."""
        drawing = self.controller.drawing
        self._waiting = False
        self._start = None
        if drawing is None:
            return
        if drawing.kind == Kind.POLYLINE:
            points = [p for i, p in enumerate(drawing.points) if i == 0 or p != drawing.points[i - 1]]
            drawing = UserAnnotation(Kind.POLYLINE, tuple(points), drawing.sop_instance_uid, drawing.frame)
        if drawing.complete:
            self.controller.add(drawing)
        else:
            self.controller.set_drawing(None)

    def cancel(self) -> None:
        """Drop a drawing in progress."""
        self._waiting = False
        self._start = None
        self._grab = None
        self.controller.set_drawing(None)


class AnnotationEvents(QObject):
    """Keys and right clicks on the canvases (an event filter): Delete/Backspace deletes the selected
    annotation, Escape drops a drawing, Enter or a double-click ends a polyline, and a right click on
    an annotation opens its menu (Delete; Edit text...) instead of windowing."""

    def __init__(self, controller: AnnotationController) -> None:
        super().__init__(controller)
        self.controller = controller

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, ImageCanvas):
            return False
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.controller.selected is not None:
                return self.controller.delete()
            if key == Qt.Key.Key_Escape and self.controller.drawing is not None:
                self.controller.tool.cancel()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.controller.drawing is not None:
                self.controller.tool.finish()
                return True
        elif event.type() == QEvent.Type.MouseButtonDblClick and self.controller.drawing is not None:
            self.controller.tool.finish()
            return True
        elif (
            event.type() == QEvent.Type.MouseButtonPress
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.RightButton
        ):
            return self._context_menu(watched, event)
        return False

    def _context_menu(self, canvas: ImageCanvas, event: QMouseEvent) -> bool:
        viewport = self.controller.viewport_of(canvas)
        shown = self.controller.frame_of(viewport) if viewport is not None else None
        if shown is None:
            return False
        hit = pick(self.controller.on_frame(str(shown[0].SOPInstanceUID), shown[1]), canvas, event.position())
        if hit is None:
            return False  # the right button windows as usual
        annotation = hit[0]
        self.controller.select(annotation)
        menu = QMenu(canvas)
        delete = menu.addAction("Delete")
        edit = menu.addAction("Edit text...") if annotation.kind == Kind.TEXT else None
        chosen = self.controller.exec_menu(menu, canvas.mapToGlobal(event.position().toPoint()))
        if chosen is delete:
            self.controller.delete(annotation)
        elif chosen is not None and chosen is edit:
            note = self.controller.ask_text(annotation.text)
            if note:
                self.controller.replace(annotation, replace(annotation, text=note))
        return True

