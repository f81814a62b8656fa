"""Media export (File-set Creator): studies of the server to a folder, an ISO image or a disc.

The instances come by WADO-RS, series by series, and are staged one by one (memory stays
small); the DICOMDIR's patient, study and series values come from the server's catalogue
(QIDO-RS), and where the catalogue differs from a file, the file is updated to match
(:func:`app.media.media_dataset.apply_catalogue`). Then, in order: the folder is written
(only at the end, so a cancel leaves nothing behind), the optional README and HTML index,
the re-read check (:mod:`app.media.verify`), the ISO image, and the burn.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import AppError
from app.media.burner import Burner, burn, detect_burner
from app.media.dicomdir_reader import read_dicomdir
from app.media.disc_extras import write_index, write_readme
from app.media.file_set_writer import FileSetWriter, Refused
from app.media.iso_image import write_iso
from app.media.media_dataset import CATALOGUE_KEYWORDS
from app.media.tree import Problem
from app.media.verify import Verification, verify_file_set, verify_iso
from app.services.cancel import CancelToken, Progress
from app.services.studies import StudyService

log = logging.getLogger(__name__)

_SERIES_KEYWORDS = ("Modality", "SeriesNumber", "SeriesDescription")
_STUDY_KEYWORDS = tuple(k for k in CATALOGUE_KEYWORDS if k not in _SERIES_KEYWORDS)


@dataclass(frozen=True)
class ExportOptions:
    """Where the file-set goes and what goes with it."""

    out_dir: Path
    iso_path: Path | None = None
    burn: bool = False
    device: str | None = None  # the burner drive (default: the first found)
    readme: bool = False
    html_index: bool = False
    volume: str = "LIGHTBOX"


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote, what it left out and why, and what the re-read check found."""

    out_dir: Path
    written: int
    patients: int
    refused: tuple[Refused, ...] = ()
    updated: dict[str, tuple[str, ...]] = field(default_factory=dict)  # SOP UID -> keywords set from the catalogue
    missing_studies: tuple[str, ...] = ()
    verification: Verification | None = None
    iso_path: Path | None = None
    iso_problems: tuple[Problem, ...] = ()
    burned_on: str = ""

    @property
    def ok(self) -> bool:
        checked = self.verification is not None and self.verification.ok
        return checked and not self.refused and not self.missing_studies and not self.iso_problems

    def summary(self) -> str:
        lines = [f"Wrote {self.written} object(s) of {self.patients} patient(s) to {self.out_dir}."]
        if self.updated:
            lines.append(f"{len(self.updated)} file(s) updated to match the server's catalogue.")
        for uid in self.missing_studies:
            lines.append(f"Study {uid} is not on the server; left out.")
        for refused in self.refused:
            lines.append(f"Left out {refused.sop_instance_uid}: {refused.reason}")
        if self.verification is not None:
            if self.verification.ok:
                lines.append(f"Check: all {self.verification.checked} object(s) read back.")
            else:
                lines.append("Check FAILED:")
                lines += [f"  {p.where}: {p.reason}" for p in self.verification.problems]
        if self.iso_path is not None:
            lines.append(f"ISO image: {self.iso_path}" + (" (differs from the folder!)" if self.iso_problems else ""))
        if self.burned_on:
            lines.append(f"Burnt on {self.burned_on}.")
        return "\n".join(lines)


@dataclass(frozen=True)
class CatalogueStudy:
    """The server catalogue's values of one study (QIDO-RS study and series level)."""

    values: dict[str, str]
    series: dict[str, dict[str, str]]  # Series Instance UID -> values
    instances: int


def catalogue_values(studies: StudyService, study_uid: str) -> CatalogueStudy | None:
    """The catalogue's patient/study values of a study and its series' values, or None when it is not there."""
    fields = ",".join((*_STUDY_KEYWORDS, "NumberOfStudyRelatedInstances"))
    found = studies.client.search_studies(StudyInstanceUID=study_uid, includefield=fields)
    if not found:
        return None
    series: dict[str, dict[str, str]] = {}
    for item in studies.client.search_series(study_uid, includefield=",".join(_SERIES_KEYWORDS)):
        series[item.text("SeriesInstanceUID")] = {k: item.text(k) for k in _SERIES_KEYWORDS}
    study = found[0]
    return CatalogueStudy({k: study.text(k) for k in _STUDY_KEYWORDS}, series,
                          study.integer("NumberOfStudyRelatedInstances"))  # fmt: skip


def export_studies(
    studies: StudyService,
    study_uids: Sequence[str],
    options: ExportOptions,
    cancel: CancelToken | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Export ``study_uids`` (of one or several patients) as one file-set.

    Raises
    ------
    StorageError
        When the output folder is not empty or cannot be written.
    BurnerError
        When burning is asked for and no burning program or drive is there (checked first).
    CancelledError
        When cancelled before the folder is written (nothing is left behind).
    """
    out_dir = Path(options.out_dir)
    writer = FileSetWriter(out_dir)  # refuses a folder that is not empty, before anything is fetched
    burner: Burner | None = detect_burner(device=options.device) if options.burn else None
    catalogue: dict[str, CatalogueStudy] = {}
    missing: list[str] = []
    for uid in dict.fromkeys(study_uids):
        found = catalogue_values(studies, uid)
        if found is None:
            missing.append(uid)
        else:
            catalogue[uid] = found
    total = sum(c.instances for c in catalogue.values())
    done = 0
    try:
        for uid, entry in catalogue.items():
            for series_uid, series_value in entry.series.items():
                for part in studies.client.retrieve_series(uid, series_uid):
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    done += 1
                    writer.add_bytes(part, {**entry.values, **series_value})
                    if progress is not None:
                        progress(done, max(total, done))
        written = writer.write()
    except BaseException:
        writer.abort()  # a cancel or a failure leaves the folder as it was
        raise
    if options.readme or options.html_index:
        tree = read_dicomdir(written.dicomdir)
        if options.readme:
            write_readme(tree, out_dir)
        if options.html_index:
            write_index(tree, out_dir)
    verification = verify_file_set(out_dir, written.file_ids, written.checksums)
    iso_path = options.iso_path
    if burner is not None and iso_path is None:
        iso_path = Path(tempfile.mkdtemp(prefix="lightbox-burn-")) / "disc.iso"
    iso_problems: tuple[Problem, ...] = ()
    if iso_path is not None:
        write_iso(out_dir, iso_path, options.volume)
        iso_problems = verify_iso(iso_path, out_dir)
    burned_on = ""
    if burner is not None and iso_path is not None:
        if not verification.ok or iso_problems:
            raise AppError(f"The file-set in {out_dir} did not pass its check, so it was not burnt: "
                           + "; ".join(f"{p.where}: {p.reason}" for p in (*verification.problems, *iso_problems)))
        burn(burner, iso_path, should_stop=(lambda: cancel.cancelled) if cancel is not None else None)
        burned_on = f"{burner.device} ({burner.tool})"
    updated = {uid: p.changed for uid, p in written.prepared.items() if p.changed}
    patients = len(verification.tree.patients) if verification.tree is not None else 0
    return ExportReport(out_dir, len(written.file_ids), patients, written.refused, updated, tuple(missing),
                        verification, options.iso_path, iso_problems, burned_on)  # fmt: skip
