"""What the matrix shows for a study on the server: image series, thumbnails, object badges.

Presentation states (PR, PS3.3 C.11.11 Referenced Series Sequence), key object selections (KO)
and structured reports (SR, Current Requested Procedure Evidence Sequence, PS3.3 C.17.2) are
not image series: they become badges on the thumbnails of the series they reference. A
thumbnail is the pipeline's rendering of the middle image of a series, reduced by striding
to at most :data:`THUMBNAIL` pixels a side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
from pydicom.dataset import Dataset

from app.services.image_stack import ImageStack
from app.services.series_source import parse_part
from app.services.studies import SeriesSummary, StudyService

OBJECT_MODALITIES = ("PR", "KO", "SR")
THUMBNAIL = 128


def is_image_series(series: SeriesSummary) -> bool:
    return series.modality.strip().upper() not in OBJECT_MODALITIES


def referenced_series(ds: Dataset) -> set[str]:
    """Series Instance UIDs an object (PR, KO, SR) references."""
    out: set[str] = set()
    for item in ds.get("ReferencedSeriesSequence") or []:  # PR: PS3.3 C.11.11
        if item.get("SeriesInstanceUID"):
            out.add(str(item.SeriesInstanceUID))
    for study in ds.get("CurrentRequestedProcedureEvidenceSequence") or []:  # KO / SR: C.17.2
        for item in study.get("ReferencedSeriesSequence") or []:
            if item.get("SeriesInstanceUID"):
                out.add(str(item.SeriesInstanceUID))
    return out


def badges(objects: Iterable[tuple[str, Dataset]]) -> dict[str, dict[str, int]]:
    """Per referenced Series Instance UID, how many objects of each kind ("PR", "KO", "SR") reference it."""
    counts: dict[str, Counter[str]] = {}
    for kind, ds in objects:
        for uid in referenced_series(ds):
            counts.setdefault(uid, Counter())[kind] += 1
    return {uid: dict(c) for uid, c in counts.items()}


def study_badges(studies: StudyService, series: list[SeriesSummary]) -> dict[str, dict[str, int]]:
    """Retrieve the study's PR/KO/SR series and count what they reference (run on a worker)."""
    objects: list[tuple[str, Dataset]] = []
    for s in series:
        if is_image_series(s):
            continue
        for part in studies.client.retrieve_series(s.study_instance_uid, s.series_instance_uid):
            objects.append((s.modality.strip().upper(), parse_part(part, s.series_instance_uid)))
    return badges(objects)


def thumbnail_array(ds: Dataset, size: int = THUMBNAIL) -> np.ndarray:
    """The first frame of ``ds`` rendered by the pipeline (its own VOI), strided down to about ``size``."""
    pixels = ImageStack([ds]).render(0)
    step = max(1, int(np.ceil(max(pixels.shape[:2]) / size)))
    return np.ascontiguousarray(pixels[::step, ::step])


def series_thumbnail(studies: StudyService, series: SeriesSummary) -> np.ndarray | None:
    """The thumbnail of the middle instance of a series on the server (run on a worker)."""
    instances = studies.list_instances(series.study_instance_uid, series.series_instance_uid)
    if not instances:
        return None
    middle = instances[len(instances) // 2]
    part = studies.client.retrieve_instance(
        series.study_instance_uid, series.series_instance_uid, middle.sop_instance_uid
    )
    return thumbnail_array(parse_part(part, series.series_instance_uid))
