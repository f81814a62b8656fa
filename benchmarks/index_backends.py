"""The index on SQLite against PostgreSQL: ingest over DICOM and C-FIND latency at 100,000 studies.

For each backend the catalogue is filled directly (bulk inserts into the index's tables through
SQLAlchemy, the same rows the ingest writes; PostgreSQL's sequences moved past them) with the
Q/R benchmarks' synthetic studies (``qr_dataset.StudySet``: one patient, series and instance
per study), then a real server process (``python -m app.server``, fsync off) on that index:

- ingest: DCMTK ``storescu`` sends ``--instances`` 512 x 512 CT images in one association
  (wall time, so per-instance index work on a 100,000-study index is what differs);
- C-FIND: the three study-level queries of ``qr_dataset`` (1 match by Patient ID, 100 by a
  Study Date range, 30 by a Patient Name prefix wildcard), each ``--rounds`` times on one held
  pynetdicom association; the median per query.

The PostgreSQL side is a private cluster started for the run (``tests/pg_cluster.py``: fsync and
synchronous_commit off, as SQLite's WAL with ``synchronous=NORMAL`` does not sync at commit
either), over TCP on 127.0.0.1. Headlines are ratios PostgreSQL / SQLite (above 1 = slower).
Writes JSON (default ``benchmarks/results/index_backends.json``).

    .venv/bin/python benchmarks/index_backends.py [--studies 100000] [--instances 300] [--rounds 9]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qr_dataset import RETURN_KEYS, StudySet
from qr_peers import HeldAssociation, stop_group, study_identifier
from store_throughput import REPO, generate_images, send, wait_ready

sys.path.insert(0, str(REPO))

from app.dicom.charsets import fold_case
from app.server.index import engine as engine_mod
from app.server.index.schema import instance, patient, series, study

_BATCH = 5000
_CT = "1.2.840.10008.5.1.4.1.1.2"


def _batches(studies: StudySet) -> Iterator[tuple[list[dict[str, Any]], ...]]:
    now = dt.datetime(2024, 1, 1)
    rows: tuple[list[dict[str, Any]], ...] = ([], [], [], [])
    for i in range(studies.studies):
        v, pk = studies.values(i), i + 1
        rows[0].append({"id": pk, "patient_id": v["PatientID"], "issuer": "", "patient_name": v["PatientName"],
                        "patient_name_lc": fold_case(v["PatientName"]), "birth_date": v["PatientBirthDate"],
                        "sex": v["PatientSex"]})
        rows[1].append({"id": pk, "patient_fk": pk, "study_instance_uid": v["StudyInstanceUID"],
                        "study_date": v["StudyDate"], "study_time": v["StudyTime"],
                        "study_description": v["StudyDescription"], "accession_number": v["AccessionNumber"],
                        "referring_physician_name": v["ReferringPhysicianName"], "study_id": v["StudyID"],
                        "modalities": "CT", "num_series": 1, "num_instances": 1})
        rows[2].append({"id": pk, "study_fk": pk, "series_instance_uid": v["SeriesInstanceUID"], "modality": "CT",
                        "series_number": 1, "series_description": "", "series_date": v["SeriesDate"],
                        "series_time": "", "body_part": "", "num_instances": 1})
        name = f"{pk:032x}.dcm"
        rows[3].append({"id": pk, "series_fk": pk, "sop_instance_uid": v["SOPInstanceUID"], "sop_class_uid": _CT,
                        "instance_number": 1, "transfer_syntax_uid": "1.2.840.10008.1.2.1", "image_rows": 16,
                        "image_columns": 16, "number_of_frames": None, "relpath": f"{name[:2]}/{name[2:4]}/{name}",
                        "size": 1000, "received_at": now, "source_ae": "BENCH", "checksum": None})
        if len(rows[0]) == _BATCH:
            yield rows
            rows = ([], [], [], [])
    if rows[0]:
        yield rows


def populate(url: str, studies: StudySet) -> float:
    """Migrate the index at ``url`` and bulk-insert the studies' rows; returns seconds."""
    start = time.perf_counter()
    engine = engine_mod.open_engine(url)
    try:
        with engine.begin() as conn:
            for batch in _batches(studies):
                for table, rows in zip((patient, study, series, instance), batch, strict=True):
                    conn.execute(table.insert(), rows)
            if engine.dialect.name == "postgresql":
                for name in ("patient", "study", "series", "instance"):
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                         f"(SELECT max(id) FROM {name}))")
                conn.exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine_mod.close_engine(engine)
    return time.perf_counter() - start


