"""Actions on studies through the server's admin API: status, send, approve, delete.

Thin, Qt-free use-cases over the admin HTTP client (:class:`app.client.admin.AdminClient`): its answers
become frozen dataclasses the information window shows. Every call blocks; the UI runs them on a
worker. Errors are the client's (:class:`~app.core.errors.AppError` subclasses, with a message
that says what to do).
"""

from __future__ import annotations

import getpass
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from app.client.admin import AdminClient

#: Study statuses of the admin API, in workflow order.
STATUSES = ("new", "read", "approved")


class AdminApi(Protocol):
    """The part of the admin client the study actions use (``app/client/admin.py``)."""

    def destinations(self) -> list[dict[str, Any]]: ...

    def send_study(self, study_uid: str, destination: str, series: list[str] | None = None) -> int: ...

    def approve_study(self, study_uid: str) -> dict[str, Any]: ...

    def mark_read(self, study_uid: str) -> dict[str, Any]: ...

    def study_statuses(self) -> dict[str, str]: ...

    def delete_study(self, study_uid: str) -> None: ...

    def job(self, job_id: int) -> dict[str, Any]: ...

    def cancel_job(self, job_id: int) -> None: ...

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


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


#: Job states after which a job never changes (the server's ``JobState``).
FINAL_STATES = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class JobProgress:
    """Where an outbound job (e.g. a send) stands (``GET /api/jobs/{id}``).

    Attributes
    ----------
    state
        ``queued``, ``running``, ``done``, ``failed`` or ``cancelled``.
    completed, total, failed_count
        Instances sent, to send (0 while unknown) and refused by the destination.
    attempts, max_attempts
        The server retries a job whose association fails, with back-off.
    last_error
        The last failure's text ('' when none): shown while retrying and when the job failed.
    """

    job_id: int
    state: str
    completed: int = 0
    total: int = 0
    failed_count: int = 0
    attempts: int = 0
    max_attempts: int = 0
    last_error: str = ""

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def failed(self) -> bool:
        return self.state in ("failed", "cancelled") or (self.state == "done" and self.failed_count > 0)

    @classmethod
    def from_json(cls, job_id: int, data: dict[str, Any]) -> JobProgress:
        """Read the admin API's job object (its ``progress`` holds the send's counters)."""
        progress = data.get("progress") if isinstance(data.get("progress"), dict) else {}
        assert isinstance(progress, dict)
        return cls(
            job_id=_int(data.get("id")) or job_id,
            state=str(data.get("state", "queued")),
            completed=_int(progress.get("completed")),
            total=_int(progress.get("total")),
            failed_count=_int(progress.get("failed")),
            attempts=_int(data.get("attempts")),
            max_attempts=_int(data.get("max_attempts")),
            last_error=str(data.get("last_error") or ""),
        )

    def describe(self) -> str:
        """``running (3/10 images)``; with the last error while retrying or after a failure."""
        counts = f"{self.completed}/{self.total}" if self.total else f"{self.completed}"
        text = f"{self.state} ({counts} images" + (f", {self.failed_count} refused)" if self.failed_count else ")")
        if self.last_error and not self.finished and self.attempts:
            return f"{text}; retrying (attempt {self.attempts + 1} of {self.max_attempts}): {self.last_error}"
        return f"{text}: {self.last_error}" if self.last_error and self.failed else text


def login_name() -> str | None:
    """The user's login name, None when the system cannot tell (e.g. a container without one)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


class StudyActions:
    """Study actions on one server's admin API."""

    def __init__(self, admin: AdminApi) -> None:
        self.admin = admin
        self._lock = threading.Lock()  # the client serves one thread at a time; workers share it

    @classmethod
    def connect(cls, url: str, timeout: float = 30.0, user: str | None = None) -> StudyActions:
        """Actions on the server at ``url`` through its admin API client, done as ``user``
        (default: the login name, which the server records as who approved, read or deleted)."""
        return cls(AdminClient(url, timeout=timeout, user=login_name() if user is None else user))

    def close(self) -> None:
        with self._lock:
            self.admin.close()

    def statuses(self) -> dict[str, str]:
        """Study Instance UID -> ``new`` / ``read`` / ``approved``."""
        with self._lock:
            statuses = self.admin.study_statuses()
        return {str(k): str(v) for k, v in statuses.items()}

    def destinations(self) -> list[Destination]:
        """The nodes the server can send to, by AE title."""
        out = []
        with self._lock:
            items = self.admin.destinations()
        for item in items:
            title = str(item.get("ae_title") or "").strip()
            if title:
                out.append(Destination(title, str(item.get("host", "")), _int(item.get("port"))))
        return sorted(out, key=lambda d: d.ae_title)

    def send(self, study_uid: str, destination: Destination) -> int:
        """Queue a send of the study to ``destination``; returns the job id to follow."""
        with self._lock:
            return int(self.admin.send_study(study_uid, destination.ae_title))

    def job_progress(self, job_id: int) -> JobProgress:
        with self._lock:
            data = self.admin.job(job_id)
        return JobProgress.from_json(job_id, data)

    def cancel_job(self, job_id: int) -> None:
        """Cancel a queued or running job (``DELETE /api/jobs/{id}``); a send stops at its next image."""
        with self._lock:
            self.admin.cancel_job(job_id)

    def approve(self, study_uid: str) -> str:
        """Approve the study; returns its new status."""
        with self._lock:
            answer = self.admin.approve_study(study_uid)
        return str(answer.get("status", "approved"))

    def mark_read(self, study_uid: str) -> str:
        """Mark the study read (an approved one stays approved); returns its status."""
        with self._lock:
            answer = self.admin.mark_read(study_uid)
        return str(answer.get("status", "read"))

    def delete(self, study_uid: str) -> None:
        """Delete the study from the server (all its series and instances)."""
        with self._lock:
            self.admin.delete_study(study_uid)
