"""The HTTP application in process (app.server.api): request size bound, multipart
reading across chunk boundaries, Accept negotiation, DICOM JSON encoding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file

from app.core.errors import DicomInputError
from app.server.api import ApiContext, create_app
from app.server.api.dicomjson import dataset, keyword_of
from app.server.api.multipart import parse_accept, read_parts
from app.server.api.wado import NotAcceptable, choose
from app.server.context import Ingest
from app.server.index.records import StoredInstance


def ct_bytes() -> bytes:
    return Path(str(get_testdata_file("CT_small.dcm", download=False))).read_bytes()


def body_of(parts: list[bytes], boundary: str = "XyZ") -> bytes:
    return b"".join(
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n" for p in parts
    ) + f"--{boundary}--\r\n".encode()


@pytest.fixture
def client(make_ingest: Callable[..., Ingest]) -> Iterator[TestClient]:
    ingest = make_ingest()
    ctx = ApiContext(ingest.catalogue, ingest.storage, ingest, "test", max_request_bytes=200_000)
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


def test_request_size_is_bounded(client: TestClient) -> None:
    ctype = 'multipart/related; type="application/dicom"; boundary=XyZ'
    small = client.post("/dicom-web/studies", content=body_of([ct_bytes()]), headers={"Content-Type": ctype})
    assert small.status_code == 200
    big = body_of([ct_bytes()] * 20)
    response = client.post("/dicom-web/studies", content=big, headers={"Content-Type": ctype})
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    response = client.post("/dicom-web/studies", content=chunks(), headers={"Content-Type": ctype})
    assert response.status_code == 413
    status = client.get("/api/status").json()
    assert status["version"] == "test" and status["instances"] == 1


def _collect(body: bytes, chunk: int, boundary: str = "XyZ") -> list[bytes]:
    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(body), chunk):
            yield body[i : i + chunk]

    async def run() -> list[bytes]:
        out = []
        async for part in read_parts(stream(), boundary):
            out.append(part.body.read())
            part.body.close()
        return out

    return asyncio.run(run())


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_multipart_reader_handles_any_chunking(chunk: int) -> None:
    payloads = [b"first\r\n--XyNot-the-boundary\r\n--X", b"", b"\r\n\r\nthird"]
    assert _collect(b"preamble\r\n" + body_of(payloads), chunk) == payloads


@pytest.mark.parametrize("body", [b"", b"no boundary here", b"--XyZ\r\nContent-Type: x\r\n\r\nunterminated"])
def test_multipart_reader_rejects_malformed(body: bytes) -> None:
    with pytest.raises(DicomInputError):
        _collect(body, 5)


def test_accept_negotiation() -> None:
    files = [StoredInstance(1, "1", "1.1", "1.1.1", "1.2", "1.2.840.10008.1.2.1", "aa/bb/x.dcm", 1)]
    assert choose("", files, single=False) == "multipart"
    assert choose("*/*", files, single=False) == "multipart"
    assert choose('multipart/related; type="application/dicom"; transfer-syntax=*', files, False) == "multipart"
    assert choose("application/dicom", files, single=True) == "single"
    assert choose("image/png;q=0.9, application/dicom", files, single=True) == "single"
    assert choose('multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1', files,
                  single=False) == "multipart"
    for accept, single in [("application/dicom", False), ("image/jpeg", True),
                           ('multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50',
                            False)]:
        with pytest.raises(NotAcceptable):
            choose(accept, files, single)
    assert parse_accept("a/b;q=0.1, c/d")[0].type == "c/d"


def test_dicom_json_encoding() -> None:
    assert keyword_of("00100010") == "PatientName"
    assert keyword_of("0010,0020") == "PatientID"
    assert keyword_of("PatientID") == "PatientID"
    assert keyword_of("Nonsense") is None
    out = dataset({"PatientName": "Doe^J=ド^ジ", "Rows": 512, "ModalitiesInStudy": ["CT", "PR"],
                   "StudyDate": None, "ReferencedSOPSequence": [{"ReferencedSOPInstanceUID": "1.2"}]})
    assert list(out) == sorted(out)  # attributes in tag order
    assert out["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Doe^J", "Ideographic": "ド^ジ"}]}
    assert out["00280010"] == {"vr": "US", "Value": [512]}
    assert out["00080020"] == {"vr": "DA"}
    assert out["00081199"]["Value"][0]["00081155"] == {"vr": "UI", "Value": ["1.2"]}
