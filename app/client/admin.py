"""HTTP client of the Lightbox server's admin API (``{url}/api``; the OpenAPI document is
at ``{url}/openapi.json``).

Used by the information window and the viewer: destinations and sends, study status
(new / read / approved), corrections, deletions, jobs and the change log. Errors come
back as :mod:`app.core.errors`: :class:`NotFoundError` (404), :class:`ServerUnavailableError`
(no answer, 502-504), :class:`AppError` otherwise, each with the server's own
``{"detail": ...}`` message, which says what to do.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.client.dicomweb import path_segment as _seg
from app.client.tls import tls_context
from app.core.errors import AppError, NotFoundError, ServerUnavailableError


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    if isinstance(body, dict):
        detail = body.get("detail", body.get("error", ""))
        return str(detail)[:500]
    return ""



class AdminClient:
    """Synchronous client of one server's admin API; one thread at a time per instance.

    Parameters
    ----------
    base_url
        The server's HTTP URL (the same one as :class:`app.client.dicomweb.DicomWebClient`'s).
    timeout
        Seconds for connecting and for each read.
    user
        Who works with this client (sent as ``X-Lightbox-User``: the server records it as who
        approved, read, corrected or deleted); None: the server records the client's address.
    """

    def __init__(
        self, base_url: str, timeout: float = 30.0, transport: httpx.BaseTransport | None = None, *,
        user: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"X-Lightbox-User": user.strip()[:64]} if user and user.strip() and user.isascii() else {}
        self._http = httpx.Client(
            base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), transport=transport,
            headers=headers, verify=tls_context(),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.TransportError as exc:
            raise ServerUnavailableError(
                f"Cannot reach the image server at {self.base_url} ({type(exc).__name__}: {exc}). "
                "Check that the server is running and the URL in the configuration is right."
            ) from exc
        if response.status_code >= 400:
            detail = _detail(response) or response.reason_phrase
            message = f"{method} {path}: {detail}"
            if response.status_code == 404:
                raise NotFoundError(message)
            if response.status_code in (502, 503, 504):
                raise ServerUnavailableError(message)
            raise AppError(message)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise AppError(f"{method} {path}: the answer is not JSON; is {self.base_url} a Lightbox server?") from exc

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        data = self._request(method, path, **kwargs)
        if not isinstance(data, dict):
            raise AppError(f"{method} {path}: expected a JSON object, got {type(data).__name__}.")
        return data

    def _list(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        data = self._request("GET", path, params=params)
        if not isinstance(data, list):
            raise AppError(f"GET {path}: expected a JSON array, got {type(data).__name__}.")
        return [item for item in data if isinstance(item, dict)]

    # -- destinations and sends ---------------------------------------------------------------
    def destinations(self) -> list[dict[str, Any]]:
        """``GET /api/destinations``: ``[{"ae_title", "host", "port"}]``."""
        return self._list("/api/destinations")

    def send_study(self, study_uid: str, destination: str, series: list[str] | None = None) -> int:
        """``POST /api/studies/{uid}/send``: queue a send job; returns its id."""
        body: dict[str, Any] = {"destination": destination}
        if series:
            body["series"] = list(series)
        data = self._object("POST", f"/api/studies/{_seg(study_uid)}/send", json=body)
        try:
            return int(data.get("job_id", data.get("id")))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise AppError(f"POST /api/studies/{_seg(study_uid)}/send: the answer has no job id ({data!r}).") from exc

    # -- status -----------------------------------------------------------------------------
    def approve_study(self, study_uid: str, by: str | None = None) -> dict[str, Any]:
        """``POST /api/studies/{uid}/approve``: ``{"study_instance_uid", "status", "approved_by", "approved_at"}``."""
        return self._object("POST", f"/api/studies/{_seg(study_uid)}/approve", json={"by": by} if by else {})

    def mark_read(self, study_uid: str, by: str | None = None) -> dict[str, Any]:
        """``POST /api/studies/{uid}/read``: status ``read`` unless the study is approved already."""
        return self._object("POST", f"/api/studies/{_seg(study_uid)}/read", json={"by": by} if by else {})

    def study_status(self, study_uid: str) -> dict[str, Any]:
        """``GET /api/studies/{uid}/status``: status with who approved or read it, and when."""
        return self._object("GET", f"/api/studies/{_seg(study_uid)}/status")

    def study_statuses(self) -> dict[str, str]:
        """``GET /api/studies/status``: ``{study uid: "new" | "read" | "approved"}``."""
        data = self._object("GET", "/api/studies/status")
        return {str(k): str(v) for k, v in data.items()}

    # -- deletion ---------------------------------------------------------------------------
    def delete_study(self, study_uid: str) -> None:
        """``DELETE /api/studies/{uid}``: the study's files and catalogue rows."""
        self._request("DELETE", f"/api/studies/{_seg(study_uid)}")

    def delete_series(self, study_uid: str, series_uid: str) -> None:
        """``DELETE /api/studies/{uid}/series/{uid}``."""
        self._request("DELETE", f"/api/studies/{_seg(study_uid)}/series/{_seg(series_uid)}")

    def delete_instance(self, study_uid: str, series_uid: str, sop_instance_uid: str) -> None:
        """``DELETE /api/studies/{uid}/series/{uid}/instances/{uid}``."""
        path = f"/api/studies/{_seg(study_uid)}/series/{_seg(series_uid)}/instances/{_seg(sop_instance_uid)}"
        self._request("DELETE", path)

    # -- corrections ------------------------------------------------------------------------
    def correct_study(self, study_uid: str, changes: dict[str, str]) -> dict[str, Any]:
        """``PATCH /api/studies/{uid}``; keys are DICOM keywords (``StudyDescription``, ...)."""
        return self._object("PATCH", f"/api/studies/{_seg(study_uid)}", json=changes)

    def correct_patient(self, patient_id: str, changes: dict[str, str]) -> dict[str, Any]:
        """``PATCH /api/patients/{id}``; keys are patient-level DICOM keywords."""
        return self._object("PATCH", f"/api/patients/{_seg(patient_id)}", json=changes)

    def merge_patients(self, patient_id: str, into: str) -> dict[str, Any]:
        """``POST /api/patients/{id}/merge``: every study of ``patient_id`` moves to ``into``."""
        return self._object("POST", f"/api/patients/{_seg(patient_id)}/merge", json={"into": into})

    def split_patient(
        self, patient_id: str, studies: list[str], into: str, values: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """``POST /api/patients/{id}/split``: move ``studies`` to patient ``into`` (created with
        ``values`` over the old patient's values when it does not exist)."""
        body = {"studies": list(studies), "into": into, "values": dict(values or {})}
        return self._object("POST", f"/api/patients/{_seg(patient_id)}/split", json=body)

    # -- jobs and changes -------------------------------------------------------------------
    def job(self, job_id: int) -> dict[str, Any]:
        """``GET /api/jobs/{id}``: state, progress, attempts, last error."""
        return self._object("GET", f"/api/jobs/{int(job_id)}")

    def jobs(self, state: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/jobs``: newest first."""
        params = {k: v for k, v in (("state", state), ("kind", kind)) if v}
        return self._list("/api/jobs", params or None)

    def cancel_job(self, job_id: int) -> None:
        """``DELETE /api/jobs/{id}``: cancel a queued or running job."""
        self._request("DELETE", f"/api/jobs/{int(job_id)}")

    def changes(self, since: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """``GET /api/changes?since=N``: changes with an id above ``since``, oldest first."""
        params: dict[str, Any] = {"since": int(since)}
        if limit is not None:
            params["limit"] = int(limit)
        return self._list("/api/changes", params)
