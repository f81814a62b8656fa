"""File-set Creator (FSC): a multi-patient file-set with its DICOMDIR, on pydicom's ``FileSet``.

Instances are added one by one (:meth:`FileSetWriter.add`: made ready for media by
:mod:`app.media.media_dataset`, then staged by ``FileSet.add_custom`` with the records of
:mod:`app.media.records`); :meth:`FileSetWriter.write` writes the folder tree with 8-character
file IDs (``PT000000/ST000000/SE000000/IM000000``, PS3.10 8.5, PS3.12 for CD/DVD) and the
DICOMDIR (PS3.3 F.2). An instance that cannot go on a disc is refused with its reason and
the others are written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.fileset import FileSet

from app.core.errors import AppError, DicomInputError, StorageError
from app.dicom.uids import generate_uid
from app.media.media_dataset import Preparation, apply_catalogue, fill_required, media_file_meta, to_explicit_little
from app.media.records import record_chain, record_type

log = logging.getLogger(__name__)

#: File-set ID of our discs (CS, at most 16 characters, PS3.3 F.3.2.1).
DEFAULT_FILE_SET_ID = "LIGHTBOX"


@dataclass(frozen=True)
class Refused:
    """An instance left off the disc, and why."""

    sop_instance_uid: str
    reason: str


@dataclass(frozen=True)
class WrittenFileSet:
    """The folder written: its DICOMDIR and the File ID of every instance."""

    root: Path
    dicomdir: Path
    file_ids: dict[str, str]  # SOP Instance UID -> "PT000000/ST000000/SE000000/IM000000"
    refused: tuple[Refused, ...] = ()
    prepared: dict[str, Preparation] = field(default_factory=dict)


def check_output_folder(out_dir: Path) -> None:
    """The output folder must be new or empty (a file-set is written whole, never merged)."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise StorageError(f"{out_dir} is not an empty folder; choose a new or empty folder for the file-set.")


class FileSetWriter:
    """Collects instances of one or several patients and writes them as one file-set."""

    def __init__(self, file_set_id: str = DEFAULT_FILE_SET_ID) -> None:
        self.fs = FileSet()
        self.fs.ID = file_set_id[:16]
        self.fs.UID = generate_uid()
        self.refused: list[Refused] = []
        self.prepared: dict[str, Preparation] = {}
        self._studies: dict[str, int] = {}
        self._series: dict[str, int] = {}
        self._instances: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.prepared)

    def _ordinals(self, ds: Dataset) -> dict[str, int]:
        study = str(ds.get("StudyInstanceUID", ""))
        series = str(ds.get("SeriesInstanceUID", ""))
        self._studies.setdefault(study, len(self._studies) + 1)
        self._series.setdefault(series, len(self._series) + 1)
        self._instances[series] = self._instances.get(series, 0) + 1
        return {"study": self._studies[study], "series": self._series[series], "instance": self._instances[series]}

    def add(self, ds: Dataset, catalogue: Mapping[str, str] | None = None) -> bool:
        """Make ``ds`` ready for media (in place) and stage it; False (and a :class:`Refused`) when it cannot go.

        Parameters
        ----------
        catalogue
            The server catalogue's values of the instance's patient, study and series (DICOM keywords);
            where one differs from the file's, the file is updated.
        """
        uid = str(ds.get("SOPInstanceUID", "")) or "?"
        try:
            if uid in self.prepared:
                return True
            for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
                if not str(ds.get(keyword, "")).strip():
                    raise DicomInputError(f"it has no {keyword}")
            kind = record_type(ds)
            source = to_explicit_little(ds)
            changed = apply_catalogue(ds, catalogue or {})
            invented = fill_required(ds, self._ordinals(ds), kind)
            ds.file_meta = media_file_meta(ds)
            self.fs.add_custom(ds, record_chain(ds))
        except (AppError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.info("instance %s not written to media: %s", uid, exc)
            self.refused.append(Refused(uid, str(exc)))
            return False
        self.prepared[uid] = Preparation(changed, invented, source)
        return True

    def write(self, out_dir: Path) -> WrittenFileSet:
        """Write the file-set into ``out_dir`` (new or empty) and return what was written.

        Raises
        ------
        StorageError
            When the folder is not empty, nothing was added, or the disk refuses the write.
        """
        out_dir = Path(out_dir)
        check_output_folder(out_dir)
        if not self.prepared:
            raise StorageError("No instance could be written to the file-set; see the refused instances.")
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.fs.write(os.fspath(out_dir.resolve()))
        except OSError as exc:
            raise StorageError(f"Writing the file-set to {out_dir} failed ({exc}); check the free space.") from exc
        file_ids = {str(i.SOPInstanceUID): "/".join(Path(i.path).relative_to(out_dir.resolve()).parts) for i in self.fs}
        return WrittenFileSet(out_dir, out_dir / "DICOMDIR", file_ids, tuple(self.refused), dict(self.prepared))

    def close(self) -> None:
        """Drop the staged copies (pydicom's ``FileSet`` stages added instances in a temporary folder that
        goes with it)."""
        self.fs = FileSet()
