"""Two server processes on one PostgreSQL index and one storage volume (issue 9, PostgreSQL):
DCMTK ``storescu`` sends into both at once, the same study to both (every instance twice,
at the same moment) and a study of its own to each. Nothing is lost, nothing is stored twice
(``duplicates = "reject"`` holds across the processes), every indexed file is on the shared
volume with no leftover, and both processes report the same change counter. Two processes sending to one destination
at once take turns: one association at a time per destination holds across the processes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.server.index.schema import instance, series, study
from app.server.index.stores import open_index
from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config
from tests.integration.test_send import destinations_toml, finished, send
from tests.qr_archive import dcmtk_env, write_study
from tests.send_data import Recorder, make_study, store

pytestmark = [pytest.mark.peer, pytest.mark.slow]


def _storescu(server: RunningServer, files: list[Path]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [require_tool("storescu"), "--no-halt", "-aec", "DICOM_STORAGE", "127.0.0.1", str(server.storage_port),
         *map(str, files)],
        env=dcmtk_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_two_servers_on_one_postgresql_index_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, pg_cluster: Any
) -> None:
    url = pg_cluster.new_database(empty=True)  # both processes migrate it at once: one waits for the other
    data_dir = tmp_path / "data"  # one storage volume
    settings = 'duplicates = "reject"\nfsync = false\n'
    configs = [
        write_server_config(tmp_path / f"server{n}.toml", data_dir, extra_server=settings, index_url=url)
        for n in (1, 2)
    ]
    shared = write_study(tmp_path / "shared", "PSHARED", "SHARED^BOTH", [20, 20])
    own = [write_study(tmp_path / f"own{n}", f"POWN{n}", f"OWN^{n}", [15]) for n in (1, 2)]
    servers = [start_server(config, data_dir) for config in configs]
    try:
        senders = []
        for n, server in enumerate(servers):
            # the same instances to both processes at the same moment, then each one's own study
            senders.append(_storescu(server, shared.files + own[n].files))
            senders.append(_storescu(server, list(reversed(shared.files))))
        outputs = [sender.communicate(timeout=300)[0] for sender in senders]
        returncodes = [sender.returncode for sender in senders]
        counters = {httpx.get(f"{s.http_url}/api/status", timeout=30).json()["changes"] for s in servers}
    finally:
        codes = [stop_server(s) for s in servers]
    assert codes == [0, 0]
    # 1 = some store was refused: the duplicates (0x0111); the counts below show nothing else was
    assert set(returncodes) <= {0, 1}, outputs

    expected = {f.stem: f for f in shared.files + own[0].files + own[1].files}
    index = open_index(url)
    try:
        with index.engine.connect() as conn:
            rows = conn.execute(select(instance.c.sop_instance_uid, instance.c.relpath)).all()
            studies = dict(conn.execute(
                select(study.c.study_instance_uid, study.c.num_instances)
            ).all())
            series_counts = sorted(conn.execute(select(series.c.num_instances)).scalars())
            n_studies = conn.execute(select(func.count()).select_from(study)).scalar_one()
        change_counter = index.catalogue.change_counter()
    finally:
        index.close()
    uids = [uid for uid, _ in rows]
    assert len(uids) == len(set(uids)) == len(expected) == 70  # nothing twice, nothing lost
    assert n_studies == 3 and studies[shared.study_uid] == 40
    assert studies[own[0].study_uid] == studies[own[1].study_uid] == 15
    assert series_counts == [15, 15, 20, 20]
    stored = {p.relative_to(data_dir / "storage").as_posix() for p in (data_dir / "storage").rglob("*.dcm")}
    assert stored == {relpath for _, relpath in rows}  # every indexed file on the volume, no orphan
    assert not [p for p in (data_dir / "storage" / "tmp").iterdir()]  # no half-written leftovers
    assert counters == {change_counter}  # /api/status of both processes: the one shared counter


def test_two_servers_sending_to_one_destination_take_turns(tmp_path: Path, pg_cluster: Any) -> None:
    """Each process sends a study to the same destination at the same moment: the receiver
    (a pynetdicom SCP counting open associations, slow enough that the sends would overlap)
    never has two associations open at once, and both studies arrive complete."""
    url = pg_cluster.new_database()
    data_dir = tmp_path / "data"
    receiver = Recorder("ONE_AT_A_TIME", delay=0.05)
    settings = "job_retry_seconds = 0.2\nfsync = false\n"
    qr = destinations_toml({"ONE_AT_A_TIME": receiver.port})
    configs = [
        write_server_config(tmp_path / f"server{n}.toml", data_dir, extra_server=settings, qr=qr, index_url=url)
        for n in (1, 2)
    ]
    studies = [make_study(series=2, per_series=6, patient_id=f"PTURN{n}") for n in (1, 2)]
    servers = [start_server(config, data_dir) for config in configs]
    try:
        for server, one in zip(servers, studies, strict=True):
            store(server.storage_port, one.all)
        jobs = [send(server, one.uid, "ONE_AT_A_TIME") for server, one in zip(servers, studies, strict=True)]
        done = [finished(server, job_id, timeout=120) for server, job_id in zip(servers, jobs, strict=True)]
    finally:
        codes = [stop_server(s) for s in servers]
        receiver.scp.shutdown()
    assert codes == [0, 0]
    assert [job["state"] for job in done] == ["done", "done"], done
    assert receiver.most_open == 1  # never two associations to the destination at once
    for one, job in zip(studies, done, strict=True):
        assert job["progress"]["completed"] == len(one.all)
    received = sorted(str(ds.SOPInstanceUID) for ds in receiver.received)
    assert received == sorted(str(ds.SOPInstanceUID) for one in studies for ds in one.all)  # complete, once each
