"""A small DICOMweb + admin client of the Lightbox server (the only user of httpx).

QIDO-RS (PS3.18 10.6), WADO-RS (PS3.18 10.4) and STOW-RS (PS3.18 10.5) against
``{url}/dicom-web``, the admin status ``{url}/api/status`` and worklist item creation
``{url}/api/worklist``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from app.client.dicomjson import DicomJson
from app.client.multipart import boundary_of, encode_parts, iter_parts
from app.client.tls import tls_context
from app.core.errors import AppError, NotFoundError, ServerUnavailableError


def path_segment(value: str) -> str:
    """``value`` as one URL path segment, percent-encoded: a Patient ID may hold ``/``, ``?``, ``#``,
    ``%`` or spaces, and a UID from a remote peer is not trusted to be only digits and dots."""
    return quote(str(value), safe="")


_seg = path_segment

log = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"
MULTIPART_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'


@dataclass(frozen=True)
class ServerStatus:
    """The admin status: server version, change counter, number of instances."""

    version: str
    changes: int
    instances: int


@dataclass(frozen=True)
class StoreResult:
    """Outcome of a STOW-RS request (PS3.18 10.5.3): counts of stored and failed instances."""

    stored: int
    failed: int
    http_status: int
    #: SOP Instance UID and Failure Reason of each refused instance (Failed SOP Sequence), when the server said.
    failed_instances: tuple[tuple[str, int], ...] = ()


def _query_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


class DicomWebClient:
    """Synchronous client of one server; safe to use from one thread at a time per instance.

    Parameters
    ----------
    base_url
        The server's HTTP URL, e.g. ``http://127.0.0.1:7880``.
    timeout
        Seconds for connecting and for each read.
    """

    def __init__(self, base_url: str, timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            verify=tls_context(),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DicomWebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _unavailable(self, exc: Exception) -> ServerUnavailableError:
        return ServerUnavailableError(
            f"Cannot reach the image server at {self.base_url} ({type(exc).__name__}: {exc}). "
            "Check that the server is running and the URL in the configuration is right."
        )

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code < 400:
            return
        try:
            response.read()
            detail = response.text[:300].strip()
        except httpx.HTTPError:
            detail = ""
        message = f"{what} failed: HTTP {response.status_code} {response.reason_phrase}" + (
            f" ({detail})" if detail else ""
        )
        if response.status_code == 404:
            raise NotFoundError(message + ". The object may have been deleted; refresh the list.")
        if response.status_code in (502, 503, 504):
            raise ServerUnavailableError(message + ". The server is busy or starting; retry in a moment.")
        raise AppError(message + ".")

    def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = self._http.get(path, params=params, headers={"Accept": f"{DICOM_JSON}, application/json"})
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        self._check(response, f"GET {path}")
        if response.status_code == 204 or not response.content:
            return []
        try:
            return response.json()
        except ValueError as exc:
            raise AppError(
                f"GET {path}: the server's answer is not JSON; is {self.base_url} a Lightbox server?"
            ) from exc

    def _qido(self, path: str, filters: dict[str, Any], limit: int | None, offset: int | None) -> list[DicomJson]:
        params = {k: _query_value(v) for k, v in filters.items() if v not in (None, "")}
        if limit is not None:
            params["limit"] = str(limit)
        if offset:
            params["offset"] = str(offset)
        data = self._get_json(path, params)
        if not isinstance(data, list):
            raise AppError(f"QIDO-RS {path}: expected a JSON array of results (PS3.18 F.2), got {type(data).__name__}.")
        return [DicomJson(item) for item in data if isinstance(item, dict)]

    # -- QIDO-RS ----------------------------------------------------------------------------
    def search_studies(self, limit: int | None = None, offset: int | None = None, **filters: Any) -> list[DicomJson]:
        """QIDO-RS study search (PS3.18 10.6.1); ``filters`` are DICOM keywords or ``includefield``."""
        return self._qido("/dicom-web/studies", filters, limit, offset)

    def search_series(
        self, study: str, limit: int | None = None, offset: int | None = None, **filters: Any
    ) -> list[DicomJson]:
        """QIDO-RS series of one study."""
        return self._qido(f"/dicom-web/studies/{_seg(study)}/series", filters, limit, offset)

    def search_instances(
        self, study: str, series: str, limit: int | None = None, offset: int | None = None, **filters: Any
    ) -> list[DicomJson]:
        """QIDO-RS instances of one series."""
        return self._qido(f"/dicom-web/studies/{_seg(study)}/series/{_seg(series)}/instances", filters, limit, offset)

    # -- WADO-RS ----------------------------------------------------------------------------
    @contextmanager
    def _stream(self, path: str) -> Iterator[httpx.Response]:
        try:
            with self._http.stream("GET", path, headers={"Accept": MULTIPART_DICOM}) as response:
                self._check(response, f"WADO-RS {path}")
                yield response
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc

    def _retrieve(self, path: str) -> Iterator[bytes]:
        with self._stream(path) as response:
            boundary = boundary_of(response.headers.get("content-type", ""))
            try:
                for part in iter_parts(response.iter_bytes(), boundary):
                    yield part.content
            except httpx.TransportError as exc:
                raise self._unavailable(exc) from exc

    def retrieve_study(self, study: str) -> Iterator[bytes]:
        """WADO-RS: the instances of a study as Part 10 bytes, streamed (PS3.18 10.4.1.1.1)."""
        return self._retrieve(f"/dicom-web/studies/{_seg(study)}")

    def retrieve_series(self, study: str, series: str) -> Iterator[bytes]:
        """WADO-RS: the instances of a series as Part 10 bytes, streamed."""
        return self._retrieve(f"/dicom-web/studies/{_seg(study)}/series/{_seg(series)}")

    def retrieve_instance(self, study: str, series: str, instance: str) -> bytes:
        """WADO-RS: one instance as Part 10 bytes."""
        path = f"/dicom-web/studies/{_seg(study)}/series/{_seg(series)}/instances/{_seg(instance)}"
        parts = list(self._retrieve(path))
        if not parts:
            raise NotFoundError(f"Instance {instance} came back empty from the server; refresh the list.")
        return parts[0]

    # -- STOW-RS ----------------------------------------------------------------------------
    def store_instances(self, instances: Iterable[bytes | str | Path], study: str | None = None) -> StoreResult:
        """STOW-RS: store Part 10 files or bytes (PS3.18 10.5); returns stored/failed counts."""
        contents = [item if isinstance(item, bytes) else Path(item).read_bytes() for item in instances]
        body, content_type = encode_parts(contents)
        path = f"/dicom-web/studies/{_seg(study)}" if study else "/dicom-web/studies"
        try:
            response = self._http.post(
                path, content=body, headers={"Content-Type": content_type, "Accept": DICOM_JSON}
            )
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        if response.status_code == 409 or response.status_code < 400:
            try:
                answer = DicomJson(response.json()) if response.content else DicomJson({})
            except ValueError:
                answer = DicomJson({})
            referenced = len(answer.values("ReferencedSOPSequence"))
            failed_items = [DicomJson(i) for i in answer.values("FailedSOPSequence") if isinstance(i, dict)]
            failed = len(answer.values("FailedSOPSequence"))
            if response.status_code == 409 and not failed:
                failed = len(contents)
            if response.status_code < 300 and not referenced and not failed:
                referenced = len(contents)
            failed_instances = tuple(
                (i.text("ReferencedSOPInstanceUID"), i.integer("FailureReason")) for i in failed_items
            )
            return StoreResult(referenced, failed, response.status_code, failed_instances)
        self._check(response, "STOW-RS")
        raise AppError(f"STOW-RS: unexpected HTTP {response.status_code}.")  # pragma: no cover

    # -- admin ------------------------------------------------------------------------------
    def status(self) -> ServerStatus:
        """The admin status ``/api/status``: its ``changes`` counter moves on every store."""
        data = self._get_json("/api/status")
        if not isinstance(data, dict):
            raise AppError(f"/api/status: expected a JSON object, got {type(data).__name__}.")
        try:
            return ServerStatus(str(data.get("version", "")), int(data["changes"]), int(data.get("instances", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise AppError(f"/api/status: unexpected answer {data!r}; is this a Lightbox server?") from exc

    def create_worklist_item(self, content: bytes, content_type: str = "application/dicom") -> int:
        """``POST /api/worklist``: add a Modality Worklist item from a DICOM file (``application/dicom``)
        or one DICOM JSON data set (``application/dicom+json``); returns its id."""
        try:
            response = self._http.post("/api/worklist", content=content, headers={"Content-Type": content_type})
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        if response.status_code in (400, 413, 415):
            try:
                reason = str(response.json().get("error", ""))
            except (ValueError, AttributeError):
                reason = response.text[:300]
            raise AppError(f"the server refused the worklist item (HTTP {response.status_code}): {reason}")
        if response.status_code in (404, 405):
            raise AppError(f"{self.base_url} has no worklist API (HTTP {response.status_code}); "
                           "is it a Lightbox server, and the URL its HTTP URL?")
        self._check(response, "POST /api/worklist")
        try:
            return int(response.json()["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AppError("POST /api/worklist: the answer has no item id; is this a Lightbox server?") from exc
