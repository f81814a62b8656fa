"""Reading the DICOM JSON Model of QIDO-RS answers (PS3.18 F.2).

Each result is an object keyed by 8 hex digit tags: ``{"00100010": {"vr": "PN", "Value":
[{"Alphabetic": "DOE^JOHN"}]}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydicom.datadict import tag_for_keyword


class DicomJson:
    """Read-only access to one DICOM JSON object by keyword."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = {str(k).upper(): v for k, v in data.items()}

    @staticmethod
    def _tag(keyword: str) -> str:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise KeyError(f"{keyword!r} is not a DICOM keyword")
        return f"{tag:08X}"

    def values(self, keyword: str) -> list[Any]:
        """All values of an attribute (empty when absent or empty, PS3.18 F.2.5)."""
        element = self._data.get(self._tag(keyword))
        if not isinstance(element, Mapping):
            return []
        values = element.get("Value") or []
        if element.get("vr") == "PN":
            return [v.get("Alphabetic", "") if isinstance(v, Mapping) else str(v) for v in values]
        return list(values)

    def first(self, keyword: str, default: Any = None) -> Any:
        """The first value of an attribute, or ``default``."""
        values = self.values(keyword)
        return values[0] if values and values[0] is not None else default

    def text(self, keyword: str) -> str:
        """The first value as text ('' when absent); multiple values joined with a backslash."""
        values = [str(v) for v in self.values(keyword) if v is not None]
        return "\\".join(values)

    def integer(self, keyword: str, default: int = 0) -> int:
        """The first value as an int (IS/US/UL are numbers or strings in JSON)."""
        value = self.first(keyword)
        try:
            return int(value)
        except (TypeError, ValueError):
            return default

    def raw(self) -> dict[str, Any]:
        return dict(self._data)
