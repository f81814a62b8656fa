"""The external archive tier against real peers (issue 9; the reference's 2.2.7, 5.3).

DCMTK ``dcmqrscp`` is the external archive (it stores by its Storage SCP side and answers
C-FIND / C-MOVE; config written in ``tmp_path``); a pynetdicom Storage Commitment SCP
(:mod:`tests.archive_peers`, dcmqrscp has none) checks what dcmqrscp holds and reports on a
new association to our Storage AE. The retrieves come from DCMTK ``movescu`` and WADO-RS.
The index is the ``index_url`` fixture's (``--index-backends postgresql`` runs them on PostgreSQL).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
)
from sqlalchemy import select

from app.server.index import schema
from app.server.index.stores import open_index
from tests.archive_peers import CommitmentScp, LoggingDcmqrscp
from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config
from tests.integration.test_notify import Ris
from tests.mpps_peers import wait_for
from tests.qr_archive import Dcmqrscp, Study, dcmtk_env, free_port, storescu_to, write_study

pytestmark = pytest.mark.peer

ARCHIVE_TOML = """
[server.archive]
destination = "ARCHIVE"
commitment_ae_title = "ARCH_COMMIT"
commitment = {commitment}
min_free_gib = 1000000.0
keep_online_hours = 0.0
purge_interval_seconds = 0.0
fetch_timeout_seconds = 60.0
notify_on_fetch_back = true

[server.notify]
host = "127.0.0.1"
port = {notify_port}
{notify}
"""


class HasUrl(Protocol):
    """A server's HTTP base URL (a :class:`Site`, an :class:`Endpoint`)."""

    @property
    def url(self) -> str: ...


@dataclass(frozen=True)
class Endpoint:
    """One server process of several (its HTTP base URL)."""

    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.http_url


@dataclass
class Site:
    """Our server, the archive (dcmqrscp), its commitment SCP and a movescu destination port."""

    tmp: Path
    config: Path
    storage_port: int
    movescu_port: int
    archive: Dcmqrscp
    commit: CommitmentScp
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.http_url

    def restart(self, *, kill: bool) -> None:
        if kill:
            self.server.process.kill()
            self.server.process.wait(10)
        else:
            assert stop_server(self.server) == 0
        self.server = start_server(self.config, self.tmp / "data")

    def stored_files(self) -> list[Path]:
        root = self.tmp / "data" / "storage"
        return [p for p in root.rglob("*") if p.is_file() and not p.relative_to(root).parts[0].startswith((".", "tmp"))]


def _site(tmp_path: Path, commitment: bool, index_url: str, ris: Ris | None = None, notify: str = "") -> Iterator[Site]:
    storage_port, movescu_port = free_port(), free_port()
    archive = Dcmqrscp(tmp_path / "archive", destinations=[("DICOM_STORAGE", storage_port)]).start()
    commit = CommitmentScp(archive.stored_files, storage_port).start()
    peers = [("ARCHIVE", archive.port), ("ARCH_COMMIT", commit.port), ("MOVESCU", movescu_port)]
    if ris is not None:
        peers.append(("IAN_RX", ris.ian_port))
    destinations = "".join(
        f'[[server.destinations]]\nae_title = "{t}"\nhost = "127.0.0.1"\nport = {p}\n' for t, p in peers
    )
    config = write_server_config(
        tmp_path / "server.toml", tmp_path / "data",
        extra_server="job_retry_seconds = 0.2\n"
        + ARCHIVE_TOML.format(commitment=str(commitment).lower(), notify_port=ris.scn_port if ris else free_port(),
                              notify=notify),
        storage=f'[[server.storage]]\nae_title = "DICOM_STORAGE"\nport = {storage_port}\n',
        qr="[server.qr]\nport = 0\n" + destinations, index_url=index_url,
    )
    site = Site(tmp_path, config, storage_port, movescu_port, archive, commit,
                start_server(config, tmp_path / "data"))
    try:
        yield site
    finally:
        if site.server.process.poll() is None:
            stop_server(site.server)
        commit.stop()
        archive.stop()


@pytest.fixture
def site(tmp_path: Path, index_url: str) -> Iterator[Site]:
    yield from _site(tmp_path, True, index_url)


@pytest.fixture
def site_without_commitment(tmp_path: Path, index_url: str) -> Iterator[Site]:
    yield from _site(tmp_path, False, index_url)


