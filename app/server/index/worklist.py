"""The worklist store: Modality Worklist items in ``worklist_item`` (PS3.4 K.6.1).

Each row is one Scheduled Procedure Step: the whole item as DICOM JSON text plus copies
of its matching keys (:data:`app.server.index.worklist_records.WORKLIST_KEYS`). Searches
compile those keys with the C-FIND matching helpers of :mod:`app.server.index.query`
(PS3.4 C.2.2.2): single value, wildcard, date and time ranges, Scheduled Procedure Step
Start Date and Time ranges combined into one date-time range (C.2.2.2.5.2), a time range
without a date meaning today (:func:`app.dicom.matching.date_for_time_range`), UID lists,
Patient's Name case-insensitively (:func:`app.dicom.charsets.fold_case`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import IndexFailure
from app.dicom.charsets import fold_case
from app.dicom.matching import date_for_time_range
from app.server.index import engine as engine_mod
from app.server.index.query import combined_date_time_condition, multi_value_condition, value_condition
from app.server.index.records import QueryError
from app.server.index.schema import worklist_item
from app.server.index.worklist_records import (
    DEFAULT_STATUS,
    WORKLIST_KEYS,
    WorklistRecord,
    WorklistSearch,
)

#: Largest page :meth:`WorklistStore.list_items` returns.
MAX_PAGE = 10_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _record(row: Any) -> WorklistRecord:
    m = row._mapping
    return WorklistRecord(
        id=m["id"], status=m["status"], dataset_text=m["dataset"], created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _columns(keys: Mapping[str, str]) -> dict[str, str]:
    """Column values from keyword -> value (missing keys become ``""``, the status its default)."""
    values: dict[str, str] = {}
    for keyword, key in WORKLIST_KEYS.items():
        value = str(keys.get(keyword, "") or "")
        values[key.column] = value
        if key.folded:
            values[key.column + "_lc"] = fold_case(value)
    values["status"] = values["status"] or DEFAULT_STATUS
    return values


def _condition(keyword: str, value: str) -> ColumnElement[bool] | None:
    key = WORKLIST_KEYS.get(keyword)
    if key is None:
        raise QueryError(f"{keyword} is not a worklist column key")
    column = worklist_item.c[key.column]
    if key.multi_valued:
        return multi_value_condition(column, value)
    folded = worklist_item.c[key.column + "_lc"] if key.folded else None
    return value_condition(column, key.kind, value, keyword, folded_column=folded)


class WorklistStore:
    """Worklist items in the index. Thread-safe; times are naive UTC.

    Parameters
    ----------
    engine
        The index engine (schema up to date).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _writing(self) -> contextlib.AbstractContextManager[Connection]:
        return engine_mod.writing(self.engine, "the worklist")

    def _reading(self, stmt: Any) -> list[WorklistRecord]:
        try:
            with self.engine.connect() as conn:
                return [_record(row) for row in conn.execute(stmt)]
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the worklist could not be read: {exc}") from exc

    def create(self, keys: Mapping[str, str], dataset: dict[str, Any]) -> int:
        """Add an item; ``keys`` are its matching-key values by keyword. Returns its id."""
        now = _now()
        with self._writing() as conn:
            result = conn.execute(worklist_item.insert().values(
                **_columns(keys), dataset=json.dumps(dataset), created_at=now, updated_at=now))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def update(self, item_id: int, keys: Mapping[str, str], dataset: dict[str, Any]) -> bool:
        """Replace an item; False when there is no such item."""
        with self._writing() as conn:
            result = conn.execute(update(worklist_item).where(worklist_item.c.id == item_id).values(
                **_columns(keys), dataset=json.dumps(dataset), updated_at=_now()))
            return bool(result.rowcount)

    def delete(self, item_id: int) -> bool:
        """Remove an item; False when there is no such item."""
        with self._writing() as conn:
            return bool(conn.execute(delete(worklist_item).where(worklist_item.c.id == item_id)).rowcount)

    def get(self, item_id: int) -> WorklistRecord | None:
        """One item, or None."""
        found = self._reading(select(worklist_item).where(worklist_item.c.id == item_id))
        return found[0] if found else None

    def list_items(self, *, limit: int = 100, offset: int = 0) -> list[WorklistRecord]:
        """Items in id order (a page of at most :data:`MAX_PAGE`)."""
        stmt = select(worklist_item).order_by(worklist_item.c.id)
        return self._reading(stmt.limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset)))

    def search(self, request: WorklistSearch) -> list[WorklistRecord]:
        """Items matching ``request.filters`` (PS3.4 K.2.2.1, C.2.2.2), in Scheduled Procedure Step
        start order.

        Raises
        ------
        QueryError
            A key is not a column key, or a value is malformed (e.g. a date not ``YYYYMMDD``).
        """
        stmt = select(worklist_item)
        filters = dict(request.filters)
        date_key, time_key = "ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime"
        # A time range without a date means today (the reference's 4.4.3.2, as for Study Date/Time).
        date = date_for_time_range(filters.get(date_key), filters.get(time_key))
        if date is not None:
            filters[date_key] = date
        if date_key in filters and time_key in filters:
            combined = combined_date_time_condition(
                worklist_item.c.sps_start_date, worklist_item.c.sps_start_time, filters[date_key], filters[time_key]
            )
            if combined is not None:
                stmt = stmt.where(combined)
                del filters[date_key], filters[time_key]
        for keyword, value in filters.items():
            condition = _condition(keyword, value)
            if condition is not None:
                stmt = stmt.where(condition)
        if request.exclude_statuses:
            stmt = stmt.where(worklist_item.c.status.not_in(request.exclude_statuses))
        stmt = stmt.order_by(worklist_item.c.sps_start_date, worklist_item.c.sps_start_time, worklist_item.c.id)
        if request.offset:
            stmt = stmt.offset(request.offset)
        if request.limit is not None:
            stmt = stmt.limit(request.limit)
        return self._reading(stmt)

    def set_status(self, item_id: int, status: str) -> bool:
        """Set the Scheduled Procedure Step Status of an item (PS3.3 C.4.10); False when unknown."""
        with self._writing() as conn:
            result = conn.execute(update(worklist_item).where(worklist_item.c.id == item_id).values(
                status=status, updated_at=_now()))
            return bool(result.rowcount)

    def set_status_for_step(self, *, study_instance_uid: str, sps_id: str, status: str) -> int:
        """Set the status of the items of one Scheduled Procedure Step, identified as an MPPS
        references it (Scheduled Step Attributes Sequence: Study Instance UID and SPS ID,
        PS3.4 F.7.2.1); returns how many items changed."""
        with self._writing() as conn:
            result = conn.execute(update(worklist_item).where(
                worklist_item.c.study_instance_uid == study_instance_uid, worklist_item.c.sps_id == sps_id,
            ).values(status=status, updated_at=_now()))
            return int(result.rowcount)
