"""Admin API against a real server process: status and approval, corrections seen by DICOM peers
(DCMTK findscu, movescu into storescp, dcmdump), deletions, the change log, JSON errors, OpenAPI."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from app.client.admin import AdminClient
from app.client.dicomweb import DicomWebClient
from app.core.errors import AppError, NotFoundError
from tests.conftest import RunningServer, require_tool, server_index_url, start_server, stop_server, write_server_config
from tests.integration.test_qr_find import S1, S2, S3, S4, _store_all
from tests.integration.test_qr_move import QR, _wait_files
from tests.send_data import running_storescp

pytestmark = [pytest.mark.peer, pytest.mark.postgresql]  # module-scoped servers also on a PostgreSQL index


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory, index_backend: str, request: pytest.FixtureRequest
) -> Iterator[tuple[RunningServer, Path]]:
    """A server holding S1..S4 (PID1: S1, S2; pid2: S3; PID3: S4), a DCMTK storescp as STORESCP."""
    tmp = tmp_path_factory.mktemp("admin")
    received = tmp / "received"
    with running_storescp(received) as port:
        qr = ('[server.qr]\nport = 0\n'
              f'[[server.destinations]]\nae_title = "STORESCP"\nhost = "127.0.0.1"\nport = {port}\n')
        data_dir = tmp / "data"
        url = server_index_url(index_backend, request)
        running = start_server(write_server_config(tmp / "server.toml", data_dir, qr=qr, index_url=url), data_dir)
        try:
            _store_all(running.storage_port)
            yield running, received
        finally:
            assert stop_server(running) == 0


@pytest.fixture
def admin(setup: tuple[RunningServer, Path]) -> Iterator[AdminClient]:
    with AdminClient(setup[0].http_url) as client:
        yield client


def findscu(port: int, *keys: str) -> list[Dataset]:
    """DCMTK ``findscu -S`` (study root); the response identifiers it wrote."""
    with tempfile.TemporaryDirectory() as out:
        args = [require_tool("findscu"), "-S", "-X", "-od", out, "-aec", QR]
        for key in keys:
            args += ["-k", key]
        done = subprocess.run([*args, "127.0.0.1", str(port)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return [dcmread(p) for p in sorted(Path(out).glob("rsp*.dcm"))]


def movescu(port: int, *keys: str) -> str:
    args = [require_tool("movescu"), "-v", "-S", "-aec", QR, "-aem", "STORESCP"]
    for key in keys:
        args += ["-k", key]
    done = subprocess.run([*args, "127.0.0.1", str(port)], capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def dcmdump(path: Path) -> str:
    return subprocess.run([require_tool("dcmdump"), str(path)], capture_output=True, text=True, timeout=30).stdout


def _moved(running: RunningServer, received: Path, study: str, count: int) -> list[Path]:
    for f in received.iterdir():
        f.unlink()
    out = movescu(running.qr_port or 0, "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={study}")
    assert "Received Final Move Response (Success)" in out, out
    files = _wait_files(received, count)
    assert len(files) == count
    return files


def test_openapi_lists_every_admin_route_with_summary_and_response_model(setup: tuple[RunningServer, Path]) -> None:
    doc = httpx.get(setup[0].http_url + "/openapi.json", timeout=30).json()
    expected = {
        ("/api/studies/status", "get"), ("/api/studies/{study_uid}/status", "get"),
        ("/api/studies/{study_uid}/approve", "post"), ("/api/studies/{study_uid}/read", "post"),
        ("/api/studies/{study_uid}", "patch"), ("/api/studies/{study_uid}", "delete"),
        ("/api/studies/{study_uid}/series/{series_uid}", "delete"),
        ("/api/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}", "delete"),
        ("/api/patients/{patient_id}", "patch"), ("/api/patients/{patient_id}/merge", "post"),
        ("/api/patients/{patient_id}/split", "post"), ("/api/changes", "get"), ("/api/destinations", "get"),
        ("/api/jobs", "get"), ("/api/jobs/{job_id}", "get"), ("/api/jobs/{job_id}", "delete"),
    }
    present = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert expected <= present, expected - present
    for path, method in expected:
        op = doc["paths"][path][method]
        assert op.get("summary"), (path, method)
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok, (path, method)
        if path.startswith("/api/studies/{") or path.startswith("/api/patients"):
            assert "404" in op["responses"] and "422" in op["responses"], (path, method)
    for path, ops in doc["paths"].items():  # every admin route: a summary and a JSON answer described
        for method, op in ops.items():
            if not path.startswith("/api/"):
                continue
            assert op.get("summary"), (path, method)
            code = next(c for c in op["responses"] if c.startswith("2"))
            if code != "204":
                assert op["responses"][code]["content"]["application/json"]["schema"], (path, method)
    job = doc["components"]["schemas"]["JobBody"]["properties"]
    assert "progress" in job and "state" in job


def test_read_approve_status_and_change_log(setup: tuple[RunningServer, Path], admin: AdminClient) -> None:
    received = [(c["study_instance_uid"], c["by"]) for c in admin.changes() if c["kind"] == "received"]
    assert received == [(S1, "QR_TEST"), (S2, "QR_TEST"), (S3, "QR_TEST"), (S4, "QR_TEST")]  # one per new study
    start = admin.changes()[-1]["id"]
    assert admin.study_statuses()[S2] == "new"
    assert admin.mark_read(S2)["status"] == "read"
    approved = admin.approve_study(S2, by="dr.house")
    assert (approved["status"], approved["approved_by"]) == ("approved", "dr.house")
    assert approved["approved_at"].endswith("Z")
    assert admin.mark_read(S2)["status"] == "approved"  # stays approved
    with pytest.raises(AppError, match=r"approved already by dr\.house"):
        admin.approve_study(S2)
    assert admin.study_statuses()[S2] == "approved"
    # who: the header when no body names anyone
    header = httpx.post(f"{setup[0].http_url}/api/studies/{S4}/approve", headers={"X-Lightbox-User": "dr.cuddy"},
                        timeout=30)
    assert header.status_code == 200 and header.json()["approved_by"] == "dr.cuddy"
    log = admin.changes(since=start)
    assert [(c["kind"], c["study_instance_uid"], c["by"]) for c in log] == [
        ("read", S2, "127.0.0.1"), ("approved", S2, "dr.house"), ("approved", S4, "dr.cuddy")]
    ids = [c["id"] for c in log]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert admin.changes(since=ids[1]) == log[2:]
    one = admin.study_status(S4)
    assert (one["status"], one["approved_by"], one["read_by"]) == ("approved", "dr.cuddy", None)
    with AdminClient(setup[0].http_url, user="dr.wilson") as named:
        assert named.mark_read(S3)["read_by"] == "dr.wilson"  # the client's user, sent as a header


def test_errors_are_json_with_a_detail_to_act_on(setup: tuple[RunningServer, Path]) -> None:
    url = setup[0].http_url
    cases = [
        (httpx.post(f"{url}/api/studies/1.2.3.999/approve", timeout=30), 404, "GET /dicom-web/studies"),
        (httpx.patch(f"{url}/api/studies/{S3}", json={"PatientBirthDate": "1970-13-01"}, timeout=30), 422,
         "YYYYMMDD"),
        (httpx.patch(f"{url}/api/studies/{S3}", json={"SOPClassUID": "1.2"}, timeout=30), 422, "allowed:"),
        (httpx.patch(f"{url}/api/studies/{S3}", content=b"not json", headers={"Content-Type": "application/json"},
                     timeout=30), 422, "openapi.json"),
        (httpx.patch(f"{url}/api/patients/pid2", json={"PatientID": "PID1"}, timeout=30), 409, "merge"),
        (httpx.post(f"{url}/api/patients/pid2/merge", json={"into": "pid2"}, timeout=30), 409, "itself"),
        (httpx.post(f"{url}/api/patients/pid2/merge", json={}, timeout=30), 422, "into"),
        (httpx.delete(f"{url}/api/studies/{S3}/series/1.2.3.4", timeout=30), 404, "no series"),
        (httpx.get(f"{url}/api/jobs/424242", timeout=30), 404, "GET /api/jobs"),
    ]
    for response, status, words in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["content-type"].startswith("application/json")
        detail = response.json()["detail"]
        assert isinstance(detail, str) and words in detail, (response.request.url, detail)


def test_patient_correction_reaches_cfind_qido_wado_and_cmove(
    setup: tuple[RunningServer, Path], admin: AdminClient
) -> None:
    running, received = setup
    port = running.qr_port or 0
    before = _moved(running, received, S3, 1)  # uncorrected: the file as received
    assert "Müller^Anna" in str(dcmread(before[0]).PatientName)
    result = admin.correct_patient("pid2", {"PatientName": "Moeller^Anna Maria", "PatientBirthDate": "19800229"})
    assert result["study_instance_uids"] == [S3]
    found = findscu(port, "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={S3}", "PatientName", "PatientBirthDate")
    assert [(str(m.PatientName), m.PatientBirthDate) for m in found] == [("Moeller^Anna Maria", "19800229")]
    assert findscu(port, "QueryRetrieveLevel=STUDY", "PatientName=Müller*") == []
    with DicomWebClient(running.http_url) as web:
        assert web.search_studies(StudyInstanceUID=S3)[0].text("PatientName") == "Moeller^Anna Maria"
        parts = list(web.retrieve_study(S3))
        metadata = httpx.get(f"{running.http_url}/dicom-web/studies/{S3}/metadata", timeout=30).json()
        series = web.search_series(S3)[0].text("SeriesInstanceUID")
        sop = web.search_instances(S3, series)[0].text("SOPInstanceUID")
        single = httpx.get(f"{running.http_url}/dicom-web/studies/{S3}/series/{series}/instances/{sop}",
                           headers={"Accept": "application/dicom"}, timeout=30)
    assert single.headers["content-type"].startswith("application/dicom")
    assert str(dcmread(BytesIO(single.content)).PatientName) == "Moeller^Anna Maria"
    assert len(parts) == 1
    ds = dcmread(BytesIO(parts[0]))
    assert str(ds.PatientName) == "Moeller^Anna Maria" and ds.PatientBirthDate == "19800229"
    assert metadata[0]["00100010"]["Value"][0]["Alphabetic"] == "Moeller^Anna Maria"
    files = _moved(running, received, S3, 1)  # corrected: the catalogue's values
    dump = dcmdump(files[0])
    assert "(0010,0010) PN [Moeller^Anna Maria]" in dump and "(0010,0030) DA [19800229]" in dump, dump
    stored = list((running.data_dir / "storage").rglob("*.dcm"))
    assert any("Müller^Anna" in str(dcmread(p, stop_before_pixels=True).PatientName) for p in stored)  # as received


def test_study_correction_merge_and_split(setup: tuple[RunningServer, Path], admin: AdminClient) -> None:
    running, received = setup
    port = running.qr_port or 0
    admin.correct_study(S4, {"AccessionNumber": "FIXED4", "StudyDescription": "Corrected head"})
    found = findscu(port, "QueryRetrieveLevel=STUDY", "AccessionNumber=FIXED4", "StudyDescription")
    assert [(m.StudyInstanceUID, m.StudyDescription) for m in found] == [(S4, "Corrected head")]
    merged = admin.merge_patients("PID3", into="PID1")
    assert merged["study_instance_uids"] == [S4]
    pid1 = findscu(port, "QueryRetrieveLevel=STUDY", "PatientID=PID1", "PatientName")
    assert {S2, S4} <= {m.StudyInstanceUID for m in pid1}  # (S1 too unless the deletion test ran first)
    assert {str(m.PatientName) for m in pid1} == {"Doe^John"}
    files = _moved(running, received, S4, 1)
    dump = dcmdump(files[0])
    assert "(0010,0020) LO [PID1]" in dump and "(0008,0050) SH [FIXED4]" in dump, dump
    split = admin.split_patient("PID1", [S4], "PID4", {"PatientName": "DOE^JANE"})
    assert split["patient_id"] == "PID4"
    again = findscu(port, "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={S4}", "PatientID", "PatientName")
    assert [(m.PatientID, str(m.PatientName)) for m in again] == [("PID4", "DOE^JANE")]
    kinds = [c["kind"] for c in admin.changes()[-3:]]
    assert kinds == ["corrected", "merged", "split"]
    admin.correct_patient("PID4", {"PatientName": "山田^太郎=やまだ^たろう"})  # beyond the files' own text
    (match,) = findscu(port, "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={S4}", "PatientName")
    assert str(match.PatientName) == "山田^太郎=やまだ^たろう"
    dump = dcmdump(_moved(running, received, S4, 1)[0])
    assert "(0008,0005) CS [ISO_IR 192]" in dump and "山田^太郎=やまだ^たろう" in dump, dump


def test_deletion_removes_rows_then_files(setup: tuple[RunningServer, Path], admin: AdminClient) -> None:
    running, _ = setup
    storage = running.data_dir / "storage"
    with DicomWebClient(running.http_url) as web:
        series = [s.text("SeriesInstanceUID") for s in web.search_series(S1)]
        instances = [i.text("SOPInstanceUID") for i in web.search_instances(S1, series[0])]
        total = len(list(storage.rglob("*.dcm")))
        assert len(series) == 2 and len(instances) == 2
        answer = httpx.delete(f"{running.http_url}/api/studies/{S1}/series/{series[0]}/instances/{instances[0]}",
                              timeout=30).json()
        assert (answer["level"], answer["instances"], answer["files_removed"], answer["study_gone"]) == (
            "instance", 1, 1, False)
        assert len(list(storage.rglob("*.dcm"))) == total - 1
        assert [i.text("SOPInstanceUID") for i in web.search_instances(S1, series[0])] == instances[1:]
        admin.delete_series(S1, series[1])
        assert len(list(storage.rglob("*.dcm"))) == total - 3
        admin.delete_study(S1)
        assert len(list(storage.rglob("*.dcm"))) == total - 4
        assert web.search_studies(StudyInstanceUID=S1) == []
    assert findscu(running.qr_port or 0, "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={S1}") == []
    with pytest.raises(NotFoundError):
        admin.delete_study(S1)
    log = [(c["kind"], c["level"]) for c in admin.changes()[-3:]]
    assert log == [("deleted", "instance"), ("deleted", "series"), ("deleted", "study")]
    assert S1 not in admin.study_statuses()


def test_destinations_send_and_job_progress(setup: tuple[RunningServer, Path], admin: AdminClient) -> None:
    _, received = setup
    destinations = admin.destinations()
    assert [(d["ae_title"], d["host"]) for d in destinations] == [("STORESCP", "127.0.0.1")]
    assert isinstance(destinations[0]["port"], int)
    for f in received.iterdir():
        f.unlink()
    job_id = admin.send_study(S2, "STORESCP")
    deadline = time.monotonic() + 60
    while (job := admin.job(job_id))["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job["state"] == "done", job
    assert job["progress"].get("completed") == 1, job  # progress carried by the job
    assert job_id in [j["id"] for j in admin.jobs()]
    assert [str(dcmread(p).StudyInstanceUID) for p in _wait_files(received, 1)] == [S2]
    with pytest.raises(AppError, match="done already"):
        admin.cancel_job(job_id)
    with pytest.raises(NotFoundError):
        admin.job(999_999)
    with pytest.raises(NotFoundError):
        admin.cancel_job(999_999)


