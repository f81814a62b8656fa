"""Badges of the matrix: the presentation states, key object selections and reports of a study.

Presentation states (PR, PS3.3 C.11.11 Referenced Series Sequence), key object selections (KO)
and structured reports (SR, Current Requested Procedure Evidence Sequence, PS3.3 C.17.2) are
not image series: the matrix shows them as badges ("PR 2") on the thumbnails of the series
they reference. Thumbnails themselves come from the sources
(:meth:`app.services.series_source.ServerSeriesSource.thumbnail`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydicom.dataset import Dataset

from app.services.cancel import CancelToken
from app.services.series_source import SeriesSource


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


def source_badges(sources: Iterable[SeriesSource]) -> dict[str, dict[str, int]]:
    """Load PR/KO/SR series sources and count what they reference (run on a worker)."""
    objects: list[tuple[str, Dataset]] = []
    for source in sources:
        for ds in source.load(CancelToken()):
            objects.append((str(ds.get("Modality", "") or "").strip().upper(), ds))
    return badges(objects)
