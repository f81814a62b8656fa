"""Per-frame attribute values of enhanced multi-frame images (PS3.3 C.7.6.16).

An enhanced multi-frame image keeps frame-level attributes in functional group macros: the
item of Per-frame Functional Groups Sequence (5200,9230) for the frame, else the one item of
Shared Functional Groups Sequence (5200,9229). Each functional group is a one-item sequence
(Plane Position (Patient) Sequence, Pixel Measures Sequence, ...) holding the attributes.
Classic images hold the same attributes at the top level; :func:`frame_value` looks in the
per-frame group, then the shared group, then the top level.
"""

from __future__ import annotations

from pydicom.dataset import Dataset


def _groups(ds: Dataset, frame: int) -> list[Dataset]:
    """The functional group items that apply to ``frame`` (0-based): per-frame first, then shared."""
    out: list[Dataset] = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and 0 <= frame < len(per_frame):
        out.append(per_frame[frame])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        out.append(shared[0])
    return out


def frame_groups(ds: Dataset, frame: int) -> list[Dataset]:
    """The functional group items of ``frame`` (0-based): its per-frame item, then the shared one."""
    return _groups(ds, frame)


def _present(value: object) -> bool:
    return value is not None and value != ""


def group_value(ds: Dataset, frame: int, sequence: str, keyword: str) -> object | None:
    """``keyword`` inside functional group ``sequence`` for ``frame`` (0-based), or None.

    Example: ``group_value(ds, 3, "PlanePositionSequence", "ImagePositionPatient")``
    (PS3.3 C.7.6.16.2.3).
    """
    for group in _groups(ds, frame):
        items = group.get(sequence)
        if items and _present(items[0].get(keyword)):
            return items[0].get(keyword)
    return None


def frame_value(ds: Dataset, frame: int, keyword: str) -> object | None:
    """The value of ``keyword`` for ``frame`` (0-based): any functional group, then the top level.

    The per-frame group wins over the shared group, which wins over the top level data set
    (PS3.3 C.7.6.16: functional groups describe the frame). Absent or empty gives None.
    """
    for group in _groups(ds, frame):
        for element in group:
            if element.VR != "SQ" or not element.value:
                continue
            value = element.value[0].get(keyword)
            if _present(value):
                return value
    value = ds.get(keyword)
    return value if _present(value) else None
