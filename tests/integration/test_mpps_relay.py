"""MPPS relay (``[server.mpps] relay_to``) into a second, real MPPS SCP: delivered in order with
their data, a resent request the peer already has counts as delivered, a failure status is retried.
(The receiver down, a server restart and the jobs admin API: test_mpps_relay_recovery.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from tests.conftest import start_server, stop_server
from tests.mpps_peers import MppsReceiver, final_modification, n_create, n_create_attributes, n_set, wait_for
from tests.mpps_relay_support import create_and_complete, relay_config, relay_jobs, wait_jobs_done, wait_relayed


@pytest.fixture
def receiver() -> Iterator[MppsReceiver]:
    """A running MPPS receiver (the relay's peer)."""
    peer = MppsReceiver().start()
    yield peer
    peer.stop()


def test_create_and_set_are_relayed_in_order_with_their_data(
    tmp_path: Path, index_url: str, receiver: MppsReceiver
) -> None:
    server = start_server(relay_config(index_url, tmp_path, receiver.port), tmp_path / "data")
    try:
        uid = create_and_complete(server)
        wait_relayed(receiver, uid, "both requests at the receiver")
        created, modification = receiver.received[0][2], receiver.received[1][2]
        assert created.PerformedProcedureStepID == "PPS1"
        assert created.PatientName == "Müller^Jörg"
        assert created.ScheduledStepAttributesSequence[0].ScheduledProcedureStepID == "SPS1"
        assert modification.PerformedProcedureStepStatus == "COMPLETED"
        assert "PerformedProcedureStepStartDate" not in modification  # the N-SET as received, not the merged step
        assert receiver.steps[uid].PerformedProcedureStepStatus == "COMPLETED"
        wait_jobs_done(server)
        jobs = relay_jobs(server)
        assert len(jobs) == 2 and {j["payload"]["operation"] for j in jobs} == {"N-CREATE", "N-SET"}
        assert all(j["progress"]["peer_status"] == "0x0000" for j in jobs)
    finally:
        stop_server(server)


def test_a_resent_create_the_peer_has_already_counts_as_delivered(
    tmp_path: Path, index_url: str, receiver: MppsReceiver
) -> None:
    server = start_server(relay_config(index_url, tmp_path, receiver.port), tmp_path / "data")
    try:
        assert server.qr_port is not None
        uid = generate_uid()
        receiver.steps[uid] = n_create_attributes()  # as if a first send arrived and its answer was lost
        assert n_create(server.qr_port, n_create_attributes(), uid)[0].Status == 0x0000
        wait_jobs_done(server, "job done")
        job = relay_jobs(server)[0]
        assert job["progress"]["peer_status"] == "0x0111" and job["progress"]["delivered"] is True
    finally:
        stop_server(server)


def test_a_peer_failure_status_is_retried(tmp_path: Path, index_url: str) -> None:
    peer = MppsReceiver(fail_first=2).start()
    server = start_server(relay_config(index_url, tmp_path, peer.port, retry=0.2), tmp_path / "data")
    try:
        uid = create_and_complete(server)
        wait_jobs_done(server)
        # two refused N-CREATEs, the third accepted, then the N-SET
        assert [(op, got) for op, got, _ in peer.received] == [("N-CREATE", uid)] * 3 + [("N-SET", uid)]
        create_job = next(j for j in relay_jobs(server) if j["payload"]["operation"] == "N-CREATE")
        assert create_job["attempts"] == 3
        assert peer.steps[uid].PerformedProcedureStepStatus == "COMPLETED"
    finally:
        peer.stop()
        stop_server(server)


def test_a_resent_final_set_the_peer_applied_already_counts_as_delivered(tmp_path: Path, index_url: str,
                                                                         receiver: MppsReceiver) -> None:
    server = start_server(relay_config(index_url, tmp_path, receiver.port), tmp_path / "data")
    try:
        assert server.qr_port is not None
        uid = generate_uid()
        assert n_create(server.qr_port, n_create_attributes(), uid)[0].Status == 0x0000
        wait_for(lambda: uid in receiver.steps, what="the N-CREATE at the receiver")
        receiver.steps[uid].PerformedProcedureStepStatus = "COMPLETED"  # a first N-SET arrived, its answer lost
        assert n_set(server.qr_port, final_modification(), uid).Status == 0x0000
        wait_for(lambda: len(relay_jobs(server)) == 2 and all(j["state"] != "queued" and j["state"] != "running"
                                                         for j in relay_jobs(server)), what="jobs over")
        set_job = next(j for j in relay_jobs(server) if j["payload"]["operation"] == "N-SET")
        assert set_job["state"] == "done" and set_job["progress"]["peer_status"] == "0x0110"
    finally:
        stop_server(server)
