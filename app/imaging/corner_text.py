"""Corner text: the lines shown in the four corners of an image window, per modality.

The text comes from a configurable template set (:class:`CornerTemplates`, TOML-able): for a
modality ("*" = any), for each corner (``top_left``, ``top_right``, ``bottom_left``,
``bottom_right``), a list of line templates in Python format syntax whose fields are DICOM
keywords: ``"{PatientName}"``, ``"TR {RepetitionTime:.0f} ms"``. A field may list fallbacks,
the first present wins (``"{SequenceName|ScanningSequence}"``; dates as the reference's
appendix A: content date, else acquisition, series, study date). A line whose field is missing
is dropped; a field ending in ``?`` is optional (left out, the line kept while any field is
present). Values are read per frame (functional groups of enhanced multi-frame images, see
:mod:`app.imaging.functional_groups`). Person names read "Family, Given", dates use the
template set's ``date_format`` (ISO by default), times ``HH:MM:SS``. The window and frame
number change while viewing: the caller passes them (fields ``WindowCenter``,
``WindowWidth``, ``FrameNumber``, ``NumberOfFrames`` (multi-frame only), ``Zoom``).
The default set (:data:`DEFAULT_TEMPLATES`) is written out in
:mod:`app.imaging.corner_text_defaults`. Nothing here logs values.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_dict
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from app.core.errors import ConfigError
from app.dicom.value_format import ISO_DATE, format_date, format_datetime, format_person_name, format_time
from app.imaging.corner_text_defaults import DEFAULT_LINES
from app.imaging.frames import number_of_frames
from app.imaging.functional_groups import frame_value

CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")
ANY_MODALITY = "*"
DYNAMIC_FIELDS = ("WindowCenter", "WindowWidth", "FrameNumber", "NumberOfFrames", "Zoom")
_NUMERIC_VRS = {"DS", "IS", "FL", "FD", "US", "SS", "UL", "SL", "UV", "SV"}

Corners = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class CornerText:
    """The lines of each corner, top to bottom."""

    top_left: tuple[str, ...] = ()
    top_right: tuple[str, ...] = ()
    bottom_left: tuple[str, ...] = ()
    bottom_right: tuple[str, ...] = ()

    def corner(self, name: str) -> tuple[str, ...]:
        """The lines of corner ``name`` (one of :data:`CORNERS`)."""
        lines: tuple[str, ...] = getattr(self, name)
        return lines


@lru_cache(maxsize=512)
def _parse(template: str) -> tuple[tuple[str, str | None, str], ...]:
    """(literal, field, format spec) parts of a line template; ConfigError when malformed."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"Corner text template {template!r} is malformed ({exc}); check its braces.") from exc
    out = []
    for literal, name, spec, conversion in parts:
        if conversion:
            raise ConfigError(f"Corner text template {template!r}: conversions like !{conversion} are not supported.")
        if name is not None:
            for keyword in name.rstrip("?").split("|"):
                keyword = keyword.strip()
                if keyword not in keyword_dict and keyword not in DYNAMIC_FIELDS:
                    raise ConfigError(
                        f"Corner text template {template!r}: {keyword!r} is not a DICOM keyword (e.g. "
                        f"PatientName, RepetitionTime) nor one of {', '.join(DYNAMIC_FIELDS)}."
                    )
        out.append((literal, name, spec or ""))
    return tuple(out)


def _corners_from(raw: object, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"Corner text templates for {where} must be a table of corners ({', '.join(CORNERS)}).")
    out: dict[str, tuple[str, ...]] = {}
    for corner, lines in raw.items():
        if corner not in CORNERS:
            raise ConfigError(f"Corner text templates for {where}: {corner!r} is not one of {', '.join(CORNERS)}.")
        if isinstance(lines, str) or not isinstance(lines, Sequence) or not all(isinstance(x, str) for x in lines):
            raise ConfigError(f"Corner text templates for {where}.{corner} must be a list of strings.")
        for line in lines:
            _parse(line)
        out[corner] = tuple(lines)
    return out


@dataclass(frozen=True)
class CornerTemplates:
    """Line templates per modality and corner, and the date format (a strftime pattern)."""

    templates: Mapping[str, Corners] = field(default_factory=dict)
    date_format: str = ISO_DATE

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: CornerTemplates | None = None) -> CornerTemplates:
        """Read ``{"date_format": ..., "templates": {modality: {corner: [lines]}}}`` (a TOML table).

        With ``base``, the given modalities' corners replace the base's, the rest is kept.
        Raises ConfigError naming the bad entry.
        """
        raw_templates = data.get("templates", {})
        if not isinstance(raw_templates, Mapping):
            raise ConfigError("corner_text.templates must be a table: modality -> corner -> list of lines.")
        merged: dict[str, dict[str, tuple[str, ...]]] = {}
        if base is not None:
            merged = {modality: dict(corners) for modality, corners in base.templates.items()}
        for modality, corners in raw_templates.items():
            key = str(modality).strip().upper()
            merged.setdefault(key, {}).update(_corners_from(corners, key))
        date_format = data.get("date_format", base.date_format if base else ISO_DATE)
        if not isinstance(date_format, str) or not date_format:
            raise ConfigError("corner_text.date_format must be a strftime pattern such as '%Y-%m-%d'.")
        frozen = {m: MappingProxyType(dict(c)) for m, c in merged.items()}
        return cls(MappingProxyType(frozen), date_format)

    def to_dict(self) -> dict[str, Any]:
        """The plain structure :meth:`from_dict` reads (for writing TOML)."""
        return {
            "date_format": self.date_format,
            "templates": {m: {c: list(lines) for c, lines in corners.items()} for m, corners in self.templates.items()},
        }

    def for_modality(self, modality: str) -> dict[str, tuple[str, ...]]:
        """Each corner's templates: the modality's own, else those for any modality."""
        own = self.templates.get(modality.strip().upper(), {})
        common = self.templates.get(ANY_MODALITY, {})
        return {corner: tuple(own.get(corner, common.get(corner, ()))) for corner in CORNERS}


