"""The external archive tier against real peers (issue 9; the reference's 2.2.7, 5.3).

DCMTK ``dcmqrscp`` is the external archive (it stores by its Storage SCP side and answers
C-FIND / C-MOVE; config written in ``tmp_path``); a pynetdicom Storage Commitment SCP
(:mod:`tests.archive_peers`, dcmqrscp has none) checks what dcmqrscp holds and reports on a
new association to our Storage AE. The retrieves come from DCMTK ``movescu`` and WADO-RS.
The index is the ``index_url`` fixture's (``--index-backends postgresql`` runs them on PostgreSQL).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
)

from tests.archive_peers import CommitmentScp
from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config
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
"""


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


def _site(tmp_path: Path, commitment: bool, index_url: str) -> Iterator[Site]:
    storage_port, movescu_port = free_port(), free_port()
    archive = Dcmqrscp(tmp_path / "archive", destinations=[("DICOM_STORAGE", storage_port)]).start()
    commit = CommitmentScp(archive.stored_files, storage_port).start()
    destinations = "".join(
        f'[[server.destinations]]\nae_title = "{t}"\nhost = "127.0.0.1"\nport = {p}\n'
        for t, p in (("ARCHIVE", archive.port), ("ARCH_COMMIT", commit.port), ("MOVESCU", movescu_port))
    )
    config = write_server_config(
        tmp_path / "server.toml", tmp_path / "data",
        extra_server="job_retry_seconds = 0.2\n"
        + ARCHIVE_TOML.format(commitment=str(commitment).lower(), notify_port=free_port()),
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


def _archive(site: Site, study_uid: str, timeout: float = 60.0) -> dict[str, Any]:
    response = httpx.post(f"{site.url}/api/studies/{study_uid}/archive", timeout=10)
    assert response.status_code == 202, response.text
    job_id = int(response.json()["job_id"])

    def over() -> bool:
        return httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()["state"] in ("done", "failed")

    wait_for(over, timeout, f"archive job {job_id}")
    job: dict[str, Any] = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()
    return job


def _state(site: Site, study_uid: str) -> dict[str, Any]:
    response = httpx.get(f"{site.url}/api/studies/{study_uid}/archive", timeout=10)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def _purge(site: Site, dry_run: bool = False) -> list[str]:
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
    study = write_study(site.tmp / "big", "ARC2", "ARCHIVE^BIG", [150, 150], size=64)
    storescu_to(site.storage_port, "DICOM_STORAGE", study.files)
    response = httpx.post(f"{site.url}/api/studies/{study.study_uid}/archive", timeout=10)
    assert response.status_code == 202, response.text
    job_id = int(response.json()["job_id"])

    def sending() -> bool:
        progress = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()["progress"]
        return bool(progress.get("phase") == "send" and 0 < int(progress.get("next", 0)) < 300)

    wait_for(sending, 60, "the archive job to be part-way through its send")
    killed_at = time.time()
    site.restart(kill=True)
    progress = httpx.get(f"{site.url}/api/jobs/{job_id}", timeout=10).json()["progress"]
    resumed_at = int(progress["next"])
    assert 0 < resumed_at < 300 and progress["phase"] == "send"

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
    assert (state["state"], state["committed_instances"]) == ("committed", 300)
