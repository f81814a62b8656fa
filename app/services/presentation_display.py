"""Which presentation state the viewer shows on an image, and how (PS3.3 A.33.1, PS3.4 N.2).

The states of a study are fetched from the server (:func:`presentation_states`); those that
apply to the frame shown are offered newest first (:func:`app.imaging.state_choice.state_choices`).
A :class:`PresentationSelection` says which one is shown: the newest (the default), none, or
one the user picked (by label, description, creation date and time). In "graphics only" mode
(:func:`graphics_only_state`) the state gives only its graphics, shutters and overlays: the grey
stages (modality LUT C.11.1, VOI C.11.8, presentation LUT C.11.6), the spatial transformation
(C.10.6) and the displayed area (C.10.4) stay the user's own.

The annotations :mod:`app.services.annotations_model` can edit are taken out of the state shown
(:func:`without_own_items`): the viewer draws those itself, editable.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import GrayscaleSoftcopyPresentationStateStorage

from app.imaging.state_choice import StateChoice
from app.imaging.voi_lut import VOI, Window
from app.services.annotations_gsps import is_own_item
from app.services.cancel import CancelToken
from app.services.series_source import SeriesSource
from app.services.studies import StudyService

#: What "graphics only" leaves out of a state: its grey stages and its geometry.
_GREY_AND_GEOMETRY = (
    "RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence", "SoftcopyVOILUTSequence",
    "PresentationLUTShape", "PresentationLUTSequence", "ImageRotation", "ImageHorizontalFlip",
    "DisplayedAreaSelectionSequence",
)  # fmt: skip


class Mode(StrEnum):
    """Which state is shown."""

    NEWEST = "newest"  # the newest that applies to the image (the default)
    NONE = "none"  # the image as it is
    CHOSEN = "chosen"  # the one the user picked, where it applies


@dataclass(frozen=True)
class PresentationSelection:
    """The user's choice of presentation state for a viewport."""

    mode: Mode = Mode.NEWEST
    sop_instance_uid: str = ""  # the chosen state (Mode.CHOSEN)
    graphics_only: bool = False

    def pick(self, choices: list[StateChoice]) -> StateChoice | None:
        """The state to show among ``choices`` (newest first, those that apply to the frame)."""
        if self.mode == Mode.NONE or not choices:
            return None
        if self.mode == Mode.NEWEST:
            return choices[0]
        return next((c for c in choices if c.sop_instance_uid == self.sop_instance_uid), None)


def describe(choice: StateChoice) -> str:
    """``LABEL - description - 2026-01-31 10:15`` (the parts present)."""
    created = choice.created.strftime("%Y-%m-%d %H:%M") if choice.created is not None else ""
    return " - ".join(p for p in (choice.label, choice.description, created) if p) or choice.sop_instance_uid


def study_objects(
    studies: StudyService, study_instance_uid: str, modality: str, cancel: CancelToken | None = None
) -> list[Dataset]:
    """Every instance of the study's series of ``modality`` ("PR", "KO"), fetched by WADO-RS."""
    out: list[Dataset] = []
    for series in studies.list_series(study_instance_uid):
        if series.modality.strip().upper() != modality:
            continue
        out.extend(studies.load_series(study_instance_uid, series.series_instance_uid, cancel=cancel))
    return out


def presentation_states(
    studies: StudyService, study_instance_uid: str, cancel: CancelToken | None = None
) -> list[Dataset]:
    """The Grayscale Softcopy Presentation States of a study (PS3.3 A.33.1), as stored."""
    return [
        ds
        for ds in study_objects(studies, study_instance_uid, "PR", cancel)
        if str(ds.get("SOPClassUID", "")) == GrayscaleSoftcopyPresentationStateStorage
    ]


def source_presentation_states(sources: Iterable[SeriesSource], cancel: CancelToken | None = None) -> list[Dataset]:
    """The Grayscale Softcopy Presentation States among the data sets of ``sources`` (PS3.3 A.33.1).

    For series that are not on the server (media, files, the temporary store): the viewer's PR
    sources are read (on a worker) instead of the study's PR series on the server.
    """
    token = cancel or CancelToken()
    return [
        ds
        for source in sources
        for ds in source.load(token)
        if str(ds.get("SOPClassUID", "")) == GrayscaleSoftcopyPresentationStateStorage
    ]


def _copy_without(state: Dataset, keywords: tuple[str, ...] = ()) -> Dataset:
    """A new data set over the same elements (the original untouched), without ``keywords``."""
    out = Dataset()
    for element in state:
        if element.keyword not in keywords:
            out.add(element)
    if hasattr(state, "file_meta"):
        out.file_meta = copy.deepcopy(state.file_meta)
    return out


def without_own_items(state: Dataset) -> Dataset:
    """A copy of ``state`` without the annotations :mod:`app.services.annotations_model` makes editable.

    Layers left without annotations stay listed (an empty layer draws nothing).
    """
    out = _copy_without(state, ("GraphicAnnotationSequence",))
    items = [item for item in state.get("GraphicAnnotationSequence") or [] if not is_own_item(item)]
    if items:
        out.GraphicAnnotationSequence = DicomSequence(items)
    return out


def graphics_only_state(state: Dataset, image: Dataset, voi: VOI | None) -> Dataset:
    """``state`` reduced to its graphics, shutters and overlays, with ``image``'s own grey stages.

    Parameters
    ----------
    voi
        The VOI the user sees without the state (their window, else the image's own): written as
        the state's softcopy VOI (PS3.3 C.11.8) so the pipeline keeps it; None = the image's first
        VOI LUT when it has one, else the identity.
    """
    out = _copy_without(state, _GREY_AND_GEOMETRY)
    item = Dataset()
    if isinstance(voi, Window):
        item.WindowCenter, item.WindowWidth = voi.center, voi.width
        if voi.function != "LINEAR":
            item.VOILUTFunction = voi.function
    elif image.get("VOILUTSequence"):
        item.VOILUTSequence = copy.deepcopy(image.VOILUTSequence)
    if len(item):
        out.SoftcopyVOILUTSequence = DicomSequence([item])
    own = str(image.get("PresentationLUTShape", "") or "").strip()
    mono1 = str(image.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1"
    out.PresentationLUTShape = own or ("INVERSE" if mono1 else "IDENTITY")
    return out


def shown_state(choice: StateChoice, image: Dataset, voi: VOI | None, graphics_only: bool) -> Dataset:
    """The data set the pipeline renders ``image`` under for ``choice`` (own annotations taken out)."""
    state = without_own_items(choice.dataset)
    return graphics_only_state(state, image, voi) if graphics_only else state
