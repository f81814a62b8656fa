"""The demo studies as files, made at install time into an installed data folder and loaded from there.

:mod:`app.services.demo_studies` makes the synthetic objects; this module writes them once, when
Lightbox is installed, and stores them into a server when the user asks (the first-run welcome,
``lightbox demo --server``). Nothing is ever downloaded.

Where the installed demo lives (:func:`installed_demo_dir`):

* the frozen build: ``demo/`` inside the bundle (``sys._MEIPASS``), written by
  ``packaging/lightbox.spec`` at build time;
* otherwise ``<sys.prefix>/share/lightbox/demo`` (the virtual environment), written by
  ``lightbox demo --install``, which ``packaging/dev.sh`` runs after installing and
  ``lightbox install-desktop`` runs when the folder is missing;
* ``$LIGHTBOX_DEMO_DIR`` overrides both (a distribution package's ``/usr/share/lightbox/demo``).

Layout: ``<PatientID>/<Modality><nnn>.dcm`` (fixed names: no UID or received string becomes a
path) and ``manifest.json`` written last, so a folder without it is an unfinished install.

The pixel content is deterministic (no random numbers); the dates are those of the install. Each
load gives every Study, Series, SOP Instance and Frame of Reference UID a new value, references
included (:func:`with_new_uids`), so the objects of one build shipped to many sites, or loaded
twice, never share a UID (PS3.5 9.1: a UID identifies one object). When the installed folder is
missing or incomplete the studies are made on the spot, and the log says so.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from app import __version__
from app.core.errors import AppError
from app.dicom.uids import UID_ROOT, generate_uid
from app.services.demo_studies import DemoStudy, demo_studies
from app.services.presentation_save import store
from app.services.studies import StudyService

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
DEMO_DIR_VARIABLE = "LIGHTBOX_DEMO_DIR"


@dataclass(frozen=True)
class DemoLoad:
    """What :func:`load_demo_studies` stored, and where it came from (None: made on the spot)."""

    studies: tuple[DemoStudy, ...]
    source: Path | None

    @property
    def objects(self) -> int:
        return sum(len(study.datasets) for study in self.studies)


def installed_demo_dir() -> Path:
    """The folder the demo studies are installed in (see the module's docstring)."""
    given = os.environ.get(DEMO_DIR_VARIABLE, "")
    if given:
        return Path(given)
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "demo"
    return Path(sys.prefix) / "share" / "lightbox" / "demo"


def write_demo_files(folder: Path, now: dt.datetime | None = None) -> list[Path]:
    """Make the demo studies (dated ``now``) and write them under ``folder`` with their manifest.

    Returns the DICOM files written (PS3.10 files, ``<PatientID>/<Modality><nnn>.dcm``).
    """
    written: list[Path] = []
    entries = []
    for study in demo_studies(now):
        target = folder / str(study.datasets[0].PatientID)
        target.mkdir(parents=True, exist_ok=True)
        names = []
        for number, ds in enumerate(study.datasets, start=1):
            path = target / f"{ds.Modality}{number:03d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            written.append(path)
            names.append(path.relative_to(folder).as_posix())
        entries.append({"description": study.description, "files": names})
    manifest = {"format": MANIFEST_FORMAT, "lightbox": __version__,
                "made": dt.datetime.now().isoformat(timespec="seconds"), "studies": entries}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return written


def install_demo_files(folder: Path | None = None, now: dt.datetime | None = None) -> Path:
    """Write the demo studies into ``folder`` (default :func:`installed_demo_dir`), replacing what
    was there only once the new set is complete; returns the folder.

    Raises
    ------
    OSError
        When the folder cannot be written (a read-only installation: install as its owner).
    """
    target = folder or installed_demo_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.parent / f".{target.name}.new-{os.getpid()}"
    stale = target.parent / f".{target.name}.old-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        write_demo_files(fresh, now)
        if target.exists():
            target.rename(stale)
        fresh.rename(target)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)
    logger.info("demo studies installed in %s", target)
    return target


