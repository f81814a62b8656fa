"""MPPS relay (``[server.mpps] relay_to``) into a second, real MPPS SCP: delivered in order, retried
while the receiver is down, surviving a server restart; the jobs admin API over those jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydicom.uid import generate_uid

from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.mpps_peers import (
    MppsReceiver,
    final_modification,
    free_port,
    n_create,
    n_create_attributes,
    n_set,
    wait_for,
)


def _config(index_url: str, tmp_path: Path, receiver_port: int, retry: float = 0.3) -> Path:
    qr = (
        "[server.qr]\nport = 0\n"
        '[server.mpps]\nrelay_to = ["MPPS_RECV"]\n'
        f'[[server.destinations]]\nae_title = "MPPS_RECV"\nhost = "127.0.0.1"\nport = {receiver_port}\n'
    )
    return write_server_config(
        tmp_path / "server.toml", tmp_path / "data", f"job_retry_seconds = {retry}", qr=qr, index_url=index_url
    )


@pytest.fixture
def receiver() -> Iterator[MppsReceiver]:
    peer = MppsReceiver().start()
    yield peer
    peer.stop()


def _jobs(server: RunningServer, **params: str) -> list[dict]:  # type: ignore[type-arg]
    response = httpx.get(f"{server.http_url}/api/jobs", params={"kind": "mpps-relay", **params}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _create_and_complete(server: RunningServer) -> str:
    assert server.qr_port is not None
    uid = generate_uid()
    status, _ = n_create(server.qr_port, n_create_attributes(), uid)
    assert status.Status == 0x0000
    assert n_set(server.qr_port, final_modification(), uid).Status == 0x0000
    return uid


def test_create_and_set_are_relayed_in_order_with_their_data(
    tmp_path: Path, index_url: str, receiver: MppsReceiver
) -> None:
    server = start_server(_config(index_url, tmp_path, receiver.port), tmp_path / "data")
    try:
        uid = _create_and_complete(server)
        wait_for(lambda: len(receiver.received) >= 2, what="both requests at the receiver")
        assert [(op, got) for op, got, _ in receiver.received] == [("N-CREATE", uid), ("N-SET", uid)]
        created, modification = receiver.received[0][2], receiver.received[1][2]
        assert created.PerformedProcedureStepID == "PPS1"
        assert created.PatientName == "Müller^Jörg"
        assert created.ScheduledStepAttributesSequence[0].ScheduledProcedureStepID == "SPS1"
        assert modification.PerformedProcedureStepStatus == "COMPLETED"
        assert "PerformedProcedureStepStartDate" not in modification  # the N-SET as received, not the merged step
        assert receiver.steps[uid].PerformedProcedureStepStatus == "COMPLETED"
        wait_for(lambda: all(j["state"] == "done" for j in _jobs(server)), what="jobs done")
        jobs = _jobs(server)
        assert len(jobs) == 2 and {j["payload"]["operation"] for j in jobs} == {"N-CREATE", "N-SET"}
        assert all(j["progress"]["peer_status"] == "0x0000" for j in jobs)
    finally:
        stop_server(server)


def test_relay_retries_until_the_receiver_comes_up_and_keeps_the_order(tmp_path: Path, index_url: str) -> None:
    port = free_port()
    server = start_server(_config(index_url, tmp_path, port), tmp_path / "data")
    peer = MppsReceiver(port=port)
    try:
        uid = _create_and_complete(server)
        wait_for(lambda: any(j["last_error"] for j in _jobs(server)), what="a failed attempt")
        create_job = next(j for j in _jobs(server) if j["payload"]["operation"] == "N-CREATE")
        set_job = next(j for j in _jobs(server) if j["payload"]["operation"] == "N-SET")
        assert create_job["state"] in ("queued", "running") and create_job["attempts"] >= 1
        assert "did not accept the association" in create_job["last_error"]
        # the N-SET waits for the N-CREATE without using its attempts
        wait_for(lambda: "waits for relay job" in (httpx.get(
            f"{server.http_url}/api/jobs/{set_job['id']}", timeout=10).json()["last_error"]), what="N-SET waiting")
        assert httpx.get(f"{server.http_url}/api/jobs/{set_job['id']}", timeout=10).json()["attempts"] == 0
        peer.start()
        wait_for(lambda: len(peer.received) >= 2, what="both requests after the receiver came up")
        assert [(op, got) for op, got, _ in peer.received] == [("N-CREATE", uid), ("N-SET", uid)]
        wait_for(lambda: all(j["state"] == "done" for j in _jobs(server)), what="jobs done")
    finally:
        peer.stop()
        stop_server(server)


def test_relay_survives_a_server_restart(tmp_path: Path, index_url: str) -> None:
    port = free_port()
    config = _config(index_url, tmp_path, port, retry=0.3)
    server = start_server(config, tmp_path / "data")
    try:
        uid = _create_and_complete(server)
        wait_for(lambda: any(j["last_error"] for j in _jobs(server)), what="a failed attempt")
    finally:
        stop_server(server)
    peer = MppsReceiver(port=port).start()
    server = start_server(config, tmp_path / "data")
    try:
        wait_for(lambda: len(peer.received) >= 2, what="delivery after the restart")
        assert [(op, got) for op, got, _ in peer.received] == [("N-CREATE", uid), ("N-SET", uid)]
        wait_for(lambda: all(j["state"] == "done" for j in _jobs(server)), what="jobs done")
    finally:
        peer.stop()
        stop_server(server)


def test_a_resent_create_the_peer_has_already_counts_as_delivered(
    tmp_path: Path, index_url: str, receiver: MppsReceiver
) -> None:
    server = start_server(_config(index_url, tmp_path, receiver.port), tmp_path / "data")
    try:
        assert server.qr_port is not None
        uid = generate_uid()
        receiver.steps[uid] = n_create_attributes()  # as if a first send arrived and its answer was lost
        assert n_create(server.qr_port, n_create_attributes(), uid)[0].Status == 0x0000
        wait_for(lambda: all(j["state"] == "done" for j in _jobs(server)), what="job done")
        job = _jobs(server)[0]
        assert job["progress"]["peer_status"] == "0x0111" and job["progress"]["delivered"] is True
    finally:
        stop_server(server)


def test_jobs_api_lists_shows_and_cancels(tmp_path: Path, index_url: str) -> None:
    server = start_server(_config(index_url, tmp_path, free_port(), retry=60), tmp_path / "data")
    try:
        assert server.qr_port is not None
        assert n_create(server.qr_port, n_create_attributes(), generate_uid())[0].Status == 0x0000
        wait_for(lambda: bool(_jobs(server)) and _jobs(server)[0]["attempts"] >= 1, what="one attempt")
        job = _jobs(server)[0]
        base = f"{server.http_url}/api/jobs"
        shown = httpx.get(f"{base}/{job['id']}", timeout=10).json()
        assert shown["kind"] == "mpps-relay" and shown["payload"]["destination"] == "MPPS_RECV"
        assert _jobs(server, state="queued")[0]["id"] == job["id"]
        cancelled = httpx.delete(f"{base}/{job['id']}", timeout=10)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        again = httpx.delete(f"{base}/{job['id']}", timeout=10)
        assert again.status_code == 409 and "cancelled already" in again.json()["error"]
        unknown = httpx.delete(f"{base}/999999", timeout=10)
        assert unknown.status_code == 404 and "GET /api/jobs" in unknown.json()["error"]
        assert httpx.get(f"{base}/999999", timeout=10).status_code == 404
        bad = httpx.get(base, params={"state": "sleeping"}, timeout=10)
        assert bad.status_code == 400 and "queued" in bad.json()["error"]
    finally:
        stop_server(server)


def test_a_peer_failure_status_is_retried(tmp_path: Path, index_url: str) -> None:
    peer = MppsReceiver(fail_first=2).start()
    server = start_server(_config(index_url, tmp_path, peer.port, retry=0.2), tmp_path / "data")
    try:
        uid = _create_and_complete(server)
        wait_for(lambda: all(j["state"] == "done" for j in _jobs(server)), what="jobs done")
        # two refused N-CREATEs, the third accepted, then the N-SET
        assert [(op, got) for op, got, _ in peer.received] == [("N-CREATE", uid)] * 3 + [("N-SET", uid)]
        create_job = next(j for j in _jobs(server) if j["payload"]["operation"] == "N-CREATE")
        assert create_job["attempts"] == 3
        assert peer.steps[uid].PerformedProcedureStepStatus == "COMPLETED"
    finally:
        peer.stop()
        stop_server(server)


def test_a_resent_final_set_the_peer_applied_already_counts_as_delivered(tmp_path: Path, index_url: str,
                                                                         receiver: MppsReceiver) -> None:
    server = start_server(_config(index_url, tmp_path, receiver.port), tmp_path / "data")
    try:
        assert server.qr_port is not None
        uid = generate_uid()
        assert n_create(server.qr_port, n_create_attributes(), uid)[0].Status == 0x0000
        wait_for(lambda: uid in receiver.steps, what="the N-CREATE at the receiver")
        receiver.steps[uid].PerformedProcedureStepStatus = "COMPLETED"  # a first N-SET arrived, its answer lost
        assert n_set(server.qr_port, final_modification(), uid).Status == 0x0000
        wait_for(lambda: len(_jobs(server)) == 2 and all(j["state"] != "queued" and j["state"] != "running"
                                                         for j in _jobs(server)), what="jobs over")
        set_job = next(j for j in _jobs(server) if j["payload"]["operation"] == "N-SET")
        assert set_job["state"] == "done" and set_job["progress"]["peer_status"] == "0x0110"
    finally:
        stop_server(server)
