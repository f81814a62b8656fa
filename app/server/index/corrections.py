"""Corrections of patient and study attributes in the catalogue; merges and splits of patients.

The catalogue rows change in one transaction with their change-log entry; the stored files
stay exactly as received (PS3.4 C.6.2.1 keeps one patient per study: a study moves between
patients as a whole). The rows touched are marked ``corrected`` so that every outbound
path overlays the catalogue's values (:func:`app.server.corrections.apply_catalogue_values`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import ConflictError, IndexFailure, InvalidRequestError, NotFoundError
from app.dicom.charsets import fold_case
from app.server.index import engine as engine_mod
from app.server.index.admin_records import (
    PATIENT_KEYWORDS,
    STUDY_KEYWORDS,
    CatalogueValues,
    ChangeRequest,
    CorrectionResult,
)
from app.server.index.changes import lock_change_log, record_change
from app.server.index.query import COLUMNS
from app.server.index.schema import patient, study

_PATIENT_COLUMNS = [COLUMNS[k] for k in PATIENT_KEYWORDS]
_STUDY_COLUMNS = [COLUMNS[k] for k in STUDY_KEYWORDS]


def _patient_values(changes: Mapping[str, str]) -> dict[str, Any]:
    """Column values of the patient-level ``changes`` (with the lower-cased name copy)."""
    out: dict[str, Any] = {COLUMNS[k].name: v for k, v in changes.items() if k in PATIENT_KEYWORDS}
    if "PatientName" in changes:
        out["patient_name_lc"] = fold_case(changes["PatientName"])
    return out


def _values_of(row: Any, keywords: tuple[str, ...]) -> dict[str, str]:
    m = row._mapping
    return {k: str(m[COLUMNS[k]]) for k in keywords}


class CorrectionStore:
    """Corrections in the index. Thread-safe.

    Parameters
    ----------
    engine
        The index engine (schema up to date).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reads -------------------------------------------------------------------------------
    def catalogue_values(self, study_uid: str) -> CatalogueValues | None:
        """The study's patient/study attributes as catalogued (None when the study is unknown)."""
        stmt = (select(*_PATIENT_COLUMNS, *_STUDY_COLUMNS, study.c.corrected, patient.c.corrected.label("pc"))
                .select_from(study.join(patient)).where(study.c.study_instance_uid == study_uid))
        try:
            with self.engine.connect() as conn:
                row = conn.execute(stmt).first()
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the catalogue could not be read: {exc}") from exc
        if row is None:
            return None
        values = _values_of(row, PATIENT_KEYWORDS + STUDY_KEYWORDS)
        return CatalogueValues(study_uid, values, bool(row._mapping["corrected"] or row._mapping["pc"]))

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _patient(conn: Connection, patient_id: str, issuer: str | None = None, *, required: bool = True) -> Any:
        stmt = select(patient).where(patient.c.patient_id == patient_id)
        if issuer is not None:
            stmt = stmt.where(patient.c.issuer == issuer)
        rows = conn.execute(stmt.limit(2)).all()
        if len(rows) > 1:
            raise ConflictError(f"several patients have the ID {patient_id} (other issuers); "
                                "name the one you mean with ?issuer=...")
        if not rows:
            if required:
                raise NotFoundError(f"no patient with ID {patient_id} on this server; search with "
                                    "GET /dicom-web/studies?PatientID=...")
            return None
        return rows[0]

    @staticmethod
    def _studies_of(conn: Connection, patient_pk: int) -> list[str]:
        stmt = select(study.c.study_instance_uid).where(study.c.patient_fk == patient_pk).order_by(study.c.id)
        return [str(uid) for uid in conn.execute(stmt).scalars()]

    @staticmethod
    def _drop_if_empty(conn: Connection, patient_pk: int) -> bool:
        left = conn.execute(select(func.count()).select_from(study).where(study.c.patient_fk == patient_pk))
        if left.scalar_one():
            return False
        conn.execute(delete(patient).where(patient.c.id == patient_pk))
        return True

    @staticmethod
    def _new_patient(conn: Connection, base: Any, changes: Mapping[str, str]) -> int:
        values = {c.name: base._mapping[c.name] for c in (*_PATIENT_COLUMNS, patient.c.patient_name_lc)}
        values.update(_patient_values(changes))
        key = conn.execute(patient.insert().values(corrected=1, **values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    @staticmethod
    def _check_target(target: Any, changes: Mapping[str, str]) -> None:
        """Moving studies to an existing patient takes that patient's values as they are."""
        differing = {k: v for k, v in changes.items() if str(target._mapping[COLUMNS[k].name]) != v}
        if differing:
            raise ConflictError(
                f"patient {target.patient_id} exists already with other values of {', '.join(sorted(differing))}; "
                f"correct that patient first (PATCH /api/patients/{target.patient_id}) or leave them out"
            )

    # -- corrections -------------------------------------------------------------------------
    def correct_study(self, study_uid: str, changes: Mapping[str, str], by: str) -> CorrectionResult:
        """Correct a study's attributes; patient-level ones move it to another patient when the
        Patient ID changes (a split), or change its patient when that patient has no other study."""
        study_changes = {k: v for k, v in changes.items() if k in STUDY_KEYWORDS}
        patient_changes = {k: v for k, v in changes.items() if k in PATIENT_KEYWORDS}
        with engine_mod.writing(self.engine, "the catalogue") as conn:
            lock_change_log(conn)
            row = conn.execute(
                select(study.c.id, study.c.patient_fk, *_STUDY_COLUMNS).where(study.c.study_instance_uid == study_uid)
            ).first()
            if row is None:
                raise NotFoundError(f"no study {study_uid} on this server; search with GET /dicom-web/studies")
            study_pk, patient_pk = int(row.id), int(row.patient_fk)
            before = _values_of(row, STUDY_KEYWORDS)
            owner = conn.execute(select(patient).where(patient.c.id == patient_pk)).one()
            before.update(_values_of(owner, PATIENT_KEYWORDS))
            values: dict[str, Any] = {COLUMNS[k].name: v for k, v in study_changes.items()}
            target_id = patient_changes.get("PatientID", owner.patient_id)
            target_issuer = patient_changes.get("IssuerOfPatientID", owner.issuer)
            if (target_id, target_issuer) != (owner.patient_id, owner.issuer):
                target = self._patient(conn, target_id, target_issuer, required=False)
                if target is not None:
                    rest = {k: v for k, v in patient_changes.items() if k not in ("PatientID", "IssuerOfPatientID")}
                    self._check_target(target, rest)
                    values["patient_fk"] = int(target.id)
                else:
                    values["patient_fk"] = self._new_patient(conn, owner, patient_changes)
            elif patient_changes:
                others = [uid for uid in self._studies_of(conn, patient_pk) if uid != study_uid]
                if others:
                    raise ConflictError(
                        f"patient {owner.patient_id} has {len(others)} other stud{'y' if len(others) == 1 else 'ies'}"
                        f"; correct the patient for all of them with PATCH /api/patients/{owner.patient_id}, or give "
                        "this study another PatientID to split it off"
                    )
                conn.execute(update(patient).where(patient.c.id == patient_pk).values(
                    corrected=1, **_patient_values(patient_changes)))
            conn.execute(update(study).where(study.c.id == study_pk).values(corrected=1, **values))
            if "patient_fk" in values:
                self._drop_if_empty(conn, patient_pk)
            change_id = record_change(conn, ChangeRequest(
                "corrected", "study", study_uid, patient_id=target_id, by=by,
                detail={"changes": dict(changes), "before": {k: before[k] for k in changes}},
            ))
        return CorrectionResult((study_uid,), target_id, dict(changes), change_id)

    def correct_patient(
        self, patient_id: str, changes: Mapping[str, str], by: str, issuer: str | None = None
    ) -> CorrectionResult:
        """Correct a patient's attributes (every study of the patient shows them)."""
        bad = sorted(set(changes) - set(PATIENT_KEYWORDS))
        if bad:
            raise InvalidRequestError(f"{', '.join(bad)} are study attributes; correct them with "
                                      "PATCH /api/studies/{study_uid}")
        with engine_mod.writing(self.engine, "the catalogue") as conn:
            lock_change_log(conn)
            row = self._patient(conn, patient_id, issuer)
            new_key = (changes.get("PatientID", row.patient_id), changes.get("IssuerOfPatientID", row.issuer))
            if new_key != (row.patient_id, row.issuer) and self._patient(conn, *new_key, required=False) is not None:
                raise ConflictError(
                    f"a patient with ID {new_key[0]} exists already; to put both under one ID merge them with "
                    f"POST /api/patients/{patient_id}/merge {{\"into\": \"{new_key[0]}\"}}"
                )
            before = _values_of(row, PATIENT_KEYWORDS)
            conn.execute(update(patient).where(patient.c.id == row.id).values(corrected=1, **_patient_values(changes)))
            studies = self._studies_of(conn, int(row.id))
            change_id = record_change(conn, ChangeRequest(
                "corrected", "patient", patient_id=new_key[0], by=by,
                detail={"changes": dict(changes), "before": {k: before[k] for k in changes}, "studies": studies},
            ))
        return CorrectionResult(tuple(studies), new_key[0], dict(changes), change_id)

    def merge(self, patient_id: str, into: str, by: str) -> CorrectionResult:
        """Move every study of ``patient_id`` to patient ``into``, then drop ``patient_id``."""
        if patient_id == into:
            raise ConflictError(f"patient {patient_id} cannot be merged into itself; give another \"into\"")
        with engine_mod.writing(self.engine, "the catalogue") as conn:
            lock_change_log(conn)
            source = self._patient(conn, patient_id)
            target = self._patient(conn, into)
            studies = self._studies_of(conn, int(source.id))
            conn.execute(update(study).where(study.c.patient_fk == source.id).values(
                patient_fk=target.id, corrected=1))
            conn.execute(delete(patient).where(patient.c.id == source.id))
            change_id = record_change(conn, ChangeRequest(
                "merged", "patient", patient_id=into, by=by,
                detail={"from": patient_id, "into": into, "studies": studies},
            ))
        return CorrectionResult(tuple(studies), into, {"PatientID": into}, change_id)

    def split(
        self, patient_id: str, studies: list[str], into: str, values: Mapping[str, str], by: str
    ) -> CorrectionResult:
        """Move ``studies`` of ``patient_id`` to patient ``into``: an existing one (``values``
        must then agree with it) or a new one made of the old patient's values and ``values``."""
        if not studies:
            raise InvalidRequestError("give the studies to move: {\"studies\": [uid, ...], \"into\": \"NEWID\"}")
        if into == patient_id:
            raise ConflictError(f"the studies belong to {patient_id} already; give another \"into\"")
        with engine_mod.writing(self.engine, "the catalogue") as conn:
            lock_change_log(conn)
            source = self._patient(conn, patient_id)
            own = set(self._studies_of(conn, int(source.id)))
            foreign = [uid for uid in studies if uid not in own]
            if foreign:
                raise NotFoundError(f"patient {patient_id} has no study {foreign[0]}; list its studies with "
                                    f"GET /dicom-web/studies?PatientID={patient_id}")
            target = self._patient(conn, into, values.get("IssuerOfPatientID"), required=False)
            if target is not None:
                self._check_target(target, {k: v for k, v in values.items() if k != "PatientID"})
                target_pk = int(target.id)
            else:
                target_pk = self._new_patient(conn, source, {**values, "PatientID": into})
            conn.execute(update(study).where(study.c.study_instance_uid.in_(list(studies))).values(
                patient_fk=target_pk, corrected=1))
            self._drop_if_empty(conn, int(source.id))
            change_id = record_change(conn, ChangeRequest(
                "split", "patient", patient_id=into, by=by,
                detail={"from": patient_id, "into": into, "studies": list(studies), "values": dict(values)},
            ))
        return CorrectionResult(tuple(studies), into, {"PatientID": into, **values}, change_id)
