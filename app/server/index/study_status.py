"""Reading status of studies: new, read, approved (with who and when).

A study without a ``study_status`` row is ``new``; reading it makes it ``read``; approving
it makes it ``approved`` (the event the Basic Study Content Notification reports,
PS3.4 Annex D, retired). Each change is recorded in the change log in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import ConflictError, IndexFailure, NotFoundError
from app.server.index import engine as engine_mod
from app.server.index.admin_records import ChangeRequest, StudyState, StudyStatus
from app.server.index.changes import lock_change_log, now, record_change
from app.server.index.schema import patient, study, study_status


def _status(uid: str, row: Any) -> StudyStatus:
    if row is None:
        return StudyStatus(uid, StudyState.NEW)
    m = row._mapping
    return StudyStatus(uid, StudyState(m["status"]), m["approved_by"], m["approved_at"], m["read_by"], m["read_at"])


class StudyStatusStore:
    """Study status in the index. Thread-safe.

    Parameters
    ----------
    engine
        The index engine (schema up to date).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _study(conn: Connection, study_uid: str) -> tuple[int, str]:
        row = conn.execute(
            select(study.c.id, patient.c.patient_id).select_from(study.join(patient))
            .where(study.c.study_instance_uid == study_uid)
        ).first()
        if row is None:
            raise NotFoundError(f"no study {study_uid} on this server; search with GET /dicom-web/studies")
        return int(row[0]), str(row[1])

    @staticmethod
    def _row(conn: Connection, study_pk: int) -> Any:
        return conn.execute(select(study_status).where(study_status.c.study_fk == study_pk)).first()

    def approve(self, study_uid: str, by: str) -> StudyStatus:
        """Approve a study; :class:`ConflictError` when it is approved already."""
        with engine_mod.writing(self.engine, "the study status") as conn:
            lock_change_log(conn)
            study_pk, patient_id = self._study(conn, study_uid)
            current = _status(study_uid, self._row(conn, study_pk))
            if current.status is StudyState.APPROVED:
                at = current.approved_at.isoformat(timespec="seconds") + "Z" if current.approved_at else "earlier"
                raise ConflictError(
                    f"study {study_uid} was approved already by {current.approved_by or 'someone'} at {at}; "
                    "nothing to do"
                )
            when = now()
            values = {"status": StudyState.APPROVED.value, "approved_by": by[:64], "approved_at": when}
            if current.status is StudyState.NEW:
                conn.execute(study_status.insert().values(study_fk=study_pk, read_by="", read_at=None, **values))
            else:
                conn.execute(update(study_status).where(study_status.c.study_fk == study_pk).values(**values))
            record_change(conn, ChangeRequest("approved", "study", study_uid, patient_id=patient_id, by=by))
            return _status(study_uid, self._row(conn, study_pk))

    def mark_read(self, study_uid: str, by: str) -> StudyStatus:
        """Mark a new study read; a read or approved study keeps its status (nothing recorded)."""
        with engine_mod.writing(self.engine, "the study status") as conn:
            lock_change_log(conn)
            study_pk, patient_id = self._study(conn, study_uid)
            row = self._row(conn, study_pk)
            if row is not None:
                return _status(study_uid, row)
            conn.execute(study_status.insert().values(
                study_fk=study_pk, status=StudyState.READ.value, approved_by="", approved_at=None, read_by=by[:64],
                read_at=now(),
            ))
            record_change(conn, ChangeRequest("read", "study", study_uid, patient_id=patient_id, by=by))
            return _status(study_uid, self._row(conn, study_pk))

    def get(self, study_uid: str) -> StudyStatus | None:
        """A study's status, or None when the study is unknown."""
        stmt = (select(study.c.id, study_status).select_from(study.outerjoin(study_status))
                .where(study.c.study_instance_uid == study_uid))
        try:
            with self.engine.connect() as conn:
                row = conn.execute(stmt).first()
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the study status could not be read: {exc}") from exc
        if row is None:
            return None
        return _status(study_uid, row if row._mapping["status"] is not None else None)

    def statuses(self) -> dict[str, str]:
        """Every study's status by Study Instance UID."""
        stmt = select(study.c.study_instance_uid, study_status.c.status).select_from(study.outerjoin(study_status))
        try:
            with self.engine.connect() as conn:
                return {str(uid): str(status or StudyState.NEW.value) for uid, status in conn.execute(stmt)}
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the study status could not be read: {exc}") from exc
