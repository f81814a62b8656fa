"""``lightbox install-desktop [--uninstall]``: the Linux desktop entry, icon and MIME types for this user.

Installs, under the XDG data directory (``$XDG_DATA_HOME``, default ``~/.local/share``; XDG Base
Directory Specification):

- ``applications/lightbox.desktop`` (Desktop Entry Specification 1.0), its ``Exec`` pointing at
  the running Lightbox (the frozen executable, or the ``lightbox`` script of this environment),
  with ``%F`` so that files opened from the file manager reach ``lightbox FILE...``;
- ``icons/hicolor/<N>x<N>/apps/lightbox.png`` and ``icons/hicolor/scalable/apps/lightbox.svg``
  (Icon Theme Specification);
- ``mime/packages/lightbox.xml`` (shared-mime-info): ``application/dicom`` (``*.dcm``, ``DICM`` at
  byte 128, PS3.10 7.1) and ``application/x-lightbox-dicomdir`` (a file set's DICOMDIR, PS3.10 8.6);

then runs ``update-mime-database`` and ``update-desktop-database`` when they are installed (their
absence is reported, not an error: desktops rescan on login), and writes the demo studies into the
installed data folder when they are not there yet (:func:`app.services.demo_files.ensure_installed_demo`).
``--uninstall`` removes the desktop files (the demo studies belong to the installation and stay).
The templates are ``packaging/linux/lightbox.desktop`` and ``lightbox-mime.xml``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import AppError
from app.core.paths import resources_dir
from app.services.demo_files import ensure_installed_demo

APP_ID = "lightbox"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


@dataclass(frozen=True)
class DesktopFiles:
    """Where the desktop integration files go under one XDG data directory."""

    data_home: Path

    @property
    def desktop_entry(self) -> Path:
        return self.data_home / "applications" / f"{APP_ID}.desktop"

    @property
    def mime_package(self) -> Path:
        return self.data_home / "mime" / "packages" / f"{APP_ID}.xml"

    def icon(self, size: int | None) -> Path:
        """The PNG icon of ``size`` pixels, or the scalable SVG for ``None``."""
        if size is None:
            return self.data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
        return self.data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"

    def all(self) -> list[Path]:
        return [self.desktop_entry, self.mime_package, self.icon(None), *(self.icon(s) for s in ICON_SIZES)]


def xdg_data_home() -> Path:
    """``$XDG_DATA_HOME`` when set to an absolute path, else ``~/.local/share`` (XDG Base Directory)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".local" / "share"


def templates_dir() -> Path:
    """``packaging/linux`` of the source tree or of the frozen build (next to ``resources/``)."""
    return resources_dir().parent / "packaging" / "linux"


def launcher() -> list[str]:
    """The command that starts this Lightbox: the frozen executable, this environment's script, or ``-m app``."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.executable).parent / "lightbox"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "app"]


def exec_argument(arg: str) -> str:
    """Quote one argument of a desktop entry's ``Exec`` key (Desktop Entry Specification, "The Exec key")."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if arg and not reserved.intersection(arg):
        return arg.replace("%", "%%")
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return '"' + escaped.replace("%", "%%") + '"'


def desktop_entry_text(template: str, command: list[str]) -> str:
    """The desktop entry ``template`` with ``Exec`` and ``TryExec`` pointing at ``command``."""
    exec_line = " ".join(exec_argument(a) for a in command)
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_line} %F"
        elif line.startswith("TryExec="):
            line = f"TryExec={command[0]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _refresh(tool: str, folder: Path, report: list[str]) -> None:
    path = shutil.which(tool)
    if path is None:
        report.append(f"{tool} not found: the desktop picks the change up at the next login")
        return
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([path, str(folder)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AppError(f"{tool} {folder} failed ({done.returncode}): {done.stderr.strip()}")
    report.append(f"ran {tool} {folder}")


def install(files: DesktopFiles, command: list[str]) -> list[str]:
    """Install the entry, icons and MIME types for ``command``; return what was done, line by line."""
    templates, icons = templates_dir(), resources_dir() / "icons"
    sources = [templates / "lightbox.desktop", templates / "lightbox-mime.xml", icons / "lightbox.svg"]
    sources += [icons / f"lightbox-{s}.png" for s in ICON_SIZES]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise AppError(f"This Lightbox lacks its desktop files ({', '.join(missing)}): reinstall it.")
    report: list[str] = []
    files.desktop_entry.parent.mkdir(parents=True, exist_ok=True)
    entry = desktop_entry_text(sources[0].read_text(encoding="utf-8"), command)
    files.desktop_entry.write_text(entry, encoding="utf-8")
    files.mime_package.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sources[1], files.mime_package)
    files.icon(None).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sources[2], files.icon(None))
    for size in ICON_SIZES:
        files.icon(size).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(icons / f"lightbox-{size}.png", files.icon(size))
    report.append(f"installed {files.desktop_entry} (Exec: {' '.join(command)})")
    _refresh("update-mime-database", files.data_home / "mime", report)
    _refresh("update-desktop-database", files.desktop_entry.parent, report)
    return report


def uninstall(files: DesktopFiles) -> list[str]:
    """Remove what :func:`install` put there; return what was done."""
    removed = [p for p in files.all() if p.is_file()]
    for path in removed:
        path.unlink()
    report = [f"removed {len(removed)} file(s) under {files.data_home}"]
    _refresh("update-mime-database", files.data_home / "mime", report)
    _refresh("update-desktop-database", files.desktop_entry.parent, report)
    return report


def main(argv: list[str]) -> int:
    """Run ``lightbox install-desktop``; 0 on success, 1 with the reason on stderr."""
    parser = argparse.ArgumentParser(
        prog="lightbox install-desktop",
        description="Add Lightbox to this user's application menu (Linux) with its icon, and make it open "
        "DICOM files (.dcm) and DICOMDIR file sets. Files go under $XDG_DATA_HOME (~/.local/share).",
    )
    parser.add_argument("--uninstall", action="store_true", help="remove the menu entry, icons and MIME types")
    args = parser.parse_args(argv)
    files = DesktopFiles(xdg_data_home())
    try:
        report = uninstall(files) if args.uninstall else [*install(files, launcher()), ensure_installed_demo()]
    except (AppError, OSError) as exc:
        print(f"lightbox install-desktop: {exc}", file=sys.stderr)
        return 1
    for line in report:
        print(line)
    return 0
