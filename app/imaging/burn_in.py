"""Graphic layers burnt into the displayed frame, for export and print (PS3.3 C.10.5, C.10.7).

Layers are drawn in Graphic Layer Order (lowest first, so a higher layer lands on top); in
each layer its PIXEL-unit graphics (rasterised over the displayed area, which may reach beyond
the image, then transformed with it), then its DISPLAY-unit graphics (placed in the displayed frame as
shown), then its text objects (:mod:`app.imaging.text_layer`, upright, anti-aliased). Each
layer draws with its recommended grey, or with its recommended colour on colour output.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from app.imaging.annotations import AnnotationLayer
from app.imaging.text_layer import coverage
from app.imaging.view_geometry import ViewGeometry


def burn_in(display: np.ndarray, layers: Iterable[AnnotationLayer], geometry: ViewGeometry) -> np.ndarray:
    """Draw ``layers`` over ``display`` (uint8 grey or RGB, the shape of ``geometry.shape``), in place.

    Returns
    -------
    numpy.ndarray
        ``display`` itself.
    """
    if display.shape[:2] != geometry.shape:
        raise ValueError(f"display is {display.shape[:2]}, the displayed frame is {geometry.shape}")
    colour = display.ndim == 3
    for layer in sorted(layers, key=lambda la: la.order):
        value = np.asarray(layer.value(colour), dtype=np.float32)
        left, top = geometry.origin
        pixel = layer.mask(geometry.area_shape, (float(left), float(top)))  # drawn in the area, padding included
        if pixel.any():
            display[geometry.transform.apply(pixel)] = value.astype(np.uint8)
        shown = layer.display_mask(geometry.shape)
        if shown.any():
            display[shown] = value.astype(np.uint8)
        for text in layer.texts:
            alpha = coverage(text, geometry)
            hit = alpha > 0
            if not hit.any():
                continue
            a = alpha[hit][:, None] if colour else alpha[hit]
            blended = display[hit].astype(np.float32) * (1.0 - a) + value * a
            display[hit] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return display
