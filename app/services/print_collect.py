"""Images collected from the viewer for printing: the current image, a range of the stack, the
whole series, or the key images, each as the viewport renders it (window, rotation/flip, shutter,
overlays, presentation state graphics; the current image also with the viewer's own drawn
layers), ready for :func:`app.printing.compose.compose_film`; or every image of studies on the
server (Study > Print... in the information window).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np
from pydicom.dataset import Dataset

from app.printing.print_images import PrintImage, deepened, from_rendered
from app.services.cancel import CancelToken, Progress
from app.services.printing import images_from_datasets
from app.services.studies import StudyService
from app.services.view_render import StackRenderer
from app.services.view_state import ViewState


def images_from_stack(
    renderer: StackRenderer,
    positions: Iterable[int],
    state: ViewState,
    presentation_state: Dataset | None = None,
    current: tuple[int, np.ndarray] | None = None,
    bits: int = 8,
) -> list[PrintImage]:
    """The stack ``positions`` rendered with the viewport's ``state`` (and presentation state), for
    films of ``bits`` bits (:func:`~app.printing.print_images.deepened` at 12).

    ``current`` is (position, displayed pixels) of the image on screen, used as it is so that
    what the user drew on it is printed too.
    """
    stack = renderer.stack
    out = []
    for position in positions:
        ds, frame = stack.dataset(position), stack.frame(position)
        rendered = renderer.render(position, state, presentation_state)
        pixels = current[1] if current is not None and current[0] == position else None
        image = from_rendered(ds, frame, rendered, pixels)
        if bits == 12:
            image = deepened(image, ds, frame, rendered, presentation_state, state.invert)
        out.append(image)
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


def images_of_studies(
    studies: StudyService,
    study_uids: Sequence[str],
    bits: int = 8,
    cancel: CancelToken | None = None,
    progress: Progress | None = None,
) -> list[PrintImage]:
    """Every image (every frame) of the studies, series by series in display order, rendered with its
    own window for a film of ``bits`` bits (Study > Print... in the information window)."""
    datasets: list[Dataset] = []
    for study_uid in study_uids:
        for series in studies.list_series(study_uid):
            loaded = studies.load_series(study_uid, series.series_instance_uid, cancel=cancel)
            datasets.extend(ds for ds in loaded if "PixelData" in ds)
            if progress is not None:
                progress(len(datasets), 0)
    return images_from_datasets(datasets, bits)


Corners = tuple[tuple[float, float], tuple[float, float]]


def visible_box(shape: tuple[int, int], corners: Corners) -> tuple[int, ...] | None:
    """The part of a displayed frame of ``shape`` (rows, columns) between the widget's top-left and
    bottom-right ``corners`` (in displayed-frame coordinates) as (left, top, right, bottom), or None
    when the whole frame is visible (zoomed out or fitted)."""
    (x0, y0), (x1, y1) = corners
    rows, columns = shape
    left, top = max(0, int(min(x0, x1))), max(0, int(min(y0, y1)))
    right, bottom = min(columns, int(np.ceil(max(x0, x1)))), min(rows, int(np.ceil(max(y0, y1))))
    if right - left < 1 or bottom - top < 1 or (left, top, right, bottom) == (0, 0, columns, rows):
        return None
    return left, top, right, bottom


def cropped(images: Iterable[PrintImage], box: tuple[int, ...] | None) -> list[PrintImage]:
    """``images`` cut to ``box`` (left, top, right, bottom) of their displayed frame: what a zoomed or
    panned viewport shows. The pixel spacing, and so the scale, is unchanged."""
    if box is None:
        return list(images)
    left, top, right, bottom = box
    return [replace(i, pixels=np.ascontiguousarray(i.pixels[top:bottom, left:right])) for i in images]
