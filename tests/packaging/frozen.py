"""The PyInstaller one-folder build of ``packaging/lightbox.spec``, cached by the hash of its inputs.

Used by tests/packaging/test_frozen_build.py and benchmarks/startup.py. The build lands in
``$LIGHTBOX_BUILD_CACHE`` (default ``~/.cache/lightbox-build``) under ``<hash>/dist/lightbox``,
where ``<hash>`` covers every file of ``app/``, ``resources/``, ``packaging/lightbox.spec``,
``packaging/lightbox_entry.py``, ``packaging/linux/`` and ``pyproject.toml`` plus the Python and
PyInstaller versions: a repeated run with unchanged sources reuses the folder; a changed source
builds afresh (older builds are removed). ``build-seconds.txt`` next to ``dist`` records how long
the build took.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "lightbox.spec"
INPUTS = ("app", "resources", "packaging/lightbox.spec", "packaging/lightbox_entry.py", "packaging/linux",
          "pyproject.toml")
BUILD_TIMEOUT_S = 1800


@dataclass(frozen=True)
class FrozenBuild:
    """A built one-folder application."""

    folder: Path  # dist/lightbox
    build_seconds: float  # how long PyInstaller took (when this folder was built)
    reused: bool  # True when the cache already held it

    @property
    def executable(self) -> Path:
        return self.folder / ("lightbox.exe" if sys.platform == "win32" else "lightbox")


def _input_files() -> list[Path]:
    files: list[Path] = []
    for name in INPUTS:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        else:
            files += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(files)


def source_hash() -> str:
    """SHA-256 over the build's inputs (paths and contents) and the tool versions; 16 hex digits."""
    import PyInstaller

    digest = hashlib.sha256(f"{sys.version}|{PyInstaller.__version__}".encode())
    for path in _input_files():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    return Path(os.environ.get("LIGHTBOX_BUILD_CACHE") or Path.home() / ".cache" / "lightbox-build")


def frozen_build() -> FrozenBuild:
    """The cached build for the current sources, built now (minutes) when there is none.

    ``$LIGHTBOX_FROZEN_DIR`` names an already built ``dist/lightbox`` folder to use instead (a CI
    step that built it with ``pyinstaller packaging/lightbox.spec``).
    """
    given = os.environ.get("LIGHTBOX_FROZEN_DIR")
    if given:
        seconds = Path(given).parent.parent / "build-seconds.txt"
        return FrozenBuild(Path(given), float(seconds.read_text()) if seconds.is_file() else 0.0, reused=True)
    root, key = cache_root(), source_hash()
    root.mkdir(parents=True, exist_ok=True)
    # One build at a time (parallel test workers, a benchmark): the others wait, then reuse it.
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_or_reuse(root, key)


def _build_or_reuse(root: Path, key: str) -> FrozenBuild:
    done = root / key
    folder = done / "dist" / "lightbox"
    if (done / "build-seconds.txt").is_file() and folder.is_dir():
        return FrozenBuild(folder, float((done / "build-seconds.txt").read_text()), reused=True)
    work = root / f"{key}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(work / "dist"), "--workpath", str(work / "work"), str(SPEC)],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-40:])
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError(f"PyInstaller failed ({result.returncode}) after {seconds:.0f} s:\n{tail}")
    shutil.rmtree(work / "work", ignore_errors=True)
    (work / "build-seconds.txt").write_text(f"{seconds:.1f}\n")
    for old in root.iterdir():  # one build is enough: drop those of older sources
        if old != work and old.name != ".lock" and not old.name.startswith(f"{key}.building-"):
            shutil.rmtree(old, ignore_errors=True)
    try:
        work.rename(done)
    except OSError:  # another run finished the same build first
        shutil.rmtree(work, ignore_errors=True)
    return FrozenBuild(done / "dist" / "lightbox", seconds, reused=False)


def frozen_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment for the frozen program: no Python of ours on any path, user dirs under ``home``,
    its own installed demo folder (no ``$LIGHTBOX_DEMO_DIR``)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV")) and k != "LIGHTBOX_DEMO_DIR"}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), QT_QPA_PLATFORM="offscreen", **extra)
    return env
