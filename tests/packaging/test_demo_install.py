"""The demo studies made at install time (:mod:`app.services.demo_files`): ``lightbox demo --install``
(run by packaging/dev.sh after installing, and by ``lightbox install-desktop``) writes them into
``<sys.prefix>/share/lightbox/demo`` of the environment it runs in; every file passes dciodvfy; a
second install has the same content with new UIDs; without an installed folder they are made on
the spot and the log says so. (The frozen build's copy: tests/packaging/test_frozen_build.py.)"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from app.services.demo_files import DEMO_DIR_VARIABLE, MANIFEST, demo_to_load, read_demo_files, with_new_uids
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]


def _install_in_new_prefix(prefix: Path) -> subprocess.CompletedProcess[str]:
    """``lightbox demo --install`` run by the Python of a new virtual environment at ``prefix``
    (our sources and packages on PYTHONPATH), as packaging/dev.sh runs it in .venv."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k != DEMO_DIR_VARIABLE}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]])
    return subprocess.run([str(prefix / "bin" / "python"), "-m", "app", "demo", "--install"], capture_output=True,
                          text=True, env=env, cwd=prefix, timeout=300, check=False)


def _drawn(ds: Dataset) -> list[tuple[str, ...]]:
    """The graphics and texts of a presentation state (PS3.3 C.10.5), without their references."""
    out: list[tuple[str, ...]] = []
    for annotation in ds.get("GraphicAnnotationSequence", []):
        out += [(g.GraphicType, str(list(g.GraphicData))) for g in annotation.get("GraphicObjectSequence", [])]
        out += [(t.UnformattedTextValue,) for t in annotation.get("TextObjectSequence", [])]
    return out


def test_install_writes_valid_demo_files_into_the_prefix_share_folder_unique_per_install(tmp_path: Path) -> None:
    dciodvfy = require_tool("dciodvfy")
    prefix = tmp_path / "env"
    done = _install_in_new_prefix(prefix)
    assert done.returncode == 0, done.stderr
    folder = prefix / "share" / "lightbox" / "demo"
    assert done.stdout.strip() == f"demo studies installed in {folder}"
    assert (folder / MANIFEST).is_file() and not list(folder.parent.glob(".demo.*"))  # no half-written set left
    files = sorted(folder.rglob("*.dcm"))
    assert len(files) == 43
    for path in files:
        out = subprocess.run([dciodvfy, str(path)], capture_output=True, text=True, timeout=60, check=False)
        errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]
        assert not errors, (path.relative_to(folder), errors)

    ct, mr, cr = read_demo_files(folder)
    assert [len(s.datasets) for s in (ct, mr, cr)] == [25, 16, 2]
    cr_image, cr_state = cr.datasets
    assert cr_image[0x60003000].VM and cr_state[0x60001001].value == "OVERLAYS"  # overlay shown through the state
    assert "OVERLAYS" in [item.GraphicLayer for item in cr_state.GraphicLayerSequence]
    referenced = ct.datasets[-1].ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert referenced in {ds.SOPInstanceUID for ds in ct.datasets[:24]}

    # a second install (another site): the same pixels, other UIDs
    again = _install_in_new_prefix(tmp_path / "other")
    assert again.returncode == 0, again.stderr
    other = tmp_path / "other" / "share" / "lightbox" / "demo"
    pixels = drawn = 0
    for path in files:
        first, second = dcmread(path), dcmread(other / path.relative_to(folder))
        assert first.get("PixelData") == second.get("PixelData")
        assert _drawn(first) == _drawn(second)
        assert first.SOPInstanceUID != second.SOPInstanceUID and first.StudyInstanceUID != second.StudyInstanceUID
        pixels += "PixelData" in first
        drawn += bool(_drawn(first))
    assert pixels == 41 and drawn == 2


def test_each_load_renews_the_uids_and_keeps_references_and_registered_uids(tmp_path: Path) -> None:
    from app.services.demo_files import install_demo_files

    folder = install_demo_files(tmp_path / "demo")
    installed = read_demo_files(folder)
    loaded = with_new_uids(installed)
    for before, after in zip(installed, loaded, strict=True):
        for old, new in zip(before.datasets, after.datasets, strict=True):
            assert new.SOPInstanceUID != old.SOPInstanceUID and new.SOPClassUID == old.SOPClassUID
            assert new.file_meta.MediaStorageSOPInstanceUID == new.SOPInstanceUID
            assert new.file_meta.ImplementationClassUID == old.file_meta.ImplementationClassUID
        assert len({ds.StudyInstanceUID for ds in after.datasets}) == 1
    ct = loaded[0].datasets
    assert len({ds.SeriesInstanceUID for ds in ct[:24]}) == 1 and len({ds.FrameOfReferenceUID for ds in ct[:24]}) == 1
    referenced = ct[-1].ReferencedSeriesSequence[0]
    assert referenced.SeriesInstanceUID == ct[0].SeriesInstanceUID
    assert referenced.ReferencedImageSequence[0].ReferencedSOPInstanceUID in {ds.SOPInstanceUID for ds in ct[:24]}
    assert installed[0].datasets[0].SOPInstanceUID == dcmread(folder / "DEMO-CT" / "CT001.dcm").SOPInstanceUID


def test_without_an_installed_folder_the_demo_is_made_now_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.services.demo_files")
    missing = tmp_path / "nowhere"
    load = demo_to_load(missing)
    assert load.source is None and load.objects == 43
    assert [s.datasets[0].Modality for s in load.studies] == ["CT", "MR", "CR"]
    assert f"The installed demo studies in {missing} are missing" in caplog.text
    assert "lightbox demo --install" in caplog.text and "Making the demo studies now instead." in caplog.text
