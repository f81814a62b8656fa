"""Send a study through the admin API into DCMTK ``storescp`` (the reference's 5.1; PS3.4 B.2).

Transfer syntax as proposed and accepted (storescp's default, ``+xi`` implicit only, ``+xr``
RLE preferred), presentation states with the images, a series subset, private attributes,
burnt-in overlays for a receiver without presentation states, one association at a time per
destination, and a send that survives a SIGKILL of the server.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless

from app.server.private_tags import PRIVATE_CREATOR, read_private_attributes
from tests.conftest import RunningServer, require_tool, server_index_url, start_server, stop_server, write_server_config
from tests.mpps_peers import wait_for
from tests.send_data import CT_IMAGE, GSPS, LINE, Recorder, Study, free_port, make_study, store

pytestmark = [pytest.mark.peer, pytest.mark.postgresql]  # module-scoped servers also on a PostgreSQL index


class StoreScp:
    """A DCMTK storescp writing into its own folder."""

    def __init__(self, folder: Path, title: str, *options: str) -> None:
        self.folder, self.title, self.port = folder, title, free_port()
        folder.mkdir(parents=True)
        self.log = (folder.parent / f"{title}.log").open("w")  # storescp -v: what it accepted, why it refused
        self.proc = subprocess.Popen(
            [require_tool("storescp"), "-v", "-od", str(folder), "-aet", title, *options, str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def files(self) -> list[Dataset]:
        return [dcmread(p) for p in sorted(self.folder.iterdir()) if p.is_file()]

    def clear(self) -> None:
        for p in self.folder.iterdir():
            p.unlink()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def destinations_toml(peers: dict[str, int]) -> str:
    return "[server.qr]\nport = 0\n" + "".join(
        f'[[server.destinations]]\nae_title = "{t}"\nhost = "127.0.0.1"\nport = {p}\n' for t, p in peers.items()
    )


def send(server: RunningServer, study_uid: str, destination: str, series: list[str] | None = None) -> int:
    body: dict[str, Any] = {"destination": destination}
    if series is not None:
        body["series"] = series
    response = httpx.post(f"{server.http_url}/api/studies/{study_uid}/send", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def finished(server: RunningServer, job_id: int, timeout: float = 60.0) -> dict[str, Any]:
    def over() -> bool:
        job = httpx.get(f"{server.http_url}/api/jobs/{job_id}", timeout=10).json()
        return bool(job["state"] in ("done", "failed", "cancelled"))

    wait_for(over, timeout, f"send job {job_id}")
    job: dict[str, Any] = httpx.get(f"{server.http_url}/api/jobs/{job_id}", timeout=10).json()
    return job


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory, index_backend: str, request: pytest.FixtureRequest
) -> Iterator[tuple[RunningServer, Study, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("send")
    peers: dict[str, Any] = {
        "STORESCP": StoreScp(tmp / "plain", "STORESCP"),
        "IMPLICIT": StoreScp(tmp / "implicit", "IMPLICIT", "+xi"),
        "RLE": StoreScp(tmp / "rle", "RLE", "+xr"),
        "RECORDER": Recorder("RECORDER", delay=0.05),
        "NOPR": Recorder("NOPR", take_gsps=False),
    }
    extra = '[server.send]\ncompressed_transfer_syntax = "1.2.840.10008.1.2.5"\nburn_in_overlays = true\n'
    data_dir = tmp / "data"
    config = write_server_config(
        tmp / "server.toml", data_dir, extra_server=f"job_retry_seconds = 0.2\n{extra}",
        qr=destinations_toml({t: p.port for t, p in peers.items()}), index_url=server_index_url(index_backend, request),
    )
    running = start_server(config, data_dir)
    study = make_study()
    store(running.storage_port, study.all)
    try:
        yield running, study, peers
    finally:
        assert stop_server(running) == 0
        for peer in peers.values():
            if isinstance(peer, StoreScp):
                peer.stop()
            else:
                peer.scp.shutdown()


def test_send_to_storescp_as_stored_with_the_presentation_state(setup: Any) -> None:
    server, study, peers = setup
    job = finished(server, send(server, study.uid, "STORESCP"))
    assert job["state"] == "done", job["progress"]
    assert job["progress"]["total"] == job["progress"]["completed"] == len(study.all)
    files = peers["STORESCP"].files()
    assert {str(f.SOPInstanceUID) for f in files} == {str(d.SOPInstanceUID) for d in study.all}
    assert {str(f.file_meta.TransferSyntaxUID) for f in files} == {ExplicitVRLittleEndian}
    state = next(f for f in files if f.SOPClassUID == GSPS)
    assert list(state.GraphicAnnotationSequence[0].GraphicObjectSequence[0].GraphicData) == LINE
    first = next(f for f in files if f.SOPInstanceUID == study.images[0].SOPInstanceUID)
    assert np.array_equal(first.pixel_array, study.images[0].pixel_array)
    assert PRIVATE_CREATOR not in str(first)  # private attributes are off by default


def test_implicit_only_receiver_gets_implicit_vr(setup: Any) -> None:
    server, study, peers = setup
    assert finished(server, send(server, study.uid, "IMPLICIT"))["state"] == "done"
    files = peers["IMPLICIT"].files()
    assert len(files) == len(study.all)
    assert {str(f.file_meta.TransferSyntaxUID) for f in files} == {ImplicitVRLittleEndian}
    first = next(f for f in files if f.SOPInstanceUID == study.images[0].SOPInstanceUID)
    assert np.array_equal(first.pixel_array, study.images[0].pixel_array)


def test_rle_preferring_receiver_gets_the_configured_compressed_syntax(setup: Any) -> None:
    server, study, peers = setup
    job = finished(server, send(server, study.uid, "RLE"))
    assert job["state"] == "done", job["progress"]
    files = peers["RLE"].files()
    by_class = {str(f.SOPClassUID): str(f.file_meta.TransferSyntaxUID) for f in files}
    assert by_class[CT_IMAGE] == RLELossless  # compressed by the sender, lossless
    assert by_class[GSPS] != RLELossless  # no pixel data: RLE is not proposed for it
    first = next(f for f in files if f.SOPInstanceUID == study.images[0].SOPInstanceUID)
    assert np.array_equal(first.pixel_array, study.images[0].pixel_array)


def test_at_most_three_syntaxes_per_context_and_a_series_subset(setup: Any) -> None:
    server, study, peers = setup
    recorder: Recorder = peers["RECORDER"]
    recorder.proposed.clear()
    recorder.received.clear()
    wanted = study.series[1]
    assert finished(server, send(server, study.uid, "RECORDER", [wanted]))["state"] == "done"
    proposed = dict(recorder.proposed)
    assert proposed[CT_IMAGE] == [ExplicitVRLittleEndian, RLELossless, ImplicitVRLittleEndian]
    assert proposed[GSPS] == [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
    assert all(len(syntaxes) <= 3 for _, syntaxes in recorder.proposed)
    images = [d for d in recorder.received if d.SOPClassUID == CT_IMAGE]
    assert {str(d.SeriesInstanceUID) for d in images} == {wanted} and len(images) == 3
    assert [d.SOPInstanceUID for d in recorder.received if d.SOPClassUID == GSPS] == [study.state.SOPInstanceUID]


def test_one_association_at_a_time_per_destination(setup: Any) -> None:
    server, study, peers = setup
    recorder: Recorder = peers["RECORDER"]
    recorder.received.clear()
    recorder.most_open = 0
    jobs = [send(server, study.uid, "RECORDER") for _ in range(3)]
    assert [finished(server, j)["state"] for j in jobs] == ["done"] * 3
    assert len(recorder.received) == 3 * len(study.all)
    assert recorder.most_open == 1


def _dciodvfy(ds: Dataset, path: Path) -> list[str]:
    """dicom3tools' verdict on a data set: its Error and Warning lines."""
    ds.save_as(path, enforce_file_format=True)
    result = subprocess.run([require_tool("dciodvfy"), str(path)], capture_output=True, text=True)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith(("Error", "Warning"))]


