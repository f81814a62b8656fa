"""Which studies have become stable: no new instance for a while (``app.server.stable_study``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, func, select

from app.server.index import engine as engine_mod
from app.server.index.schema import instance, series, study, study_notice

#: Advisory lock of the stable-study check on a shared (PostgreSQL) index.
_CHECK_LOCK = 0x4C425354  # "LBST"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class StabilityStore:
    """The ``study_notice`` table. Thread-safe; times are naive UTC."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _writing(self) -> contextlib.AbstractContextManager[Connection]:
        return engine_mod.writing(self.engine, "the stable-study notices")

    @contextlib.contextmanager
    def checking(self) -> Iterator[bool]:
        """Whether this process may run a stable-study check now (True), for the duration of the
        block. On a PostgreSQL index shared by several server processes one of them checks at a
        time (a session advisory lock, tried without waiting), so a study is notified once."""
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        with self.engine.connect() as conn:
            got = bool(conn.execute(select(func.pg_try_advisory_lock(_CHECK_LOCK))).scalar_one())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(select(func.pg_advisory_unlock(_CHECK_LOCK)))
                    conn.commit()

    def quiet_studies(self, before: dt.datetime, since: dt.datetime, limit: int = 100) -> list[tuple[str, dt.datetime]]:
        """Studies with an instance received after ``since`` whose newest instance was received
        at or before ``before`` and that were not notified for that newest instance yet:
        ``(Study Instance UID, newest received_at)``, oldest first."""
        recent = (
            select(series.c.study_fk).join(instance, instance.c.series_fk == series.c.id)
            .where(instance.c.received_at > since).distinct()
        )
        newest = func.max(instance.c.received_at)
        latest = (
            select(study.c.id.label("study_id"), study.c.study_instance_uid.label("uid"), newest.label("last"))
            .select_from(study.join(series, series.c.study_fk == study.c.id)
                         .join(instance, instance.c.series_fk == series.c.id))
            .where(study.c.id.in_(recent))
            .group_by(study.c.id, study.c.study_instance_uid)
            .having(newest <= before)
            .subquery()
        )
        stmt = (
            select(latest.c.uid, latest.c.last)
            .select_from(latest.outerjoin(study_notice, study_notice.c.study_fk == latest.c.study_id))
            .where((study_notice.c.last_received_at.is_(None)) | (study_notice.c.last_received_at < latest.c.last))
            .order_by(latest.c.last).limit(limit)
        )
        with self.engine.connect() as conn:
            return [(str(row.uid), row.last) for row in conn.execute(stmt)]

    def mark_notified(self, study_uid: str, last_received_at: dt.datetime) -> None:
        """Record that the study was notified for its instances up to ``last_received_at``."""
        with self._writing() as conn:
            study_id = conn.execute(select(study.c.id).where(study.c.study_instance_uid == study_uid)).scalar()
            if study_id is None:
                return
            conn.execute(study_notice.delete().where(study_notice.c.study_fk == study_id))
            conn.execute(study_notice.insert().values(
                study_fk=study_id, last_received_at=last_received_at, notified_at=_now()))
