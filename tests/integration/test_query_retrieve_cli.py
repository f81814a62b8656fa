"""``lightbox query`` and ``lightbox retrieve`` as a user runs them, against DCMTK ``dcmqrscp``
and the Lightbox server (exit codes, one line per match, sub-operation counts, errors on stderr)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread

from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.qr_archive import ARCHIVE_AE, Dcmqrscp, Study, free_port, write_study

pytestmark = pytest.mark.peer

REPO = Path(__file__).resolve().parents[2]
LOCAL_AE = "CLISTORE"


def lightbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    """One Lightbox server for the module (per index backend): the retrieve destination, which
    only the retrieve test stores into."""
    tmp = tmp_path_factory.mktemp("qr-cli")
    running = start_server(write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url),
                           tmp / "data")
    yield running
    assert stop_server(running) == 0


@pytest.fixture
def setup(tmp_path: Path, server: RunningServer) -> Iterator[tuple[Dcmqrscp, list[Study], Path, int]]:
    local_port = free_port()
    config = tmp_path / "workstation.toml"
    config.write_text(
        f'[workstation]\ncalling_ae_title = "CLISCU"\nnetwork_timeout = 20\n\n'
        f'[workstation.temporary_store]\nae_title = "{LOCAL_AE}"\nport = {local_port}\n\n'
        f'[[server.storage]]\nae_title = "{next(iter(server.storage))}"\nport = 0\n'
    )
    studies = [
        write_study(tmp_path / "in", "C001", "SMITH^ANNA", [2, 2]),
        write_study(tmp_path / "in", "C002", "JONES^MARY", [1]),
    ]
    archive = Dcmqrscp(tmp_path, [(LOCAL_AE, local_port), (next(iter(server.storage)), server.storage_port)]).start()
    archive.load([f for s in studies for f in s.files])
    yield archive, studies, config, local_port
    archive.stop()


def test_query_levels(setup: tuple[Dcmqrscp, list[Study], Path, int]) -> None:
    archive, studies, config, _ = setup
    node = f"{ARCHIVE_AE}@127.0.0.1:{archive.port}"
    done = lightbox("query", "--config", str(config), "--node", node, "-k", "PatientName=SMITH*")
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    columns = line.split("\t")
    assert columns[0] == "C001" and columns[-1] == studies[0].study_uid
    assert "1 match in" in done.stderr
    series = lightbox("query", "--config", str(config), "--node", node, "--level", "series",
                      "-k", f"StudyInstanceUID={studies[0].study_uid}")
    assert series.returncode == 0, series.stderr
    assert {line.split("\t")[-1] for line in series.stdout.splitlines()} == set(studies[0].series)
    first = next(iter(studies[0].series))
    images = lightbox("query", "--config", str(config), "--node", node, "--level", "image",
                      "-k", f"StudyInstanceUID={studies[0].study_uid}", "-k", f"SeriesInstanceUID={first}")
    assert images.returncode == 0 and len(images.stdout.splitlines()) == 2


def test_query_failures(setup: tuple[Dcmqrscp, list[Study], Path, int]) -> None:
    archive, _, config, _ = setup
    down = lightbox("query", "--config", str(config), "--node", f"NOBODY@127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "Connection refused" in down.stderr and down.stdout == ""
    wrong = lightbox("query", "--config", str(config), "--node", f"WRONG@127.0.0.1:{archive.port}")
    assert wrong.returncode == 1 and "rejected the association" in wrong.stderr
    bad = lightbox("query", "--config", str(config), "--node", "A@B", "-k", "NotAKeyword=1")
    assert bad.returncode == 2 and "AET@HOST:PORT" in bad.stderr


def test_retrieve_to_local_server_and_ae(setup: tuple[Dcmqrscp, list[Study], Path, int], tmp_path: Path,
                                         server: RunningServer) -> None:
    archive, studies, config, _ = setup
    node = f"{ARCHIVE_AE}@127.0.0.1:{archive.port}"
    keep = tmp_path / "kept"
    local = lightbox("retrieve", "--config", str(config), "--node", node, "--study", studies[0].study_uid,
                     "--to", "local", "--keep", str(keep))
    assert local.returncode == 0, local.stderr
    assert "completed=4 failed=0" in local.stdout
    kept = sorted(keep.rglob("*.dcm"))
    assert len(kept) == 4 and {str(dcmread(p).StudyInstanceUID) for p in kept} == {studies[0].study_uid}
    second = list(studies[0].series)[1]
    to_server = lightbox("retrieve", "--config", str(config), "--node", node, "--study", studies[0].study_uid,
                         "--series", second, "--to", "server")
    assert to_server.returncode == 0 and "completed=2 failed=0" in to_server.stdout, to_server.stderr
    by_ae = lightbox("retrieve", "--config", str(config), "--node", node, "--study", studies[1].study_uid,
                     "--to", next(iter(server.storage)))
    assert by_ae.returncode == 0 and "completed=1" in by_ae.stdout, by_ae.stderr
    unknown = lightbox("retrieve", "--config", str(config), "--node", node, "--study", studies[1].study_uid,
                       "--to", "NOWHERE")
    assert unknown.returncode == 1 and "status=0x" in unknown.stdout and "lightbox retrieve:" in unknown.stderr