def start_server(work: Path, url: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    data_dir = work / "data"
    config = work / "server.toml"
    config.write_text(
        f'[server]\ndata_dir = "{data_dir.as_posix()}"\nhttp_port = 0\ndicom_host = "127.0.0.1"\nfsync = false\n'
        f"index_url = {json.dumps(url)}\n[server.qr]\nport = 0\n[server.mwl]\nport = 0\n"
        '[[server.storage]]\nae_title = "DICOM_STORAGE"\nport = 0\n'
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.server", "--data-dir", str(data_dir), "--config", str(config),
         "--log-level", "WARNING"],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )
    return proc, wait_ready(proc)


def measure(
    name: str, url: str, studies: StudySet, images: Path, count: int, rounds: int, work: Path
) -> dict[str, Any]:
    populate_s = populate(url, studies)
    print(f"  {name}: {studies.studies} studies in the catalogue ({populate_s:.0f} s)", flush=True)
    proc, info = start_server(work, url)
    try:
        storage_port, qr = int(info["storage"][0]["port"]), info["qr"]
        ingest_s = send(storage_port, "DICOM_STORAGE", images, count)
        print(f"  {name}: {count} instances stored in {ingest_s:.2f} s", flush=True)
        held = HeldAssociation(int(qr["port"]), qr["ae_title"])
        finds: dict[str, float] = {}
        try:
            for query in studies.queries():
                identifier = study_identifier(query.keys, RETURN_KEYS)
                held.find(identifier)  # warm-up
                times = []
                for _ in range(rounds):
                    seconds, matches = held.find(identifier)
                    if matches != query.expected:
                        raise SystemExit(f"{name}: {query.name} matched {matches}, expected {query.expected}")
                    times.append(seconds)
                finds[query.name] = statistics.median(times) * 1000
                print(f"  {name}: C-FIND {query.name}: {finds[query.name]:.1f} ms", flush=True)
        finally:
            held.close()
    finally:
        stop_group(proc)  # type: ignore[arg-type]
    return {"populate_seconds": round(populate_s, 1), "ingest_seconds": round(ingest_s, 3),
            "ingest_instances_per_second": round(count / ingest_s, 1),
            "find_median_ms": {k: round(v, 2) for k, v in finds.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "index_backends.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from tests.pg_cluster import start_cluster

    studies = StudySet(args.studies)
    work = Path(tempfile.mkdtemp(prefix="lightbox-index-backends-"))
    cluster = start_cluster()
    try:
        images = work / "images"
        generate_images(images, args.instances)
        results = {}
        for name, url in (("sqlite", f"sqlite:///{work / 'sqlite' / 'index.sqlite'}"),
                          ("postgresql", cluster.new_database(empty=True))):
            (work / name).mkdir(exist_ok=True)
            results[name] = measure(name, url, studies, images, args.instances, args.rounds, work / name)
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    sq, pg = results["sqlite"], results["postgresql"]
    ratios = {"ingest_time": round(pg["ingest_seconds"] / sq["ingest_seconds"], 2)}
    for query, ms in sq["find_median_ms"].items():
        ratios[f"find {query}"] = round(pg["find_median_ms"][query] / ms, 2)
    report = {
        "benchmark": "index_backends", "studies": args.studies, "instances": args.instances, "rounds": args.rounds,
        "ratios_postgresql_over_sqlite": ratios, "results": results,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "postgresql": subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(ratios, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
