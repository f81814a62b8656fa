"""The viewer's "Annotate" toolbar: the annotation tools, delete, save, key image, export, presentation.

Tools are exclusive: Browse (the viewer's own left button), Edit (select, drag handles, move),
then one per :class:`~app.services.annotations_model.Kind`. Save (Ctrl+S) writes the view and the
annotations as a new presentation state on the server; Key image (Ctrl+K) marks or unmarks the
image shown; Export writes it as PNG or JPEG. Save and Key image store on the server: for series
that are not there (``controller.on_server`` False) they are disabled, their tooltip says to import
the study first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QToolBar

from app.core.errors import AppError
from app.services.annotations_model import Kind

if TYPE_CHECKING:
    from app.ui.annotation_controller import AnnotationController

NOT_ON_SERVER = (
    "This series is not on the server: import the study first (File > Import media..., or Import in the "
    "search panel), then open it from the study list to save presentation states and key images."
)

TOOL_NAMES = {
    Kind.DISTANCE: "Distance",
    Kind.ANGLE: "Angle",
    Kind.COBB: "Cobb",
    Kind.RECTANGLE: "Rectangle ROI",
    Kind.ELLIPSE: "Ellipse ROI",
    Kind.POLYLINE: "Polyline",
    Kind.ARROW: "Arrow",
    Kind.TEXT: "Text",
}


class AnnotationToolbar(QToolBar):
    """The toolbar; its actions are attributes (``tools[kind]``, ``browse``, ``edit``, ``save_action``...)."""

    def __init__(self, controller: AnnotationController) -> None:
        super().__init__("Annotate", controller.window)
        self.setObjectName("annotate-toolbar")
        self.controller = controller
        group = QActionGroup(self)
        group.setExclusive(True)

        def tool(text: str, tip: str, kind: Kind | None, edit: bool) -> QAction:
            action = QAction(text, self)
            action.setToolTip(tip)
            action.setCheckable(True)
            action.triggered.connect(lambda _c=False: controller.set_kind(kind, edit))
            group.addAction(action)
            self.addAction(action)
            return action

        self.browse = tool("Browse", "The left button scrolls the stack", None, False)
        self.edit = tool("Edit", "Select, drag handles, move; Delete removes the selected one", None, True)
        self.tools = {kind: tool(name, f"Draw: {name}", kind, True) for kind, name in TOOL_NAMES.items()}
        self.browse.setChecked(True)
        self.addSeparator()
        self.delete_action = self._action("Delete", "Delete the selected annotation (Delete)", controller.delete)
        self.save_action = self._action(
            "Save", "Save view and annotations as a presentation state on the server (Ctrl+S)", controller.save
        )
        self.save_action.setShortcut(QKeySequence("Ctrl+S"))
        self.key_action = self._action("Key image", "Mark or unmark the image as a key image (Ctrl+K)",
                                       controller.toggle_key_image)
        self.key_action.setCheckable(True)
        self.key_action.setShortcut(QKeySequence("Ctrl+K"))
        self.export_action = self._action("Export...", "Export the image as shown to PNG or JPEG", self.export)
        if not controller.on_server:
            for action in (self.save_action, self.key_action):
                action.setEnabled(False)
                action.setToolTip(NOT_ON_SERVER)
        self.addSeparator()
        self.addWidget(controller.picker.make_button(self))
        controller.key_images_changed.connect(self.update_key_action)
        controller.window.active_changed.connect(lambda _vp: self.update_key_action())
        controller.window.first_image.connect(lambda _vp: self.update_key_action())

    def _action(self, text: str, tip: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.triggered.connect(lambda _c=False: slot())  # type: ignore[operator]
        self.addAction(action)
        return action

    def update_key_action(self) -> None:
        """Check "Key image" when the active viewport's image is one."""
        shown = self.controller.frame_of(self.controller.window.active_viewport())
        self.key_action.setChecked(shown is not None and self.controller.is_key(str(shown[0].SOPInstanceUID)))

    def export(self) -> None:
        """Ask for a file (PNG or JPEG) and export the active viewport's image to it."""
        name, _ = QFileDialog.getSaveFileName(
            self, "Export image", "image.png", "PNG image (*.png);;JPEG image (*.jpg *.jpeg)"
        )
        if not name:
            return
        try:
            path = self.controller.export_to(Path(name))
        except (AppError, RuntimeError) as exc:
            self.controller._failed(exc)
            return
        self.controller.window.statusBar().showMessage(f"Exported {path}", 8000)


def build_annotation_toolbar(controller: AnnotationController) -> AnnotationToolbar:
    """Create the toolbar and add it to the controller's window."""
    bar = AnnotationToolbar(controller)
    controller.window.addToolBarBreak()  # a row of its own below the viewer's toolbar
    controller.window.addToolBar(bar)
    return bar