def test_receiver_without_presentation_states_gets_the_graphics_as_overlay(setup: Any, tmp_path: Path) -> None:
    server, study, peers = setup
    recorder: Recorder = peers["NOPR"]
    job = finished(server, send(server, study.uid, "NOPR"))
    assert job["state"] == "done", job["progress"]
    by_uid = {str(d.SOPInstanceUID): d for d in recorder.received}
    assert str(study.state.SOPInstanceUID) not in by_uid  # drawn instead of sent
    assert (job["progress"]["completed"], job["progress"]["drawn_as_overlay"]) == (len(study.images), 1)
    first = by_uid[str(study.images[0].SOPInstanceUID)]
    assert first[0x60000040].value == "G"
    overlay = first.overlay_array(0x6000)
    assert overlay[10, 10:51].all() and overlay[10:41, 50].all()  # the polyline (column, row pairs)
    assert overlay.sum() < 0.05 * overlay.size
    verdict = _dciodvfy(first, tmp_path / "with_overlay.dcm")
    assert not [line for line in verdict if line.startswith("Error")]
    assert verdict == _dciodvfy(study.images[0], tmp_path / "as_stored.dcm")  # the overlay plane adds no remark
    assert 0x60000010 not in by_uid[str(study.images[1].SOPInstanceUID)]  # not referenced: no overlay


