"""Hermetic user folders for every test (autouse fixtures, imported by tests/conftest.py).

``HOME`` and the XDG base directories (``XDG_CONFIG_HOME``, ``XDG_DATA_HOME``, ``XDG_STATE_HOME``,
``XDG_CACHE_HOME``; platformdirs reads them at each call) point into a temporary folder, for the
test process and every process a test starts (they inherit ``os.environ``): the first-run marker,
the settings TOML, ``lightbox.log`` / ``server.log`` and the temporary store never reach the real
user's folders. Two layers: one set for the whole session (fixtures of session and module scope
run under it: module servers, the ``QApplication``), and a fresh set for each test.

Kept real: the PyInstaller build cache (``$LIGHTBOX_BUILD_CACHE``, set to the real
``~/.cache/lightbox-build`` of tests/packaging/frozen.py before ``HOME`` moves), so the frozen
build is reused across runs. ``$LIGHTBOX_DEMO_DIR`` names a folder that does not exist, so no test
loads the demo studies installed in the virtual environment by chance (tests of the installed demo
write their own folder there).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.frozen import cache_root

BUILD_CACHE_VARIABLE = "LIGHTBOX_BUILD_CACHE"


def user_dirs_env(root: Path) -> dict[str, str]:
    """The variables that put a user's folders under ``root`` (the XDG defaults' layout under HOME)."""
    from app.services.demo_files import DEMO_DIR_VARIABLE  # here: conftest imports this module early

    home = root / "home"
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        DEMO_DIR_VARIABLE: str(root / "demo-not-installed"),
    }


def _move_user_dirs(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    for name, value in user_dirs_env(root).items():
        monkeypatch.setenv(name, value)
    Path(user_dirs_env(root)["HOME"]).mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session", autouse=True)
def session_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """User folders of the whole session (see the module's docstring); the build cache stays real."""
    real_cache = cache_root()
    root = tmp_path_factory.mktemp("session-user")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(BUILD_CACHE_VARIABLE, str(real_cache))
        _move_user_dirs(monkeypatch, root)
        yield root


@pytest.fixture(autouse=True)
def user_dirs(session_user_dirs: Path, tmp_path_factory: pytest.TempPathFactory,
              monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fresh user folders for one test (``HOME`` under the returned root)."""
    root = tmp_path_factory.mktemp("user")
    _move_user_dirs(monkeypatch, root)
    return root
