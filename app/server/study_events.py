"""Study events inside one server process: approved, deleted, corrected, taken offline.

A tiny listener registry. The admin API fires an event *after* the index change it
reports has been committed; listeners (the notification jobs: Basic Study Content
Notification, PS3.4 Annex D (retired); Instance Availability Notification, PS3.4 Annex R)
should only enqueue durable work there, so nothing
is lost across a restart. A listener that raises is logged and the others still run:
firing never raises.

Usage::

    events = StudyEvents()
    events.on_approved(lambda e: jobs.enqueue("notify", {"study": e.study_instance_uid}))
    events.approved("1.2.3", by="dr.who")          # -> every approved listener, in order

Each listener receives one frozen event value (:class:`StudyApproved`,
:class:`StudyDeleted`, :class:`StudyCorrected`, :class:`StudyOffline`). The archive removal
policy (:mod:`app.server.archive_policy`) fires :meth:`StudyEvents.offline` after it removed a
study's last online copy (the reference's 4.6: "the last on-line copy of an exam is deleted").
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

LOGGER = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class StudyApproved:
    """A study was approved (its status is now ``approved``)."""

    study_instance_uid: str
    by: str
    at: dt.datetime = field(default_factory=_now)


@dataclass(frozen=True)
class StudyDeleted:
    """Instances, a series or a whole study were removed from the index (and then their files).

    Attributes
    ----------
    level
        ``study``, ``series`` or ``instance``: what the request named.
    uids
        The UIDs the request named at that level (the study, series or SOP Instance UID).
    study_gone
        True when the study has no instance left (its catalogue rows are gone too).
    values
        The study's patient/study attributes as the catalogue held them just before the
        deletion, by DICOM keyword (``PatientName``, ``PatientID``, ``AccessionNumber``, ...):
        what a deletion notice needs once the rows are gone.
    instances
        ``(series_instance_uid, sop_class_uid, sop_instance_uid)`` of every removed instance.
    """

    study_instance_uid: str
    level: str
    uids: tuple[str, ...]
    study_gone: bool = False
    values: Mapping[str, str] = field(default_factory=dict)
    instances: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class StudyCorrected:
    """Patient or study attributes of some studies were corrected in the catalogue.

    Attributes
    ----------
    study_instance_uids
        Every study whose outbound data sets now carry other values.
    level
        ``study``, ``patient``, ``merge`` or ``split``.
    changes
        The new values, by DICOM keyword.
    by
        Who asked for the correction.
    """

    study_instance_uids: tuple[str, ...]
    level: str
    changes: Mapping[str, str]
    by: str = ""


@dataclass(frozen=True)
class StudyOffline:
    """The last online copy of an archived study was removed; the archive still holds it.

    Its catalogue rows stay (C-FIND and QIDO find it; a retrieve fetches it back).

    Attributes
    ----------
    instances
        ``(series_instance_uid, sop_class_uid, sop_instance_uid)`` of every instance whose
        file was removed.
    why
        What made the policy remove it (age, free space).
    """

    study_instance_uid: str
    instances: tuple[tuple[str, str, str], ...] = ()
    why: str = ""
    at: dt.datetime = field(default_factory=_now)


E = TypeVar("E")


class _Listeners(Generic[E]):
    def __init__(self, name: str) -> None:
        self._name = name
        self._items: list[Callable[[E], None]] = []
        self._lock = threading.Lock()

    def add(self, listener: Callable[[E], None]) -> Callable[[], None]:
        with self._lock:
            self._items.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._items:
                    self._items.remove(listener)

        return remove

    def fire(self, event: E) -> None:
        with self._lock:
            items = list(self._items)
        for listener in items:
            try:
                listener(event)
            except Exception:  # one broken listener must not stop the others nor the request
                LOGGER.exception("a %s listener failed", self._name)


class StudyEvents:
    """The listeners of one server process. Thread-safe."""

    def __init__(self) -> None:
        self._approved: _Listeners[StudyApproved] = _Listeners("study approved")
        self._deleted: _Listeners[StudyDeleted] = _Listeners("study deleted")
        self._corrected: _Listeners[StudyCorrected] = _Listeners("study corrected")
        self._offline: _Listeners[StudyOffline] = _Listeners("study offline")

    # -- subscribing (each returns a function that unsubscribes) --------------------------------
    def on_approved(self, listener: Callable[[StudyApproved], None]) -> Callable[[], None]:
        """Call ``listener`` after each approval."""
        return self._approved.add(listener)

    def on_deleted(self, listener: Callable[[StudyDeleted], None]) -> Callable[[], None]:
        """Call ``listener`` after each deletion of instances, series or studies."""
        return self._deleted.add(listener)

    def on_corrected(self, listener: Callable[[StudyCorrected], None]) -> Callable[[], None]:
        """Call ``listener`` after each correction, merge or split."""
        return self._corrected.add(listener)

    def on_offline(self, listener: Callable[[StudyOffline], None]) -> Callable[[], None]:
        """Call ``listener`` after the archive policy removed a study's last online copy."""
        return self._offline.add(listener)

    # -- firing (never raises) ------------------------------------------------------------------
    def approved(self, study_uid: str, by: str, at: dt.datetime | None = None) -> None:
        """A study was approved by ``by`` at ``at`` (naive UTC, default now)."""
        self._approved.fire(StudyApproved(study_uid, by, at or _now()))

    def deleted(
        self,
        study_uid: str,
        level: str,
        uids: tuple[str, ...] | list[str],
        *,
        study_gone: bool = False,
        values: Mapping[str, str] | None = None,
        instances: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        """Instances of ``study_uid`` were deleted (see :class:`StudyDeleted`)."""
        self._deleted.fire(StudyDeleted(study_uid, level, tuple(uids), study_gone, dict(values or {}), instances))

    def corrected(
        self, study_uids: tuple[str, ...] | list[str], level: str, changes: Mapping[str, str], by: str = ""
    ) -> None:
        """The catalogue values of ``study_uids`` were corrected (see :class:`StudyCorrected`)."""
        self._corrected.fire(StudyCorrected(tuple(study_uids), level, dict(changes), by))

    def offline(self, study_uid: str, instances: tuple[tuple[str, str, str], ...] = (), why: str = "") -> None:
        """The online copy of ``study_uid`` was removed (see :class:`StudyOffline`)."""
        self._offline.fire(StudyOffline(study_uid, tuple(instances), why))
