"""The MWL SCP side by side with DCMTK's ``wlmscpfs`` on the same worklist (DCMTK's sample items).

Both serve the ``.wl`` files DCMTK ships (converted with ``dump2dcm``): ``wlmscpfs`` from its
folder database, Lightbox after ``lightbox server worklist import``. ``findscu -W`` asks both
the same questions; they must find the same items. The questions avoid the rules where the
two differ on purpose: Lightbox matches Patient's Name case-insensitively and takes a time
range without a date as today (the reference's rules), ``wlmscpfs`` does neither.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config
from tests.mwl_items import findscu, import_files

pytestmark = pytest.mark.peer

DCMTK_SAMPLES = Path("/usr/share/doc/dcmtk/examples/wlistdb/OFFIS")
WLM_AE = "WLMSCPFS"


def _sps(key: str) -> str:
    return f"ScheduledProcedureStepSequence[0].{key}"


QUESTIONS = [
    (_sps("Modality=MR"),),
    (_sps("ScheduledStationAETitle=AA33"),),
    (_sps("ScheduledStationAETitle=NN77"),),
    (_sps("ScheduledProcedureStepStartDate=19951001-19951231"),),
    (_sps("ScheduledProcedureStepStartDate=19960423"),),
    (_sps("ScheduledProcedureStepStartDate=19960101-19960630"), _sps("Modality=CT")),
    # One date-time interval: 1995-10-01 08:00 to 1995-12-31 09:00 (09:45 on 1995-12-06 is inside).
    (_sps("ScheduledProcedureStepStartDate=19951001-19951231"), _sps("ScheduledProcedureStepStartTime=080000-090000")),
    (_sps("ScheduledProcedureStepStartDate=19960101-"), _sps("ScheduledProcedureStepStartTime=150000-")),
    ("PatientName=*N*",),
    ("PatientName=HAYDN^FRANZ^JOSEPH",),
    ("PatientName=MOZART^W?LFGANG*",),
    (_sps("ScheduledPerformingPhysicianName=JOHNSON"),),
    ("PatientID=AV35674",),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def worklist_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    dump2dcm = require_tool("dump2dcm")
    folder = tmp_path_factory.mktemp("wlistdb") / WLM_AE
    folder.mkdir()
    (folder / "lockfile").touch()
    files = []
    for dump in sorted(DCMTK_SAMPLES.glob("wklist*.dump")):
        target = folder / f"{dump.stem}.wl"
        subprocess.run([dump2dcm, str(dump), str(target)], check=True, capture_output=True, timeout=60)
        files.append(target)
    assert len(files) >= 10, f"DCMTK's sample worklists are missing from {DCMTK_SAMPLES}"
    return files


@pytest.fixture(scope="module")
def wlmscpfs(worklist_files: list[Path]) -> Iterator[int]:
    tool = require_tool("wlmscpfs")
    port = _free_port()
    proc = subprocess.Popen([tool, "-dfp", str(worklist_files[0].parent.parent), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def lightbox(
    tmp_path_factory: pytest.TempPathFactory, worklist_files: list[Path], module_index_url: str,
) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("mwl_vs")
    config = write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url)
    running = start_server(config, tmp / "data")
    done = import_files(running.http_url, worklist_files)
    assert done.returncode == 0, done.stdout
    yield running
    assert stop_server(running) == 0


def _found(port: int, keys: tuple[str, ...], called: str) -> list[tuple[str, str]]:
    responses, log = findscu(port, "PatientName", "AccessionNumber", *keys, called=called)
    assert "Received Final Find Response (Success)" in log, log
    return sorted((str(r.AccessionNumber), str(r.PatientName)) for r in responses)


@pytest.mark.parametrize("keys", QUESTIONS, ids=[" ".join(q) for q in QUESTIONS])
def test_same_items_as_wlmscpfs(keys: tuple[str, ...], wlmscpfs: int, lightbox: RunningServer) -> None:
    ours = _found(lightbox.mwl_port or 0, keys, "DICOM_MWL_SCP")
    theirs = _found(wlmscpfs, keys, WLM_AE)
    assert theirs, f"the question {keys} should find something"
    assert ours == theirs


def test_patient_names_differ_only_in_case_rules(wlmscpfs: int, lightbox: RunningServer) -> None:
    # The reference matches Patient's Name case-insensitively; wlmscpfs does not.
    assert _found(wlmscpfs, ("PatientName=mozart*",), WLM_AE) == []
    assert _found(lightbox.mwl_port or 0, ("PatientName=mozart*",), "DICOM_MWL_SCP") == _found(
        wlmscpfs, ("PatientName=MOZART*",), WLM_AE)
