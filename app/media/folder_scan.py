"""A file-set's tree from the files themselves, for discs without a usable DICOMDIR.

Every regular file under the root is tried as a DICOM file (PS3.10 7.1: preamble, ``DICM``,
File Meta Information); only the header is read. Symbolic links are followed only when they
stay inside the root, folders reached through links are not walked (no loops, no escape).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from app.media.paths import is_inside
from app.media.tree import MediaInstance, MediaTree, Problem, Row, build_tree

#: The header elements the tree needs (read with ``specific_tags``; file meta is always read).
HEADER_KEYWORDS = (
    "SpecificCharacterSet", "PatientID", "PatientName", "PatientBirthDate", "PatientSex",
    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyDescription", "AccessionNumber", "StudyID",
    "SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription", "SeriesDate",
    "SOPInstanceUID", "SOPClassUID", "InstanceNumber",
)  # fmt: skip

PATIENT_KEYS = {"PatientID": "patient_id", "PatientName": "patient_name",
                "PatientBirthDate": "patient_birth_date", "PatientSex": "patient_sex"}  # fmt: skip
STUDY_KEYS = {"StudyInstanceUID": "study_instance_uid", "StudyDate": "study_date", "StudyTime": "study_time",
              "StudyDescription": "study_description", "AccessionNumber": "accession_number",
              "StudyID": "study_id"}  # fmt: skip
SERIES_KEYS = {"SeriesInstanceUID": "series_instance_uid", "Modality": "modality", "SeriesNumber": "series_number",
               "SeriesDescription": "series_description", "SeriesDate": "series_date"}  # fmt: skip


def text_of(ds: Dataset, keyword: str) -> str:
    """An element's value as text ('' when absent or empty; multiple values joined with ``\\``)."""
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def values_of(ds: Dataset, keys: dict[str, str]) -> dict[str, str]:
    return {name: text_of(ds, keyword) for keyword, name in keys.items()}


def header_row(root: Path, path: Path) -> Row:
    """The tree row of one file, from its header.

    Raises
    ------
    InvalidDicomError, OSError, ValueError
        When the file is not a readable DICOM Part 10 file.
    """
    ds = dcmread(path, stop_before_pixels=True, specific_tags=list(HEADER_KEYWORDS))
    sop_uid = text_of(ds, "SOPInstanceUID") or str(ds.file_meta.get("MediaStorageSOPInstanceUID", ""))
    if not sop_uid:
        raise ValueError("no SOP Instance UID")
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        relative = path.name
    instance = MediaInstance(
        path=path.resolve(),
        file_id=relative,
        sop_instance_uid=sop_uid,
        sop_class_uid=text_of(ds, "SOPClassUID") or str(ds.file_meta.get("MediaStorageSOPClassUID", "")),
        transfer_syntax_uid=str(ds.file_meta.get("TransferSyntaxUID", "")),
        instance_number=text_of(ds, "InstanceNumber"),
    )
    return Row(values_of(ds, PATIENT_KEYS), values_of(ds, STUDY_KEYS), values_of(ds, SERIES_KEYS), instance)


def scan_rows(
    root: Path, should_stop: Callable[[], bool] | None = None, skip: set[Path] | None = None
) -> tuple[list[Row], list[Problem]]:
    """The rows of every DICOM file under ``root`` (``skip``: resolved paths already known), and the problems."""
    found: list[Problem] = []
    rows: list[Row] = []
    not_dicom = 0
    for dirpath, _dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(filenames):
            if should_stop is not None and should_stop():
                found.append(Problem(".", "the scan was stopped before the end; the tree is incomplete"))
                return rows, found
            path = Path(dirpath, name)
            relative = path.relative_to(root).as_posix()
            if name.upper() == "DICOMDIR":
                continue
            if path.is_symlink() and not is_inside(root, path):
                found.append(Problem(relative, "a link that leads outside the folder; left out"))
                continue
            if skip and path.resolve() in skip:
                continue
            try:
                rows.append(header_row(root, path))
            except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError):
                not_dicom += 1
    if not_dicom:
        found.append(Problem(".", f"{not_dicom} file(s) are not readable DICOM files and were left out"))
    return rows, found


def scan_folder(
    root: Path, problems: list[Problem] | None = None, should_stop: Callable[[], bool] | None = None
) -> MediaTree:
    """The tree of every DICOM file under ``root`` (no DICOMDIR needed).

    Parameters
    ----------
    root
        The folder (a mounted disc, a copied disc, an extracted ISO image).
    problems
        Problems found before (e.g. the DICOMDIR that could not be read); the scan's own are added.
    should_stop
        Checked between files; when it returns True the scan stops with what it found.
    """
    rows, found = scan_rows(root, should_stop)
    return build_tree(root, rows, [*(problems or []), *found], source="folder scan")