def _study(site: Site) -> Study:
    study = write_study(site.tmp / "study", "ARC1", "ARCHIVE^ROUND^TRIP", [3, 2])
    storescu_to(site.storage_port, "DICOM_STORAGE", study.files)
    return study


def _archive(site: HasUrl, study_uid: str, timeout: float = 60.0) -> dict[str, Any]:
    response = httpx.post(f"{site.url}/api/studies/{study_uid}/archive", timeout=10)
    assert response.status_code == 202, response.text
    job_id = int(response.json()["job_id"])

    def over() -> bool:
        return httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()["state"] in ("done", "failed")

    wait_for(over, timeout, f"archive job {job_id}")
    job: dict[str, Any] = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()
    return job


def _state(site: HasUrl, study_uid: str) -> dict[str, Any]:
    response = httpx.get(f"{site.url}/api/studies/{study_uid}/archive", timeout=10)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def _purge(site: HasUrl, dry_run: bool = False) -> list[str]:
    response = httpx.post(f"{site.url}/api/archive/purge", params={"dry_run": str(dry_run).lower()}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is dry_run
    return [s["study_instance_uid"] for s in body["studies"]]


def _c_find(site: Site, study_uid: str) -> list[Dataset]:
    ae = AE("FIND_TEST")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", site.server.qr_port or 0, ae_title=site.server.qr_ae_title or "")
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel, query.StudyInstanceUID, query.NumberOfStudyRelatedInstances = "STUDY", study_uid, ""
    try:
        return [ds for status, ds in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)
                if status is not None and status.Status in (0xFF00, 0xFF01)]
    finally:
        assoc.release()


def _movescu(site: Site, study_uid: str, folder: Path) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        require_tool("movescu"), "-v", "-S", "-aet", "MOVESCU", "-aem", "MOVESCU",
        "-aec", site.server.qr_ae_title or "",
        "--port", str(site.movescu_port), "-od", str(folder), "-k", "QueryRetrieveLevel=STUDY",
        "-k", f"StudyInstanceUID={study_uid}", "127.0.0.1", str(site.server.qr_port),
    ]
    return subprocess.run(command, env=dcmtk_env(), capture_output=True, text=True, timeout=120)


def test_archive_round_trip_remove_find_and_fetch_back(site: Site) -> None:
    study = _study(site)
    uid, sop_uids = study.study_uid, {str(dcmread(f).SOPInstanceUID) for f in study.files}
    assert _state(site, uid)["state"] == "not archived"
    paths = httpx.get(f"{site.url}/openapi.json", timeout=10).json()["paths"]
    assert {"/api/studies/{study_uid}/archive", "/api/archive/purge"} <= set(paths)
    assert set(paths["/api/studies/{study_uid}/archive"]) == {"get", "post"}

    job = _archive(site, uid)
    assert job["state"] == "done", job
    state = _state(site, uid)
    assert (state["state"], state["committed_instances"], state["failed_instances"], state["online"]) == (
        "committed", 5, 0, True,
    )
    assert {str(dcmread(p).SOPInstanceUID) for p in site.archive.stored_files()} == sop_uids  # really archived
    wait_for(lambda: bool(site.commit.reports), 10, "the commitment SCP to finish its report association")
    assert site.commit.reports == [(state["transaction_uid"], 1, 0x0000)]  # our Storage AE took the report

    online = len(site.stored_files())
    assert _purge(site, dry_run=True) == [uid]  # listed, nothing removed
    assert len(site.stored_files()) == online and _state(site, uid)["online"] is True

    assert _purge(site) == [uid]
    assert len(site.stored_files()) == online - 5
    assert _state(site, uid)["online"] is False
    found = _c_find(site, uid)  # the catalogue rows stay
    assert [str(ds.StudyInstanceUID) for ds in found] == [uid] and int(found[0].NumberOfStudyRelatedInstances) == 5
    qido = httpx.get(f"{site.url}/dicom-web/studies", params={"StudyInstanceUID": uid}, timeout=10).json()
    assert [item["0020000D"]["Value"][0] for item in qido] == [uid]

    # WADO-RS fetches it back from the archive (C-FIND + C-MOVE to our Storage AE), then serves it
    response = httpx.get(f"{site.url}/dicom-web/studies/{uid}", timeout=90)
    assert response.status_code == 200, response.text
    assert all(sop.encode() in response.content for sop in sop_uids)
    assert _state(site, uid)["online"] is True and len(site.stored_files()) == online
    notices = httpx.get(f"{site.url}/api/jobs", timeout=10).json()  # notify_on_fetch_back
    assert [j["payload"]["event"] for j in notices if j["kind"] == "study-notify"] == ["fetched back"]
    again = _c_find(site, uid)
    assert len(again) == 1 and int(again[0].NumberOfStudyRelatedInstances) == 5  # one row per instance still

    # removed again, then a C-MOVE from DCMTK movescu fetches it back and gets every instance
    assert _purge(site) == [uid] and _state(site, uid)["online"] is False
    moved = _movescu(site, uid, site.tmp / "moved")
    assert moved.returncode == 0, moved.stderr[-2000:]
    received = {str(dcmread(p).SOPInstanceUID) for p in (site.tmp / "moved").iterdir()}
    assert received == sop_uids
    assert _state(site, uid)["online"] is True

    # the archive gone: the study cannot come back -> HTTP 503 and C-MOVE 0xA702, both saying why
    assert _purge(site) == [uid]
    site.archive.stop()
    response = httpx.get(f"{site.url}/dicom-web/studies/{uid}", timeout=90)
    assert response.status_code == 503 and "archive" in response.json()["detail"], response.text
    ae = AE("MOVE_TEST")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate("127.0.0.1", site.server.qr_port or 0, ae_title=site.server.qr_ae_title or "")
    ident = Dataset()
    ident.QueryRetrieveLevel, ident.StudyInstanceUID = "STUDY", uid
    statuses = [s for s, _ in assoc.send_c_move(ident, "MOVESCU", StudyRootQueryRetrieveInformationModelMove)]
    assoc.release()
    assert statuses[-1].Status == 0xA702 and "archive" in str(statuses[-1].ErrorComment)


