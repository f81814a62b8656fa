"""Search remote archives and worklist servers (the reference's 3.2.2.1-3.2.2.2).

The search form's keys (:class:`StudyQuery`, :class:`WorklistQuery`) become C-FIND
identifiers with the return keys of the reference's 3.2.2.2 table; the selected nodes are
asked **in sequence**, one association at a time, and their matches merged into one list of
:class:`Match` rows carrying the node they came from, with a :class:`NodeStatus` per node
(count and time, or the failure with its Error Comment). A node that cannot be reached is a
failed status, not an exception: the other nodes' matches still come back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from app.core.workstation_config import RemoteNode, WorkstationConfig
from app.net.association import AssociationError, Peer, ScuSettings
from app.net.echo import EchoResult, echo
from app.net.find import MODALITY_WORKLIST_FIND, STUDY_ROOT_FIND, FindResult, find
from app.services.cancel import CancelToken

#: Return keys per level (reference 3.2.2.2; plus what the result table and a retrieve need).
STUDY_KEYS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "StudyID",
    "AccessionNumber", "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances", "StudyInstanceUID",
)  # fmt: skip
SERIES_KEYS = (
    "Modality", "SeriesNumber", "SeriesDescription", "NumberOfSeriesRelatedInstances", "StudyInstanceUID",
    "SeriesInstanceUID",
)
IMAGE_KEYS = ("InstanceNumber", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
SPS_KEYS = (
    "ScheduledStationAETitle", "ScheduledStationName", "Modality", "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime", "ScheduledProcedureStepDescription", "ScheduledProcedureStepID",
)
WORKLIST_KEYS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyInstanceUID",
    "RequestedProcedureID", "RequestedProcedureDescription",
)
LEVEL_UID = {"STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID", "IMAGE": "SOPInstanceUID"}

#: Quick date ranges of the search form: name -> (days back from today, days back to).
QUICK_RANGES = {"Today": (0, 0), "Yesterday": (1, 1), "Last 7 days": (6, 0), "Last 30 days": (29, 0)}


def quick_range(name: str, today: dt.date | None = None) -> str:
    """A DICOM date range (PS3.4 C.2.2.2.5) for a quick range name: ``"Last 7 days"`` -> ``"20260121-20260127"``."""
    back_from, back_to = QUICK_RANGES[name]
    day = today or dt.date.today()
    first, last = day - dt.timedelta(days=back_from), day - dt.timedelta(days=back_to)
    return first.strftime("%Y%m%d") if first == last else f"{first:%Y%m%d}-{last:%Y%m%d}"


@dataclass(frozen=True)
class StudyQuery:
    """The Q/R search form: values as DICOM matching keys (``*``/``?`` wildcards, ``a-b`` ranges)."""

    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    study_date: str = ""
    study_id: str = ""
    accession_number: str = ""
    modality: str = ""
    study_description: str = ""

    def identifier(self) -> Dataset:
        """The study-level Study Root C-FIND identifier (PS3.4 C.6.2.1)."""
        ds = _with_keys("STUDY", STUDY_KEYS)
        for keyword, value in (
            ("PatientID", self.patient_id), ("PatientName", self.patient_name),
            ("PatientBirthDate", self.patient_birth_date), ("StudyDate", self.study_date),
            ("StudyID", self.study_id), ("AccessionNumber", self.accession_number),
            ("ModalitiesInStudy", self.modality), ("StudyDescription", self.study_description),
        ):  # fmt: skip
            if value.strip():
                setattr(ds, keyword, value.strip())
        return ds


@dataclass(frozen=True)
class WorklistQuery:
    """The worklist search form (PS3.4 K.6.1.2.2): SPS keys inside the Scheduled Procedure Step Sequence."""

    scheduled_station_ae_title: str = ""
    scheduled_station_name: str = ""
    modality: str = ""
    sps_start_date: str = ""
    sps_start_time: str = ""
    patient_id: str = ""
    patient_name: str = ""

    def identifier(self) -> Dataset:
        ds = Dataset()
        for keyword in WORKLIST_KEYS:
            setattr(ds, keyword, "")
        sps = Dataset()
        for keyword in SPS_KEYS:
            setattr(sps, keyword, "")
        for keyword, value in (
            ("ScheduledStationAETitle", self.scheduled_station_ae_title),
            ("ScheduledStationName", self.scheduled_station_name), ("Modality", self.modality),
            ("ScheduledProcedureStepStartDate", self.sps_start_date),
            ("ScheduledProcedureStepStartTime", self.sps_start_time),
        ):  # fmt: skip
            if value.strip():
                setattr(sps, keyword, value.strip())
        ds.ScheduledProcedureStepSequence = [sps]
        for keyword, value in (("PatientID", self.patient_id), ("PatientName", self.patient_name)):
            if value.strip():
                setattr(ds, keyword, value.strip())
        return ds


def _with_keys(level: str, keys: Sequence[str]) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword in keys:
        setattr(ds, keyword, "")
    return ds


def level_identifier(
    level: str, study_uid: str = "", series_uid: str = "", keys: dict[str, str] | None = None
) -> Dataset:
    """A Study Root identifier at ``level`` (STUDY, SERIES, IMAGE) under the given study/series,
    with the level's return keys and any extra ``keys`` (DICOM keyword -> matching value)."""
    level = level.upper()
    return_keys = {"STUDY": STUDY_KEYS, "SERIES": SERIES_KEYS, "IMAGE": IMAGE_KEYS}[level]
    ds = _with_keys(level, return_keys)
    if study_uid:
        ds.StudyInstanceUID = study_uid
    if series_uid:
        ds.SeriesInstanceUID = series_uid
    for keyword, value in (keys or {}).items():
        setattr(ds, keyword, value)
    return ds


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Match:
    """One row of the merged results: the node it came from, the level, the UID of the level,
    and its attributes as text (DICOM keyword -> value; SPS attributes flattened in)."""

    node: str
    level: str
    uid: str
    values: tuple[tuple[str, str], ...] = ()

    def get(self, keyword: str) -> str:
        return dict(self.values).get(keyword, "")

    @classmethod
    def from_dataset(cls, node: str, level: str, ds: Dataset) -> Match:
        values: dict[str, str] = {}
        for element in ds:
            if element.VR == "SQ":
                if element.keyword == "ScheduledProcedureStepSequence" and element.value:
                    for item in element.value[:1]:
                        values.update({e.keyword: _text(e.value) for e in item if e.VR != "SQ" and e.keyword})
                continue
            if element.keyword and element.keyword != "QueryRetrieveLevel":
                values[element.keyword] = _text(element.value)
        uid_key = LEVEL_UID.get(level, "StudyInstanceUID")
        return cls(node=node, level=level, uid=values.get(uid_key, ""), values=tuple(values.items()))


