"""C-FIND response identifiers encoded once, by hand, for the negotiated transfer syntax.

pynetdicom encodes each pending response's identifier through pydicom's ``write_dataset``
(PS3.7 9.1.2.1.6), which costs more than everything else in a response. A Q/R identifier is
flat and short text: a few elements whose encoding (PS3.5 7.1.2 explicit VR, 7.1.3 implicit
VR, little endian) is a header and the value padded to even length (PS3.5 6.2: trailing
space, NULL for UI). :class:`FlatEncoder` writes that for one query's keys and yields an
:class:`EncodedIdentifier`: a real :class:`~pydicom.dataset.Dataset` of raw elements
(values decode on access, as after a read) that also carries its encoding.
:func:`install` lets pynetdicom's C-FIND SCP send those bytes instead of re-encoding.

Rows outside the simple case (a non-ASCII value, hence a Specific Character Set; a binary
VR; a value of another type) get ``None`` and are built by
:func:`app.server.qr_models.response_identifier`. ``tests/unit/server/test_qr_response.py``
checks byte equality with pydicom's encoding over many rows.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping
from typing import Any

import pynetdicom
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

from app.server.fastpath import PINNED_PYNETDICOM, is_supported
from app.server.qr_models import ParsedQuery

LOGGER = logging.getLogger(__name__)

#: Text VRs whose value is the string padded with a space (PS3.5 6.2), UI padded with NULL.
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UI",
                       "UC", "UR", "UT"})
#: VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 Table 7.1-1).
_LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT"})
_QR_LEVEL = Tag(0x0008, 0x0052)


class EncodedIdentifier(Dataset):
    """A response identifier with its encoding in one transfer syntax (``implicit``, little endian).

    Made to be sent as it is: changing its elements afterwards would not change the bytes sent.
    """

    def __init__(self, elements: dict[BaseTag, Any], encoded: bytes, implicit: bool) -> None:
        super().__init__(elements)
        self.set_original_encoding(implicit, True, None)
        self.lightbox_encoding = (implicit, encoded)


def _header(tag: int, vr: str, length: int, implicit: bool) -> bytes:
    tag_bytes = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if implicit:
        return tag_bytes + struct.pack("<I", length)
    if vr in _LONG_VRS:
        return tag_bytes + vr.encode("ascii") + struct.pack("<HI", 0, length)
    return tag_bytes + vr.encode("ascii") + struct.pack("<H", length)


def _text(value: Any) -> str | None:
    """The value as DICOM text when it is ASCII text, an int or a list of ASCII strings; else None."""
    if isinstance(value, str):
        return value if value.isascii() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) and v.isascii() for v in value):
        return "\\".join(value)
    return None


class FlatEncoder:
    """Encodes the response identifiers of one parsed C-FIND query (little endian only).

    Parameters
    ----------
    query
        The parsed request.
    retrieve_ae_title
        Retrieve AE Title (0008,0054) when asked for.
    implicit
        Implicit VR (True) or explicit VR (False) little endian.
    """

    def __init__(self, query: ParsedQuery, retrieve_ae_title: str, implicit: bool) -> None:
        self._implicit = implicit
        # (tag, VR, keyword of the row or None, fixed value): sorted by tag, as PS3.5 7.1 wants.
        slots: dict[int, tuple[str, str | None, str | None]] = {int(_QR_LEVEL): ("CS", None, query.level.value)}
        self.usable = True
        for keyword in query.returned:
            tag = tag_for_keyword(keyword)
            vr = dictionary_VR(tag) if tag is not None else ""
            if tag is None or vr not in _TEXT_VRS:
                self.usable = False
                return
            slots[tag] = (vr, keyword, None)
        for tag, vr in query.unknown.items():
            name = keyword_for_tag(tag)
            fixed = {"RetrieveAETitle": retrieve_ae_title, "InstanceAvailability": "ONLINE"}.get(name)
            vr = vr or (dictionary_VR(tag) if name else "")
            if len(vr) != 2 or Tag(tag).is_private or (fixed is not None and not fixed.isascii()):
                self.usable = False
                return
            slots[int(tag)] = (vr, None, fixed)
        self._slots = sorted(slots.items())

    def identifier(self, row: Mapping[str, Any]) -> EncodedIdentifier | None:
        """The encoded identifier of ``row``; None when it needs pydicom (see the module docstring)."""
        if not self.usable:
            return None
        implicit = self._implicit
        chunks: list[bytes] = []
        elements: dict[BaseTag, Any] = {}
        offset = 0
        for tag, (vr, keyword, fixed) in self._slots:
            value = row.get(keyword) if keyword is not None else fixed
            if value is None or value == "" or value == []:
                raw = b""
            else:
                text = _text(value)
                if text is None or vr not in _TEXT_VRS:
                    return None
                raw = text.encode("ascii")
                if len(raw) % 2:
                    raw += b"\0" if vr == "UI" else b" "
            header = _header(tag, vr, len(raw), implicit)
            chunks.append(header)
            chunks.append(raw)
            offset += len(header)
            btag = BaseTag(tag)
            elements[btag] = RawDataElement(btag, None if implicit else vr, len(raw), raw, offset, implicit, True)
            offset += len(raw)
        return EncodedIdentifier(elements, b"".join(chunks), implicit)


def for_context(query: ParsedQuery, retrieve_ae_title: str, transfer_syntax: Any) -> FlatEncoder | None:
    """An encoder for the presentation context's transfer syntax (uncompressed little endian); else None."""
    syntax = str(transfer_syntax or "")
    if syntax == "1.2.840.10008.1.2":
        encoder = FlatEncoder(query, retrieve_ae_title, implicit=True)
    elif syntax == "1.2.840.10008.1.2.1":
        encoder = FlatEncoder(query, retrieve_ae_title, implicit=False)
    else:
        return None
    return encoder if encoder.usable and _installed() else None


def _installed() -> bool:
    from pynetdicom import service_class

    return bool(getattr(service_class.encode, "lightbox_encoded", False))


def install() -> bool:
    """Let pynetdicom's C-FIND SCP send an :class:`EncodedIdentifier`'s bytes (pinned pynetdicom only).

    Wraps ``pynetdicom.service_class.encode``: any other data set, or another encoding, goes
    to pynetdicom's own ``encode`` unchanged. Idempotent; process-wide.
    """
    if not is_supported():
        LOGGER.info("pynetdicom %s is not the pinned %s: C-FIND identifiers encoded by pydicom",
                    pynetdicom.__version__, PINNED_PYNETDICOM)
        return False
    from pynetdicom import service_class

    if _installed():
        return True
    original = service_class.encode

    def encode(ds: Any, is_implicit_vr: bool, is_little_endian: bool, deflated: bool = False) -> bytes | None:
        known = getattr(ds, "lightbox_encoding", None) if isinstance(ds, EncodedIdentifier) else None
        if known is not None and not deflated and is_little_endian and known[0] == is_implicit_vr:
            return bytes(known[1])
        return original(ds, is_implicit_vr, is_little_endian, deflated)

    encode.lightbox_encoded = True  # type: ignore[attr-defined]
    service_class.encode = encode
    return True

