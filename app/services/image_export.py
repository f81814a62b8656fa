"""The displayed image exported as PNG or JPEG, as rendered, with the user's annotations burnt in.

The viewer's rendered frame (the pipeline's composite: pixels, shutter, overlays, displayed area,
rotation and flip, a presentation state's graphics) is taken as it is; the user's annotations
(:mod:`app.services.annotations_model`) are drawn over it by :func:`app.imaging.burn_in.burn_in`,
graphics in PIXEL units carried through the same displayed area and spatial transform, their
labels as text objects (PS3.3 C.10.5). PNG (ISO/IEC 15948) is written by
:func:`app.imaging.render.png_bytes`, JPEG (ISO/IEC 10918-1, baseline) by Pillow.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from app.core.errors import AppError
from app.imaging.annotations import AnnotationLayer
from app.imaging.burn_in import burn_in
from app.imaging.render import png_bytes
from app.imaging.view_geometry import ViewGeometry
from app.services.annotations_gsps import graphic_objects, text_objects
from app.services.annotations_model import LAYERS, Measurement, UserAnnotation

ImageFormat = Literal["PNG", "JPEG"]
ANNOTATION_RGB = (255, 214, 0)  # the viewer's annotation colour (amber), on exports too
JPEG_QUALITY = 92
_SUFFIXES: dict[str, ImageFormat] = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def user_layers(
    annotations: Sequence[tuple[UserAnnotation, Measurement]], rgb: tuple[int, int, int] = ANNOTATION_RGB
) -> list[AnnotationLayer]:
    """The annotations of one frame as graphic layers (one per kind, in :data:`LAYERS` order)."""
    layers: dict[str, AnnotationLayer] = {}
    order = {kind: i for i, kind in enumerate(LAYERS, start=1)}
    for annotation, measurement in annotations:
        if not annotation.complete:
            continue
        name = LAYERS[annotation.kind][0]
        layer = layers.setdefault(name, AnnotationLayer(name, order[annotation.kind], 255, rgb=rgb))
        layer.graphics.extend(graphic_objects(annotation))
        layer.texts.extend(text_objects(annotation, measurement))
    return sorted(layers.values(), key=lambda la: la.order)


def with_annotations(
    display: np.ndarray,
    geometry: ViewGeometry,
    annotations: Sequence[tuple[UserAnnotation, Measurement]],
    rgb: tuple[int, int, int] = ANNOTATION_RGB,
) -> np.ndarray:
    """A copy of the displayed frame (uint8 grey or RGB, ``geometry.shape``) with the annotations drawn.

    A grey frame comes back RGB when there are annotations, so they keep their colour.
    """
    layers = user_layers(annotations, rgb)
    out = np.array(display, dtype=np.uint8, copy=True)
    if not layers:
        return out
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    return burn_in(out, layers, geometry)


def format_for(path: Path) -> ImageFormat:
    """PNG or JPEG from the file name's suffix.

    Raises
    ------
    AppError
        Another suffix.
    """
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise AppError(f"Export as .png or .jpg: {path.name!r} has neither suffix.")
    return found


def encode(display: np.ndarray, image_format: ImageFormat, quality: int = JPEG_QUALITY) -> bytes:
    """``display`` (uint8 grey or RGB) as PNG or JPEG bytes."""
    arr = np.ascontiguousarray(display, dtype=np.uint8)
    if image_format == "PNG":
        return png_bytes(arr)
    buffer = BytesIO()
    Image.fromarray(arr).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def export_image(display: np.ndarray, path: Path, quality: int = JPEG_QUALITY) -> Path:
    """Write ``display`` to ``path`` (the format from its suffix, :func:`format_for`).

    Raises
    ------
    AppError
        The suffix is not .png/.jpg/.jpeg, or the file cannot be written (the message says where).
    """
    data = encode(display, format_for(path), quality)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise AppError(f"Cannot write {path}: {exc.strerror or exc}; choose another folder.") from exc
    return path
