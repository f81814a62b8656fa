"""MPPS relay (``[server.mpps] relay_to``) when things go wrong: retried while the receiver is down
(in order), surviving a server restart; the jobs admin API over those jobs. (Delivery itself:
test_mpps_relay.py.)"""

from __future__ import annotations

from pathlib import Path

import httpx
from pydicom.uid import generate_uid

from tests.conftest import start_server, stop_server
from tests.mpps_peers import MppsReceiver, free_port, n_create, n_create_attributes, wait_for
from tests.mpps_relay_support import create_and_complete, relay_config, relay_jobs, wait_jobs_done, wait_relayed


def test_relay_retries_until_the_receiver_comes_up_and_keeps_the_order(tmp_path: Path, index_url: str) -> None:
    port = free_port()
    server = start_server(relay_config(index_url, tmp_path, port), tmp_path / "data")
    peer = MppsReceiver(port=port)
    try:
        uid = create_and_complete(server)
        wait_for(lambda: any(j["last_error"] for j in relay_jobs(server)), what="a failed attempt")
        create_job = next(j for j in relay_jobs(server) if j["payload"]["operation"] == "N-CREATE")
        set_job = next(j for j in relay_jobs(server) if j["payload"]["operation"] == "N-SET")
        assert create_job["state"] in ("queued", "running") and create_job["attempts"] >= 1
        assert "did not accept the association" in create_job["last_error"]
        # the N-SET waits for the N-CREATE without using its attempts
        wait_for(lambda: "waits for relay job" in (httpx.get(
            f"{server.http_url}/api/jobs/{set_job['id']}", timeout=10).json()["last_error"]), what="N-SET waiting")
        assert httpx.get(f"{server.http_url}/api/jobs/{set_job['id']}", timeout=10).json()["attempts"] == 0
        peer.start()
        wait_relayed(peer, uid, "both requests after the receiver came up")
        wait_jobs_done(server)
    finally:
        peer.stop()
        stop_server(server)


def test_relay_survives_a_server_restart(tmp_path: Path, index_url: str) -> None:
    port = free_port()
    config = relay_config(index_url, tmp_path, port, retry=0.3)
    server = start_server(config, tmp_path / "data")
    try:
        uid = create_and_complete(server)
        wait_for(lambda: any(j["last_error"] for j in relay_jobs(server)), what="a failed attempt")
    finally:
        stop_server(server)
    peer = MppsReceiver(port=port).start()
    server = start_server(config, tmp_path / "data")
    try:
        wait_relayed(peer, uid, "delivery after the restart")
        wait_jobs_done(server)
    finally:
        peer.stop()
        stop_server(server)


def test_jobs_api_lists_shows_and_cancels(tmp_path: Path, index_url: str) -> None:
    server = start_server(relay_config(index_url, tmp_path, free_port(), retry=60), tmp_path / "data")
    try:
        assert server.qr_port is not None
        assert n_create(server.qr_port, n_create_attributes(), generate_uid())[0].Status == 0x0000
        wait_for(lambda: bool(relay_jobs(server)) and relay_jobs(server)[0]["attempts"] >= 1, what="one attempt")
        job = relay_jobs(server)[0]
        base = f"{server.http_url}/api/jobs"
        shown = httpx.get(f"{base}/{job['id']}", timeout=10).json()
        assert shown["kind"] == "mpps-relay" and shown["payload"]["destination"] == "MPPS_RECV"
        assert relay_jobs(server, state="queued")[0]["id"] == job["id"]
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
