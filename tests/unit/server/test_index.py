"""The index: migrations, catalogue writes, and the matching rules of PS3.4 C.2.2.2."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import IndexFailure
from app.server.index.catalogue import Catalogue, open_catalogue
from app.server.index.records import InstanceRecord, Level, QueryError, SearchRequest
from tests.unit.server.index_lock import index_lock_held

pytestmark = pytest.mark.postgresql  # every test taking index_url / index_catalogue runs on both backends

_N = iter(range(1, 10_000))


def record(**kw: object) -> InstanceRecord:
    n = next(_N)
    base = InstanceRecord(
        study_instance_uid="1.2.1", series_instance_uid="1.2.1.1", sop_instance_uid=f"1.2.1.1.{n}",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.2", transfer_syntax_uid="1.2.840.10008.1.2.1",
        relpath=f"{n:032x}"[:2] + "/" + f"{n:032x}"[2:4] + "/" + f"{n:032x}.dcm", size=100,
        patient_id="P1", patient_name="Doe^Jane", birth_date="19700101", sex="F", study_date="20240105",
        study_time="101500", accession_number="ACC1", modality="CT", series_number=1, instance_number=n,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_migrations_create_exactly_the_tables_of_the_schema(make_index_url: Callable[..., str]) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.server.index.schema import metadata

    catalogue = open_catalogue(make_index_url(empty=True))
    try:
        with catalogue.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        catalogue.close()
    assert diff == []


def test_upgrade_from_the_first_revision_keeps_the_rows(make_index_url: Callable[..., str]) -> None:
    from sqlalchemy import inspect, text

    from app.server.index import engine as engine_mod

    index_url = make_index_url(empty=True)
    engine = engine_mod.create_index_engine(index_url)
    engine_mod.upgrade(engine, "0001_initial")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO patient (patient_id, issuer, patient_name, patient_name_lc, birth_date, sex)"
                             " VALUES ('P1', '', 'DOE^J', 'doe^j', '', '')")
    engine.dispose()
    catalogue = open_catalogue(index_url)
    try:
        with catalogue.engine.connect() as conn:
            assert conn.execute(text("SELECT patient_id, corrected FROM patient")).all() == [("P1", 0)]
            assert "checksum" in {c["name"] for c in inspect(conn).get_columns("instance")}
    finally:
        catalogue.close()


def test_every_migration_downgrades_and_upgrades_again(index_url: str) -> None:
    """Each revision's downgrade runs on the backend (batch operations, dropped indexes and
    columns) and the schema comes back whole (PostgreSQL as well as SQLite)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from app.server.index import engine as engine_mod
    from app.server.index.schema import metadata

    engine = engine_mod.create_index_engine(index_url)
    try:
        engine_mod.upgrade(engine)
        engine_mod.downgrade(engine, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        engine_mod.upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()


def uids(rows: list[dict[str, object]], key: str = "StudyInstanceUID") -> list[object]:
    return [r[key] for r in rows]


def _head_revision() -> str:
    """The newest migration (the versions folder's single head)."""
    from alembic.script import ScriptDirectory

    from app.server.index import engine as engine_mod

    heads = ScriptDirectory.from_config(engine_mod._alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads
    return str(heads[0])


def test_migration_creates_the_schema_on_an_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    open_catalogue(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"patient", "study", "series", "instance", "counter", "alembic_version"} <= tables
        assert {"worklist_item", "mpps", "job"} <= tables
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (_head_revision(),)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        columns = {r[1] for r in db.execute("PRAGMA table_info(instance)")}
        expected = {"sop_instance_uid", "transfer_syntax_uid", "relpath", "size", "received_at", "source_ae"}
        expected.add("checksum")
        assert expected <= columns
        unique = [r for r in db.execute("PRAGMA index_list(instance)") if r[2]]
        for idx in unique:  # only relpath is unique: duplicate SOP Instance UIDs must fit
            cols = [c[2] for c in db.execute(f"PRAGMA index_info({idx[1]})")]
            assert "sop_instance_uid" not in cols
    open_catalogue(f"sqlite:///{path}").close()  # upgrade again is a no-op
    assert not (tmp_path / "index.sqlite-wal").exists() or (tmp_path / "index.sqlite-wal").stat().st_size == 0


def test_add_builds_levels_counts_and_modalities(index_catalogue: Catalogue) -> None:
    c = index_catalogue
    assert c.change_counter() == 0
    c.add_instance(record())
    c.add_instance(record())
    c.add_instance(record(series_instance_uid="1.2.1.2", modality="PR", series_number=2))
    assert c.change_counter() == 3
    assert c.count_instances() == 3
    [study] = c.search(SearchRequest(Level.STUDY))
    assert study["NumberOfStudyRelatedSeries"] == 2
    assert study["NumberOfStudyRelatedInstances"] == 3
    assert study["ModalitiesInStudy"] == ["CT", "PR"]
    assert study["PatientName"] == "Doe^Jane"
    series = c.search(SearchRequest(Level.SERIES, {"StudyInstanceUID": "1.2.1"}))
    assert [s["SeriesNumber"] for s in series] == [1, 2]
    assert [s["NumberOfSeriesRelatedInstances"] for s in series] == [2, 1]
    files = c.stored_instances("1.2.1")
    assert len(files) == 3 and files[0].series_instance_uid == "1.2.1.1"
    assert c.stored_instances("1.2.1", "1.2.1.2")[0].sop_class_uid == "1.2.840.10008.5.1.4.1.1.2"
    assert c.stored_instances("9.9") == []


def test_duplicate_policies(index_catalogue: Catalogue) -> None:
    c = index_catalogue
    first = record(sop_instance_uid="1.2.3.4")
    assert c.add_instance(first).added
    assert c.add_instance(replace(first, relpath="00/00/" + "0" * 31 + "1.dcm"), duplicates="keep").added
    assert len(c.stored_instances("1.2.1", sop_instance_uid="1.2.3.4")) == 2
    assert not c.add_instance(replace(first, relpath="00/00/" + "0" * 31 + "2.dcm"), duplicates="reject").added
    result = c.add_instance(replace(first, relpath="00/00/" + "0" * 31 + "3.dcm"), duplicates="overwrite")
    assert result.added and len(result.replaced) == 2
    [left] = c.stored_instances("1.2.1", sop_instance_uid="1.2.3.4")
    assert left.relpath.endswith("3.dcm")
    [study] = c.search(SearchRequest(Level.STUDY))
    assert study["NumberOfStudyRelatedInstances"] == 1


def test_overwrite_moving_an_instance_drops_emptied_parents(index_catalogue: Catalogue) -> None:
    c = index_catalogue
    c.add_instance(record(sop_instance_uid="5.5", study_instance_uid="7.1", series_instance_uid="7.1.1"))
    c.add_instance(record(sop_instance_uid="5.5", study_instance_uid="7.2", series_instance_uid="7.2.1",
                          patient_id="P2"), duplicates="overwrite")
    assert uids(c.search(SearchRequest(Level.STUDY))) == ["7.2"]


@pytest.fixture
def populated(index_catalogue: Catalogue) -> Catalogue:
    c = index_catalogue
    c.add_instance(record(study_instance_uid="1.1", series_instance_uid="1.1.1", patient_name="Doe^Jane",
                          patient_id="P1", study_date="20240105", study_time="101500", accession_number="A100",
                          modality="CT"))
    c.add_instance(record(study_instance_uid="1.2", series_instance_uid="1.2.1", patient_name="DOE^John",
                          patient_id="P2", study_date="20240210", study_time="080000", accession_number="A200",
                          modality="MR", study_description="Knee_left 100%"))
    c.add_instance(record(study_instance_uid="1.3", series_instance_uid="1.3.1", patient_name="Smith^Ann",
                          patient_id="p1x", study_date="20231231", study_time="235959", accession_number="B300",
                          modality="US"))
    c.add_instance(record(study_instance_uid="1.3", series_instance_uid="1.3.2", patient_name="Smith^Ann",
                          patient_id="p1x", modality="SR", series_number=7))
    return c


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["1.2", "1.1", "1.3"]),  # newest first
        ({"PatientID": "P1"}, ["1.1"]),  # single value, case-sensitive
        ({"PatientID": "p1"}, []),
        ({"PatientID": "*"}, ["1.2", "1.1", "1.3"]),  # universal
        ({"PatientID": ""}, ["1.2", "1.1", "1.3"]),
        ({"PatientID": "P?"}, ["1.2", "1.1"]),  # wildcard
        ({"PatientID": "p*"}, ["1.3"]),  # wildcards are case-sensitive outside PN
        ({"PatientName": "doe*"}, ["1.2", "1.1"]),  # PN case-insensitive
        ({"PatientName": "DOE^JANE"}, ["1.1"]),
        ({"PatientName": "*ann"}, ["1.3"]),
        ({"StudyDescription": "*_left 100%"}, ["1.2"]),  # LIKE metacharacters are literal
        ({"StudyDescription": "Knee%"}, []),
        ({"StudyDate": "20240105"}, ["1.1"]),
        ({"StudyDate": "20240101-20241231"}, ["1.2", "1.1"]),  # range
        ({"StudyDate": "20240201-"}, ["1.2"]),  # open end
        ({"StudyDate": "-20240105"}, ["1.1", "1.3"]),
        ({"StudyTime": "0800-1016"}, ["1.2", "1.1"]),
        ({"StudyInstanceUID": "1.1,1.3"}, ["1.1", "1.3"]),  # UID list
        ({"StudyInstanceUID": "1.1\\1.2"}, ["1.2", "1.1"]),
        ({"AccessionNumber": "A*"}, ["1.2", "1.1"]),
        ({"ModalitiesInStudy": "SR"}, ["1.3"]),
        ({"ModalitiesInStudy": "CT\\MR"}, ["1.2", "1.1"]),
        ({"PatientName": "doe*", "StudyDate": "20240201-"}, ["1.2"]),
    ],
)
def test_study_matching(populated: Catalogue, filters: dict[str, str], expected: list[str]) -> None:
    assert uids(populated.search(SearchRequest(Level.STUDY, filters))) == expected


