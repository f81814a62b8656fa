"""The workstation's search against DCMTK ``wlmscpfs`` (worklists) and the Lightbox server
itself (Q/R SCP: case rules, the hit limit's Error Comment, and a Fetch from it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.workstation_config import RemoteNode, WorkstationConfig
from app.net.temporary_store import TemporaryStorageSCP
from app.services.retrieve import RetrieveRequest, retrieve
from app.services.search import StudyQuery, WorklistQuery, search
from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.integration.test_mwl_vs_wlmscpfs import WLM_AE, wlmscpfs, worklist_files  # noqa: F401 - fixtures
from tests.mwl_items import findscu
from tests.qr_archive import Study, storescu_to, temporary_store_fixture, write_study

pytestmark = pytest.mark.peer

STORE_AE = "PEERSTORE"

WORKLIST_QUESTIONS = [
    WorklistQuery(modality="MR"),
    WorklistQuery(scheduled_station_ae_title="AA33"),
    WorklistQuery(sps_start_date="19951001-19951231"),
    WorklistQuery(patient_name="MOZART^W?LFGANG*"),
    WorklistQuery(sps_start_date="19960101-19960630", modality="CT"),
]


def _findscu_keys(query: WorklistQuery) -> list[str]:
    sps = "ScheduledProcedureStepSequence[0]."
    keys = []
    for keyword, value in (("Modality", query.modality), ("ScheduledStationAETitle", query.scheduled_station_ae_title),
                           ("ScheduledProcedureStepStartDate", query.sps_start_date)):
        if value:
            keys.append(f"{sps}{keyword}={value}")
    if query.patient_name:
        keys.append(f"PatientName={query.patient_name}")
    return keys


@pytest.mark.parametrize("query", WORKLIST_QUESTIONS, ids=lambda q: repr(q)[14:60])
def test_worklist_search_finds_what_findscu_finds(query: WorklistQuery, wlmscpfs: int) -> None:  # noqa: F811
    node = RemoteNode("ris", WLM_AE, "127.0.0.1", wlmscpfs, ("mwl",))
    config = WorkstationConfig(calling_ae_title="READ1STORE", nodes=(node,))
    outcome = search(config, [node], query.identifier(), worklist=True)
    assert outcome.statuses[0].ok, outcome.statuses[0].message
    ours = sorted(m.get("AccessionNumber") for m in outcome.matches)
    responses, log = findscu(wlmscpfs, "AccessionNumber", *_findscu_keys(query), called=WLM_AE)
    assert "Received Final Find Response (Success)" in log
    assert ours and ours == sorted(str(r.AccessionNumber) for r in responses)
    assert all(m.level == "WORKLIST" and m.node == "ris" for m in outcome.matches)
    # The SPS attributes come back flattened into the row.
    assert all(m.get("ScheduledProcedureStepStartDate") for m in outcome.matches)


store_fixture = temporary_store_fixture(STORE_AE)


@pytest.fixture
def lightbox(
    tmp_path: Path, store: TemporaryStorageSCP, index_url: str
) -> Iterator[tuple[RunningServer, list[Study]]]:
    qr = (f'[server.qr]\nport = 0\nhit_limit = 2\n\n[[server.destinations]]\nae_title = "{STORE_AE}"\n'
          f'host = "127.0.0.1"\nport = {store.port}\n')
    data = tmp_path / "data"
    running = start_server(write_server_config(tmp_path / "server.toml", data, qr=qr, index_url=index_url), data)
    studies = [
        write_study(tmp_path / "in", "L001", "SMITH^ANNA", [3]),
        write_study(tmp_path / "in", "L002", "SMITHERS^JO", [1], study_date="20240202"),
        write_study(tmp_path / "in", "L003", "BROWN^AL", [1], study_date="20240203"),
    ]
    storescu_to(running.storage_port, next(iter(running.storage)), [f for s in studies for f in s.files])
    yield running, studies
    assert stop_server(running) == 0


def test_lightbox_server_as_archive(lightbox: tuple[RunningServer, list[Study]], store: TemporaryStorageSCP) -> None:
    running, studies = lightbox
    node = RemoteNode("lightbox", running.qr_ae_title or "", "127.0.0.1", running.qr_port or 0)
    config = WorkstationConfig(calling_ae_title=STORE_AE, nodes=(node,), network_timeout=20)
    # The reference's case rule: Patient's Name matches whatever the case.
    found = search(config, [node], StudyQuery(patient_name="smith^anna").identifier())
    assert [m.uid for m in found.matches] == [studies[0].study_uid]
    # Over the hit limit (2): a failure carrying the server's Error Comment, no matches.
    everything = search(config, [node], StudyQuery().identifier())
    status = everything.statuses[0]
    assert not status.ok and status.status == 0xA700 and "narrow the search" in status.message
    # Fetch from the Lightbox server into the temporary store.
    result = retrieve(config, RetrieveRequest(node, studies[0].study_uid), STORE_AE)
    assert result.ok and result.counts.completed == 3
    assert store.area is not None and len(store.area.images()) == 3
