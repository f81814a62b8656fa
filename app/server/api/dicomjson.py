"""DICOM JSON model (PS3.18 F.2) for the attributes the index returns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

_NUMBER_VRS = {"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "UV", "SV"}


def tag_hex(keyword: str) -> str:
    """The 8-hex-digit tag of a keyword (``PatientName`` -> ``00100010``)."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return f"{tag:08X}"


def keyword_of(attribute: str) -> str | None:
    """Keyword of a QIDO attribute ID given as keyword or tag (PS3.18 8.3.4.1), or None."""
    text = attribute.strip()
    hexdigits = text.replace(",", "").replace("(", "").replace(")", "")
    if len(hexdigits) == 8 and all(c in "0123456789abcdefABCDEF" for c in hexdigits):
        return keyword_for_tag(int(hexdigits, 16)) or None
    return text if tag_for_keyword(text) is not None else None


def _pn(value: str) -> dict[str, str]:
    groups = str(value).split("=")
    out = {}
    for name, group in zip(("Alphabetic", "Ideographic", "Phonetic"), groups, strict=False):
        if group:
            out[name] = group
    return out


def element(keyword: str, value: Any) -> dict[str, Any]:
    """One DICOM JSON attribute object (PS3.18 F.2.2): ``{"vr": ..., "Value": [...]}``."""
    vr = dictionary_VR(keyword)
    out: dict[str, Any] = {"vr": vr}
    if value is None or value == "" or value == []:
        return out
    values = list(value) if isinstance(value, list | tuple) else [value]
    if vr == "PN":
        out["Value"] = [_pn(v) for v in values]
    elif vr == "SQ":
        out["Value"] = [dataset(item) for item in values]
    elif vr in _NUMBER_VRS:
        out["Value"] = [int(v) if vr in {"IS", "US", "UL", "SS", "SL", "UV", "SV"} else float(v) for v in values]
    else:
        out["Value"] = [str(v) for v in values]
    return out


def dataset(values: Mapping[str, Any]) -> dict[str, Any]:
    """A DICOM JSON data set from keyword -> value, attributes in tag order (PS3.18 F.2.1)."""
    items = sorted(((tag_hex(k), k, v) for k, v in values.items()), key=lambda t: t[0])
    return {tag: element(keyword, value) for tag, keyword, value in items}


def datasets(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A DICOM JSON array of data sets (a QIDO-RS response body, PS3.18 10.6.3)."""
    return [dataset(row) for row in rows]
