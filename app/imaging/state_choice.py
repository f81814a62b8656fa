"""The presentation states that apply to one image frame, newest first, for the viewer to offer.

A Grayscale Softcopy Presentation State applies to the images its Presented Series and
Presented Images list (Referenced Series Sequence, PS3.3 C.11.11), and to the frames its
Referenced Frame Number lists where it lists any (PS3.3 C.10.1). The viewer offers each by its
Content Label and Content Description (Presentation State Identification, PS3.3 C.11.10),
newest first by Presentation Creation Date and Time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.valuerep import DA, TM

from app.imaging.presentation_state import references_frame


@dataclass(frozen=True, eq=False)
class StateChoice:
    """One presentation state the viewer may offer for an image frame (PS3.3 C.11.10).

    Attributes
    ----------
    label, description
        Content Label (0070,0080) and Content Description (0070,0081).
    creator
        Content Creator's Name (0070,0084), as written.
    created
        Presentation Creation Date (0070,0082) + Time (0070,0083); None when absent or invalid.
    sop_instance_uid
        SOP Instance UID of the state.
    dataset
        The state itself, for :func:`app.imaging.render.render_frame`.
    """

    label: str
    description: str
    creator: str
    created: dt.datetime | None
    sop_instance_uid: str
    dataset: Dataset


def creation_datetime(state: Dataset) -> dt.datetime | None:
    """Presentation Creation Date and Time (PS3.3 C.11.10) as a naive datetime.

    A missing time means midnight; a missing or malformed date gives None.
    """
    try:
        date = DA(str(state.get("PresentationCreationDate", "") or "").strip())
    except ValueError:
        return None
    if not isinstance(date, dt.date):
        return None
    time = dt.time()
    text = str(state.get("PresentationCreationTime", "") or "").strip()
    if text:
        try:
            parsed = TM(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dt.time):
            time = parsed.replace(tzinfo=None)
    return dt.datetime.combine(date, time)


def references_image(state: Dataset, image: Dataset, frame: int = 0) -> bool:
    """True when ``state`` lists the series and instance of ``image`` and, where it lists frames, ``frame``.

    ``frame`` is 0-based. A Referenced Series Sequence item of the image's series without a
    Referenced Image Sequence (which PS3.3 C.11.11 requires) is read as "every image of the series".
    """
    series_uid = str(image.get("SeriesInstanceUID", ""))
    instance_uid = str(image.get("SOPInstanceUID", ""))
    for series in state.get("ReferencedSeriesSequence") or []:
        if str(series.get("SeriesInstanceUID", "")) != series_uid:
            continue
        if references_frame(series, instance_uid, frame + 1):
            return True
    return False


def _choice(state: Dataset) -> StateChoice:
    return StateChoice(
        label=str(state.get("ContentLabel", "") or ""),
        description=str(state.get("ContentDescription", "") or ""),
        creator=str(state.get("ContentCreatorName", "") or ""),
        created=creation_datetime(state),
        sop_instance_uid=str(state.get("SOPInstanceUID", "")),
        dataset=state,
    )


def state_choices(image: Dataset, states: Iterable[Dataset], frame: int = 0) -> list[StateChoice]:
    """The presentation states that apply to frame ``frame`` (0-based) of ``image``, newest first.

    Ordered by Presentation Creation Date + Time, newest first; states without one come last;
    equal times are ordered by SOP Instance UID (ascending), so the order is stable.
    """
    choices = [_choice(state) for state in states if references_image(state, image, frame)]
    choices.sort(key=lambda c: c.sop_instance_uid)
    # a stable sort keeps the UID order among equal times (reverse=True keeps it too)
    dated = [c for c in choices if c.created is not None]
    dated.sort(key=lambda c: c.created or dt.datetime.min, reverse=True)
    return dated + [c for c in choices if c.created is None]
