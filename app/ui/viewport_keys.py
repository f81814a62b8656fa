"""Keyboard of a viewport: stack navigation, window presets, view changes.

Arrows and Page Up/Down move through the stack (Down/Right/Page Down = next), Home/End go to
the ends; number keys 1-9 apply the modality's window presets in the order of
:data:`app.imaging.presets.PRESETS` (0 = each image's own window); I inverts, R resets, F fits,
T shows true size (1:1 physical), + and - zoom, [ and ] rotate 90 degrees, H flips, O toggles
all overlays, S toggles the shutters, Space plays or stops cine.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from app.imaging.presets import presets_for

if TYPE_CHECKING:
    from app.ui.viewport import Viewport

_MOVES = {
    Qt.Key.Key_Down: 1,
    Qt.Key.Key_Right: 1,
    Qt.Key.Key_Up: -1,
    Qt.Key.Key_Left: -1,
    Qt.Key.Key_PageDown: 10,
    Qt.Key.Key_PageUp: -10,
}


def apply_preset(viewport: Viewport, number: int) -> bool:
    """Preset ``number`` (1-based) of the current image's modality; 0 = the image's own window."""
    ds = viewport.current_dataset()
    if ds is None:
        return False
    if number == 0:
        viewport.set_window(None)
        return True
    presets = list(presets_for(str(ds.get("Modality", "") or "")).values())
    if not 1 <= number <= len(presets):
        return False
    viewport.set_window(presets[number - 1])
    return True


def handle_key(viewport: Viewport, event: QKeyEvent) -> bool:
    """Apply the key to ``viewport``; False when the key is not the viewport's."""
    key = Qt.Key(event.key())
    state = viewport.state
    if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
        return False
    if key in _MOVES:
        viewport.step(_MOVES[key])
    elif key == Qt.Key.Key_Home:
        viewport.go_to(0)
    elif key == Qt.Key.Key_End:
        viewport.go_to(len(viewport.stack) - 1 if viewport.stack is not None else 0)
    elif Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
        return apply_preset(viewport, int(key) - int(Qt.Key.Key_0))
    elif key == Qt.Key.Key_I:
        viewport.set_state(replace(state, invert=not state.invert))
    elif key == Qt.Key.Key_R:
        viewport.set_state(state.reset())
    elif key == Qt.Key.Key_F:
        viewport.set_state(replace(state, size_mode="fit", pan=(0.0, 0.0)))
    elif key == Qt.Key.Key_T:
        viewport.set_state(replace(state, size_mode="true", pan=(0.0, 0.0)))
    elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
        viewport.zoom_at(1)
    elif key == Qt.Key.Key_Minus:
        viewport.zoom_at(-1)
    elif key == Qt.Key.Key_BracketRight:
        viewport.set_state(state.rotated(90))
    elif key == Qt.Key.Key_BracketLeft:
        viewport.set_state(state.rotated(-90))
    elif key == Qt.Key.Key_H:
        viewport.set_state(state.flipped())
    elif key == Qt.Key.Key_O:
        viewport.set_state(replace(state, overlays=frozenset() if state.overlays is None else None))
    elif key == Qt.Key.Key_S:
        viewport.set_state(replace(state, shutters=not state.shutters))
    elif key == Qt.Key.Key_Space:
        viewport.cine.toggle()
    else:
        return False
    return True