def test_a_study_without_commitment_is_never_removed(site_without_commitment: Site) -> None:
    site = site_without_commitment
    study = _study(site)
    job = _archive(site, study.study_uid)
    assert job["state"] == "done" and len(site.archive.stored_files()) == 5  # sent to the archive
    state = _state(site, study.study_uid)
    assert (state["state"], state["committed_instances"]) == ("sent", 0)
    online = len(site.stored_files())
    assert _purge(site) == []  # the space policy would take everything committed: nothing is
    assert len(site.stored_files()) == online and _state(site, study.study_uid)["online"] is True
    assert site.commit.requests == []


def test_an_archive_job_interrupted_by_a_kill_completes_after_restart(site: Site) -> None:
    study = _study(site)
    site.commit.hold()  # the archive commits later: the job waits for the report
    response = httpx.post(f"{site.url}/api/studies/{study.study_uid}/archive", timeout=10)
    assert response.status_code == 202, response.text
    job_id = int(response.json()["job_id"])

    def waiting() -> bool:
        job = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()
        return bool(job["progress"].get("phase") == "wait" and site.commit.requests)

    wait_for(waiting, 60, "the archive job to wait for the commitment report")
    assert _state(site, study.study_uid)["state"] == "committing"
    site.restart(kill=True)
    site.commit.release()  # the report reaches the restarted server's Storage AE

    def done() -> bool:
        return httpx.get(f"{site.server.http_url}/api/jobs/{job_id}", timeout=10).json()["state"] in ("done", "failed")

    wait_for(done, 60, "the archive job after the restart")
    job = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()
    assert job["state"] == "done", job
    assert len(site.commit.requests) == 1  # the pending transaction survived: not asked again
    assert _state(site, study.study_uid)["state"] == "committed"
    assert _purge(site) == [study.study_uid]


