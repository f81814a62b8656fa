"""The catalogue: what is stored, at which level, and where (PS3.4 C.6.2 information model).

Thread-safe: every method takes a pooled connection of its own. Writers are serialized
in-process (SQLite allows one writer anyway, and ``BEGIN IMMEDIATE`` serializes writers
of other processes). On PostgreSQL, shared by several server processes, a concurrent
get-or-create of a patient, study or series loses on the unique constraint and its
transaction is retried (so are deadlocks); the duplicates policies ``reject`` and
``overwrite`` look for earlier copies under a transaction-scoped advisory lock on the SOP
Instance UID, so two processes receiving the same instance at once keep one copy.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.core.errors import IndexFailure
from app.dicom.charsets import fold_case
from app.server.index import engine as engine_mod
from app.server.index.admin_records import ChangeRequest
from app.server.index.changes import record_change
from app.server.index.query import compile_search, row_values
from app.server.index.records import AddResult, InstanceRecord, SearchRequest, StoredInstance
from app.server.index.schema import CHANGES, REQUEST, counter, instance, patient, series, study

LOGGER = logging.getLogger(__name__)

_RETRIES = 3

#: SOP Instance UIDs looked up per statement (SQLite allows 999 bound parameters by default).
_UID_BATCH = 500


def _reason(exc: SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc
    return f"{type(cause).__name__}: {cause}"


def _stored_columns() -> list[Any]:
    return [
        instance.c.id,
        study.c.study_instance_uid,
        series.c.series_instance_uid,
        instance.c.sop_instance_uid,
        instance.c.sop_class_uid,
        instance.c.transfer_syntax_uid,
        instance.c.relpath,
        instance.c.size,
    ]


def _stored_from() -> Any:
    return instance.join(series, instance.c.series_fk == series.c.id).join(study, series.c.study_fk == study.c.id)


#: Statements of the common path (an instance of a series already indexed), built once.
_INSERT_INSTANCE = instance.insert()
_COUNT_IN_SERIES = (
    update(series)
    .where(series.c.id == bindparam("pk"), series.c.series_instance_uid == bindparam("uid"))
    .values(num_instances=series.c.num_instances + 1)
)
_COUNT_IN_STUDY = (
    update(study)
    .where(study.c.id == bindparam("pk"), study.c.study_instance_uid == bindparam("uid"))
    .values(num_instances=study.c.num_instances + 1)
)
_BUMP_CHANGES = update(counter).where(counter.c.name == CHANGES).values(value=counter.c.value + 1)

#: How many series the catalogue remembers (primary keys of series and study, patient).
_SERIES_CACHE_SIZE = 256


class Catalogue:
    """The index of stored instances.

    Parameters
    ----------
    engine
        Engine from :func:`app.server.index.engine.create_index_engine`, schema up to date.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # series UID -> (series pk, study UID, study pk, patient id, issuer); validated on use
        self._series_cache: dict[str, tuple[int, str, int, str, str]] = {}

    # -- transactions ------------------------------------------------------------------

    def _writing(self) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction; database errors become :class:`IndexFailure`, a unique
        constraint violation propagates (a concurrent get-or-create lost its race)."""
        return engine_mod.writing(self.engine, "the index", pass_integrity_errors=True)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the index could not be read: {_reason(exc)}") from exc

    # -- writes ------------------------------------------------------------------------

    def add_instance(
        self, record: InstanceRecord, *, duplicates: str = "keep", before_commit: Callable[[], None] | None = None
    ) -> AddResult:
        """Index one stored instance (PS3.4 B.2.2), creating its patient, study and series.

        Parameters
        ----------
        record
            The instance's attributes and where it is stored.
        duplicates
            ``keep`` (add a second row), ``overwrite`` (remove the rows of earlier copies in
            the same transaction; their files are returned in ``replaced``) or ``reject``
            (add nothing when the SOP Instance UID is already indexed).
        before_commit
            Called inside the transaction once the rows are written, just before COMMIT
            (only when the instance is added): the ingest puts the file in place there, so
            the disk's flushing overlaps the index work. If it raises, the transaction is
            rolled back and the exception propagates.

        Raises
        ------
        IndexFailure
            The transaction failed and was rolled back; nothing was indexed.
        """
        for attempt in range(_RETRIES):
            try:
                with self._writing() as conn:
                    if duplicates != "keep" and conn.dialect.name == "postgresql":
                        key = engine_mod.lock_key(record.sop_instance_uid)
                        conn.execute(select(func.pg_advisory_xact_lock(key)))
                    added = self._add_to_known_series(conn, record) if duplicates == "keep" else None
                    if added is None:
                        added = self._add(conn, record, duplicates)
                    if added.added and before_commit is not None:
                        before_commit()
                    if added.added:
                        # last: the shared counter row stays locked for the shortest time (other
                        # processes' ingests of other studies wait only for this, not for the file)
                        if added.replaced:
                            self._bump(conn, CHANGES, 1 + len(added.replaced))
                        else:
                            conn.execute(_BUMP_CHANGES)
                    return added
            except IntegrityError as exc:
                if attempt == _RETRIES - 1:
                    raise IndexFailure(f"the index refused the instance: {exc.orig}") from exc
                LOGGER.debug("concurrent insert, retrying", exc_info=True)
            except IndexFailure as exc:
                cause = exc.__cause__
                retryable = isinstance(cause, SQLAlchemyError) and engine_mod.is_retryable(cause)
                if attempt == _RETRIES - 1 or not retryable:
                    raise
                LOGGER.debug("deadlock with another writer, retrying", exc_info=True)
        raise AssertionError("unreachable")

    def _add_to_known_series(self, conn: Connection, r: InstanceRecord) -> AddResult | None:
        """The common case, in four prepared statements: another instance of a series this
        process indexed recently. The cached keys are checked by the updates themselves
        (they match on key *and* UID), so a series removed meanwhile, by this process or
        another, falls back to :meth:`_add`. Returns None when it does not apply."""
        cached = self._series_cache.get(r.series_instance_uid)
        if cached is None or cached[1] != r.study_instance_uid:
            return None
        series_pk, study_uid, study_pk, patient_id, issuer = cached
        if conn.execute(_COUNT_IN_SERIES, {"pk": series_pk, "uid": r.series_instance_uid}).rowcount != 1:
            self._series_cache.pop(r.series_instance_uid, None)
            return None
        if conn.execute(_COUNT_IN_STUDY, {"pk": study_pk, "uid": study_uid}).rowcount != 1:
            raise IndexFailure("the index changed under a store (study removed); retry")
        if (patient_id, issuer) != (r.patient_id, r.issuer):
            LOGGER.warning(
                "instance %s carries another Patient ID than its study %s; indexed under the study's patient",
                r.sop_instance_uid, r.study_instance_uid,
            )
        instance_pk = conn.execute(_INSERT_INSTANCE, self._instance_values(series_pk, r)).inserted_primary_key[0]  # type: ignore[index]
        return AddResult(added=True, instance_id=int(instance_pk))

    @staticmethod
    def _instance_values(series_pk: int, r: InstanceRecord) -> dict[str, Any]:
        return {
            "series_fk": series_pk, "sop_instance_uid": r.sop_instance_uid, "sop_class_uid": r.sop_class_uid,
            "instance_number": r.instance_number, "transfer_syntax_uid": r.transfer_syntax_uid,
            "image_rows": r.rows, "image_columns": r.columns, "number_of_frames": r.number_of_frames,
            "relpath": r.relpath, "size": r.size, "received_at": r.received_at, "source_ae": r.source_ae,
            "checksum": r.checksum,
        }

    def _remember(self, r: InstanceRecord, series_pk: int, study_pk: int, patient_id: str, issuer: str) -> None:
        if len(self._series_cache) >= _SERIES_CACHE_SIZE:
            with contextlib.suppress(RuntimeError, StopIteration, KeyError):  # another writer evicted
                self._series_cache.pop(next(iter(self._series_cache)))
        self._series_cache[r.series_instance_uid] = (series_pk, r.study_instance_uid, study_pk, patient_id, issuer)

    def _add(self, conn: Connection, r: InstanceRecord, duplicates: str) -> AddResult:
        existing = [] if duplicates == "keep" else [
            StoredInstance(*row)
            for row in conn.execute(
                select(*_stored_columns())
                .select_from(_stored_from())
                .where(instance.c.sop_instance_uid == r.sop_instance_uid)
            )
        ]
        if existing and duplicates == "reject":
            return AddResult(added=False)
        study_row = conn.execute(
            select(study.c.id, patient.c.patient_id, patient.c.issuer)
            .select_from(study.join(patient, study.c.patient_fk == patient.c.id))
            .where(study.c.study_instance_uid == r.study_instance_uid)
        ).first()
        if study_row is not None:
            # A study stays with the patient it was first stored under (PS3.4 C.6.2.1: one
            # patient per study); a different Patient ID here is the sender's inconsistency.
            study_pk = int(study_row[0])
            study_patient = (str(study_row[1]), str(study_row[2]))
            if study_patient != (r.patient_id, r.issuer):
                LOGGER.warning(
                    "instance %s carries another Patient ID than its study %s; indexed under the study's patient",
                    r.sop_instance_uid, r.study_instance_uid,
                )
        else:
            patient_pk = self._get_or_create(
                conn, patient, (patient.c.patient_id == r.patient_id) & (patient.c.issuer == r.issuer),
                {"patient_id": r.patient_id, "issuer": r.issuer, "patient_name": r.patient_name,
                 "patient_name_lc": fold_case(r.patient_name), "birth_date": r.birth_date, "sex": r.sex},
            )[0]
            study_pk, study_created = self._get_or_create(
                conn, study, study.c.study_instance_uid == r.study_instance_uid,
                {"patient_fk": patient_pk, "study_instance_uid": r.study_instance_uid, "study_date": r.study_date,
                 "study_time": r.study_time, "study_description": r.study_description,
                 "accession_number": r.accession_number, "referring_physician_name": r.referring_physician_name,
                 "study_id": r.study_id, "modalities": "", "num_series": 0, "num_instances": 0},
            )
            if study_created:  # one change-log entry per new study (not per instance: ingest stays cheap)
                record_change(conn, ChangeRequest("received", "study", r.study_instance_uid, patient_id=r.patient_id,
                                                  by=r.source_ae), count=False)
            study_patient = (r.patient_id, r.issuer)
        series_row = conn.execute(
            select(series.c.id, series.c.study_fk).where(series.c.series_instance_uid == r.series_instance_uid)
        ).first()
        if series_row is not None:  # an existing series stays in the study it was first stored in
            series_pk, series_study, series_created = int(series_row[0]), int(series_row[1]), False
        else:
            series_pk, series_created = self._get_or_create(
                conn, series, series.c.series_instance_uid == r.series_instance_uid,
            {"study_fk": study_pk, "series_instance_uid": r.series_instance_uid, "modality": r.modality,
             "series_number": r.series_number, "series_description": r.series_description,
             "series_date": r.series_date, "series_time": r.series_time, "body_part": r.body_part,
             "num_instances": 0},
            )
            series_study = study_pk
        instance_pk = conn.execute(_INSERT_INSTANCE, self._instance_values(series_pk, r)).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(update(series).where(series.c.id == series_pk).values(num_instances=series.c.num_instances + 1))
        conn.execute(
            update(study).where(study.c.id == series_study).values(
                num_instances=study.c.num_instances + 1, num_series=study.c.num_series + int(series_created)
            )
        )
        if series_created:
            self._refresh_modalities(conn, series_study)
        replaced: tuple[StoredInstance, ...] = ()
        if duplicates == "overwrite" and existing:
            for old in existing:
                self.remove_rows(conn, old.id)
            replaced = tuple(existing)
        if series_study == study_pk:
            self._remember(r, series_pk, study_pk, *study_patient)
        return AddResult(added=True, instance_id=int(instance_pk), replaced=replaced)

    @staticmethod
    def _get_or_create(conn: Connection, table: Any, where: Any, values: dict[str, Any]) -> tuple[int, bool]:
        found = conn.execute(select(table.c.id).where(where)).scalar()
        if found is not None:
            return int(found), False
        with conn.begin_nested():
            pk = conn.execute(table.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
        return int(pk), True

    @staticmethod
    def _refresh_modalities(conn: Connection, study_pk: int) -> None:
        """Recompute ModalitiesInStudy (0008,0061) from the study's series."""
        rows = conn.execute(
            select(series.c.modality).where(series.c.study_fk == study_pk, series.c.modality != "")
            .distinct().order_by(series.c.modality)
        ).scalars()
        conn.execute(update(study).where(study.c.id == study_pk).values(modalities="\\".join(rows)))

    @staticmethod
    def remove_rows(conn: Connection, instance_pk: int) -> None:
        """Delete one instance row within the caller's write transaction, keep the counts
        right and drop emptied parents (series, study, patient)."""
        series_pk = conn.execute(select(instance.c.series_fk).where(instance.c.id == instance_pk)).scalar_one()
        study_pk = conn.execute(select(series.c.study_fk).where(series.c.id == series_pk)).scalar_one()
        conn.execute(delete(instance).where(instance.c.id == instance_pk))
        conn.execute(update(series).where(series.c.id == series_pk).values(num_instances=series.c.num_instances - 1))
        conn.execute(update(study).where(study.c.id == study_pk).values(num_instances=study.c.num_instances - 1))
        left = conn.execute(select(series.c.num_instances).where(series.c.id == series_pk)).scalar_one()
        if left > 0:
            return
        conn.execute(delete(series).where(series.c.id == series_pk))
        conn.execute(update(study).where(study.c.id == study_pk).values(num_series=study.c.num_series - 1))
        Catalogue._refresh_modalities(conn, study_pk)
        study_left = conn.execute(select(study.c.num_series).where(study.c.id == study_pk)).scalar_one()
        if study_left > 0:
            return
        patient_pk = conn.execute(select(study.c.patient_fk).where(study.c.id == study_pk)).scalar_one()
        conn.execute(delete(study).where(study.c.id == study_pk))
        others = conn.execute(select(func.count()).select_from(study).where(study.c.patient_fk == patient_pk))
        if others.scalar_one() == 0:
            conn.execute(delete(patient).where(patient.c.id == patient_pk))

    def remove_instance(self, instance_pk: int) -> None:
        """Remove one instance row (its file is for the caller to delete)."""
        with self._writing() as conn:
            self.remove_rows(conn, instance_pk)
            self._bump(conn, CHANGES, 1)

    @staticmethod
    def _bump(conn: Connection, name: str, by: int) -> None:
        conn.execute(update(counter).where(counter.c.name == name).values(value=counter.c.value + by))

    def next_request_number(self) -> int:
        """The next request number (used as Patient ID when a data set has none)."""
        with self._writing() as conn:
            self._bump(conn, REQUEST, 1)
            return int(conn.execute(select(counter.c.value).where(counter.c.name == REQUEST)).scalar_one())

    # -- reads -------------------------------------------------------------------------

    def has_instance(self, sop_instance_uid: str) -> bool:
        """True when at least one copy of the instance is indexed."""
        with self._reading() as conn:
            found = conn.execute(
                select(instance.c.id).where(instance.c.sop_instance_uid == sop_instance_uid).limit(1)
            ).scalar()
        return found is not None

    def change_counter(self) -> int:
        """A number that grows with every change of the index (the workstation's refresh cue)."""
        with self._reading() as conn:
            return int(conn.execute(select(counter.c.value).where(counter.c.name == CHANGES)).scalar_one())

    def count_instances(self) -> int:
        """How many instance rows the index holds."""
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(instance)).scalar_one())

    def stored_instances(
        self, study_instance_uid: str, series_instance_uid: str | None = None, sop_instance_uid: str | None = None
    ) -> list[StoredInstance]:
        """The stored files of a study, series or instance, in series and instance order
        (PS3.18 10.4.1)."""
        stmt = select(*_stored_columns()).select_from(_stored_from()).where(
            study.c.study_instance_uid == study_instance_uid
        )
        if series_instance_uid is not None:
            stmt = stmt.where(series.c.series_instance_uid == series_instance_uid)
        if sop_instance_uid is not None:
            stmt = stmt.where(instance.c.sop_instance_uid == sop_instance_uid)
        stmt = stmt.order_by(
            series.c.series_number, series.c.id, instance.c.instance_number, instance.c.id
        )
        with self._reading() as conn:
            return [StoredInstance(*row) for row in conn.execute(stmt)]

    def instances_by_uid(self, sop_instance_uids: Sequence[str]) -> dict[str, list[StoredInstance]]:
        """Every indexed copy of the given SOP instances, with its recorded checksum, by SOP
        Instance UID (storage commitment, PS3.4 J.3.3); UIDs not indexed are left out."""
        found: dict[str, list[StoredInstance]] = {}
        uids = list(dict.fromkeys(sop_instance_uids))
        with self._reading() as conn:
            for start in range(0, len(uids), _UID_BATCH):
                batch = uids[start : start + _UID_BATCH]
                stmt = (
                    select(*_stored_columns(), instance.c.checksum)
                    .select_from(_stored_from())
                    .where(instance.c.sop_instance_uid.in_(batch))
                    .order_by(instance.c.id)
                )
                for row in conn.execute(stmt):
                    item = StoredInstance(*row[:8], checksum=row[8])
                    found.setdefault(item.sop_instance_uid, []).append(item)
        return found

    def search(self, request: SearchRequest) -> list[dict[str, Any]]:
        """Run a QIDO-RS / C-FIND search; raises :class:`QueryError` for bad keys or values."""
        stmt, keywords = compile_search(request)
        with self._reading() as conn:
            return [row_values(keywords, row) for row in conn.execute(stmt)]

    def close(self) -> None:
        """Close the index (checkpoint the SQLite WAL, close pooled connections)."""
        engine_mod.close_engine(self.engine)


def open_catalogue(
    url: str, *, busy_timeout_ms: int = engine_mod.DEFAULT_BUSY_TIMEOUT_MS, synchronous_full: bool = False
) -> Catalogue:
    """Open the index (schema brought up to date) and return its catalogue alone."""
    return Catalogue(engine_mod.open_engine(url, busy_timeout_ms=busy_timeout_ms, synchronous_full=synchronous_full))
