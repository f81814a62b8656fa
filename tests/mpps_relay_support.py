"""Helpers of the MPPS relay tests (``[server.mpps] relay_to``, tests/integration/test_mpps_relay*.py):
the server's configuration relaying to one receiver, its relay jobs over the admin API, a step
created and completed over the server's MPPS SCP, and waits for its delivery."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydicom.uid import generate_uid

from tests.conftest import RunningServer, write_server_config
from tests.mpps_peers import MppsReceiver, final_modification, n_create, n_create_attributes, n_set, wait_for


def relay_config(index_url: str, tmp_path: Path, receiver_port: int, retry: float = 0.3) -> Path:
    """A server configuration relaying every MPPS request to ``MPPS_RECV`` on ``receiver_port``,
    retrying failed jobs after ``retry`` seconds."""
    qr = (
        "[server.qr]\nport = 0\n"
        '[server.mpps]\nrelay_to = ["MPPS_RECV"]\n'
        f'[[server.destinations]]\nae_title = "MPPS_RECV"\nhost = "127.0.0.1"\nport = {receiver_port}\n'
    )
    return write_server_config(
        tmp_path / "server.toml", tmp_path / "data", f"job_retry_seconds = {retry}", qr=qr, index_url=index_url
    )


def relay_jobs(server: RunningServer, **params: str) -> list[dict]:  # type: ignore[type-arg]
    """The server's ``mpps-relay`` jobs (GET /api/jobs), filtered by ``params``."""
    response = httpx.get(f"{server.http_url}/api/jobs", params={"kind": "mpps-relay", **params}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def create_and_complete(server: RunningServer) -> str:
    """N-CREATE a step on the server's MPPS SCP, then N-SET it COMPLETED; returns its SOP Instance UID."""
    assert server.qr_port is not None
    uid = generate_uid()
    status, _ = n_create(server.qr_port, n_create_attributes(), uid)
    assert status.Status == 0x0000
    assert n_set(server.qr_port, final_modification(), uid).Status == 0x0000
    return uid


def wait_jobs_done(server: RunningServer, what: str = "jobs done") -> None:
    """Wait until every ``mpps-relay`` job of ``server`` is done."""
    wait_for(lambda: all(j["state"] == "done" for j in relay_jobs(server)), what=what)


def wait_relayed(receiver: MppsReceiver, uid: str, what: str) -> None:
    """Wait until ``receiver`` has two requests; they are the N-CREATE and then the N-SET of step ``uid``."""
    wait_for(lambda: len(receiver.received) >= 2, what=what)
    assert [(op, got) for op, got, _ in receiver.received] == [("N-CREATE", uid), ("N-SET", uid)]
