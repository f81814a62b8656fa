"""The presentation state menu of the viewer: newest (default), none, one by label/description/date,
and "graphics only".

The states of the study are fetched once on a worker (:func:`app.services.presentation_display.presentation_states`).
Each viewport renders under the state its :class:`~app.services.presentation_display.PresentationSelection`
picks among those that apply to the frame shown (:func:`app.imaging.state_choice.state_choices`,
newest first): the viewport asks :meth:`PresentationPicker.state_for` before each render
(``Viewport.presentation_provider``). The annotations of the state that
:mod:`app.services.annotations_model` can read become editable annotations of the image (and leave
again when another state, or none, is chosen); the rest of the state is drawn by the pipeline.

:func:`PresentationPicker.view_settings` reads back what the viewport shows, for saving
(:mod:`app.services.presentation_save`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from app.imaging.frames import is_grey, number_of_frames
from app.imaging.presentation_state import PresentationState
from app.imaging.spatial import DisplayedArea
from app.imaging.state_choice import StateChoice, state_choices
from app.imaging.voi_lut import VOI, Window
from app.services.annotations_gsps import annotations_from_state
from app.services.annotations_model import UserAnnotation
from app.services.presentation_display import (
    Mode,
    PresentationSelection,
    describe,
    presentation_states,
    shown_state,
    source_presentation_states,
)
from app.services.presentation_save import ViewSettings, shutter_setting
from app.ui.viewport import Viewport

if TYPE_CHECKING:
    from app.ui.annotation_controller import AnnotationController


class PresentationPicker:
    """Presentation state choice per viewport, and the menu that sets it (:attr:`button`)."""

    def __init__(self, controller: AnnotationController) -> None:
        self.controller = controller
        self.states: list[Dataset] = []
        self.loaded = False
        self.selections: dict[Viewport, PresentationSelection] = {}
        self._imported: dict[str, tuple[str, list[UserAnnotation]]] = {}  # image uid -> (state uid, annotations)
        self._shown: dict[tuple[object, ...], Dataset] = {}
        self.button: QToolButton | None = None
        self._read_sources: set[str] = set()  # matrix keys of the local PR sources read

    # -- wiring -----------------------------------------------------------------------------
    def attach(self, viewport: Viewport) -> None:
        viewport.presentation_provider = self.state_for

    def first_image(self, viewport: Viewport) -> None:
        """Fetch the study's states once (on a worker), then render again under the newest.

        From the server when the series are there, else from the PR series among the viewer's
        own sources (media, files, the temporary store).
        """
        c = self.controller
        image = viewport.current_dataset()
        if self.loaded or image is None or c.workers is None:
            return
        self.loaded = True
        if c.on_server and c.studies is not None:
            c.workers.submit(
                presentation_states, c.studies, str(image.StudyInstanceUID), on_done=self._states_loaded,
                on_error=c._failed,
            )  # fmt: skip
            return
        c.window.matrix.objects_added.connect(self._read_local)  # e.g. a folder's PR series listed later
        self._read_local()

    def _read_local(self) -> None:
        """Read the states among the viewer's PR/KO/SR sources not read yet (on a worker)."""
        c = self.controller
        new = {k: s for k, s in c.window.matrix.objects.items() if k not in self._read_sources}
        if new and c.workers is not None:
            self._read_sources.update(new)
            c.workers.submit(
                source_presentation_states, list(new.values()), on_done=self._states_loaded, on_error=c._failed
            )

    def _states_loaded(self, result: object) -> None:
        assert isinstance(result, list)
        known = {str(s.SOPInstanceUID) for s in self.states}
        self.states += [s for s in result if str(s.SOPInstanceUID) not in known]
        self._render_all()

    def set_states(self, states: list[Dataset]) -> None:
        """Use these states (no fetching): for a viewer without a server, and tests."""
        self.states = list(states)
        self.loaded = True
        self._render_all()

    def _render_all(self) -> None:
        for viewport in list(self.controller._attached):
            viewport.show_current()
        self.controller._measured.clear()  # the calibration may come from another state now
        self.controller.refresh()

    def selection(self, viewport: Viewport) -> PresentationSelection:
        return self.selections.get(viewport, PresentationSelection())

    def select(self, viewport: Viewport, selection: PresentationSelection) -> None:
        """Show ``selection`` in ``viewport`` (rendered again at once)."""
        self.selections[viewport] = selection
        viewport.show_current()
        self.controller._measured.clear()
        self.controller.refresh()

    # -- what a viewport renders under ------------------------------------------------------
    def choices(self, viewport: Viewport) -> list[StateChoice]:
        shown = self.controller.frame_of(viewport)
        if shown is None or not is_grey(shown[0]):
            return []
        return state_choices(shown[0], self.states, shown[1])

    def state_for(self, viewport: Viewport) -> tuple[Dataset | None, str]:
        """The state ``viewport`` renders its frame under (own annotations taken out) and its label."""
        shown = self.controller.frame_of(viewport)
        if shown is None:
            return None, ""
        image = shown[0]
        selection = self.selection(viewport)
        choice = selection.pick(self.choices(viewport))
        self._import(image, choice)
        if choice is None:
            return None, ""
        voi: VOI | None = viewport.state.window
        if selection.graphics_only and voi is None and viewport.stack is not None:
            voi = viewport.stack.default_voi(viewport.position)
        photometric = (str(image.get("PhotometricInterpretation", "")), str(image.get("PresentationLUTShape", "")))
        key = (choice.sop_instance_uid, selection.graphics_only, voi if selection.graphics_only else None, photometric)
        state = self._shown.get(key)
        if state is None:
            state = shown_state(choice, image, voi, selection.graphics_only)
            self._shown[key] = state
        label = choice.label + (" (graphics only)" if selection.graphics_only else "")
        return state, label

    def displayed_area(self, image: Dataset, frame: int) -> DisplayedArea | None:
        """The displayed area a viewport shows ``image``'s frame under (its state's; PS3.3 C.10.4), if any.

        Its Presentation Pixel Spacing then calibrates measurements (:func:`app.imaging.calibration.calibration_from`).
        """
        uid = str(image.SOPInstanceUID)
        for viewport in self.controller._attached:
            shown = self.controller.frame_of(viewport)
            state = viewport.presentation_state
            if state is None or shown is None or str(shown[0].SOPInstanceUID) != uid or shown[1] != frame:
                continue
            if self.selection(viewport).graphics_only:
                return None
            return PresentationState(state).for_frame(image, frame).displayed_area
        return None

    def _import(self, image: Dataset, choice: StateChoice | None) -> None:
        """Make the chosen state's own annotations of ``image`` editable (and drop the last state's)."""
        uid = str(image.SOPInstanceUID)
        state_uid = choice.sop_instance_uid if choice is not None else ""
        previous = self._imported.get(uid)
        if previous is not None and previous[0] == state_uid:
            return
        if previous is None and choice is None:
            return
        c = self.controller
        if previous is not None:
            c.annotations = [a for a in c.annotations if all(a is not p for p in previous[1])]
        found: list[UserAnnotation] = []
        if choice is not None:
            for frame in range(number_of_frames(image)):
                found += annotations_from_state(choice.dataset, image, frame)
        c.annotations += found
        self._imported[uid] = (state_uid, found)
        QTimer.singleShot(0, c._changed)  # after this render, so values are measured under the state shown

    def add_state(self, state: Dataset, annotations: list[UserAnnotation]) -> None:
        """A state just saved: offered (the newest), its annotations being the ones the user has."""
        self.states.append(state)
        uid = str(state.SOPInstanceUID)
        for image_uid in PresentationState(state).referenced_instances():
            self._imported[image_uid] = (uid, [a for a in annotations if a.sop_instance_uid == image_uid])
        for viewport in list(self.controller._attached):
            if self.selection(viewport).mode == Mode.NEWEST and viewport.state.size_mode != "fit":
                # the state's displayed area now holds the zoom and pan: fit it instead of zooming it again
                viewport.state = replace(viewport.state, size_mode="fit", zoom=1.0, pan=(0.0, 0.0))
        self._render_all()

    # -- what is saved ----------------------------------------------------------------------
    def view_settings(self, viewport: Viewport) -> ViewSettings:
        """What ``viewport`` shows, as a presentation state keeps it (:class:`ViewSettings`)."""
        frame = viewport.render_frame()
        shown = self.controller.frame_of(viewport)
        state = viewport.state
        if frame is None or shown is None:
            return ViewSettings()
        graphics_only = self.selection(viewport).graphics_only
        applied = viewport.presentation_state
        window = state.window
        if window is None and applied is not None and not graphics_only and isinstance(frame.voi, Window):
            window = frame.voi  # the state's own window, as shown
        area = normal_area(frame.displayed_area, shown[0])
        if state.size_mode != "fit" or state.pan != (0.0, 0.0):
            area = visible_area(viewport)
        source = applied if applied is not None else shown[0]
        return ViewSettings(
            window=window,
            transform=frame.transform,
            displayed_area=area,
            shutter=shutter_setting(source) if state.shutters else None,
            overlays=None if state.overlays is None else tuple(sorted(state.overlays)),
            invert=state.invert,
        )

    # -- the menu ---------------------------------------------------------------------------
    def make_button(self, parent: QWidget) -> QToolButton:
        """A "Presentation" button whose menu lists the choices for the active viewport's frame."""
        button = QToolButton(parent)
        button.setText("Presentation")
        button.setToolTip("Presentation state: newest (default), none, another one, graphics only")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        menu.aboutToShow.connect(lambda: self.fill_menu(menu))
        button.setMenu(menu)
        self.button = button
        return button

    def fill_menu(self, menu: QMenu) -> None:
        """The choices for the active viewport (rebuilt each time the menu opens)."""
        menu.clear()
        viewport = self.controller.window.active_viewport()
        current = self.selection(viewport)
        group = QActionGroup(menu)

        def add(text: str, selection: PresentationSelection, checked: bool) -> QAction:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(checked)
            group.addAction(action)
            action.triggered.connect(lambda _c=False, s=selection: self.select(viewport, s))
            return action

        graphics = current.graphics_only
        add("Newest (default)", PresentationSelection(Mode.NEWEST, "", graphics), current.mode == Mode.NEWEST)
        add("None", PresentationSelection(Mode.NONE, "", graphics), current.mode == Mode.NONE)
        choices = self.choices(viewport)
        if choices:
            menu.addSeparator()
        for choice in choices:
            chosen = current.mode == Mode.CHOSEN and current.sop_instance_uid == choice.sop_instance_uid
            add(describe(choice), PresentationSelection(Mode.CHOSEN, choice.sop_instance_uid, graphics), chosen)
        menu.addSeparator()
        only = menu.addAction("Graphics only (keep my window)")
        only.setCheckable(True)
        only.setChecked(graphics)
        only.triggered.connect(lambda on: self.select(viewport, replace(current, graphics_only=bool(on))))