def test_series_and_instance_matching(populated: Catalogue) -> None:
    c = populated
    rows = c.search(SearchRequest(Level.SERIES, {"Modality": "SR"}))
    assert uids(rows, "SeriesInstanceUID") == ["1.3.2"]
    rows = c.search(SearchRequest(Level.SERIES, {"PatientName": "smith*"}))  # upper-level key
    assert uids(rows, "SeriesInstanceUID") == ["1.3.1", "1.3.2"]
    rows = c.search(SearchRequest(Level.SERIES, {"SeriesNumber": "7"}))
    assert uids(rows, "SeriesInstanceUID") == ["1.3.2"]
    rows = c.search(SearchRequest(Level.IMAGE, {"StudyInstanceUID": "1.3"}, returned=("PatientID",)))
    assert len(rows) == 2 and rows[0]["PatientID"] == "p1x"
    assert set(rows[0]) >= {"SOPInstanceUID", "SOPClassUID", "InstanceNumber", "SeriesInstanceUID"}
    rows = c.search(SearchRequest(Level.IMAGE, include_all=True, limit=2, offset=1))
    assert len(rows) == 2 and "AvailableTransferSyntaxUID" in rows[0]
    assert c.search(SearchRequest(Level.STUDY, limit=1, offset=2))[0]["StudyInstanceUID"] == "1.3"


