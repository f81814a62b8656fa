"""Rows of the search panel's results tree: one per match (study, worklist item), series as
children of their study, the node each came from in the first column, the instance UID last."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from app.core.workstation_config import WorkstationConfig
from app.dicom.value_format import format_date, format_person_name
from app.services.retrieve import RetrieveRequest
from app.services.search import Match

COLUMNS = ("Node", "Patient name", "Patient ID", "Birth date", "Date", "Modality", "Description", "Accession",
           "Images", "Instance UID")
_KEYS = {
    "STUDY": ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "ModalitiesInStudy", "StudyDescription",
              "AccessionNumber", "NumberOfStudyRelatedInstances"),
    "SERIES": ("", "", "", "", "Modality", "SeriesNumber+SeriesDescription", "", "NumberOfSeriesRelatedInstances"),
    "WORKLIST": ("PatientName", "PatientID", "PatientBirthDate", "ScheduledProcedureStepStartDate", "Modality",
                 "ScheduledProcedureStepDescription", "AccessionNumber", ""),
}  # fmt: skip
MATCH_ROLE = Qt.ItemDataRole.UserRole + 1


def _cell(match: Match, keyword: str) -> str:
    """The text of one column: names and dates formatted, a series as "#number description"."""
    value = match.get(keyword) if keyword else ""
    if keyword == "PatientName":
        return format_person_name(value)
    if keyword.endswith("Date") and value:
        return format_date(value)
    if keyword == "SeriesNumber+SeriesDescription":
        number, description = match.get("SeriesNumber"), match.get("SeriesDescription")
        return " ".join(p for p in (f"#{number}" if number else "", description) if p)
    return value


def match_item(match: Match) -> QTreeWidgetItem:
    """A row of the results tree; a study row shows an expander (its series are asked for on expansion)."""
    keys = _KEYS.get(match.level, _KEYS["STUDY"])
    item = QTreeWidgetItem([match.node, *(_cell(match, k) for k in keys), match.uid])
    item.setData(0, MATCH_ROLE, match)
    if match.level == "STUDY":
        item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
    return item


def selected_requests(results: QTreeWidget, config: WorkstationConfig) -> list[RetrieveRequest]:
    """The selection as retrieve requests: whole studies, or the selected series of a study
    whose row itself is not selected."""
    whole: dict[tuple[str, str], list[str]] = {}
    parts: dict[tuple[str, str], list[str]] = {}
    for item in results.selectedItems():
        match: Match | None = item.data(0, MATCH_ROLE)
        parent = item.parent()
        if match is None or match.level == "WORKLIST":
            continue
        if match.level == "SERIES" and parent is not None:
            study: Match = parent.data(0, MATCH_ROLE)
            parts.setdefault((study.node, study.uid), []).append(match.uid)
        elif match.level == "STUDY":
            whole[(match.node, match.uid)] = []
    chosen = {**{k: v for k, v in parts.items() if k not in whole}, **whole}
    return [RetrieveRequest(config.node(node), uid, tuple(series)) for (node, uid), series in chosen.items()]