def visible_area(viewport: Viewport) -> DisplayedArea:
    """The part of the image inside the viewport's widget (zoom and pan), as a displayed area (PS3.3 C.10.4)."""
    canvas = viewport.canvas
    width, height = float(canvas.width()), float(canvas.height())
    corners = [canvas.widget_to_image(x, y) for x in (0.0, width) for y in (0.0, height)]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    left, top = math.floor(min(xs)) + 1, math.floor(min(ys)) + 1
    right, bottom = max(math.ceil(max(xs)), left + 1), max(math.ceil(max(ys)), top + 1)
    return DisplayedArea((left, top), (right, bottom))


def normal_area(area: DisplayedArea | None, image: Dataset) -> DisplayedArea | None:
    """``area`` as the user would set it: its corners as the smallest and largest (column, row), the
    image's own pixel spacing left implicit, and None for the whole image scaled to fit (PS3.3 C.10.4)."""
    if area is None:
        return None
    (c1, r1), (c2, r2) = area.top_left, area.bottom_right
    spacing = area.pixel_spacing
    own = image.get("PixelSpacing")
    if spacing is not None and own is not None and tuple(float(v) for v in own) == spacing:
        spacing = None
    normal = DisplayedArea(
        (min(c1, c2), min(r1, r2)), (max(c1, c2), max(r1, r2)), area.size_mode, spacing, area.magnification
    )
    whole = DisplayedArea.whole((int(image.Rows), int(image.Columns)))
    return None if normal == whole else normal
