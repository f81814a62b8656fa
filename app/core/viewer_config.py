"""Settings of the image viewer (``[workstation.viewer]`` in the TOML).

``screen_pixel_mm`` is the size of one screen pixel in mm for true-size (1:1) display; 0 takes
it from the screen's reported physical DPI (many screens report it wrongly: measure a ruler on
screen and set it). ``layout`` is the image windows' grid when a viewer opens ("rows x columns",
1..8 each). ``corner_text`` replaces corner text templates per modality, in the syntax of
``app.imaging.corner_text`` (``date_format`` and ``templates.<MODALITY>.<corner>`` line
lists); modalities and corners not given keep the defaults. Its fields are checked when the
viewer starts (``app.services.viewer_settings``). ``sort`` is the stack order a series opens
in (a name of :class:`app.imaging.stacks.SortKey`, e.g. ``"SLICE_LOCATION"``). ``presets`` adds
or replaces window presets per modality: ``presets.<MODALITY>.<name> = [center, width]`` (modality
units, a LINEAR window, PS3.3 C.11.2.1.2), over :data:`app.imaging.presets.PRESETS`.
``date_language`` is the language of month and day names in dates (corner text and study list):
empty = the system's, else a locale name such as ``"en"``, ``"de"``, ``"fr_CA"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.core import config_checks as check
from app.core.errors import ConfigError

_LAYOUT = re.compile(r"^([1-8])x([1-8])$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
#: The names of app.imaging.stacks.SortKey (kept here: app.core does not import app.imaging).
SORT_KEYS = ("INSTANCE_NUMBER", "SLICE_LOCATION", "CONTENT_DATETIME", "ECHO_TIME", "TEMPORAL_POSITION",
             "IMAGE_POSITION", "IMAGE_ORIENTATION")


@dataclass(frozen=True)
class ViewerConfig:
    """``[workstation.viewer]``: true-size calibration, first layout, corner text templates."""

    screen_pixel_mm: float = 0.0
    layout: str = "1x1"
    corner_text: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    sort: str = "INSTANCE_NUMBER"
    presets: Mapping[str, Mapping[str, tuple[float, float]]] = field(default_factory=lambda: MappingProxyType({}))
    date_language: str = ""

    @property
    def layout_shape(self) -> tuple[int, int]:
        """(rows, columns) of :attr:`layout`."""
        found = _LAYOUT.match(self.layout)
        assert found is not None  # checked by viewer_from
        return int(found.group(1)), int(found.group(2))


def viewer_from(raw: Any) -> ViewerConfig:
    """The ``[workstation.viewer]`` table as a :class:`ViewerConfig`."""
    where = "[workstation.viewer]"
    raw = check.known_keys(raw, where, ViewerConfig)
    d = ViewerConfig()
    pixel = raw.get("screen_pixel_mm", d.screen_pixel_mm)
    if not isinstance(pixel, int | float) or isinstance(pixel, bool) or not 0 <= pixel <= 5:
        raise ConfigError(f"{where} screen_pixel_mm = {pixel!r}: use 0 (from the screen) or a size such as 0.25 (mm).")
    layout = check.string(raw, "layout", d.layout, where).lower().replace(" ", "")
    if not _LAYOUT.match(layout):
        raise ConfigError(f"{where} layout = {layout!r}: use rows x columns, each 1 to 8, e.g. \"2x2\".")
    corner_text = raw.get("corner_text", {})
    if not isinstance(corner_text, Mapping):
        raise ConfigError(f"{where} corner_text must be a table (date_format, templates.<MODALITY>.<corner>).")
    sort = check.string(raw, "sort", d.sort, where).upper()
    if sort not in SORT_KEYS:
        raise ConfigError(f"{where} sort = {sort!r}: use one of {', '.join(SORT_KEYS)}.")
    language = check.string(raw, "date_language", d.date_language, where)
    if language and not _LANGUAGE.match(language):
        raise ConfigError(f"{where} date_language = {language!r}: use \"\" (the system's) or a locale name such as "
                          "\"en\", \"de\" or \"fr_CA\".")
    return ViewerConfig(float(pixel), layout, MappingProxyType(dict(corner_text)), sort,
                        _presets_from(raw.get("presets", {}), f"{where} presets"), language)


def _presets_from(raw: Any, where: str) -> Mapping[str, Mapping[str, tuple[float, float]]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table of modalities, e.g. presets.CT.lung = [-600, 1500].")
    out: dict[str, Mapping[str, tuple[float, float]]] = {}
    for modality, named in raw.items():
        if not isinstance(named, Mapping) or not str(modality).strip():
            raise ConfigError(f"{where}.{modality} must be a table of name = [center, width].")
        windows = {}
        for name, pair in named.items():
            if (not isinstance(pair, list | tuple) or len(pair) != 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair) or pair[1] < 1):
                raise ConfigError(f"{where}.{modality}.{name} = {pair!r}: use [center, width] with width at least 1.")
            windows[str(name)] = (float(pair[0]), float(pair[1]))
        out[str(modality).strip().upper()] = MappingProxyType(windows)
    return MappingProxyType(out)