@pytest.mark.parametrize(
    ("level", "filters"),
    [
        (Level.STUDY, {"StudyDate": "2024"}),
        (Level.STUDY, {"StudyDate": "20240101-2024"}),
        (Level.STUDY, {"StudyDate": "-"}),
        (Level.STUDY, {"StudyInstanceUID": "1.2.*"}),
        (Level.STUDY, {"Modality": "CT"}),  # series-level key at study level
        (Level.STUDY, {"NumberOfStudyRelatedInstances": "3"}),  # return key only
        (Level.SERIES, {"SeriesNumber": "one"}),
        (Level.STUDY, {"PatientWeight": "70"}),  # not indexed
    ],
)
def test_bad_queries_raise(populated: Catalogue, level: Level, filters: dict[str, str]) -> None:
    with pytest.raises(QueryError):
        populated.search(SearchRequest(level, filters))


def test_write_fails_cleanly_while_another_process_holds_the_lock(index_catalogue: Catalogue, index_url: str) -> None:
    """A writer waits at most the busy timeout for another process's lock, then fails cleanly
    (SQLite: busy_timeout; PostgreSQL: lock_timeout), and works again once the lock is gone."""
    with index_lock_held(index_url), pytest.raises(IndexFailure):
        index_catalogue.add_instance(record())
    assert index_catalogue.count_instances() == 0
    index_catalogue.add_instance(record())
    assert index_catalogue.count_instances() == 1


