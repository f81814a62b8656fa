"""multipart/related parsing (RFC 2046 5.1) used by WADO-RS and STOW-RS."""

from __future__ import annotations

import pytest

from app.client.multipart import boundary_of, encode_parts, iter_parts
from app.core.errors import AppError


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 3, 7, 64, 100000])
def test_roundtrip_any_chunking(size: int) -> None:
    contents = [b"\x00\x01DICM" * 50, b"", b"\r\n--not-the-boundary\r\n", bytes(range(256)) * 4]
    body, content_type = encode_parts(contents)
    parts = list(iter_parts(_chunks(body, size), boundary_of(content_type)))
    assert [p.content for p in parts] == contents
    assert all(p.content_type == "application/dicom" for p in parts)


def test_preamble_epilogue_and_quoted_boundary() -> None:
    body = (
        b"preamble text\r\n--abc\r\nContent-Type: application/dicom\r\nContent-Location: x\r\n\r\n"
        b"ONE\r\n--abc  \r\n\r\nTWO\r\n--abc--\r\nepilogue"
    )
    boundary = boundary_of('multipart/related; type="application/dicom"; boundary="abc"')
    parts = list(iter_parts([body], boundary))
    assert [p.content for p in parts] == [b"ONE", b"TWO"]
    assert parts[0].headers["content-location"] == "x"


def test_truncated_stream_is_an_error() -> None:
    with pytest.raises(AppError, match="cut short"):
        list(iter_parts([b"--abc\r\n\r\nONE\r\n--ab"], "abc"))


def test_not_multipart() -> None:
    with pytest.raises(AppError, match="not multipart"):
        boundary_of("application/json")
    with pytest.raises(AppError, match="no boundary"):
        boundary_of("multipart/related")