def _display(value: object, vr: str | None, spec: str, date_format: str) -> str | None:
    """One value as text, or None when it cannot be shown with ``spec``."""
    if vr == "PN":
        return format_person_name(value)
    if vr == "DA":
        return format_date(value, date_format)
    if vr == "TM":
        return format_time(value)
    if vr == "DT":
        return format_datetime(value, date_format)
    if spec:
        if isinstance(value, str | bytes):
            try:
                value = float(value)
            except ValueError:
                return None
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return None
    return str(value).strip()


def _resolver(
    ds: Dataset, frame: int, dynamic: Mapping[str, object], date_format: str
) -> Callable[[str, str], str | None]:
    def resolve(keyword: str, spec: str) -> str | None:
        if keyword in DYNAMIC_FIELDS:
            value = dynamic.get(keyword)
            return None if value is None else _display(value, None, spec, date_format)
        value = frame_value(ds, frame, keyword)
        if value is None:
            return None
        vr = dictionary_VR(keyword_dict[keyword])
        if vr == "SQ":
            return None
        values = list(value) if isinstance(value, list | tuple | MultiValue) else [value]
        texts = [_display(v, vr, spec, date_format) for v in values]
        if any(t is None for t in texts):
            return None
        text = "/".join(t for t in texts if t)
        return text or None

    return resolve


def render_line(template: str, resolve: Callable[[str, str], str | None]) -> str | None:
    """One line from its template, or None when it is dropped (see the module docstring)."""
    out: list[str] = []
    fields = found = 0
    for literal, name, spec in _parse(template):
        out.append(literal)
        if name is None:
            continue
        fields += 1
        optional = name.endswith("?")
        text = None
        for keyword in name.rstrip("?").split("|"):
            text = resolve(keyword.strip(), spec)
            if text:
                break
        if text:
            found += 1
            out.append(text)
        elif not optional:
            return None
    if fields and not found:
        return None
    line = " ".join("".join(out).split())
    return line or None


VIEW_FIELDS = ("WindowCenter", "WindowWidth", "Zoom")
"""Fields that change with the user's view (the others depend only on the data set and frame)."""


def uses_view_fields(template: str) -> bool:
    """True when a line template shows the window or the zoom (it must be rendered again when they change)."""
    return any(
        keyword.strip() in VIEW_FIELDS
        for _, name, _ in _parse(template)
        if name is not None
        for keyword in name.rstrip("?").split("|")
    )


def frame_resolver(
    ds: Dataset,
    templates: CornerTemplates,
    *,
    frame: int = 0,
    window: tuple[float, float] | None = None,
    zoom: float | None = None,
) -> Callable[[str, str], str | None]:
    """The field resolver :func:`render_line` takes, for frame ``frame`` of ``ds`` (see :func:`corner_text`)."""
    frames = number_of_frames(ds)
    dynamic: dict[str, object] = {"Zoom": zoom}
    if window is not None:
        dynamic["WindowCenter"], dynamic["WindowWidth"] = window
    if frames > 1:
        dynamic["FrameNumber"], dynamic["NumberOfFrames"] = frame + 1, frames
    return _resolver(ds, frame, dynamic, templates.date_format)


def corner_text(
    ds: Dataset,
    templates: CornerTemplates | None = None,
    *,
    frame: int = 0,
    window: tuple[float, float] | None = None,
    zoom: float | None = None,
) -> CornerText:
    """The corner text of frame ``frame`` (0-based) of ``ds``.

    Parameters
    ----------
    templates
        The template set (default: :data:`DEFAULT_TEMPLATES`).
    window
        The window (centre, width) in use, for ``WindowCenter`` / ``WindowWidth``.
    zoom
        The display scale, for ``Zoom``.
    """
    templates = templates or DEFAULT_TEMPLATES
    resolve = frame_resolver(ds, templates, frame=frame, window=window, zoom=zoom)
    lines = {}
    for corner, line_templates in templates.for_modality(str(ds.get("Modality", "") or "")).items():
        rendered = (render_line(t, resolve) for t in line_templates)
        lines[corner] = tuple(line for line in rendered if line is not None)
    return CornerText(**lines)


DEFAULT_TEMPLATES = CornerTemplates.from_dict({"templates": DEFAULT_LINES})
"""The default template set (reference appendix A for CT and MR; ours for the other modalities)."""
