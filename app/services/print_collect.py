"""Images collected from the viewer for printing: the current image, a range of the stack, the
whole series, or the key images, each as the viewport renders it (window, rotation/flip, shutter,
overlays, presentation state graphics; the current image also with the viewer's own drawn
layers), ready for :func:`app.printing.compose.compose_film`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from pydicom.dataset import Dataset

from app.printing.print_images import PrintImage, from_rendered
from app.services.view_render import StackRenderer
from app.services.view_state import ViewState


def images_from_stack(
    renderer: StackRenderer,
    positions: Iterable[int],
    state: ViewState,
    presentation_state: Dataset | None = None,
    current: tuple[int, np.ndarray] | None = None,
) -> list[PrintImage]:
    """The stack ``positions`` rendered with the viewport's ``state`` (and presentation state).

    ``current`` is (position, displayed pixels) of the image on screen, used as it is so that
    what the user drew on it is printed too.
    """
    stack = renderer.stack
    out = []
    for position in positions:
        ds, frame = stack.dataset(position), stack.frame(position)
        rendered = renderer.render(position, state, presentation_state)
        pixels = current[1] if current is not None and current[0] == position else None
        out.append(from_rendered(ds, frame, rendered, pixels))
    return out


def key_positions(datasets: Iterable[Dataset], is_key: Callable[[str], bool]) -> list[int]:
    """Positions (in stack order) of the images whose SOP Instance UID ``is_key`` says are key images."""
    return [i for i, ds in enumerate(datasets) if is_key(str(ds.get("SOPInstanceUID", "")))]


def stack_range(text: str, count: int) -> range:
    """A 1-based inclusive range ``"a-b"`` (or one number) of a stack of ``count`` images, as 0-based positions."""
    first, _, last = text.strip().partition("-")
    try:
        a, b = int(first), int(last or first)
    except ValueError:
        raise ValueError(f"Range {text!r}: write first-last, e.g. 3-12 (images 1 to {count}).") from None
    a, b = max(1, min(a, b)), min(count, max(a, b))
    if a > b:
        raise ValueError(f"Range {text!r} has no image of the stack (1 to {count}).")
    return range(a - 1, b)
