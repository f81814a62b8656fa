"""``lightbox install-desktop``: the desktop entry, icons and MIME types installed under XDG dirs, and removed;
the demo studies written into the installed demo folder when it lacks them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.services.demo_files import MANIFEST, installed_demo_dir
from app.services.desktop_install import DesktopFiles, desktop_entry_text, exec_argument
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "xdg-data"))
    return subprocess.run([sys.executable, "-m", "app", "install-desktop", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)


def test_install_desktop_installs_a_valid_entry_icons_and_mime_types_then_uninstalls(tmp_path: Path) -> None:
    validate = require_tool("desktop-file-validate")
    require_tool("update-mime-database")
    require_tool("update-desktop-database")
    files = DesktopFiles(tmp_path / "xdg-data")

    done = _run([], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ran update-mime-database" in done.stdout and "ran update-desktop-database" in done.stdout
    # the demo studies, installed when missing (here $LIGHTBOX_DEMO_DIR: tests/user_dirs.py)
    demo = installed_demo_dir()
    assert f"demo studies written to {demo}" in done.stdout.splitlines()
    assert (demo / MANIFEST).is_file() and len(list(demo.rglob("*.dcm"))) == 43

    entry = files.desktop_entry.read_text(encoding="utf-8")
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    command = exec_line.removeprefix("Exec=").removesuffix(" %F")
    assert exec_line.endswith(" %F")
    assert Path(command.split()[0]).is_file()  # the launcher of this environment, not a bare name
    assert "MimeType=application/dicom;application/x-lightbox-dicomdir;" in entry
    checked = subprocess.run([validate, str(files.desktop_entry)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr

    for size in (16, 48, 256):
        assert files.icon(size).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in files.icon(None).read_bytes()

    # update-mime-database compiled our globs: .dcm is DICOM, a file set's DICOMDIR has its own type
    globs = (files.data_home / "mime" / "globs2").read_text(encoding="utf-8")
    assert ":application/x-lightbox-dicomdir:DICOMDIR" in globs
    assert ":application/dicom:*.dcm" in globs
    # update-desktop-database mapped the types to our entry
    cache = (files.desktop_entry.parent / "mimeinfo.cache").read_text(encoding="utf-8")
    assert "application/dicom=lightbox.desktop;" in cache
    assert "application/x-lightbox-dicomdir=lightbox.desktop;" in cache

    again = _run([], tmp_path)  # a second install leaves the installed demo studies as they are
    assert f"demo studies already installed in {demo}" in again.stdout.splitlines(), again.stderr

    gone = _run(["--uninstall"], tmp_path)
    assert gone.returncode == 0, gone.stderr
    assert not any(p.exists() for p in files.all())
    assert "x-lightbox-dicomdir" not in (files.data_home / "mime" / "globs2").read_text(encoding="utf-8")


def test_exec_arguments_are_quoted_as_the_desktop_entry_specification_says() -> None:
    assert exec_argument("/opt/lightbox/lightbox") == "/opt/lightbox/lightbox"
    assert exec_argument("/home/a b/lightbox") == '"/home/a b/lightbox"'
    assert exec_argument('/x/$HOME"q`') == '"/x/\\$HOME\\"q\\`"'
    assert exec_argument("/x/100%") == "/x/100%%"
    text = desktop_entry_text("[Desktop Entry]\nExec=lightbox %F\nTryExec=lightbox\n", ["/a b/python", "-m", "app"])
    assert 'Exec="/a b/python" -m app %F' in text
    assert "TryExec=/a b/python" in text
