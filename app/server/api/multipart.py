"""multipart/related (RFC 2387) as DICOMweb uses it (PS3.18 8.6.1.2): media type
parsing, a streaming reader for STOW-RS request bodies, and the framing of WADO-RS
responses.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from app.core.errors import DicomInputError

_SPOOL_BYTES = 16 * 1024 * 1024
_MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class MediaType:
    """A media type with its parameters (``multipart/related; type="application/dicom"``)."""

    type: str
    params: dict[str, str]
    quality: float = 1.0


def parse_media_type(text: str) -> MediaType:
    """Parse one media type (RFC 9110 8.3.1); names lower-cased, quotes removed."""
    parts = _split_outside_quotes(text, ";")
    params: dict[str, str] = {}
    for raw in parts[1:]:
        name, sep, value = raw.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        params[name.strip().lower()] = value
    quality = 1.0
    if "q" in params:
        try:
            quality = float(params.pop("q"))
        except ValueError:
            quality = 0.0
    return MediaType(parts[0].strip().lower(), params, quality)


def parse_accept(header: str) -> list[MediaType]:
    """The media ranges of an Accept header, best quality first (RFC 9110 12.5.1)."""
    ranges = [parse_media_type(p) for p in _split_outside_quotes(header, ",") if p.strip()]
    return sorted(ranges, key=lambda m: -m.quality)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return out


def new_boundary() -> str:
    """A random boundary that cannot occur in DICOM data by chance."""
    return "lightbox-" + secrets.token_hex(16)


def part_header(boundary: str, content_type: str, length: int | None = None) -> bytes:
    """Delimiter and headers of one body part."""
    lines = [f"--{boundary}", f"Content-Type: {content_type}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def closing(boundary: str) -> bytes:
    """The close delimiter."""
    return f"--{boundary}--\r\n".encode("ascii")


@dataclass
class Part:
    """One received body part, spooled (memory up to 16 MiB, then a temporary file)."""

    headers: dict[str, str]
    body: BinaryIO

    @property
    def content_type(self) -> MediaType:
        return parse_media_type(self.headers.get("content-type", "application/dicom"))


def _parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise DicomInputError(f"malformed part header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


async def read_parts(chunks: AsyncIterator[bytes], boundary: str) -> AsyncIterator[Part]:
    """Yield the parts of a multipart body as they arrive (constant memory per part).

    Raises
    ------
    DicomInputError
        The body is not well-formed multipart with this boundary.
    """
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    buffer = bytearray(b"\r\n")  # lets the first delimiter match like the later ones
    iterator = chunks.__aiter__()
    finished = False

    async def more() -> bool:
        nonlocal finished
        if finished:
            return False
        try:
            buffer.extend(await iterator.__anext__())
        except StopAsyncIteration:
            finished = True
            return False
        return True

    # Preamble: up to the first delimiter.
    while (start := buffer.find(delimiter)) < 0:
        if len(buffer) > _MAX_HEADER_BYTES:
            del buffer[: len(buffer) - len(delimiter)]
        if not await more():
            raise DicomInputError("the multipart body has no part with the boundary of its Content-Type")
    del buffer[: start + len(delimiter)]
    while True:
        while len(buffer) < 2:
            if not await more():
                raise DicomInputError("the multipart body ends without its close delimiter")
        if buffer[:2] == b"--":
            return
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > _MAX_HEADER_BYTES:
                raise DicomInputError("a part's headers are too long")
            if not await more():
                raise DicomInputError("the multipart body ends inside a part's headers")
        line_end = buffer.find(b"\r\n")
        headers = _parse_headers(bytes(buffer[line_end + 2 : end]))
        del buffer[: end + 4]
        body = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - handed to the caller
        try:
            while (stop := buffer.find(delimiter)) < 0:
                keep = len(delimiter)
                if len(buffer) > keep:
                    body.write(buffer[: len(buffer) - keep])
                    del buffer[: len(buffer) - keep]
                if not await more():
                    raise DicomInputError("the multipart body ends inside a part")
            body.write(buffer[:stop])
            del buffer[: stop + len(delimiter)]
            body.seek(0)
        except BaseException:
            body.close()
            raise
        yield Part(headers, cast(BinaryIO, body))
