"""Screenshot of the viewer with measurements: ``python -m tests.ui.screenshot_measurements OUT.png``.

Needs a display (e.g. ``xvfb-run -a -s "-screen 0 1280x900x24" env QT_QPA_PLATFORM=xcb python -m
tests.ui.screenshot_measurements docs/screenshot-measurements.png``). Opens a 512 x 512 CT phantom
(0.7 mm pixels, some noise) in the viewer, draws each annotation tool's shape with the mouse through
the canvas (as a user would), selects the distance (its handles show) and grabs the window. Not a test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt, QThreadPool, QTimer
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from app.services.annotations_model import Kind
from app.services.series_source import DatasetSource
from app.ui.annotation_controller import AnnotationController
from app.ui.viewer_window import ViewerWindow
from tests.ui.viewer_data import ct_stack

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
SHAPES: list[tuple[Kind, list[tuple[float, float]]]] = [
    (Kind.DISTANCE, [(92, 150), (420, 150)]),
    (Kind.ELLIPSE, [(135, 195), (205, 295)]),
    (Kind.RECTANGLE, [(235, 275), (282, 315)]),
    (Kind.ANGLE, [(120, 330), (200, 370), (150, 420)]),
    (Kind.COBB, [(150, 400), (230, 440), (290, 430), (370, 390)]),
    (Kind.ARROW, [(440, 300), (290, 350)]),
    (Kind.POLYLINE, [(290, 170), (330, 160), (370, 190), (390, 250)]),
]


def _send(canvas, kind: QMouseEvent.Type, pos: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:  # type: ignore[no-untyped-def]
    QApplication.sendEvent(canvas, QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))


def _drag(vp, a: tuple[float, float], b: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    start, end = vp.canvas.image_to_widget(*a), vp.canvas.image_to_widget(*b)
    _send(vp.canvas, QMouseEvent.Type.MouseButtonPress, start, LEFT, LEFT)
    for t in (0.5, 1.0):
        _send(vp.canvas, QMouseEvent.Type.MouseMove, start + (end - start) * t, NONE, LEFT)
    _send(vp.canvas, QMouseEvent.Type.MouseButtonRelease, end, LEFT, NONE)


def draw(controller: AnnotationController, vp) -> None:  # type: ignore[no-untyped-def]
    for kind, points in SHAPES:
        controller.set_kind(kind)
        _drag(vp, points[0], points[1])
        if kind == Kind.ANGLE:
            _drag(vp, points[2], points[2])
        elif kind == Kind.COBB:
            _drag(vp, points[2], points[3])
        elif kind == Kind.POLYLINE:
            for point in points[2:]:
                _drag(vp, point, point)
            QApplication.sendEvent(vp.canvas, QKeyEvent(QKeyEvent.Type.KeyPress, Qt.Key.Key_Return,
                                                        Qt.KeyboardModifier.NoModifier))
    controller.ask_text = lambda _current: "Spine"  # type: ignore[method-assign]
    controller.set_kind(Kind.TEXT)
    _drag(vp, (445, 285), (445, 285))
    controller.set_kind(None)
    controller.select(controller.annotations[0])


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])
    images = ct_stack(3, 512, overlay=False)
    rng = np.random.default_rng(7)
    for ds in images:
        noisy = np.frombuffer(ds.PixelData, dtype=np.int16).astype(np.int32) + rng.integers(-12, 13, 512 * 512)
        ds.PixelData = noisy.astype(np.int16).tobytes()
    pool = QThreadPool()
    win = ViewerWindow(pool)
    controller = AnnotationController(win)
    win.move(0, 0)
    win.resize(1180, 860)
    win.show()
    done: dict[str, bool] = {"drawn": False}

    def first(vp) -> None:  # type: ignore[no-untyped-def]
        controller.picker.set_states([])
        QTimer.singleShot(400, lambda: (draw(controller, vp), done.update(drawn=True)))
        QTimer.singleShot(1500, shoot)

    def shoot() -> None:
        app.processEvents()
        screen = win.screen()
        shot = screen.grabWindow(0, win.x(), win.y(), win.frameGeometry().width(), win.frameGeometry().height())
        shot.save(str(out))
        print(f"saved {out} ({shot.width()}x{shot.height()}), annotations: {len(controller.annotations)}")
        app.quit()

    win.first_image.connect(first)
    win.open_source(DatasetSource(tuple(images), "Phantom"))
    app.exec()
    pool.waitForDone(5000)
    return 0 if done["drawn"] else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot-measurements.png")))