def test_an_archive_job_killed_mid_send_resumes_after_restart(site: Site) -> None:
    # big enough that the send's progress (saved every 200 instances or every second) is seen
    # part-way by a poll even on a busy machine
    study = write_study(site.tmp / "big", "ARC2", "ARCHIVE^BIG", [300, 300], size=64)
    total = len(study.files)
    storescu_to(site.storage_port, "DICOM_STORAGE", study.files)
    response = httpx.post(f"{site.url}/api/studies/{study.study_uid}/archive", timeout=10)
    assert response.status_code == 202, response.text
    job_id = int(response.json()["job_id"])

    def sending() -> bool:
        progress = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()["progress"]
        return bool(progress.get("phase") == "send" and 0 < int(progress.get("next", 0)) < total)

    wait_for(sending, 60, "the archive job to be part-way through its send")
    killed_at = time.time()
    site.restart(kill=True)
    progress = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()["progress"]
    resumed_at = int(progress["next"])
    assert 0 < resumed_at < total and progress["phase"] == "send"

    def over() -> bool:
        return httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()["state"] in ("done", "failed")

    wait_for(over, 120, "the archive job after the restart")
    job = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()
    assert job["state"] == "done", job
    archived = [str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in site.archive.stored_files()]
    assert set(archived) == {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in study.files}
    # it went on from where it was: what the archive stored before the kill was not sent again
    # (dcmqrscp replaces an instance stored twice by a new file)
    assert sum(p.stat().st_mtime < killed_at for p in site.archive.stored_files()) >= resumed_at
    state = _state(site, study.study_uid)
    assert (state["state"], state["committed_instances"]) == ("committed", total)


def test_removing_the_last_online_copy_notifies_the_ris(tmp_path: Path, index_url: str) -> None:
    """The reference's 4.6 event "the last on-line copy of an exam is deleted" ([server.notify]
    on_offline): the extended Basic Study Descriptor with Study Comments DELETE to the RIS, and an
    Instance Availability Notification saying NEARLINE (PS3.3 C.4.23.1.1) to the IAN receiver."""
    ris = Ris()
    notify = 'extended = true\non_offline = true\nian_receivers = ["IAN_RX"]\n'
    sites = _site(tmp_path, True, index_url, ris, notify)
    site = next(sites)
    try:
        study = _study(site)
        uid = study.study_uid
        sop_uids = {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in study.files}
        assert _archive(site, uid)["state"] == "done"
        assert _purge(site, dry_run=True) == [uid]  # a dry run removes nothing: nobody is told
        assert _purge(site) == [uid]
        wait_for(lambda: len(ris.descriptors) == 1 and len(ris.availability) == 1, 30, "the notifications")
        jobs = httpx.get(f"{site.url}/api/jobs", params={"kind": "study-notify"}, timeout=10).json()
        assert sorted((j["payload"]["event"], j["payload"]["service"]) for j in jobs) == [
            ("offline", "bscn"), ("offline", "ian")]

        ds = ris.descriptors[0]
        assert (ds.StudyInstanceUID, ds.PatientID, str(ds.PatientName), ds.StudyID) == (
            uid, "ARC1", "ARCHIVE^ROUND^TRIP", "1")
        assert (ds.StudyComments, ds.StudyDate, ds.StudyTime, ds.AccessionNumber) == (
            "DELETE", "20240105", "101500", "AARC1")
        assert (ds.PatientBirthDate, ds.PatientSex) == ("19600101", "O")
        assert {str(r.ReferencedSOPInstanceUID) for s in ds.ReferencedSeriesSequence
                for r in s.ReferencedImageSequence} == sop_uids  # the catalogue rows stay: every instance
        assert {s.RetrieveAETitle for s in ds.ReferencedSeriesSequence} == {site.server.qr_ae_title}

        ian = ris.availability[0]
        refs = [r for s in ian.ReferencedSeriesSequence for r in s.ReferencedSOPSequence]
        assert ian.StudyInstanceUID == uid and {str(r.ReferencedSOPInstanceUID) for r in refs} == sop_uids
        assert {r.InstanceAvailability for r in refs} == {"NEARLINE"}  # in the archive, no longer ONLINE
        assert {r.RetrieveAETitle for r in refs} == {site.server.qr_ae_title}  # we fetch them back

        # fetched back (notify_on_fetch_back): the same receivers now hear it is there again
        response = httpx.get(f"{site.url}/dicom-web/studies/{uid}", timeout=90)
        assert response.status_code == 200, response.text
        wait_for(lambda: len(ris.descriptors) == 2 and len(ris.availability) == 2, 30, "the fetch-back notices")
        assert ris.descriptors[1].StudyComments == "ADD"
        assert {r.InstanceAvailability for s in ris.availability[1].ReferencedSeriesSequence
                for r in s.ReferencedSOPSequence} == {"ONLINE"}
    finally:
        sites.close()
        ris.shutdown()


