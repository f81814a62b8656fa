"""C-CANCEL of a running Modality Worklist C-FIND over a real association (PS3.4 K.4.1.3.1, PS3.7
9.3.2.3): the SCP stops with 0xFE00 after a few of many pending responses, and goes on serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE

from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.dimse_frames import find_and_cancel
from tests.mwl_items import MWL, MWL_FIND, Item, item_dataset

pytestmark = pytest.mark.peer

#: Worklist items (below the hit limit of 500).
MANY = 250


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    tmp: Path = tmp_path_factory.mktemp("mwl_cancel")
    config = write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url)
    running = start_server(config, tmp / "data")
    with httpx.Client(base_url=running.http_url, timeout=30) as http:
        for n in range(MANY):
            item = Item(f"Cancel^Test{n}", f"C{10000 + n}", "Ref^Rita", "20261127", "080000", "CT", "CT01",
                        "CT room", "Perf^Paul", "CT head", "P1", f"ACC{n}")
            body = item_dataset(item).to_json()
            response = http.post("/api/worklist", content=body, headers={"Content-Type": "application/dicom+json"})
            assert response.status_code == 201, response.text
    yield running
    assert stop_server(running) == 0


def _query() -> Dataset:
    query = Dataset()
    query.PatientName = "Cancel^*"
    query.PatientID = ""
    return query


def test_c_cancel_stops_a_running_worklist_c_find(served: RunningServer) -> None:
    ae = AE("MWL_TEST")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    ae.add_requested_context(MWL_FIND)
    assoc = ae.associate("127.0.0.1", served.mwl_port or 0, ae_title=served.mwl_ae_title or MWL)
    assert assoc.is_established
    try:
        started = time.monotonic()
        pending, final = find_and_cancel(assoc, _query(), MWL_FIND, 21)
        elapsed = time.monotonic() - started
        complete = [s.Status for s, _ in assoc.send_c_find(_query(), MWL_FIND, msg_id=22)]
    finally:
        assoc.release()
    assert final == 0xFE00  # Matching terminated due to Cancel request
    assert pending < MANY, f"{pending} pending responses of {MANY} before the cancel took effect"
    assert elapsed < 10
    assert len(complete) == MANY + 1 and complete[-1] == 0x0000
