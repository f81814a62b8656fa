"""Storage commitment with Orthanc as the requester: a real SCU nobody here wrote (PS3.4 J.3).

Orthanc (Debian's 1.10) sends instances to the server with C-STORE, asks for their
commitment with an N-ACTION, closes that association and waits for the N-EVENT-REPORT on
an association the server opens to it (Orthanc expects reports asynchronously). The
report must therefore go out on a new association in the SCP role (SCP/SCU Role
Selection), which Orthanc (built on DCMTK) checks before it accepts the report.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config

pytestmark = pytest.mark.peer

ORTHANC_AE = "ORTHANC_SCU"
STORAGE_AE = "DICOM_STORAGE"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Orthanc:
    """An Orthanc process with its own folder and ports, driven through its REST API."""

    def __init__(self, folder: Path, dicom_port: int, lightbox_port: int) -> None:
        self.http_port = _free_port()
        self.dicom_port = dicom_port
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "lightbox-test", "StorageDirectory": str(folder / "db"), "IndexDirectory": str(folder / "db"),
            "HttpPort": self.http_port, "DicomPort": dicom_port, "DicomAet": ORTHANC_AE,
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "Plugins": [],
            "DicomModalities": {"lightbox": [STORAGE_AE, "127.0.0.1", lightbox_port]},
            "HttpTimeout": 30, "DicomScuTimeout": 30,
        }
        path = folder / "orthanc.json"
        path.write_text(json.dumps(config))
        self.log = (folder / "orthanc.log").open("w")
        self.process = subprocess.Popen([require_tool("Orthanc"), str(path)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.get("/system")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("Orthanc did not start")

    def _call(self, method: str, path: str, body: bytes | None = None) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=body, method=method)
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: Any) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self._call("POST", path, data)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def pair(tmp_path: Path, index_url: str) -> Iterator[tuple[RunningServer, Orthanc]]:
    orthanc_port = _free_port()
    data_dir = tmp_path / "server"
    qr = (
        "[server.qr]\nport = 0\n"
        f'[[server.destinations]]\nae_title = "{ORTHANC_AE}"\nhost = "127.0.0.1"\nport = {orthanc_port}\n'
    )
    config = write_server_config(tmp_path / "server.toml", data_dir, qr=qr, index_url=index_url)
    server = start_server(config, data_dir)
    try:
        orthanc = Orthanc(tmp_path / "orthanc", orthanc_port, server.storage_port)
    except BaseException:
        stop_server(server)
        raise
    yield server, orthanc
    orthanc.stop()
    assert stop_server(server) == 0


def _upload(orthanc: Orthanc, names: list[str]) -> list[dict[str, str]]:
    """Put pydicom's test files into Orthanc; their Orthanc IDs and UIDs."""
    uploaded = []
    for name in names:
        path = get_testdata_file(name, download=False)
        assert path is not None
        answer = orthanc.post("/instances", Path(str(path)).read_bytes())
        tags = orthanc.get(f"/instances/{answer['ID']}/simplified-tags")
        uploaded.append({"ID": answer["ID"], "SOPClassUID": tags["SOPClassUID"],
                         "SOPInstanceUID": tags["SOPInstanceUID"]})
    return uploaded


def _commit(orthanc: Orthanc, instances: list[dict[str, str]]) -> dict[str, Any]:
    body = {"DicomInstances": [{"SOPClassUID": i["SOPClassUID"], "SOPInstanceUID": i["SOPInstanceUID"]}
                               for i in instances], "Timeout": 30}
    transaction = orthanc.post("/modalities/lightbox/storage-commitment", body)["ID"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report: dict[str, Any] = orthanc.get(f"/storage-commitment/{transaction}")
        if report.get("Status") != "Pending":
            return report
        time.sleep(0.2)
    raise AssertionError(f"Orthanc got no storage commitment report for {transaction}")


def test_orthanc_sends_then_gets_its_commitment_report(pair: tuple[RunningServer, Orthanc]) -> None:
    server, orthanc = pair
    instances = _upload(orthanc, ["CT_small.dcm", "MR_small.dcm"])
    orthanc.post("/modalities/lightbox/store", {"Resources": [i["ID"] for i in instances], "Synchronous": True})
    report = _commit(orthanc, instances)
    assert report["Status"] == "Success", report
    assert report["RemoteAET"] == STORAGE_AE  # the report came from our Storage AE
    assert sorted(i["SOPInstanceUID"] for i in report["Success"]) == sorted(i["SOPInstanceUID"] for i in instances)
    assert report["Failures"] == []
    deadline = time.monotonic() + 30
    while True:  # the job is marked done just after the report was answered
        with urllib.request.urlopen(f"{server.http_url}/api/jobs?kind=commitment-report", timeout=10) as rsp:
            [job] = json.loads(rsp.read())
        if job["state"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert job["state"] == "done"
    assert job["progress"]["delivered"] == f"on a new association to {ORTHANC_AE}"  # Orthanc had released


def test_orthanc_is_told_which_instances_failed(pair: tuple[RunningServer, Orthanc]) -> None:
    _server, orthanc = pair
    [sent] = _upload(orthanc, ["CT_small.dcm"])
    orthanc.post("/modalities/lightbox/store", {"Resources": [sent["ID"]], "Synchronous": True})
    never_sent = {"ID": "", "SOPClassUID": sent["SOPClassUID"], "SOPInstanceUID": generate_uid()}
    report = _commit(orthanc, [sent, never_sent])
    assert report["Status"] == "Failure", report
    assert [i["SOPInstanceUID"] for i in report["Success"]] == [sent["SOPInstanceUID"]]
    [failure] = report["Failures"]
    assert failure["SOPInstanceUID"] == never_sent["SOPInstanceUID"]
    assert failure["FailureReason"] == 0x0112