@pytest.mark.slow
def test_two_servers_on_one_postgresql_index_fetch_an_archived_study_back_once(
    tmp_path: Path, pg_cluster: Any
) -> None:
    """Two server processes on one PostgreSQL index and storage volume, one Storage AE title;
    the archive (dcmqrscp) knows that title at the second process's port. Both are asked for
    the same archived study at once (WADO-RS): the first claims the fetch-back in the index and
    asks the archive (one C-MOVE); the second waits for it, then serves the online copy. The
    instances the archive delivers to the second process replace their offline rows there:
    one row and one file per instance, and both requests get the whole study."""
    url = pg_cluster.new_database()
    data_dir = tmp_path / "data"
    ports = [free_port(), free_port()]
    archive = LoggingDcmqrscp(tmp_path / "archive", destinations=[("DICOM_STORAGE", ports[1])]).start()
    commit = CommitmentScp(archive.stored_files, ports[1]).start()
    destinations = "".join(f'[[server.destinations]]\nae_title = "{t}"\nhost = "127.0.0.1"\nport = {p}\n'
                           for t, p in (("ARCHIVE", archive.port), ("ARCH_COMMIT", commit.port)))
    settings = "job_retry_seconds = 0.2\nfsync = false\n" + ARCHIVE_TOML.format(
        commitment="true", notify_port=free_port(), notify="")
    configs = [
        write_server_config(tmp_path / f"server{n}.toml", data_dir, extra_server=settings,
                            storage=f'[[server.storage]]\nae_title = "DICOM_STORAGE"\nport = {port}\n',
                            qr="[server.qr]\nport = 0\n" + destinations, index_url=url)
        for n, port in enumerate(ports)
    ]
    servers: list[RunningServer] = []
    index = open_index(url)
    results: dict[str, httpx.Response] = {}
    owners: list[str] = []
    try:
        servers = [start_server(config, data_dir) for config in configs]
        first, second = Endpoint(servers[0]), Endpoint(servers[1])
        one = write_study(tmp_path / "study", "ARC3", "ARCHIVE^TWO^PROCESSES", [25, 25], size=64)
        uid = one.study_uid
        sop_uids = {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in one.files}
        storescu_to(ports[0], "DICOM_STORAGE", one.files)
        assert _archive(first, uid)["state"] == "done"
        assert _purge(first) == [uid] and _state(second, uid)["online"] is False
        assert archive.move_requests() == 0

        def wado(name: str, endpoint: Endpoint) -> None:
            results[name] = httpx.get(f"{endpoint.url}/dicom-web/studies/{uid}", timeout=150)

        asking = [threading.Thread(target=wado, args=(name, endpoint)) for name, endpoint in
                  (("first", first), ("second", second))]
        asking[0].start()
        deadline = time.monotonic() + 60
        while not owners and asking[0].is_alive() and time.monotonic() < deadline:
            owner = index.archive.fetch_owner(uid)  # the claim in the shared index
            if owner:
                owners.append(owner)
            else:
                time.sleep(0.005)
        asking[1].start()  # while the first process fetches
        for thread in asking:
            thread.join(180)
        moves = archive.move_requests()
        with index.engine.connect() as conn:
            rows = conn.execute(
                select(schema.instance.c.sop_instance_uid, schema.instance.c.relpath)
                .select_from(schema.instance.join(schema.series, schema.series.c.id == schema.instance.c.series_fk)
                             .join(schema.study, schema.study.c.id == schema.series.c.study_fk))
                .where(schema.study.c.study_instance_uid == uid)
            ).all()
        online = index.archive.offline([uid]) == set()
        left_owner = index.archive.fetch_owner(uid)
    finally:
        codes = [stop_server(s) for s in servers]
        index.close()
        commit.stop()
        archive.stop()
    assert codes == [0] * len(configs)
    assert owners and owners[0].split(":")[1] == str(servers[0].process.pid)  # the first process claimed it
    for name in ("first", "second"):
        assert results[name].status_code == 200, (name, results[name].text[:500])
        assert all(sop.encode() in results[name].content for sop in sop_uids), name  # the whole study
    assert moves == 1  # one fetch-back from the archive for both requests
    uids = [sop for sop, _ in rows]
    assert len(uids) == len(set(uids)) == len(sop_uids) and set(uids) == sop_uids  # no duplicate rows
    assert all((data_dir / "storage" / relpath).is_file() for _, relpath in rows)  # delivered to the second one
    assert online and left_owner is None  # online, and the claim released
