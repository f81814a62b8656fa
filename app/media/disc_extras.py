"""Optional extras at the root of an exported disc: a README and an HTML index of its contents.

Both are plain files outside the DICOM file-set (the DICOMDIR does not reference them); their
names are ISO 9660 Level 1 names so they go into the image as they are. Every value from the
data is escaped in the HTML.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

from app import __version__
from app.dicom.value_format import format_date, format_person_name
from app.media.tree import MediaTree

README_NAME = "README.TXT"
INDEX_NAME = "INDEX.HTM"


def _studies(tree: MediaTree) -> int:
    return sum(len(p.studies) for p in tree.patients)


def write_readme(tree: MediaTree, folder: Path) -> Path:
    """A short text saying what the disc is and how to read it."""
    lines = [
        "DICOM disc written by Lightbox " + __version__,
        "Created " + dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "",
        f"This disc holds {tree.instance_count} DICOM objects of {_studies(tree)} studies of "
        f"{len(tree.patients)} patient(s), as a DICOM file-set (General Purpose CD-R / DVD",
        "interchange, PS3.11): open the DICOMDIR file with any DICOM viewer. The images are stored",
        "uncompressed (Explicit VR Little Endian). INDEX.HTM lists the contents for a web browser.",
        "",
    ]
    path = folder / README_NAME
    path.write_text("\r\n".join(lines), encoding="ascii", errors="replace")
    return path


def write_index(tree: MediaTree, folder: Path) -> Path:
    """An HTML page listing patients, studies and series, with the folder of each series."""
    rows: list[str] = []
    for patient in tree.patients:
        rows.append(
            f"<h2>{escape(format_person_name(patient.patient_name) or '(no name)')} "
            f"<small>ID {escape(patient.patient_id)}, born {escape(format_date(patient.patient_birth_date))}"
            "</small></h2>"
        )
        for study in patient.studies:
            rows.append(
                f"<h3>{escape(format_date(study.study_date))} {escape(study.study_description)} "
                f"<small>{escape(study.modalities)}, accession {escape(study.accession_number)}</small></h3>"
            )
            rows.append("<table><tr><th>Series</th><th>Modality</th><th>Description</th><th>Objects</th>"
                        "<th>Folder</th></tr>")  # fmt: skip
            for series in study.series:
                folder_name = series.instances[0].file_id.rsplit("/", 1)[0] if series.instances else ""
                rows.append(
                    f"<tr><td>{escape(series.series_number)}</td><td>{escape(series.modality)}</td>"
                    f"<td>{escape(series.series_description)}</td><td>{len(series.instances)}</td>"
                    f"<td>{escape(folder_name)}</td></tr>"
                )
            rows.append("</table>")
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>DICOM disc contents</title>"
        "<style>body{font-family:sans-serif} td,th{padding:2px 8px;text-align:left}</style></head><body>"
        f"<h1>DICOM disc contents</h1><p>{len(tree.patients)} patient(s), {_studies(tree)} studies, "
        f"{tree.instance_count} objects. Open DICOMDIR with a DICOM viewer.</p>\n"
        + "\n".join(rows)
        + "\n</body></html>\n"
    )
    path = folder / INDEX_NAME
    path.write_text(page, encoding="utf-8")
    return path
