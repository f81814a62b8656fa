"""Actions on studies through the server's admin API: status, send, approve, delete.

Thin, Qt-free use-cases over the admin HTTP client (``app.client.admin.AdminClient``): its answers
become frozen dataclasses the information window shows. Every call blocks; the UI runs them on a
worker. Errors are the client's (:class:`~app.core.errors.AppError` subclasses, with a message
that says what to do).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

from app.core.errors import AppError

#: Study statuses of the admin API, in workflow order.
STATUSES = ("new", "read", "approved")


class AdminApi(Protocol):
    """The part of the admin client the study actions use (``app/client/admin.py``)."""

    def destinations(self) -> list[dict[str, Any]]: ...

    def send_study(self, study_uid: str, destination: str, series: list[str] | None = None) -> int: ...

    def approve_study(self, study_uid: str) -> dict[str, Any]: ...

    def study_statuses(self) -> dict[str, str]: ...

    def delete_study(self, study_uid: str) -> None: ...

    def job(self, job_id: int) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Destination:
    """A DICOM node the server can send studies to (a Storage SCP it knows)."""

    ae_title: str
    host: str = ""
    port: int = 0

    @property
    def label(self) -> str:
        return f"{self.ae_title} ({self.host}:{self.port})" if self.host else self.ae_title


def _first(data: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return default


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class JobProgress:
    """Where an outbound job (e.g. a send) stands.

    Attributes
    ----------
    state
        The server's job state, e.g. ``pending``, ``running``, ``done``, ``failed``, ``cancelled``.
    done, total
        Instances sent so far and to send (``total`` 0 while unknown).
    message
        The server's error or status text ('' when none).
    """

    job_id: int
    state: str
    done: int = 0
    total: int = 0
    failed_count: int = 0
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("done", "completed", "succeeded", "success", "failed", "error", "cancelled", "canceled")

    @property
    def failed(self) -> bool:
        return self.state in ("failed", "error") or (self.finished and self.failed_count > 0)

    @classmethod
    def from_json(cls, job_id: int, data: dict[str, Any]) -> JobProgress:
        """Read the admin API's job object (tolerant of the counters' names)."""
        return cls(
            job_id=_int(_first(data, "id", default=job_id)) or job_id,
            state=str(_first(data, "state", "status", default="pending")).lower(),
            done=_int(_first(data, "completed", "done", "sent", "progress_done", default=0)),
            total=_int(_first(data, "total", "remaining_total", "progress_total", default=0)),
            failed_count=_int(_first(data, "failed", "failures", default=0)),
            message=str(_first(data, "error", "last_error", "message", default="") or ""),
        )

    def describe(self) -> str:
        counts = f"{self.done}/{self.total}" if self.total else f"{self.done}"
        text = f"{self.state} ({counts} images)"
        return f"{text}: {self.message}" if self.message and (self.failed or not self.finished) else text


class StudyActions:
    """Study actions on one server's admin API."""

    def __init__(self, admin: AdminApi) -> None:
        self.admin = admin

    @classmethod
    def connect(cls, url: str, timeout: float = 30.0) -> StudyActions:
        """Actions on the server at ``url`` (its admin client, ``app.client.admin.AdminClient``)."""
        try:
            module = importlib.import_module("app.client.admin")
        except ImportError as exc:  # the admin client is not part of this build yet
            raise AppError(
                "This build has no admin API client (app.client.admin); study status, send, approve "
                "and delete are unavailable. Update Lightbox."
            ) from exc
        client: AdminApi = module.AdminClient(url, timeout=timeout)
        return cls(client)

    def close(self) -> None:
        self.admin.close()

    def statuses(self) -> dict[str, str]:
        """Study Instance UID -> ``new`` / ``read`` / ``approved``."""
        return {str(k): str(v) for k, v in self.admin.study_statuses().items()}

    def destinations(self) -> list[Destination]:
        """The nodes the server can send to, by AE title."""
        out = []
        for item in self.admin.destinations():
            title = str(item.get("ae_title") or item.get("name") or "").strip()
            if title:
                out.append(Destination(title, str(item.get("host", "")), _int(item.get("port"))))
        return sorted(out, key=lambda d: d.ae_title)

    def send(self, study_uid: str, destination: Destination) -> int:
        """Queue a send of the study to ``destination``; returns the job id to follow."""
        return int(self.admin.send_study(study_uid, destination.ae_title))

    def job_progress(self, job_id: int) -> JobProgress:
        return JobProgress.from_json(job_id, self.admin.job(job_id))

    def approve(self, study_uid: str) -> str:
        """Approve the study; returns its new status."""
        return str(self.admin.approve_study(study_uid).get("status", "approved"))

    def delete(self, study_uid: str) -> None:
        """Delete the study from the server (all its series and instances)."""
        self.admin.delete_study(study_uid)
