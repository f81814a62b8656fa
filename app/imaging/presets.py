"""Window presets per modality (CT in Hounsfield units) and the robust default window.

The presets are the customary radiology windows (center/width in modality units after the
Modality LUT, PS3.3 C.11.2.1.2). When an image has no window and no VOI LUT, PS3.3 C.11.2
leaves the choice to the display: Lightbox takes a LINEAR window over the 0.5th..99.5th
percentile of the modality values present, so a few extreme pixels (metal, padding) do not
wash the image out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from app.imaging.voi_lut import Window

#: Presets by Modality (0008,0060), then by name; ``(center, width)`` LINEAR windows.
PRESETS: dict[str, dict[str, Window]] = {
    "CT": {
        "abdomen": Window(40, 400),
        "angio": Window(300, 600),
        "bone": Window(400, 1800),
        "brain": Window(40, 80),
        "liver": Window(60, 160),
        "lung": Window(-600, 1500),
        "mediastinum": Window(50, 350),
        "soft tissue": Window(50, 400),
        "spine": Window(50, 250),
        "stroke": Window(40, 40),
        "subdural": Window(75, 215),
        "temporal bone": Window(600, 2800),
    },
    "PT": {"SUV 0-10": Window(5, 10)},
}

#: Presets of the site (``[workstation.viewer] presets``), set by :func:`use_site_presets`; they add to
#: :data:`PRESETS` and replace a built-in preset of the same name.
SITE_PRESETS: dict[str, dict[str, Window]] = {}

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5


def presets_for(modality: str) -> dict[str, Window]:
    """The presets of a modality, the built-in ones then the site's (empty when it has none)."""
    key = modality.strip().upper()
    return {**PRESETS.get(key, {}), **SITE_PRESETS.get(key, {})}


def use_site_presets(presets: Mapping[str, Mapping[str, tuple[float, float]]]) -> None:
    """Use ``presets`` (modality -> name -> (center, width)) from now on, in place of the previous site's."""
    SITE_PRESETS.clear()
    for modality, named in presets.items():
        SITE_PRESETS[modality.strip().upper()] = {name: Window(c, w) for name, (c, w) in named.items()}


def percentile_window(
    values: np.ndarray,
    counts: np.ndarray | None = None,
    low: float = LOW_PERCENTILE,
    high: float = HIGH_PERCENTILE,
) -> Window:
    """A LINEAR window spanning the ``low``..``high`` percentiles of ``values``.

    Parameters
    ----------
    values
        Modality values (any shape).
    counts
        Optional weights of ``values`` (a histogram: how many pixels have each value).
    low, high
        Percentiles in 0..100.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.ones_like(v) if counts is None else np.asarray(counts, dtype=np.float64).ravel()
    keep = w > 0
    v, w = v[keep], w[keep]
    if v.size == 0:
        return Window(0.5, 1.0)
    order = np.argsort(v, kind="stable")
    v, cum = v[order], np.cumsum(w[order])
    total = cum[-1]
    lo = float(v[min(np.searchsorted(cum, total * low / 100.0, side="left"), v.size - 1)])
    hi = float(v[min(np.searchsorted(cum, total * high / 100.0, side="left"), v.size - 1)])
    if hi <= lo:  # flat image, or one dominant value: fall back to the full range
        lo, hi = float(v[0]), float(v[-1])
    width = max(hi - lo + 1.0, 1.0)
    return Window(center=lo + (width - 1.0) / 2.0 + 0.5, width=width)
