"""The change log: studies received, approvals, corrections, merges, splits and deletions in
commit order.

A change is written in the transaction that makes it (:func:`record_change`), so the log
and the catalogue never disagree; the ``changes`` counter (the workstation's refresh cue,
``GET /api/status``) moves with it. Ids only grow (AUTOINCREMENT on SQLite, a sequence on
PostgreSQL), so a client that remembers the last id it saw asks ``since`` that id. On
PostgreSQL a sequence hands out ids at insert time, not at commit: writers of the log take
one transaction-scoped advisory lock (:func:`lock_change_log`) so that ids become visible in
order and a poller never skips a change committed late with a smaller id.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import IndexFailure
from app.server.index import engine as engine_mod
from app.server.index.admin_records import Change, ChangeRequest
from app.server.index.schema import CHANGES, change_log, counter

#: Most changes one read returns.
MAX_CHANGES = 10_000


def now() -> dt.datetime:
    """Naive UTC, as every time in the index."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


#: Advisory lock key of the change log's writers (PostgreSQL).
_LOG_LOCK = engine_mod.lock_key("lightbox change_log")


def lock_change_log(conn: Connection) -> None:
    """Serialize the change log's writers until this transaction ends (PostgreSQL; SQLite has one
    writer anyway). Take it before any row lock, so writers always lock in the same order."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_LOG_LOCK)))


def record_change(conn: Connection, request: ChangeRequest, *, count: bool = True) -> int:
    """Append ``request`` to the log within the caller's write transaction; returns its id.
    ``count=False`` leaves the ``changes`` counter alone (the caller moves it itself)."""
    lock_change_log(conn)
    result = conn.execute(change_log.insert().values(
        at=now(), kind=request.kind[:32], level=request.level[:16],
        study_instance_uid=request.study_instance_uid, series_instance_uid=request.series_instance_uid,
        sop_instance_uid=request.sop_instance_uid, patient_id=request.patient_id[:64], by=request.by[:64],
        detail=json.dumps(dict(request.detail), ensure_ascii=False),
    ))
    if count:
        conn.execute(update(counter).where(counter.c.name == CHANGES).values(value=counter.c.value + 1))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _change(row: Any) -> Change:
    m = row._mapping
    return Change(
        id=int(m["id"]), at=m["at"], kind=m["kind"], level=m["level"], study_instance_uid=m["study_instance_uid"],
        series_instance_uid=m["series_instance_uid"], sop_instance_uid=m["sop_instance_uid"],
        patient_id=m["patient_id"], by=m["by"], detail=json.loads(m["detail"] or "{}"),
    )


class ChangeLog:
    """Reads (and, for callers without a transaction of their own, writes) the change log.

    Parameters
    ----------
    engine
        The index engine (schema up to date).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, request: ChangeRequest) -> int:
        """Record one change in a transaction of its own; returns its id."""
        with engine_mod.writing(self.engine, "the change log") as conn:
            return record_change(conn, request)

    def since(self, change_id: int, limit: int = 1000) -> list[Change]:
        """Changes with an id above ``change_id``, oldest first, at most ``limit``."""
        stmt = (select(change_log).where(change_log.c.id > change_id).order_by(change_log.c.id)
                .limit(max(1, min(limit, MAX_CHANGES))))
        try:
            with self.engine.connect() as conn:
                return [_change(row) for row in conn.execute(stmt)]
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the change log could not be read: {exc}") from exc