@dataclass(frozen=True)
class NodeStatus:
    """How one node answered: count and time, or the failure (Error Comment included)."""

    node: str
    ok: bool
    count: int
    seconds: float
    message: str
    status: int = -1


@dataclass(frozen=True)
class SearchOutcome:
    matches: tuple[Match, ...] = ()
    statuses: tuple[NodeStatus, ...] = ()
    cancelled: bool = False


def scu_settings(config: WorkstationConfig) -> ScuSettings:
    """The SCU's calling AE title, PDU size and timeout from the workstation settings."""
    return ScuSettings(config.effective_calling_ae_title(), config.max_pdu, config.network_timeout)


def peer_of(node: RemoteNode) -> Peer:
    return Peer(node.ae_title, node.host, node.port)


def verify_node(config: WorkstationConfig, node: RemoteNode) -> EchoResult:
    """C-ECHO to ``node`` (the settings' Test button); raises AssociationError with the exact failure."""
    return echo(scu_settings(config), peer_of(node))


@dataclass
class _Run:
    matches: list[Match] = field(default_factory=list)
    statuses: list[NodeStatus] = field(default_factory=list)


def search(
    config: WorkstationConfig,
    nodes: Sequence[RemoteNode],
    identifier: Dataset,
    *,
    worklist: bool = False,
    cancel: CancelToken | None = None,
    on_node: Callable[[NodeStatus, list[Match]], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_count: Callable[[str, int], None] | None = None,
) -> SearchOutcome:
    """Ask each node in turn (one association at a time) and merge their matches.

    Parameters
    ----------
    identifier
        From :meth:`StudyQuery.identifier`, :func:`level_identifier` or :meth:`WorklistQuery.identifier`.
    worklist
        Modality Worklist C-FIND instead of Study Root.
    on_node
        Called after each node with its status and matches (so a panel shows them at once).
    progress
        ``progress(nodes done, nodes)``.
    on_count
        ``on_count(node name, matches so far)`` while a node answers (every 25 matches).
    """
    settings = scu_settings(config)
    level = "WORKLIST" if worklist else str(identifier.get("QueryRetrieveLevel", "STUDY"))
    model = MODALITY_WORKLIST_FIND if worklist else STUDY_ROOT_FIND
    run = _Run()
    for done, node in enumerate(nodes):
        if cancel is not None and cancel.cancelled:
            break
        if progress is not None:
            progress(done, len(nodes))
        matches: list[Match] = []
        counter = _Counter(node.name, on_count)
        try:
            result = find(settings, peer_of(node), identifier, model=model, cancel=cancel, on_match=counter)
        except AssociationError as exc:
            status = NodeStatus(node.name, False, 0, 0.0, str(exc))
        else:
            matches = [Match.from_dataset(node.name, level, ds) for ds in result.matches]
            status = _status_of(node, result)
        run.matches.extend(matches)
        run.statuses.append(status)
        if on_node is not None:
            on_node(status, matches)
    if progress is not None:
        progress(len(run.statuses), len(nodes))
    return SearchOutcome(tuple(run.matches), tuple(run.statuses), bool(cancel is not None and cancel.cancelled))


class _Counter:
    """Counts a node's matches as they arrive and reports every 25th."""

    def __init__(self, node: str, report: Callable[[str, int], None] | None) -> None:
        self.node, self.report, self.count = node, report, 0

    def __call__(self, _match: Dataset) -> None:
        self.count += 1
        if self.report is not None and self.count % 25 == 0:
            self.report(self.node, self.count)


def _status_of(node: RemoteNode, result: FindResult) -> NodeStatus:
    return NodeStatus(node.name, result.ok, len(result.matches), result.seconds, result.describe(), result.status)


def series_of(config: WorkstationConfig, node: RemoteNode, study_uid: str) -> SearchOutcome:
    """The series of one study on ``node`` (series-level C-FIND), to retrieve part of it."""
    return search(config, [node], level_identifier("SERIES", study_uid))
