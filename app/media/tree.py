"""The patient / study / series tree of a file-set, as the File-set Reader shows it.

Values come from the DICOMDIR's PATIENT, STUDY and SERIES records (PS3.3 F.5.1-F.5.3) or,
when a disc has no usable DICOMDIR, from the files' own headers. The mandatory keys build the
tree; optional keys (dates, descriptions, modality, counts) are carried when present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass(frozen=True)
class MediaInstance:
    """One file of the file-set (a leaf record: IMAGE, PRESENTATION, SR DOCUMENT, ...)."""

    path: Path
    file_id: str  # as the DICOMDIR names it, components joined with "/"
    sop_instance_uid: str
    sop_class_uid: str = ""
    transfer_syntax_uid: str = ""
    record_type: str = "IMAGE"
    instance_number: str = ""


@dataclass(frozen=True)
class MediaSeries:
    series_instance_uid: str
    modality: str = ""
    series_number: str = ""
    series_description: str = ""
    series_date: str = ""
    instances: tuple[MediaInstance, ...] = ()


@dataclass(frozen=True)
class MediaStudy:
    study_instance_uid: str
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    accession_number: str = ""
    study_id: str = ""
    series: tuple[MediaSeries, ...] = ()

    @property
    def modalities(self) -> str:
        return "\\".join(sorted({s.modality for s in self.series if s.modality}))

    @property
    def instance_count(self) -> int:
        return sum(len(s.instances) for s in self.series)


@dataclass(frozen=True)
class MediaPatient:
    patient_id: str
    patient_name: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    studies: tuple[MediaStudy, ...] = ()

    @property
    def instance_count(self) -> int:
        return sum(s.instance_count for s in self.studies)


@dataclass(frozen=True)
class Problem:
    """Something of the file-set that cannot be imported, and why."""

    where: str  # a file ID, a path relative to the root, or "DICOMDIR"
    reason: str


@dataclass(frozen=True)
class Selection:
    """A part of the tree: a patient, one of its studies, or one series (``None`` = all below)."""

    patient_id: str
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None

    @classmethod
    def parse(cls, text: str) -> Selection:
        """``PATIENT_ID[/STUDY_UID[/SERIES_UID]]`` (a patient ID holding ``/`` is taken whole when the
        parts after it are not UIDs)."""
        parts = text.strip().split("/")
        uids: list[str] = []
        while len(parts) > 1 and len(uids) < 2 and _UID.match(parts[-1]):
            uids.insert(0, parts.pop())
        patient = "/".join(parts)
        if not patient:
            raise ValueError(f"{text!r}: the selection must start with a patient ID")
        return cls(patient, uids[0] if uids else None, uids[1] if len(uids) > 1 else None)

    def covers(self, patient: MediaPatient, study: MediaStudy | None = None, series: MediaSeries | None = None) -> bool:
        if patient.patient_id != self.patient_id:
            return False
        if study is not None and self.study_instance_uid not in (None, study.study_instance_uid):
            return False
        return series is None or self.series_instance_uid in (None, series.series_instance_uid)


@dataclass(frozen=True)
class MediaTree:
    """What a disc or folder holds, and what of it could not be read."""

    root: Path
    patients: tuple[MediaPatient, ...]
    problems: tuple[Problem, ...] = ()
    source: str = "DICOMDIR"  # or "folder scan"

    @property
    def instance_count(self) -> int:
        return sum(p.instance_count for p in self.patients)

    def instances(self, selections: Iterable[Selection] | None = None) -> list[MediaInstance]:
        """The instances under ``selections`` (all when ``None``), each once, in tree order."""
        chosen = None if selections is None else list(selections)
        out: list[MediaInstance] = []
        seen: set[str] = set()
        for patient in self.patients:
            for study in patient.studies:
                for series in study.series:
                    if chosen is not None and not any(s.covers(patient, study, series) for s in chosen):
                        continue
                    for instance in series.instances:
                        if instance.sop_instance_uid not in seen:
                            seen.add(instance.sop_instance_uid)
                            out.append(instance)
        return out

    def series_of(self, series_instance_uid: str) -> tuple[MediaPatient, MediaStudy, MediaSeries] | None:
        for patient in self.patients:
            for study in patient.studies:
                for series in study.series:
                    if series.series_instance_uid == series_instance_uid:
                        return patient, study, series
        return None


@dataclass
class Row:
    """One instance with the keys of its patient, study and series (input of :func:`build_tree`)."""

    patient: dict[str, str]
    study: dict[str, str]
    series: dict[str, str]
    instance: MediaInstance
    extra: dict[str, str] = field(default_factory=dict)


def _merge(target: dict[str, str], values: dict[str, str]) -> None:
    for key, value in values.items():
        if value and not target.get(key):
            target[key] = value


def build_tree(
    root: Path, rows: Iterable[Row], problems: Iterable[Problem] = (), source: str = "DICOMDIR"
) -> MediaTree:
    """Group rows by Patient ID, Study Instance UID and Series Instance UID (first seen order).

    A key missing in one row is taken from another row of the same entity, so optional keys shown
    in the tree are the union of what the records or headers carry.
    """
    patients: dict[str, tuple[dict[str, str], dict[str, tuple[dict[str, str], dict[str, tuple]]]]] = {}
    for row in rows:
        pid = row.patient.get("patient_id", "")
        p_values, studies = patients.setdefault(pid, ({}, {}))
        _merge(p_values, row.patient)
        st_uid = row.study.get("study_instance_uid", "")
        s_values, series = studies.setdefault(st_uid, ({}, {}))
        _merge(s_values, row.study)
        se_uid = row.series.get("series_instance_uid", "")
        se_values, instances = series.setdefault(se_uid, ({}, {}))
        _merge(se_values, row.series)
        instances.setdefault(row.instance.sop_instance_uid, row.instance)

    def number(value: str) -> tuple[int, float, str]:
        try:
            return (0, float(value), value)
        except ValueError:
            return (1, 0.0, value)

    out = []
    for pid, (p_values, studies) in patients.items():
        study_items = []
        for st_uid, (s_values, series) in studies.items():
            series_items = []
            for se_uid, (se_values, instances) in series.items():
                ordered = sorted(instances.values(), key=lambda i: (number(i.instance_number), i.file_id))
                fields = {k: v for k, v in se_values.items() if k in MediaSeries.__dataclass_fields__}
                fields["series_instance_uid"] = se_uid
                series_items.append(MediaSeries(**fields, instances=tuple(ordered)))
            series_items.sort(key=lambda s: (number(s.series_number), s.series_instance_uid))
            fields = {k: v for k, v in s_values.items() if k in MediaStudy.__dataclass_fields__}
            fields["study_instance_uid"] = st_uid
            study_items.append(MediaStudy(**fields, series=tuple(series_items)))
        study_items.sort(key=lambda s: (s.study_date, s.study_time, s.study_instance_uid))
        fields = {k: v for k, v in p_values.items() if k in MediaPatient.__dataclass_fields__}
        fields["patient_id"] = pid
        out.append(MediaPatient(**fields, studies=tuple(study_items)))
    return MediaTree(root=root, patients=tuple(out), problems=tuple(problems), source=source)
