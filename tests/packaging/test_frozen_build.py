"""Smoke tests of the PyInstaller one-folder build (packaging/lightbox.spec), run without our Python.

The folder is built once per source hash (tests/packaging/frozen.py; minutes on 2 cores the
first time, reused afterwards). Each test runs the built ``lightbox`` executable with the
virtual environment off PATH and no PYTHON* variables, user directories in ``tmp_path``:

- ``--version``;
- ``lightbox server``: its ready line, then DCMTK ``echoscu`` (C-ECHO, PS3.4 A.4) on its storage AE
  and a JPEG-compressed ``storescu`` that the catalogue lists over QIDO-RS (the index's Alembic
  migrations, SQLAlchemy's SQLite dialect, uvicorn and FastAPI are in the build);
- the GUI offscreen with ``--smoke-test``: the main window painted, exit code 0, the bundled server
  started by the frozen executable itself (``<exe> server``);
- ``lightbox render`` of compressed images, byte-identical to the unfrozen program's PNGs (JPEG
  12-bit has no decoder but pylibjpeg-libjpeg, found through its entry points);
- the demo studies made at build time in the bundle's ``demo/``: ``lightbox demo --server`` stores
  them from there into the frozen server, and ``install-desktop`` finds them installed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import __version__
from app.services.demo_files import read_demo_files
from tests.conftest import require_tool, write_server_config
from tests.packaging.frozen import ROOT, FrozenBuild, frozen_build, frozen_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

READY = "LIGHTBOX-READY "


@pytest.fixture(scope="module")
def build() -> FrozenBuild:
    built = frozen_build()
    print(f"\nfrozen build: {built.folder} ({'reused' if built.reused else 'built'}; "
          f"PyInstaller took {built.build_seconds:.0f} s)")
    return built


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def frozen_server(build: FrozenBuild, tmp_path: Path) -> Iterator[dict]:
    data = tmp_path / "server"
    config = write_server_config(tmp_path / "server.toml", data)
    proc = subprocess.Popen([str(build.executable), "server", "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=frozen_env(tmp_path), cwd=tmp_path)
    assert proc.stdout is not None
    info: dict = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(READY):
            info = json.loads(line[len(READY):])
            break
    if not info:
        proc.kill()
        pytest.fail(f"the frozen server did not report ready: {proc.communicate(timeout=30)[1][-3000:]}")
    yield info
    proc.terminate()
    assert proc.wait(60) == 0  # SIGTERM is a clean stop


def test_the_build_holds_the_qt_plugins_pixel_plugins_migrations_and_resources(build: FrozenBuild) -> None:
    internal = build.folder / "_internal"
    plugins = internal / "PySide6" / "Qt" / "plugins"
    for plugin in ("platforms/libqoffscreen.so", "platforms/libqxcb.so", "imageformats/libqjpeg.so"):
        assert (plugins / plugin).is_file(), plugin
    for dist in ("pylibjpeg_libjpeg", "pylibjpeg_openjpeg", "pylibjpeg_rle"):
        (info,) = internal.glob(f"{dist}-*.dist-info")
        assert "pylibjpeg.pixel_data_decoders" in (info / "entry_points.txt").read_text()
    versions = sorted(p.name for p in (internal / "app/server/index/migrations/versions").glob("*.py"))
    assert versions == sorted(p.name for p in (ROOT / "app/server/index/migrations/versions").glob("*.py"))
    assert (internal / "resources" / "lightbox.toml").is_file()
    assert (internal / "packaging" / "linux" / "lightbox.desktop").is_file()
    # the demo studies, made at build time (packaging/lightbox.spec) and read back like an installed folder
    studies = read_demo_files(internal / "demo")
    assert [(s.datasets[0].Modality, len(s.datasets)) for s in studies] == [("CT", 25), ("MR", 16), ("CR", 2)]


def test_version(build: FrozenBuild, tmp_path: Path) -> None:
    done = subprocess.run([str(build.executable), "--version"], capture_output=True, text=True,
                          env=frozen_env(tmp_path), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Lightbox {__version__}"


def test_frozen_server_answers_echoscu_and_stores_a_jpeg_image(frozen_server: dict, test_files: Path) -> None:
    echoscu, storescu = require_tool("echoscu"), require_tool("storescu")
    (storage,) = frozen_server["storage"]
    address = ["127.0.0.1", str(storage["port"])]
    echo = subprocess.run([echoscu, "-aec", storage["ae_title"], *address], capture_output=True, text=True,
                          timeout=60, check=False)
    assert echo.returncode == 0, echo.stderr
    image = test_files / "SC_rgb_jpeg_dcmtk.dcm"  # JPEG baseline (-xy proposes it): stored as received
    store = subprocess.run([storescu, "-aec", storage["ae_title"], "-xy", *address, str(image)],
                           capture_output=True, text=True, timeout=60, check=False)
    assert store.returncode == 0, store.stderr
    from pydicom import dcmread

    study = dcmread(image, stop_before_pixels=True).StudyInstanceUID
    found = httpx.get(f"{frozen_server['http_url']}/dicom-web/studies", params={"StudyInstanceUID": study},
                      timeout=30)
    assert found.status_code == 200 and len(found.json()) == 1


def test_gui_starts_offscreen_with_its_bundled_server_and_paints_its_main_window(
    build: FrozenBuild, tmp_path: Path
) -> None:
    # the bundled server's AEs and the temporary store on free ports (the defaults may be taken)
    config = write_server_config(tmp_path / "gui.toml", tmp_path / "home" / "server-data")
    config.write_text(config.read_text() + f"\n[workstation.temporary_store]\nport = {_free_port()}\n")
    done = subprocess.run([str(build.executable), "--smoke-test", "--config", str(config)], capture_output=True,
                          text=True, env=frozen_env(tmp_path / "home"), cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert any(line.startswith("LIGHTBOX-SHOWN ") for line in done.stdout.splitlines()), done.stdout
    assert "embedded server ready at http://127.0.0.1:" in done.stderr
    # the frozen executable served the server (no Python to run `-m app.server` with)
    assert f"{build.executable.name} server --data-dir" in done.stderr and "-m app.server" not in done.stderr
    assert (tmp_path / "home" / "server-data" / "index.sqlite").is_file()


@pytest.mark.parametrize("name", ["JPGExtended.dcm", "JPEG2000.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm"])
def test_render_of_compressed_images_matches_the_unfrozen_program(
    build: FrozenBuild, tmp_path: Path, test_files: Path, name: str
) -> None:
    frozen_png, source_png = tmp_path / "frozen.png", tmp_path / "source.png"
    done = subprocess.run([str(build.executable), "render", str(test_files / name), "-o", str(frozen_png)],
                          capture_output=True, text=True, env=frozen_env(tmp_path), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    subprocess.run([sys.executable, "-m", "app", "render", str(test_files / name), "-o", str(source_png)],
                   cwd=ROOT, check=True, timeout=120, capture_output=True)
    assert frozen_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert frozen_png.read_bytes() == source_png.read_bytes()


def test_frozen_demo_stores_the_bundled_demo_studies_into_the_frozen_server(
    build: FrozenBuild, frozen_server: dict, tmp_path: Path
) -> None:
    url = frozen_server["http_url"]
    done = subprocess.run([str(build.executable), "demo", "--server", url], capture_output=True, text=True,
                          env=frozen_env(tmp_path), timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    bundled = build.folder.resolve() / "_internal" / "demo"
    assert done.stdout.strip() == f"3 demo studies (43 objects, from {bundled}) stored into {url}"
    found = httpx.get(f"{url}/dicom-web/studies", timeout=30).json()
    assert sorted(item["00100020"]["Value"][0] for item in found) == ["DEMO-CR", "DEMO-CT", "DEMO-MR"]
    bundled_studies = {str(s.study_instance_uid) for s in read_demo_files(bundled)}
    assert not bundled_studies & {item["0020000D"]["Value"][0] for item in found}  # new UIDs at each load


def test_frozen_install_desktop_points_the_entry_at_the_frozen_executable(build: FrozenBuild, tmp_path: Path) -> None:
    done = subprocess.run([str(build.executable), "install-desktop"], capture_output=True, text=True,
                          env=frozen_env(tmp_path), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    bundled = build.folder.resolve() / "_internal" / "demo"
    assert f"demo studies already installed in {bundled}" in done.stdout.splitlines()
    entry = (tmp_path / "data" / "applications" / "lightbox.desktop").read_text(encoding="utf-8")
    assert f"Exec={build.executable.resolve()} %F" in entry.splitlines()
    assert (tmp_path / "data" / "icons" / "hicolor" / "256x256" / "apps" / "lightbox.png").is_file()
