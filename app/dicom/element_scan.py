"""A fast scan of a data set's top-level elements, for the few attributes an index needs.

pydicom's reader builds an element object for everything it walks past; on the C-STORE
path that costs more than the rest of the ingest. This scanner only walks the element
headers of an encoded data set (PS3.5 7.1: explicit or implicit VR, little or big
endian), skipping values and sequences (PS3.5 7.5, defined or undefined length), and hands
the wanted elements back, decoded: the simple text and integer values an index needs,
with pydicom's character set tables (PS3.5 6.1), several times faster than building
pydicom elements and converting them.

Anything unexpected (a truncated buffer, a bad delimiter) raises :class:`ScanError`; the
caller then falls back to pydicom's own reader.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from typing import Any

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, keyword_for_tag

#: VRs whose explicit encoding has a 4-byte length after 2 reserved bytes (PS3.5 Table 7.1-1).
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD
#: Nesting deeper than this is refused (a bound on what a peer can make us recurse into).
MAX_DEPTH = 32


class ScanError(ValueError):
    """The buffer is not a data set this scanner can walk."""


class _Scanner:
    def __init__(self, buf: memoryview, implicit: bool, little: bool) -> None:
        self.buf = buf
        self.implicit = implicit
        self.little = little
        self.tag_fmt = struct.Struct("<HH" if little else ">HH")
        self.u16 = struct.Struct("<H" if little else ">H")
        self.u32 = struct.Struct("<L" if little else ">L")

    def header(self, pos: int) -> tuple[int, bytes | None, int, int]:
        """(tag, VR or None, length, offset of the value) of the element at ``pos``."""
        buf = self.buf
        if pos + 8 > len(buf):
            raise ScanError("truncated element header")
        group, elem = self.tag_fmt.unpack_from(buf, pos)
        tag = group << 16 | elem
        if self.implicit or group == 0xFFFE:  # items and delimiters have no VR (PS3.5 7.5)
            return tag, None, self.u32.unpack_from(buf, pos + 4)[0], pos + 8
        vr = bytes(buf[pos + 4 : pos + 6])
        if vr in _LONG_VRS:
            if pos + 12 > len(buf):
                raise ScanError("truncated element header")
            return tag, vr, self.u32.unpack_from(buf, pos + 8)[0], pos + 12
        if not vr.isalpha() or not vr.isupper():
            raise ScanError(f"invalid VR {vr!r}")
        return tag, vr, self.u16.unpack_from(buf, pos + 6)[0], pos + 8

    def skip_sequence(self, pos: int, depth: int) -> int:
        """Skip an undefined-length sequence value starting at ``pos``; returns the offset after it."""
        if depth > MAX_DEPTH:
            raise ScanError("sequences nested too deep")
        while True:
            tag, _vr, length, value = self.header(pos)
            if tag == _SEQUENCE_END:
                return value
            if tag != _ITEM:
                raise ScanError(f"expected an item, found ({tag >> 16:04X},{tag & 0xFFFF:04X})")
            pos = self.skip_item(value, depth + 1) if length == _UNDEFINED else value + length

    def skip_item(self, pos: int, depth: int) -> int:
        """Skip the elements of an undefined-length item up to its delimiter."""
        while True:
            tag, _vr, length, value = self.header(pos)
            if tag == _ITEM_END:
                return value
            pos = self.skip_sequence(value, depth) if length == _UNDEFINED else value + length
            if pos > len(self.buf):
                raise ScanError("element runs past the end of the data set")


#: VRs decoded with the data set's character set (PS3.5 6.1.2.3); others are ASCII.
_TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "UC", "PN"})
#: Delimiters that reset ISO 2022 code extensions in PN values (PS3.5 6.1.2.5.3).
_PN_DELIMITERS = {0x5C, 0x3D, 0x5E}
_TEXT_DELIMITERS = {0x5C}
_BINARY_INTS = {"US": "H", "SS": "h", "UL": "L", "SL": "l"}


def scan_values(
    buf: bytes | bytearray | memoryview,
    *,
    implicit_vr: bool,
    little_endian: bool,
    wanted: Collection[int],
    stop_after: int,
) -> dict[str, Any]:
    """Read the ``wanted`` top-level elements of an encoded data set, decoded, by keyword.

    Parameters
    ----------
    buf
        The encoded data set (no preamble or file meta).
    implicit_vr, little_endian
        Its encoding (from the transfer syntax).
    wanted
        Tags to read, as integers; (0008,0005) Specific Character Set among them when the
        text values may be other than ASCII.
    stop_after
        The scan ends at the first top-level element with a larger tag.

    Text values are strings (multiple values joined by a backslash, trailing spaces and
    NULs removed); US/SS/UL/SL values are the first integer; anything else is left out.

    Raises
    ------
    ScanError
        When the encoding cannot be walked, or a value cannot be decoded.
    """
    raw = {
        tag: (vr.decode() if vr else dictionary_VR(tag), value)
        for tag, vr, value, _offset in _walk(buf, implicit_vr, little_endian, wanted, stop_after)
    }
    charset = raw.pop(0x00080005, None)
    try:
        encodings = convert_encodings(
            [v for v in charset[1].decode("ascii").strip(" \x00").split("\\")] if charset else None
        )
    except (LookupError, UnicodeDecodeError) as exc:
        raise ScanError(f"unknown Specific Character Set: {exc}") from exc
    out: dict[str, Any] = {}
    for tag, (vr, value) in raw.items():
        keyword = keyword_for_tag(tag)
        if vr in _BINARY_INTS:
            size = struct.calcsize(_BINARY_INTS[vr])
            if len(value) >= size:
                out[keyword] = struct.unpack_from(("<" if little_endian else ">") + _BINARY_INTS[vr], value)[0]
            continue
        try:
            if vr in _TEXT_VRS:
                text = decode_bytes(value, encodings, _PN_DELIMITERS if vr == "PN" else _TEXT_DELIMITERS)
            else:
                text = value.decode("ascii")
        except (UnicodeDecodeError, LookupError) as exc:
            raise ScanError(f"cannot decode {keyword}: {exc}") from exc
        out[keyword] = text.rstrip(" \x00")
    return out


def _walk(
    buf: bytes | bytearray | memoryview, implicit_vr: bool, little_endian: bool, wanted: Collection[int],
    stop_after: int,
) -> list[tuple[int, bytes | None, bytes, int]]:
    """(tag, explicit VR or None, value bytes, offset) of the wanted top-level elements."""
    view = memoryview(buf).cast("B")
    scanner = _Scanner(view, implicit_vr, little_endian)
    found: list[tuple[int, bytes | None, bytes, int]] = []
    pos, end = 0, len(view)
    while pos < end:
        tag, vr, length, value = scanner.header(pos)
        if tag > stop_after:
            break
        if length == _UNDEFINED:
            if tag in wanted:
                raise ScanError("a wanted element has an undefined length")
            pos = scanner.skip_sequence(value, 1)
            continue
        pos = value + length
        if pos > end:
            raise ScanError("element runs past the end of the data set")
        if tag in wanted:
            found.append((tag, vr, bytes(view[value:pos]), value))
    return found
