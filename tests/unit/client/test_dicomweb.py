"""DicomWebClient at the HTTP level: requests it sends, answers it parses, errors it raises.

These tests use httpx's MockTransport for protocol details and error paths; the client
against the real server is exercised by tests/ui and tests/unit/services.
"""

from __future__ import annotations

import json

import httpx
import pytest

from app.client.dicomweb import DicomWebClient
from app.client.multipart import encode_parts
from app.core.errors import AppError, NotFoundError, ServerUnavailableError

STUDY = {
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^JANE"}]},
    "0020000D": {"vr": "UI", "Value": ["1.2.3"]},
    "00201208": {"vr": "IS", "Value": [3]},
    "00080061": {"vr": "CS", "Value": ["CT", "MR"]},
}


def _client(handler: object) -> DicomWebClient:
    return DicomWebClient("http://server.test/", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_search_studies_params_and_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[STUDY], headers={"Content-Type": "application/dicom+json"})

    results = _client(handler).search_studies(limit=10, offset=5, PatientName="DOE*", StudyDate="20200101-")
    assert seen[0].url.path == "/dicom-web/studies"
    assert dict(seen[0].url.params) == {"PatientName": "DOE*", "StudyDate": "20200101-", "limit": "10", "offset": "5"}
    assert results[0].text("PatientName") == "DOE^JANE"
    assert results[0].integer("NumberOfStudyRelatedInstances") == 3
    assert results[0].text("ModalitiesInStudy") == "CT\\MR"
    assert results[0].text("AccessionNumber") == ""


def test_no_content_is_empty() -> None:
    assert _client(lambda r: httpx.Response(204)).search_series("1.2") == []


def test_retrieve_series_streams_parts() -> None:
    body, content_type = encode_parts([b"A" * 1000, b"B" * 10])

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/dicom-web/studies/1/series/2"
        assert "multipart/related" in request.headers["accept"]
        return httpx.Response(200, content=body, headers={"Content-Type": content_type})

    assert list(_client(handler).retrieve_series("1", "2")) == [b"A" * 1000, b"B" * 10]


def test_store_counts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"].startswith("multipart/related")
        answer = {"00081199": {"vr": "SQ", "Value": [{}, {}]}}
        return httpx.Response(200, content=json.dumps(answer).encode())

    result = _client(handler).store_instances([b"x", b"y"])
    assert (result.stored, result.failed) == (2, 0)


def test_status() -> None:
    status = _client(lambda r: httpx.Response(200, json={"version": "0.1", "changes": 4, "instances": 2})).status()
    assert status.changes == 4 and status.instances == 2


def test_http_errors_are_app_errors() -> None:
    with pytest.raises(NotFoundError, match="HTTP 404"):
        _client(lambda r: httpx.Response(404, text="no such study")).search_series("9")
    with pytest.raises(AppError, match="HTTP 500"):
        _client(lambda r: httpx.Response(500)).search_studies()


def test_connection_refused_is_server_unavailable() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = DicomWebClient(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ServerUnavailableError, match="Cannot reach the image server"):
        client.status()
    with pytest.raises(ServerUnavailableError):
        list(client.retrieve_series("1", "2"))
