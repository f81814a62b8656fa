"""The worklist admin API (``/api/worklist``) and ``lightbox server worklist import`` against the
real server process: CRUD in the DICOM JSON model and from DICOM files, validation errors,
bounded bodies, and the command's failures (server down, bad files)."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom.dataset import Dataset

from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config
from tests.mwl_items import Item, find, findscu, import_files, item_dataset, names, write_wl

pytestmark = pytest.mark.peer

DCMTK_SAMPLES = Path("/usr/share/doc/dcmtk/examples/wlistdb/OFFIS")

JOHN = Item("Doe^John", "P1", "Smith^Alice", "20240110", "083000", "CT", "CT1", "CTROOM1", "House^Greg", "CT head",
            "PH", "A1")
JANE = Item("Doe^Jane", "P2", "Smith^Alice", "20240111", "090000", "MR", "MR1", "MRROOM", "Grey^Meredith", "MR knee",
            "PK", "A2")


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("wlapi")
    config = write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url)
    running = start_server(config, tmp / "data")
    yield running
    assert stop_server(running) == 0


def _json(item: Item | Dataset) -> dict[str, Any]:
    ds = item_dataset(item) if isinstance(item, Item) else item
    return ds.to_json_dict()


def _post(server: RunningServer, body: bytes, content_type: str = "application/dicom+json") -> httpx.Response:
    return httpx.post(f"{server.http_url}/api/worklist", content=body, headers={"Content-Type": content_type},
                      timeout=30)


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"])


# -- CRUD -----------------------------------------------------------------------------------------


def test_create_read_update_delete(api_server: RunningServer, tmp_path: Path) -> None:
    url = f"{api_server.http_url}/api/worklist"
    created = _post(api_server, json.dumps(_json(JOHN)).encode())
    assert created.status_code == 201
    item_id = created.json()["id"]
    assert created.headers["location"] == f"/api/worklist/{item_id}" and created.json()["status"] == "SCHEDULED"
    from_file = _post(api_server, write_wl(tmp_path, JANE).read_bytes(), "application/dicom")
    assert from_file.status_code == 201
    file_id = from_file.json()["id"]

    got = httpx.get(f"{url}/{item_id}", timeout=30).json()
    ds = Dataset.from_json(got["dataset"])
    assert got["id"] == item_id and str(ds.PatientName) == "Doe^John" and "SpecificCharacterSet" not in ds
    assert ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus == "SCHEDULED"
    listed = {entry["id"]: entry for entry in httpx.get(url, params={"limit": 1000}, timeout=30).json()}
    assert {item_id, file_id} <= set(listed)
    assert str(Dataset.from_json(listed[file_id]["dataset"]).PatientName) == "Doe^Jane"

    # Replace: the MWL SCP answers with the new values at once; the status stays (none given).
    httpx.put(f"{url}/{item_id}", content=json.dumps({**got["dataset"], "00400100": {"vr": "SQ", "Value": [
        {**got["dataset"]["00400100"]["Value"][0], "00400020": {"vr": "CS", "Value": ["IN PROGRESS"]}}]}}),
        headers={"Content-Type": "application/dicom+json"}, timeout=30).raise_for_status()
    renamed = item_dataset(JOHN)
    renamed.PatientName = "Doe^Johnny"
    put = httpx.put(f"{url}/{item_id}", content=json.dumps(_json(renamed)),
                    headers={"Content-Type": "application/dicom+json"}, timeout=30)
    assert put.status_code == 200 and put.json()["status"] == "IN PROGRESS"
    responses, _log = findscu(api_server.mwl_port or 0, "PatientName=Doe^John*")
    assert names(responses) == {"Doe^Johnny"}

    assert httpx.delete(f"{url}/{item_id}", timeout=30).status_code == 204
    assert "no worklist item" in _error(httpx.get(f"{url}/{item_id}", timeout=30), 404)
    assert httpx.delete(f"{url}/{item_id}", timeout=30).status_code == 404
    assert httpx.delete(f"{url}/{file_id}", timeout=30).status_code == 204


# -- validation -----------------------------------------------------------------------------------


def test_bodies_that_are_not_items_get_400_saying_what_to_fix(api_server: RunningServer) -> None:
    url = f"{api_server.http_url}/api/worklist"
    before = len(httpx.get(url, params={"limit": 10_000}, timeout=30).json())
    assert "not JSON" in _error(_post(api_server, b"{not json"), 400)
    assert "one DICOM JSON data set" in _error(_post(api_server, b"[1, 2]"), 400)
    no_step = item_dataset(JOHN)
    del no_step.ScheduledProcedureStepSequence
    assert "exactly one item" in _error(_post(api_server, json.dumps(_json(no_step)).encode()), 400)
    two_steps = item_dataset(JOHN)
    two_steps.ScheduledProcedureStepSequence.append(item_dataset(JANE).ScheduledProcedureStepSequence[0])
    assert "holds 2" in _error(_post(api_server, json.dumps(_json(two_steps)).encode()), 400)
    bad_date = item_dataset(JOHN)
    bad_date.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate = "2024-01-10"
    assert "YYYYMMDD" in _error(_post(api_server, json.dumps(_json(bad_date)).encode()), 400)
    no_modality = item_dataset(JOHN)
    del no_modality.ScheduledProcedureStepSequence[0].Modality
    assert "Modality" in _error(_post(api_server, json.dumps(_json(no_modality)).encode()), 400)
    bad_status = item_dataset(JOHN)
    bad_status.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus = "DONE"
    assert "SCHEDULED" in _error(_post(api_server, json.dumps(_json(bad_status)).encode()), 400)
    assert "DICOM" in _error(_post(api_server, b"\x00" * 10 + b"garbage", "application/dicom"), 400)
    assert "application/dicom" in _error(_post(api_server, b"x", "text/plain"), 415)
    assert "at most" in _error(_post(api_server, b" " * (1024 * 1024 + 1)), 413)
    assert "whole numbers" in _error(httpx.get(f"{url}/abc", timeout=30), 400)
    assert "from 1 to 10000" in _error(httpx.get(url, params={"limit": "0"}, timeout=30), 400)
    assert "from 0" in _error(httpx.get(url, params={"offset": "-1"}, timeout=30), 400)
    assert "no worklist item" in _error(httpx.put(f"{url}/987654", content=b"{}", timeout=30,
                                                  headers={"Content-Type": "application/dicom+json"}), 404)
    assert len(httpx.get(url, params={"limit": 10_000}, timeout=30).json()) == before  # none was created


def test_a_bad_put_leaves_the_item_unchanged(api_server: RunningServer) -> None:
    created = _post(api_server, json.dumps(_json(JANE)).encode())
    item_id = created.json()["id"]
    url = f"{api_server.http_url}/api/worklist/{item_id}"
    bad = item_dataset(JANE)
    bad.PatientBirthDate = "1970"
    assert "PatientBirthDate" in _error(httpx.put(url, content=json.dumps(_json(bad)), timeout=30,
                                                  headers={"Content-Type": "application/dicom+json"}), 400)
    assert Dataset.from_json(httpx.get(url, timeout=30).json()["dataset"]).PatientBirthDate == "19700101"
    assert httpx.delete(url, timeout=30).status_code == 204


# -- lightbox server worklist import ---------------------------------------------------------------


def test_import_dcmtk_sample_worklists(api_server: RunningServer, tmp_path: Path) -> None:
    dump2dcm = require_tool("dump2dcm")
    dumps = sorted(DCMTK_SAMPLES.glob("wklist*.dump"))
    assert dumps, f"DCMTK's sample worklists are missing from {DCMTK_SAMPLES}"
    files = []
    for dump in dumps:
        target = tmp_path / f"{dump.stem}.wl"
        subprocess.run([dump2dcm, str(dump), str(target)], check=True, capture_output=True, timeout=60)
        files.append(target)
    done = import_files(api_server.http_url, files)
    assert done.returncode == 0, done.stdout
    assert done.stdout.count("imported ") == len(files) and f"{len(files)} imported, 0 failed" in done.stdout
    # A step scheduled on four stations (wklist6: FG56\ER67\JJ56\TZ77) is found by its third one.
    responses, _log = findscu(api_server.mwl_port or 0, "PatientName",
                              "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=JJ56")
    sample = [line for line in (DCMTK_SAMPLES / "wklist6.dump").read_text().splitlines() if "(0010,0010)" in line]
    assert names(responses) == {sample[0].split("PN", 1)[1].strip()}


def test_import_reports_each_bad_file_and_exits_1(api_server: RunningServer, tmp_path: Path) -> None:
    good = write_wl(tmp_path, replace(JOHN, name="Import^Good", pid="P9"))
    not_dicom = tmp_path / "notes.wl"
    not_dicom.write_text("this is not DICOM")
    no_step = tmp_path / "nostep.json"
    ds = item_dataset(JANE)
    del ds.ScheduledProcedureStepSequence
    no_step.write_text(json.dumps(ds.to_json_dict()))
    missing = tmp_path / "missing.wl"
    done = import_files(api_server.http_url, [good, not_dicom, no_step, missing])
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith(f"imported {good} as worklist item ") for line in lines)
    assert any(line.startswith(f"FAILED {not_dicom}: ") and "DICOM" in line for line in lines)
    assert any(line.startswith(f"FAILED {no_step}: ") and "ScheduledProcedureStepSequence" in line for line in lines)
    assert any(line.startswith(f"FAILED {missing}: ") and "No such file" in line for line in lines)
    assert lines[-1] == "1 imported, 3 failed"


def test_import_with_the_server_down_fails_every_file(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    files = [write_wl(tmp_path, JOHN), write_wl(tmp_path, JANE)]
    done = import_files(f"http://127.0.0.1:{port}", files)
    assert done.returncode == 1
    assert "Cannot reach the image server" in done.stdout and "0 imported, 2 failed" in done.stdout


def test_import_usage_errors_exit_2() -> None:
    done = import_files("http://127.0.0.1:1", [])  # no FILE
    assert done.returncode == 2 and "FILE" in done.stderr


def test_a_japanese_item_is_stored_and_returned_intact(api_server: RunningServer, tmp_path: Path) -> None:
    name = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    item = replace(JOHN, name=name, pid="P7", charset="\\ISO 2022 IR 87")
    created = _post(api_server, write_wl(tmp_path, item).read_bytes(), "application/dicom")
    assert created.status_code == 201, created.text
    try:
        for charset, declared in ((["", "ISO 2022 IR 87"], ["", "ISO 2022 IR 87"]), ("ISO_IR 192", "ISO_IR 192")):
            query = Dataset()
            query.SpecificCharacterSet = charset
            query.PatientName, query.PatientID = "yamada*", "P7"
            matches, final = find(api_server.mwl_port or 0, query)
            assert final.Status == 0x0000
            [answer] = matches
            assert answer.SpecificCharacterSet == declared and str(answer.PatientName) == name
    finally:
        httpx.delete(f"{api_server.http_url}/api/worklist/{created.json()['id']}", timeout=30)


def test_import_to_a_url_without_the_worklist_api_says_so(api_server: RunningServer, tmp_path: Path) -> None:
    done = import_files(f"{api_server.http_url}/not-lightbox", [write_wl(tmp_path, JOHN)])
    assert done.returncode == 1 and "has no worklist API (HTTP 404)" in done.stdout
