"""DIMSE command sets encoded by hand (PS3.7 6.3.1, 9.3, E.1: group 0000, implicit VR little endian).

pynetdicom encodes every command set twice through pydicom's ``write_dataset`` (once to
compute Command Group Length, once to send it): about half of building a C-FIND-RSP, paid
once per pending response. A command set is a handful of elements whose encoding is fixed
by PS3.5 7.1.3 (tag, 4-byte length, value): US/UL as little-endian integers, text padded to
even length (NULL for UI, space otherwise). :func:`install` wraps the ``encode`` of
``pynetdicom.dimse_messages`` (pinned pynetdicom only) so that such command sets are
written here; anything else (another group, a multi-valued or binary value this module does
not know) goes to pynetdicom's own ``encode`` unchanged.
``tests/unit/server/test_command_encoding.py`` checks byte equality with pydicom.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

import pynetdicom
from pydicom.dataset import Dataset

from app.server.fastpath import PINNED_PYNETDICOM, _element, _even, is_supported

LOGGER = logging.getLogger(__name__)

_INTS = {"US": ("<H", 0xFFFF), "UL": ("<I", 0xFFFFFFFF)}
_TEXTS = frozenset({"AE", "CS", "LO", "SH", "ST", "UI"})


def encode_command(ds: Dataset) -> bytes | None:
    """``ds`` encoded in implicit VR little endian, or None when it is not a plain command set."""
    out = bytearray()
    for elem in ds:
        tag = int(elem.tag)
        if tag >> 16:
            return None
        vr, value = elem.VR, elem.value
        if value is None or value == "":
            raw = b""
        elif vr in _INTS and type(value) is int:
            fmt, top = _INTS[vr]
            if not 0 <= value <= top:
                return None
            raw = struct.pack(fmt, value)
        elif vr in _TEXTS and isinstance(value, str) and value.isascii() and "\\" not in value:
            raw = _even(value.encode("ascii"), b"\0" if vr == "UI" else b" ")
        else:
            return None
        out += _element(tag, raw)
    return bytes(out)


def _installed() -> bool:
    from pynetdicom import dimse_messages

    return bool(getattr(dimse_messages.encode, "lightbox_commands", False))


def install() -> bool:
    """Encode pynetdicom's command sets here (pinned pynetdicom only; idempotent, process-wide)."""
    if not is_supported():
        LOGGER.info("pynetdicom %s is not the pinned %s: command sets encoded by pydicom",
                    pynetdicom.__version__, PINNED_PYNETDICOM)
        return False
    from pynetdicom import dimse_messages

    if _installed():
        return True
    original = dimse_messages.encode

    def encode(ds: Any, is_implicit_vr: bool, is_little_endian: bool, deflated: bool = False) -> bytes | None:
        if is_implicit_vr and is_little_endian and not deflated:
            try:
                encoded = encode_command(ds)
            except Exception:
                encoded = None
            if encoded is not None:
                return encoded
        return original(ds, is_implicit_vr, is_little_endian, deflated)

    encode.lightbox_commands = True  # type: ignore[attr-defined]
    dimse_messages.encode = encode
    return True
