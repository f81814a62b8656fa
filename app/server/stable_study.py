"""Notify when a study becomes stable: no new instance for ``[server.notify] stable_seconds``.

A thread looks every few seconds for studies whose newest instance was received at least
``stable_seconds`` ago (among the studies that received something within the last day,
:data:`LOOKBACK`) and that were not notified for that newest instance yet; each gets the
notices of :meth:`app.server.notify.StudyNotifier.study_online` (as on approval) once.
When another instance arrives later, the study is notified again once it is quiet again.
The notice is recorded after the jobs are queued, so a crash in between may notify twice,
never not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from typing import Protocol

from app.server.notify import STABLE, StudyNotifier

LOGGER = logging.getLogger(__name__)

#: How far back the check looks for studies that received instances.
LOOKBACK = dt.timedelta(days=1)
#: Bounds of the time between two checks, in seconds.
MIN_POLL, MAX_POLL = 0.2, 30.0


class StabilityStoreProtocol(Protocol):
    """What the watch needs of the index (``app.server.index.stability.StabilityStore``)."""

    def quiet_studies(
        self, before: dt.datetime, since: dt.datetime, limit: int = 100
    ) -> list[tuple[str, dt.datetime]]: ...

    def mark_notified(self, study_uid: str, last_received_at: dt.datetime) -> None: ...

    def checking(self) -> contextlib.AbstractContextManager[bool]: ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class StableStudyWatch:
    """The stable-study check of one server process.

    Parameters
    ----------
    stable_seconds
        Quiet time after the newest instance (> 0).
    store
        The notices in the index.
    notifier
        Enqueues the notification jobs.
    """

    def __init__(self, stable_seconds: float, store: StabilityStoreProtocol, notifier: StudyNotifier) -> None:
        self._quiet = dt.timedelta(seconds=stable_seconds)
        self._store = store
        self._notifier = notifier
        self._poll = min(max(stable_seconds / 4, MIN_POLL), MAX_POLL)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the checking thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="stable-studies", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the checking thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.check_once()
            except Exception:  # the index failed: keep the thread, try again later
                LOGGER.exception("the stable-study check failed")

    def check_once(self, now: dt.datetime | None = None) -> list[str]:
        """Notify every study that became stable; their Study Instance UIDs."""
        now = now or _now()
        done: list[str] = []
        with self._store.checking() as mine:  # several processes on one index: one checks at a time
            if not mine:
                return done
            for study_uid, last in self._store.quiet_studies(now - self._quiet, now - self._quiet - LOOKBACK):
                self._notifier.study_online(study_uid, STABLE)
                self._store.mark_notified(study_uid, last)
                LOGGER.info("study %s is stable (newest instance %s): notified", study_uid, last.isoformat())
                done.append(study_uid)
        return done
