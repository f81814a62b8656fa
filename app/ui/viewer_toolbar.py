"""The viewer's toolbar: layout, sort, sync, window presets, view changes, overlays, shutters, cine.

Every action applies to the active viewport (keys: :mod:`app.ui.viewport_keys`). The sort box and
its Descending toggle show the active viewport's stack order (updated when another viewport becomes
active and when a series opens in it; the configured ``[workstation.viewer] sort`` before). The overlay
menu lists "All", "None" and each overlay group of the image shown (PS3.3 C.9.2), rebuilt when
it opens.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QInputDialog, QMenu, QToolBar, QToolButton

from app.core.errors import ConfigError
from app.imaging.presets import presets_for
from app.imaging.stacks import SortKey
from app.services.image_stack import ImageStack
from app.ui.layouts import LAYOUTS, parse_layout
from app.ui.magnifier import Magnifier

if TYPE_CHECKING:
    from app.ui.viewer_window import ViewerWindow
    from app.ui.viewport import Viewport

CUSTOM = "Custom..."


def _action(bar: QToolBar, text: str, tip: str, slot: object, checkable: bool = False) -> QAction:
    action = QAction(text, bar)
    action.setToolTip(tip)
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    bar.addAction(action)
    return action


def build_toolbar(window: ViewerWindow) -> QToolBar:
    """Create the toolbar of ``window`` (its widgets are kept as attributes of the bar)."""
    bar = QToolBar("Viewer", window)
    bar.setObjectName("viewer-toolbar")
    window.addToolBar(bar)

    def active() -> Viewport:
        return window.active_viewport()

    layouts = QComboBox(bar)
    layouts.addItems([f"{r}x{c}" for r, c in LAYOUTS] + [CUSTOM])
    layouts.setToolTip("Layout of the image windows (rows x columns)")

    def on_layout(text: str) -> None:
        if text == CUSTOM:
            typed, ok = QInputDialog.getText(window, "Custom layout", "Rows x columns (e.g. 3x4):")
            if not ok:
                return
            text = typed
        try:
            window.set_layout(*parse_layout(text))
        except ConfigError as exc:
            window.statusBar().showMessage(str(exc), 8000)

    layouts.textActivated.connect(on_layout)
    bar.addWidget(layouts)

    sort = QComboBox(bar)
    for key in SortKey:
        sort.addItem(key.value, key)
    sort.setToolTip("Stack sort method (the active image window's)")
    bar.addWidget(sort)

    def apply_sort() -> None:
        active().set_sort(sort.currentData(), descending.isChecked())

    descending = _action(
        bar, "Descending", "Reverse the stack order (the sort key descending)", lambda _on: apply_sort(), True
    )

    def show_sort(viewport: object = None) -> None:
        """The sort box and Descending follow the active viewport's stack (the configured default
        before a series is open)."""
        stack = active().stack
        key = stack.key if stack is not None else ImageStack.default_key
        sort.setCurrentIndex(max(sort.findData(key), 0))
        descending.setChecked(bool(stack.descending) if stack is not None else False)

    sort.activated.connect(lambda _index: apply_sort())
    window.active_changed.connect(show_sort)
    window.first_image.connect(lambda vp: show_sort() if vp is active() else None)
    window.series_loaded.connect(lambda vp: show_sort() if vp is active() else None)
    sync = _action(bar, "Sync", "Scroll series of the same frame of reference together", window.set_sync, True)
    bar.addSeparator()

    presets_button = QToolButton(bar)
    presets_button.setText("W/L")
    presets_button.setToolTip("Window presets of the modality (keys 1-9; 0 = the image's own)")
    presets_menu = QMenu(presets_button)

    def fill_presets() -> None:
        presets_menu.clear()
        presets_menu.addAction("Image's own (0)", lambda: active().set_window(None))
        ds = active().current_dataset()
        names = presets_for(str(ds.get("Modality", "") or "")) if ds is not None else {}
        for number, (name, window_) in enumerate(names.items(), start=1):
            label = f"{name} ({number})" if number <= 9 else name
            presets_menu.addAction(label, functools.partial(lambda w: active().set_window(w), window_))

    presets_menu.aboutToShow.connect(fill_presets)
    presets_button.setMenu(presets_menu)
    presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    bar.addWidget(presets_button)

    def change(fn: object) -> None:
        vp = active()
        vp.set_state(fn(vp.state))  # type: ignore[operator]

    _action(bar, "Invert", "Invert grey values (I)", lambda: change(lambda s: replace(s, invert=not s.invert)))
    _action(bar, "Fit", "Scale to fit (F)", lambda: change(lambda s: replace(s, size_mode="fit", pan=(0.0, 0.0))))
    _action(bar, "1:1", "True size on a calibrated screen (T)", lambda: change(lambda s: replace(s, size_mode="true")))
    _action(bar, "Zoom +", "Zoom in (Ctrl+wheel, +)", lambda: active().zoom_at(1))
    _action(bar, "Zoom -", "Zoom out (Ctrl+wheel, -)", lambda: active().zoom_at(-1))
    _action(bar, "Rotate L", "Rotate 90 degrees counter-clockwise ([)", lambda: change(lambda s: s.rotated(-90)))
    _action(bar, "Rotate R", "Rotate 90 degrees clockwise (])", lambda: change(lambda s: s.rotated(90)))
    _action(bar, "Flip", "Flip left-right (H)", lambda: change(lambda s: s.flipped()))
    _action(bar, "Reset", "Reset the view (R)", lambda: change(lambda s: s.reset()))
    magnifier = Magnifier()
    magnify = _action(
        bar, "Magnifier", "Left button shows a magnified view",
        lambda on: window.set_tool(magnifier if on else None), True,
    )  # fmt: skip
    bar.addSeparator()

    overlays_button = QToolButton(bar)
    overlays_button.setText("Overlays")
    overlays_button.setToolTip("Show overlays: all, none or each (O toggles all)")
    overlays_menu = QMenu(overlays_button)

    def fill_overlays() -> None:
        overlays_menu.clear()
        vp = active()
        overlays_menu.addAction("All", lambda: vp.set_state(replace(vp.state, overlays=None)))
        overlays_menu.addAction("None", lambda: vp.set_state(replace(vp.state, overlays=frozenset())))
        groups = vp.renderer.overlay_groups(vp.position) if vp.renderer is not None and vp.stack else ()
        for group in groups:
            item = overlays_menu.addAction(f"Overlay {group:04X}")
            item.setCheckable(True)
            item.setChecked(vp.state.overlay_shown(group))
            item.toggled.connect(lambda on, g=group: vp.set_state(vp.state.with_overlay(g, on, groups)))

    overlays_menu.aboutToShow.connect(fill_overlays)
    overlays_button.setMenu(overlays_menu)
    overlays_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    bar.addWidget(overlays_button)
    shutters = _action(
        bar, "Shutters", "Display shutters on/off (S)", lambda on: change(lambda s: replace(s, shutters=on)), True
    )
    shutters.setChecked(True)
    bar.addSeparator()

    cine = _action(
        bar, "Cine", "Play the stack (Space)",
        lambda on: active().cine.start() if on else active().cine.stop(), True,
    )  # fmt: skip
    fps = QDoubleSpinBox(bar)
    fps.setRange(0.0, 120.0)
    fps.setSpecialValueText("auto fps")
    fps.setSuffix(" fps")
    fps.setToolTip("Cine frame rate (auto: from the object's Cine Module)")
    fps.valueChanged.connect(lambda value: active().cine.set_rate(value))
    bar.addWidget(fps)

    bar.layouts = layouts  # type: ignore[attr-defined]
    bar.sort = sort  # type: ignore[attr-defined]
    bar.descending = descending  # type: ignore[attr-defined]
    bar.show_sort = show_sort  # type: ignore[attr-defined]
    bar.sync = sync  # type: ignore[attr-defined]
    bar.magnify = magnify  # type: ignore[attr-defined]
    bar.shutters = shutters  # type: ignore[attr-defined]
    bar.cine = cine  # type: ignore[attr-defined]
    bar.fps = fps  # type: ignore[attr-defined]
    bar.overlays_menu = overlays_menu  # type: ignore[attr-defined]
    return bar
