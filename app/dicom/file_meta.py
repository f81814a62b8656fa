"""The preamble and File Meta Information of a DICOM file Lightbox writes (PS3.10 7.1).

Encoded directly: it is on the path of every C-STORE, and the result is byte for byte what
pydicom's ``write_file_meta_info`` writes for the same elements (a test checks it).
"""

from __future__ import annotations

import struct

from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

_PREAMBLE = b"\x00" * 128 + b"DICM"


def _element(group_elem: int, vr: bytes, value: bytes) -> bytes:
    """One explicit VR little endian element of the file meta group (PS3.5 7.1.2)."""
    tag = struct.pack("<HH", group_elem >> 16, group_elem & 0xFFFF)
    if vr == b"OB":
        return tag + vr + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return tag + vr + struct.pack("<H", len(value)) + value


def _padded(text: str, pad: bytes) -> bytes:
    data = text.encode("ascii")
    return data + pad if len(data) % 2 else data


def file_meta_bytes(
    transfer_syntax: str, sop_class_uid: str, sop_instance_uid: str, source_ae: str, called_ae: str
) -> bytes:
    """Preamble, ``DICM`` and File Meta Information (PS3.10 7.1) of a file we store.

    Encoded directly (it is on the path of every C-STORE); the result is what pydicom's
    ``write_file_meta_info`` writes for the same elements.
    """
    for uid in (transfer_syntax, sop_class_uid, sop_instance_uid):
        if len(uid) > 64 or not uid.isascii() or "\\" in uid:
            raise ValueError(f"not a UID: {uid[:80]!r}")
    elements = [
        _element(0x00020001, b"OB", b"\x00\x01"),
        _element(0x00020002, b"UI", _padded(sop_class_uid, b"\x00")),
        _element(0x00020003, b"UI", _padded(sop_instance_uid, b"\x00")),
        _element(0x00020010, b"UI", _padded(transfer_syntax, b"\x00")),
        _element(0x00020012, b"UI", _padded(IMPLEMENTATION_CLASS_UID, b"\x00")),
        _element(0x00020013, b"SH", _padded(IMPLEMENTATION_VERSION_NAME, b" ")),
    ]
    source = source_ae.strip()[:16]
    called = called_ae.strip()[:16]
    if source and source.isascii():
        elements.append(_element(0x00020016, b"AE", _padded(source, b" ")))
        elements.append(_element(0x00020017, b"AE", _padded(source, b" ")))
    if called and called.isascii():
        elements.append(_element(0x00020018, b"AE", _padded(called, b" ")))
    body = b"".join(elements)
    return _PREAMBLE + _element(0x00020000, b"UL", struct.pack("<I", len(body))) + body