def test_bad_requests_say_what_to_do(setup: Any) -> None:
    server, study, _ = setup
    url = f"{server.http_url}/api/studies"
    unknown_dest = httpx.post(f"{url}/{study.uid}/send", json={"destination": "NOWHERE"}, timeout=10)
    assert unknown_dest.status_code == 400 and "STORESCP" in unknown_dest.text
    unknown_study = httpx.post(f"{url}/1.2.3.4/send", json={"destination": "STORESCP"}, timeout=10)
    assert unknown_study.status_code == 404
    unknown_series = httpx.post(f"{url}/{study.uid}/send", json={"destination": "STORESCP", "series": ["9.9"]},
                                timeout=10)
    assert unknown_series.status_code == 404 and "9.9" in unknown_series.text


def test_private_attributes_when_configured(tmp_path: Path, index_url: str) -> None:
    recorder = Recorder("PRIV")
    data_dir = tmp_path / "data"
    config = write_server_config(
        tmp_path / "server.toml", data_dir, extra_server="[server.send]\nprivate_attributes = true\n",
        qr=destinations_toml({"PRIV": recorder.port}), index_url=index_url,
    )
    server = start_server(config, data_dir)
    try:
        study = make_study(series=1, per_series=2)
        store(server.storage_port, study.all)
        job_id = send(server, study.uid, "PRIV")
        assert finished(server, job_id)["state"] == "done"
        image = next(d for d in recorder.received if d.SOPInstanceUID == study.images[1].SOPInstanceUID)
        values = read_private_attributes(image)
        assert values[0x01] == str(job_id) and values[0x02] == "ACC42"
        assert values[0x04] == "1" and values[0x05] == "1" and values[0x06].endswith(".dcm")
        state = next(d for d in recorder.received if d.SOPClassUID == GSPS)
        assert read_private_attributes(state) == {}
    finally:
        assert stop_server(server) == 0
        recorder.scp.shutdown()


def test_a_send_interrupted_by_a_server_kill_completes_after_restart(tmp_path: Path, index_url: str) -> None:
    slow = StoreScp(tmp_path / "slow", "SLOW", "--sleep-after", "1")
    data_dir = tmp_path / "data"
    config = write_server_config(
        tmp_path / "server.toml", data_dir, extra_server="job_retry_seconds = 0.2\n",
        qr=destinations_toml({"SLOW": slow.port}), index_url=index_url,
    )
    server = start_server(config, data_dir)
    study = make_study(series=1, per_series=6)
    try:
        store(server.storage_port, study.all)
        job_id = send(server, study.uid, "SLOW")
        wait_for(lambda: len(list(slow.folder.iterdir())) >= 2, 30, "the first instances")
        server.process.kill()
        server.process.wait(10)
        arrived_before = len(list(slow.folder.iterdir()))
        assert arrived_before < len(study.all)
        server = start_server(config, data_dir)
        job = finished(server, job_id, timeout=60)
        assert job["state"] == "done", job["progress"]
        assert job["progress"]["completed"] == len(study.all)
        received = {str(f.SOPInstanceUID) for f in slow.files()}
        assert received == {str(d.SOPInstanceUID) for d in study.all}
    finally:
        if server.process.poll() is None:
            assert stop_server(server) == 0
        slow.stop()


def test_a_cancelled_send_stops(tmp_path: Path, index_url: str) -> None:
    slow = StoreScp(tmp_path / "slow", "SLOW", "--sleep-after", "1")
    data_dir = tmp_path / "data"
    config = write_server_config(
        tmp_path / "server.toml", data_dir, qr=destinations_toml({"SLOW": slow.port}), index_url=index_url
    )
    server = start_server(config, data_dir)
    study = make_study(series=1, per_series=8)
    try:
        store(server.storage_port, study.all)
        job_id = send(server, study.uid, "SLOW")
        wait_for(lambda: len(list(slow.folder.iterdir())) >= 1, 30, "the first instance")
        assert httpx.delete(f"{server.http_url}/api/jobs/{job_id}", timeout=10).status_code == 200
        job = finished(server, job_id)
        assert job["state"] == "cancelled"
        time.sleep(3)  # the send stops at its next progress save (at most about a second later)
        assert len(list(slow.folder.iterdir())) < len(study.all)
    finally:
        assert stop_server(server) == 0
        slow.stop()