def read_demo_files(folder: Path) -> list[DemoStudy]:
    """The demo studies of an installed folder, as written (their UIDs unchanged).

    Raises
    ------
    AppError
        When the folder, its manifest or one of its files is missing or unreadable (the message
        names it; ``lightbox demo --install`` writes the folder again).
    """
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != MANIFEST_FORMAT:
            raise AppError(f"{manifest_path} is of format {manifest.get('format')!r}, not {MANIFEST_FORMAT}")
        studies = []
        root = folder.resolve()
        for entry in manifest["studies"]:
            paths = [(folder / name).resolve() for name in entry["files"]]
            if any(not path.is_relative_to(root) for path in paths):
                raise AppError(f"{manifest_path} names a file outside {folder}")
            studies.append(DemoStudy(str(entry["description"]), tuple(dcmread(path) for path in paths)))
    except (OSError, ValueError, KeyError, TypeError, InvalidDicomError) as exc:
        raise AppError(f"The installed demo studies in {folder} are missing or incomplete ({exc}); run "
                       "`lightbox demo --install` to write them again.") from exc
    if not studies or any(not study.datasets for study in studies):
        raise AppError(f"{manifest_path} lists no demo objects; run `lightbox demo --install` to write them again.")
    return studies


def with_new_uids(studies: list[DemoStudy]) -> list[DemoStudy]:
    """Copies of ``studies`` in which every UID under Lightbox's root has a new value, the same new
    value wherever the old one appears (a presentation state's references follow its images)."""
    mapping: dict[str, str] = {}

    def renew(value: str) -> str:
        if not value.startswith(UID_ROOT):
            return value  # SOP classes and other registered UIDs stay
        return mapping.setdefault(value, str(generate_uid()))

    def visit(_ds: Dataset, element: DataElement) -> None:
        if element.VR != "UI" or element.value in (None, ""):
            return
        if isinstance(element.value, str):
            element.value = renew(element.value)
        else:
            element.value = [renew(str(v)) for v in element.value]

    renewed = []
    for study in studies:
        copies = []
        for ds in study.datasets:
            renewed_ds = copy.deepcopy(ds)
            renewed_ds.walk(visit)
            if getattr(renewed_ds, "file_meta", None) is not None:
                renewed_ds.file_meta.MediaStorageSOPInstanceUID = renewed_ds.SOPInstanceUID
            copies.append(renewed_ds)
        renewed.append(DemoStudy(study.description, tuple(copies)))
    return renewed


def demo_to_load(folder: Path | None = None) -> DemoLoad:
    """The installed demo studies of ``folder`` (default :func:`installed_demo_dir`) with new UIDs,
    or, when that folder is missing or incomplete, the studies made now (a warning in the log)."""
    source = folder or installed_demo_dir()
    try:
        studies = read_demo_files(source)
    except AppError as exc:
        logger.warning("%s Making the demo studies now instead.", exc)
        return DemoLoad(tuple(demo_studies()), None)
    logger.info("demo studies read from %s (%d objects)", source, sum(len(s.datasets) for s in studies))
    return DemoLoad(tuple(with_new_uids(studies)), source)


def load_demo_studies(studies: StudyService, folder: Path | None = None) -> DemoLoad:
    """Store the demo studies (:func:`demo_to_load`) into the server (STOW-RS, PS3.18 10.5).

    Raises
    ------
    AppError
        When the server refuses or cannot be reached (the message says which).
    """
    load = demo_to_load(folder)
    for study in load.studies:
        for ds in study.datasets:
            store(studies, ds)
    logger.info("%d demo studies stored (%d objects)", len(load.studies), load.objects)
    return load


def ensure_installed_demo(folder: Path | None = None) -> str:
    """Install the demo studies unless ``folder`` (default :func:`installed_demo_dir`) holds them;
    returns one line saying what was done (a read-only installation is reported, not an error)."""
    target = folder or installed_demo_dir()
    try:
        read_demo_files(target)
    except AppError:
        pass
    else:
        return f"demo studies already installed in {target}"
    try:
        install_demo_files(target)
    except OSError as exc:
        return f"demo studies not written to {target} ({exc}): the welcome makes them when asked"
    return f"demo studies written to {target}"
