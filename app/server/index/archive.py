"""The archive state of studies: ``archive_study`` and ``archive_instance`` (see :mod:`archive_records`).

Portable SQL (SQLAlchemy Core only): the same statements run on SQLite and PostgreSQL. A
fetch-back is claimed by one conditional UPDATE of the study's row (:meth:`ArchiveStore.claim_fetch`):
on PostgreSQL the row lock makes a second claimant re-check the condition after the first
committed, so exactly one process wins.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, and_, case, delete, func, insert, select, update

from app.server.index import engine as engine_mod
from app.server.index.archive_records import (
    COMMITTED,
    COMMITTING,
    FAILED,
    ArchiveState,
    RemovalCandidate,
    ReportOutcome,
)
from app.server.index.schema import archive_instance, archive_study, instance, series, study

_UID_BATCH = 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ArchiveStore:
    """Archive state per study and per instance. Thread-safe; times are naive UTC."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _writing(self) -> contextlib.AbstractContextManager[Connection]:
        return engine_mod.writing(self.engine, "the archive state")

    @staticmethod
    def _study_pk(conn: Connection, study_uid: str) -> int | None:
        found = conn.execute(select(study.c.id).where(study.c.study_instance_uid == study_uid)).scalar()
        return None if found is None else int(found)

    def begin(self, study_uid: str, job_id: int) -> None:
        """A study is (again) being archived by job ``job_id``: state ``sending``."""
        with self._writing() as conn:
            pk = self._study_pk(conn, study_uid)
            if pk is None:
                return
            values = {"state": "sending", "job_id": job_id, "transaction_uid": "", "requested_at": _now(),
                      "last_error": ""}
            done = conn.execute(update(archive_study).where(archive_study.c.study_fk == pk).values(**values))
            if not done.rowcount:
                conn.execute(insert(archive_study).values(study_fk=pk, online=1, **values))

    def get(self, study_uid: str) -> ArchiveState | None:
        """The archive state of a study, or None when it was never archived."""
        stmt = (
            select(archive_study)
            .select_from(archive_study.join(study, study.c.id == archive_study.c.study_fk))
            .where(study.c.study_instance_uid == study_uid)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
            if row is None:
                return None
            counts: dict[int, int] = {int(flag): int(n) for flag, n in conn.execute(
                select(archive_instance.c.committed, func.count())
                .where(archive_instance.c.study_fk == row.study_fk).group_by(archive_instance.c.committed)
            )}
        return ArchiveState(
            study_uid, row.state, row.job_id, row.transaction_uid, row.requested_at, row.committed_at,
            bool(row.online), row.online_until, row.removed_at, row.last_error, int(counts.get(1, 0)),
            int(counts.get(0, 0)),
        )

    def set_state(self, study_uid: str, state: str, *, transaction_uid: str | None = None, error: str = "") -> None:
        """Move a study's archive state on (and record the Transaction UID of its request)."""
        values: dict[str, object] = {"state": state, "last_error": error[:2000]}
        if transaction_uid is not None:
            values["transaction_uid"] = transaction_uid
        with self._writing() as conn:
            pk = self._study_pk(conn, study_uid)
            if pk is not None:
                conn.execute(update(archive_study).where(archive_study.c.study_fk == pk).values(**values))

    def record_report(
        self, transaction_uid: str, committed: Sequence[str], failed: Sequence[tuple[str, int]]
    ) -> ReportOutcome | None:
        """Record an N-EVENT-REPORT (PS3.4 J.3.3) for the study awaiting ``transaction_uid``;
        None when no study awaits it (an unknown or an old transaction)."""
        with self._writing() as conn:
            row = conn.execute(
                select(archive_study.c.study_fk, study.c.study_instance_uid)
                .select_from(archive_study.join(study, study.c.id == archive_study.c.study_fk))
                .where(archive_study.c.transaction_uid == transaction_uid, archive_study.c.state == COMMITTING)
            ).first()
            if row is None:
                return None
            pk = int(row.study_fk)
            outcome = [(uid, 1, None) for uid in committed] + [(uid, 0, reason) for uid, reason in failed]
            uids = [uid for uid, _c, _r in outcome]
            for start in range(0, len(uids), _UID_BATCH):
                batch = uids[start:start + _UID_BATCH]
                conn.execute(delete(archive_instance).where(
                    archive_instance.c.study_fk == pk, archive_instance.c.sop_instance_uid.in_(batch)))
            if outcome:
                conn.execute(insert(archive_instance), [
                    {"study_fk": pk, "sop_instance_uid": uid, "committed": c, "failure_reason": r}
                    for uid, c, r in dict((o[0], o) for o in outcome).values()
                ])
            state = FAILED if failed else COMMITTED
            error = f"the archive did not commit {len(failed)} instance(s)" if failed else ""
            conn.execute(update(archive_study).where(archive_study.c.study_fk == pk).values(
                state=state, committed_at=_now(), last_error=error))
        return ReportOutcome(str(row.study_instance_uid), len(committed), len(failed))

    def removal_candidates(self, now: dt.datetime) -> list[RemovalCandidate]:
        """Committed, online studies (not held online by a fetch-back until after ``now``)
        whose every instance row has a committed SOP Instance UID; oldest newest-instance first."""
        committed_flag = case((archive_instance.c.committed == 1, 1), else_=0)
        joined = (
            study.join(archive_study, archive_study.c.study_fk == study.c.id)
            .join(series, series.c.study_fk == study.c.id)
            .join(instance, instance.c.series_fk == series.c.id)
            .outerjoin(archive_instance, and_(archive_instance.c.study_fk == study.c.id,
                                              archive_instance.c.sop_instance_uid == instance.c.sop_instance_uid))
        )
        stmt = (
            select(study.c.study_instance_uid, func.max(instance.c.received_at), func.sum(instance.c.size),
                   func.count(), func.sum(committed_flag))
            .select_from(joined)
            .where(archive_study.c.state == COMMITTED, archive_study.c.online == 1,
                   (archive_study.c.online_until.is_(None)) | (archive_study.c.online_until <= now))
            .group_by(study.c.id, study.c.study_instance_uid)
            .having(func.count() == func.sum(committed_flag))
            .order_by(func.max(instance.c.received_at))
        )
        with self.engine.connect() as conn:
            return [RemovalCandidate(str(uid), last, int(size or 0), int(n)) for uid, last, size, n, _c in
                    conn.execute(stmt)]

    def set_online(self, study_uid: str, online: bool, until: dt.datetime | None = None) -> None:
        """Record that a study's files were removed (``online`` False) or fetched back."""
        values: dict[str, object] = {"online": int(online), "online_until": until}
        if not online:
            values["removed_at"] = _now()
        with self._writing() as conn:
            pk = self._study_pk(conn, study_uid)
            if pk is not None:
                conn.execute(update(archive_study).where(archive_study.c.study_fk == pk).values(**values))

    def take_offline(self, study_uid: str) -> bool:
        """Mark an online study offline (its files are to be removed); False when it was not
        online any more (another server process on this index removed it first)."""
        with self._writing() as conn:
            pk = self._study_pk(conn, study_uid)
            if pk is None:
                return False
            done = conn.execute(update(archive_study).where(archive_study.c.study_fk == pk, archive_study.c.online == 1)
                                .values(online=0, online_until=None, removed_at=_now()))
            return bool(done.rowcount)

    def offline(self, study_uids: Sequence[str]) -> set[str]:
        """Those of ``study_uids`` whose online copy was removed."""
        found: set[str] = set()
        uids = list(dict.fromkeys(study_uids))
        with self.engine.connect() as conn:
            for start in range(0, len(uids), _UID_BATCH):
                found.update(str(u) for u in conn.execute(
                    select(study.c.study_instance_uid)
                    .select_from(study.join(archive_study, archive_study.c.study_fk == study.c.id))
                    .where(study.c.study_instance_uid.in_(uids[start:start + _UID_BATCH]), archive_study.c.online == 0)
                ).scalars())
        return found

    @property
    def shared(self) -> bool:
        """True when other server processes may use this index too (PostgreSQL)."""
        return self.engine.dialect.name != "sqlite"

    def claim_fetch(self, study_uid: str, owner: str, until: dt.datetime) -> bool:
        """Claim the fetch-back of an offline study for ``owner`` until ``until`` (naive UTC).

        True when claimed; False when the study is online (nothing to fetch) or another owner
        holds an unexpired claim. The claim ends with :meth:`release_fetch`.
        """
        now = _now()
        with self._writing() as conn:
            pk = self._study_pk(conn, study_uid)
            if pk is None:
                return False
            done = conn.execute(
                update(archive_study)
                .where(archive_study.c.study_fk == pk, archive_study.c.online == 0,
                       archive_study.c.fetch_owner.is_(None) | (archive_study.c.fetch_expires_at <= now)
                       | (archive_study.c.fetch_owner == owner))
                .values(fetch_owner=owner[:128], fetch_expires_at=until)
            )
            return bool(done.rowcount)

    def release_fetch(self, study_uid: str, owner: str) -> None:
        """End ``owner``'s claim on the fetch-back of a study (whether it succeeded or not)."""
        with self._writing() as conn:
            pk = self._study_pk(conn, study_uid)
            if pk is not None:
                conn.execute(update(archive_study)
                             .where(archive_study.c.study_fk == pk, archive_study.c.fetch_owner == owner[:128])
                             .values(fetch_owner=None, fetch_expires_at=None))

    def fetch_owner(self, study_uid: str) -> str | None:
        """Who holds an unexpired claim on the fetch-back of a study, or None."""
        stmt = (
            select(archive_study.c.fetch_owner)
            .select_from(archive_study.join(study, study.c.id == archive_study.c.study_fk))
            .where(study.c.study_instance_uid == study_uid, archive_study.c.fetch_expires_at > _now())
        )
        with self.engine.connect() as conn:
            found = conn.execute(stmt).scalar()
        return None if found is None else str(found)

    def offline_instance(self, sop_instance_uid: str) -> bool:
        """True when an instance row with this SOP Instance UID belongs to a study whose online
        copy was removed (a received copy of it is the fetched-back file)."""
        stmt = (
            select(instance.c.id)
            .select_from(instance.join(series, series.c.id == instance.c.series_fk)
                         .join(archive_study, archive_study.c.study_fk == series.c.study_fk))
            .where(instance.c.sop_instance_uid == sop_instance_uid, archive_study.c.online == 0)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(stmt).first() is not None
