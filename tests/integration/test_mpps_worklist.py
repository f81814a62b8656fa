"""The MPPS SCP moves the worklist items a step references (Scheduled Step Attributes
Sequence: Scheduled Procedure Step ID + Study Instance UID or Accession Number) to the
step's status, and the Modality Worklist SCP then leaves completed procedures out."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import httpx
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.mpps_peers import final_modification, n_create, n_create_attributes, n_set
from tests.mwl_items import Item, find, item_dataset, names

_NUMBERS = itertools.count(1)


def _item() -> Item:
    """A new item: its own patient, accession number, SPS ID and study UID (one server serves
    every test of the module)."""
    n = next(_NUMBERS)
    return Item(f"Doe^P{n}", f"P{n}", "Smith^Alice", "20261127", "080000", "CT", "CT01", "CTROOM1", "House^Greg",
                "CT head", "PH", f"A{n}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("mpps-worklist")
    config = write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url)
    running = start_server(config, tmp / "data")
    yield running
    assert stop_server(running) == 0


def _post(server: RunningServer, item: Item) -> tuple[int, Dataset]:
    ds = item_dataset(item)
    response = httpx.post(f"{server.http_url}/api/worklist", content=json.dumps(ds.to_json_dict()).encode(),
                          headers={"Content-Type": "application/dicom+json"}, timeout=10)
    assert response.status_code == 201, response.text
    return int(response.json()["id"]), ds


def _wl_status(server: RunningServer, item_id: int) -> str:
    response = httpx.get(f"{server.http_url}/api/worklist/{item_id}", timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def _mwl_names(server: RunningServer, *items: Item) -> set[str]:
    """The names of ``items``' patients that a worklist query for every item returns."""
    assert server.mwl_port is not None
    query = Dataset()
    query.PatientName = ""
    step = Dataset()
    step.ScheduledProcedureStepStatus = ""
    query.ScheduledProcedureStepSequence = [step]
    matches, final = find(server.mwl_port, query)
    assert final.Status == 0x0000
    return names(matches) & {item.name for item in items}


def _performing(server: RunningServer, wl: Dataset, *, study_uid: str | None = None, accession: str | None = None,
                sps_id: str | None = None) -> str:
    attributes = n_create_attributes(
        study_uid=study_uid or str(wl.StudyInstanceUID),
        sps_id=sps_id if sps_id is not None else str(wl.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID),
        accession=accession if accession is not None else str(wl.AccessionNumber),
    )
    uid = generate_uid()
    assert server.qr_port is not None
    assert n_create(server.qr_port, attributes, uid)[0].Status == 0x0000
    return uid


@pytest.mark.parametrize("final", ["COMPLETED", "DISCONTINUED"])
def test_worklist_item_follows_the_step_and_drops_off_when_it_ends(server: RunningServer, final: str) -> None:
    mine = _item(), _item()
    performed_id, performed = _post(server, mine[0])
    other_id, _ = _post(server, mine[1])
    assert _mwl_names(server, *mine) == {mine[0].name, mine[1].name}
    uid = _performing(server, performed)
    assert _wl_status(server, performed_id) == "IN PROGRESS"
    assert _wl_status(server, other_id) == "SCHEDULED"
    assert _mwl_names(server, *mine) == {mine[0].name, mine[1].name}  # still on the worklist while in progress
    assert server.qr_port is not None
    assert n_set(server.qr_port, final_modification(final), uid).Status == 0x0000
    assert _wl_status(server, performed_id) == final
    assert _wl_status(server, other_id) == "SCHEDULED"
    assert _mwl_names(server, *mine) == {mine[1].name}


def test_a_step_with_its_own_study_uid_finds_its_item_by_accession_number(server: RunningServer) -> None:
    item_id, wl = _post(server, _item())
    _performing(server, wl, study_uid=generate_uid())
    assert _wl_status(server, item_id) == "IN PROGRESS"


@pytest.mark.parametrize(("sps_id", "accession"), [("", None), ("OTHER", None), (None, "")])
def test_steps_that_do_not_reference_the_item_leave_it_scheduled(server: RunningServer, sps_id: str | None,
                                                                 accession: str | None) -> None:
    item_id, wl = _post(server, _item())
    # an unscheduled step (no SPS ID), another SPS, or another study without an accession number
    _performing(server, wl, sps_id=sps_id, accession=accession,
                study_uid=generate_uid() if accession == "" else None)
    assert _wl_status(server, item_id) == "SCHEDULED"
