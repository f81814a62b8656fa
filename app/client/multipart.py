"""multipart/related bodies of WADO-RS and STOW-RS (PS3.18 8.7.1, RFC 2387 / RFC 2046 5.1).

A streaming parser: parts are yielded as soon as their closing delimiter has arrived, so a
series can be decoded while the rest is still on the wire.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message

from app.core.errors import AppError


@dataclass(frozen=True)
class Part:
    """One body part: its headers (lower-case names) and content."""

    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a multipart Content-Type (quoted or not)."""
    msg = Message()
    msg["content-type"] = content_type
    if msg.get_content_maintype() != "multipart":
        raise AppError(
            f"The server answered with Content-Type {content_type!r}, not multipart/related; "
            "check that the URL points at a DICOMweb (WADO-RS) service."
        )
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise AppError(f"The multipart Content-Type {content_type!r} has no boundary parameter (RFC 2046 5.1.1).")
    return boundary


def _parse_part(raw: bytes) -> Part:
    if raw.startswith(b"\r\n"):
        return Part(content=raw[2:])
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise AppError("A multipart body part has no blank line after its headers (RFC 2046 5.1.1).")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return Part(content=body, headers=headers)


def iter_parts(chunks: Iterable[bytes], boundary: str) -> Iterator[Part]:
    """Yield the body parts of a multipart stream given as byte chunks.

    Raises
    ------
    AppError
        When the stream ends before the closing delimiter (a truncated answer).
    """
    sep = b"\r\n--" + boundary.encode("latin-1")
    buf = bytearray(b"\r\n")  # the first delimiter may start the body without a CRLF
    search_from = 0
    in_part = False
    for chunk in chunks:
        if not chunk:
            continue
        buf += chunk
        while True:
            idx = buf.find(sep, search_from)
            if idx < 0:
                search_from = max(0, len(buf) - len(sep) + 1)
                break
            after = idx + len(sep)
            if len(buf) < after + 2:
                search_from = idx
                break
            if in_part:
                yield _parse_part(bytes(buf[:idx]))
            if buf[after : after + 2] == b"--":
                return
            eol = buf.find(b"\r\n", after)
            if eol < 0:
                search_from = idx
                break
            del buf[: eol + 2]
            in_part = True
            search_from = 0
    raise AppError("The multipart answer ended before its closing boundary; the transfer was cut short. Retry.")


def encode_parts(parts: Iterable[bytes], content_type: str = "application/dicom") -> tuple[bytes, str]:
    """Encode parts as one multipart/related body; return it and its Content-Type header."""
    boundary = uuid.uuid4().hex
    delim = f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode("latin-1")
    body = bytearray()
    for content in parts:
        body += delim + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode("latin-1")
    return bytes(body), f'multipart/related; type="{content_type}"; boundary={boundary}'
