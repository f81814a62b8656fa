"""The ``mpps`` table: Modality Performed Procedure Steps received by the MPPS SCP (PS3.4 F.7).

Each change of a step commits in one write transaction together with its consequences:
the worklist items it references take the step's status (so that the Modality Worklist
SCP can leave completed procedures out) and its relay jobs are queued.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.core.errors import IndexFailure
from app.dicom.mpps import ScheduledStep
from app.server.index import engine as engine_mod
from app.server.index.jobs import insert_job
from app.server.index.mpps_records import DuplicateStep, MppsChange, MppsRecord, NewStep, NoSuchStep, StepUpdate
from app.server.index.schema import mpps, worklist_item


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _record(row: Any) -> MppsRecord:
    m = row._mapping
    return MppsRecord(
        sop_instance_uid=m["sop_instance_uid"], status=m["status"], calling_ae_title=m["calling_ae_title"],
        patient_id=m["patient_id"], study_instance_uid=m["study_instance_uid"],
        accession_number=m["accession_number"], dataset=json.loads(m["dataset"]), created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _link_worklist(conn: Connection, steps: tuple[ScheduledStep, ...], status: str, now: dt.datetime) -> int:
    """Move the worklist items the step references to ``status``: same Scheduled Procedure
    Step ID and same Study Instance UID (PS3.4 F.7.2.1), or, for a modality that made its own
    study, same Accession Number."""
    changed = 0
    for step in steps:
        if not step.scheduled_procedure_step_id:
            continue  # an unscheduled step references no worklist item
        same = [worklist_item.c.study_instance_uid == step.study_instance_uid] if step.study_instance_uid else []
        if step.accession_number:
            same.append(worklist_item.c.accession_number == step.accession_number)
        if not same:
            continue
        result = conn.execute(
            update(worklist_item)
            .where(and_(worklist_item.c.sps_id == step.scheduled_procedure_step_id, or_(*same)))
            .values(status=status, updated_at=now)
        )
        changed += int(result.rowcount)
    return changed


class MppsStore:
    """Stored performed procedure steps. Thread-safe; times are naive UTC.

    Parameters
    ----------
    engine
        The index engine (schema up to date).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        try:
            with engine_mod.writing(self.engine, "the MPPS table", pass_integrity_errors=True) as conn:
                yield conn
        except IntegrityError as exc:
            raise DuplicateStep("a performed procedure step with this SOP Instance UID exists already") from exc

    def _commit_consequences(self, conn: Connection, change: MppsChange, now: dt.datetime) -> None:
        _link_worklist(conn, change.steps, change.status, now)
        for request in change.jobs:
            insert_job(conn, request)

    def create(self, step: NewStep) -> MppsRecord:
        """Store a step received by N-CREATE; :class:`DuplicateStep` when its UID is taken."""
        now = _now()
        with self._writing() as conn:
            exists = conn.execute(select(mpps.c.id).where(mpps.c.sop_instance_uid == step.sop_instance_uid)).first()
            if exists is not None:
                raise DuplicateStep("a performed procedure step with this SOP Instance UID exists already")
            conn.execute(mpps.insert().values(
                sop_instance_uid=step.sop_instance_uid, status=step.change.status,
                calling_ae_title=step.calling_ae_title[:16], patient_id=step.patient_id[:64],
                study_instance_uid=step.study_instance_uid[:64], accession_number=step.accession_number[:64],
                dataset=json.dumps(step.change.dataset), created_at=now, updated_at=now,
            ))
            self._commit_consequences(conn, step.change, now)
            row = conn.execute(select(mpps).where(mpps.c.sop_instance_uid == step.sop_instance_uid)).one()
        return _record(row)

    def update(self, sop_instance_uid: str, change: StepUpdate) -> MppsRecord:
        """Apply an N-SET: ``change`` computes the new state from the stored one inside the
        write transaction (so two N-SETs never interleave); it may raise to refuse.
        :class:`NoSuchStep` when the UID is unknown."""
        now = _now()
        with self._writing() as conn:
            row = conn.execute(select(mpps).where(mpps.c.sop_instance_uid == sop_instance_uid)).first()
            if row is None:
                raise NoSuchStep(f"no performed procedure step {sop_instance_uid}")
            new = change(_record(row))
            conn.execute(update(mpps).where(mpps.c.id == row.id).values(
                status=new.status, dataset=json.dumps(new.dataset), updated_at=now))
            self._commit_consequences(conn, new, now)
            row = conn.execute(select(mpps).where(mpps.c.id == row.id)).one()
        return _record(row)

    def get(self, sop_instance_uid: str) -> MppsRecord | None:
        """One step, or None."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(select(mpps).where(mpps.c.sop_instance_uid == sop_instance_uid)).first()
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the MPPS table could not be read: {exc}") from exc
        return _record(row) if row is not None else None

    def list(self, *, status: str | None = None, limit: int = 100) -> list[MppsRecord]:
        """Steps, most recently changed first; only those with ``status`` when given."""
        stmt = select(mpps).order_by(mpps.c.updated_at.desc(), mpps.c.id.desc()).limit(max(1, min(limit, 10_000)))
        if status is not None:
            stmt = stmt.where(mpps.c.status == status)
        try:
            with self.engine.connect() as conn:
                return [_record(row) for row in conn.execute(stmt)]
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the MPPS table could not be read: {exc}") from exc
