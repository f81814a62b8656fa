"""Deletion of studies, series and instances from the catalogue.

The rows go first, in one transaction with the change-log entry; the caller removes the
files afterwards (:class:`DeletionResult` lists them). A crash between the two leaves
files no row points to: harmless (never served, never counted), and removable by a sweep.
The other order could leave rows pointing at missing files, which WADO-RS and C-MOVE
would then fail on.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, select

from app.core.errors import NotFoundError
from app.server.index import engine as engine_mod
from app.server.index.admin_records import (
    PATIENT_KEYWORDS,
    STUDY_KEYWORDS,
    ChangeRequest,
    DeletionResult,
    RemovedInstance,
)
from app.server.index.catalogue import Catalogue
from app.server.index.changes import lock_change_log, record_change
from app.server.index.query import COLUMNS
from app.server.index.schema import instance, patient, series, study

_KEYWORDS = PATIENT_KEYWORDS + STUDY_KEYWORDS


class DeletionStore:
    """Removes catalogue rows. Thread-safe.

    Parameters
    ----------
    engine
        The index engine (schema up to date).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def delete(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None, *, by: str = ""
    ) -> DeletionResult:
        """Remove the rows of a study, one of its series, or one instance (every stored copy).

        Raises
        ------
        NotFoundError
            Nothing of that name is stored (nothing is changed).
        """
        level = "instance" if sop_uid else "series" if series_uid else "study"
        with engine_mod.writing(self.engine, "the catalogue") as conn:
            lock_change_log(conn)
            owner = conn.execute(
                select(study.c.id, study.c.patient_fk, *(COLUMNS[k] for k in _KEYWORDS))
                .select_from(study.join(patient)).where(study.c.study_instance_uid == study_uid)
            ).first()
            if owner is None:
                raise NotFoundError(f"no study {study_uid} on this server; search with GET /dicom-web/studies")
            values = {k: str(owner._mapping[COLUMNS[k]]) for k in _KEYWORDS}
            stmt = (
                select(instance.c.id, series.c.series_instance_uid, instance.c.sop_class_uid,
                       instance.c.sop_instance_uid, instance.c.relpath)
                .select_from(instance.join(series)).where(series.c.study_fk == owner.id).order_by(instance.c.id)
            )
            if series_uid is not None:
                stmt = stmt.where(series.c.series_instance_uid == series_uid)
            if sop_uid is not None:
                stmt = stmt.where(instance.c.sop_instance_uid == sop_uid)
            rows = conn.execute(stmt).all()
            if not rows and level != "study":
                what = f"instance {sop_uid} in series {series_uid}" if sop_uid else f"series {series_uid}"
                raise NotFoundError(f"no {what} of study {study_uid}; list them with GET /dicom-web/studies/"
                                    f"{study_uid}/series")
            if level == "study":  # everything at once: instances, series, the study (and its status)
                series_pks = select(series.c.id).where(series.c.study_fk == owner.id).scalar_subquery()
                conn.execute(delete(instance).where(instance.c.series_fk.in_(series_pks)))
                conn.execute(delete(series).where(series.c.study_fk == owner.id))
                conn.execute(delete(study).where(study.c.id == owner.id))
                others = select(func.count()).select_from(study).where(study.c.patient_fk == owner.patient_fk)
                if conn.execute(others).scalar_one() == 0:
                    conn.execute(delete(patient).where(patient.c.id == owner.patient_fk))
            else:
                for row in rows:
                    Catalogue.remove_rows(conn, int(row.id))
            gone = conn.execute(select(study.c.id).where(study.c.id == owner.id)).first() is None
            uid = sop_uid or series_uid or study_uid
            change_id = record_change(conn, ChangeRequest(
                "deleted", level, study_uid, series_uid or "", sop_uid or "", patient_id=values["PatientID"], by=by,
                detail={"uid": uid, "instances": len(rows), "study_gone": gone},
            ))
        removed = tuple(RemovedInstance(r.series_instance_uid, r.sop_class_uid, r.sop_instance_uid, r.relpath)
                        for r in rows)
        return DeletionResult(study_uid, removed, gone, values, change_id)