def test_request_numbers_increase(index_catalogue: Catalogue) -> None:
    assert [index_catalogue.next_request_number() for _ in range(3)] == [1, 2, 3]


def test_migration_matches_schema_module(index_catalogue: Catalogue) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.server.index.schema import metadata

    with index_catalogue.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def test_queries_compile_for_postgresql() -> None:
    from sqlalchemy.dialects import postgresql

    from app.server.index.query import compile_search

    patients = SearchRequest(Level.PATIENT, {"PatientName": "do*"}, returned=("NumberOfPatientRelatedSeries",))
    assert "LIKE" in str(compile_search(patients)[0].compile(dialect=postgresql.dialect()))
    for level in (Level.STUDY, Level.SERIES, Level.IMAGE):
        filters = {"PatientName": "do*", "StudyDate": "20240101-", "StudyInstanceUID": "1.2,1.3"}
        if level is not Level.STUDY:
            filters["Modality"] = "CT\\MR"
        stmt, _ = compile_search(SearchRequest(level, filters, include_all=True, limit=5, offset=5))
        sql = str(stmt.compile(dialect=postgresql.dialect()))
        assert "LIKE" in sql and "LIMIT" in sql


def test_study_stays_with_its_first_patient(index_catalogue: Catalogue, caplog: pytest.LogCaptureFixture) -> None:
    index_catalogue.add_instance(record(study_instance_uid="3.1", series_instance_uid="3.1.1", patient_id="A"))
    index_catalogue.add_instance(record(study_instance_uid="3.1", series_instance_uid="3.1.2", patient_id="B"))
    [study] = index_catalogue.search(SearchRequest(Level.STUDY, {"StudyInstanceUID": "3.1"}))
    assert study["PatientID"] == "A" and study["NumberOfStudyRelatedSeries"] == 2
    assert any("another Patient ID" in r.getMessage() for r in caplog.records)
    assert not any("'B'" in r.getMessage() or " B " in r.getMessage() for r in caplog.records)


def test_remembered_series_is_rechecked_after_it_was_removed(index_catalogue: Catalogue) -> None:
    """The known-series shortcut must notice a series (and study) deleted under it."""
    c = index_catalogue
    first = c.add_instance(record(study_instance_uid="9.1", series_instance_uid="9.1.1"))
    second = c.add_instance(record(study_instance_uid="9.1", series_instance_uid="9.1.1"))  # via the shortcut
    assert first.instance_id is not None and second.instance_id is not None
    c.remove_instance(first.instance_id)
    c.remove_instance(second.instance_id)  # series, study and patient rows are gone now
    assert c.search(SearchRequest(Level.STUDY, {"StudyInstanceUID": "9.1"})) == []
    c.add_instance(record(study_instance_uid="9.1", series_instance_uid="9.1.1"))
    c.add_instance(record(study_instance_uid="9.1", series_instance_uid="9.1.1"))
    [study] = c.search(SearchRequest(Level.STUDY, {"StudyInstanceUID": "9.1"}))
    assert study["NumberOfStudyRelatedInstances"] == 2
    assert study["NumberOfStudyRelatedSeries"] == 1
    [series] = c.search(SearchRequest(Level.SERIES, {"StudyInstanceUID": "9.1"}))
    assert series["NumberOfSeriesRelatedInstances"] == 2
