"""The user's view and annotations saved as a Grayscale Softcopy Presentation State on the server.

PS3.3 A.33.1 (GSPS IOD): what the viewer shows (window, PS3.3 C.11.8; displayed area, C.10.4;
rotation and flip, C.10.6; polarity, C.11.6; the shutter, C.7.6.11; the image overlays shown,
Overlay Activation C.11.7) and the annotations (:mod:`app.services.annotations_model`, one graphic
layer per kind, C.10.7) become a :class:`~app.imaging.gsps_model.PresentationModel`, written by
:mod:`app.imaging.gsps_writer` with a new SOP Instance UID each time it changes and stored in the
study by STOW-RS (PS3.18 10.5), so it goes wherever the study goes and any GSPS viewer shows it.

Showing the states of a study is :mod:`app.services.presentation_display`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO

from pydicom.dataset import Dataset

from app.core.errors import AppError
from app.imaging.frames import is_grey, number_of_frames
from app.imaging.gsps_model import (
    Annotation,
    AreaSetting,
    FrameRef,
    Layer,
    PresentationModel,
    ShutterSetting,
    VOISetting,
)
from app.imaging.gsps_writer import PresentationStateAuthor
from app.imaging.overlays import overlays_from
from app.imaging.spatial import DisplayedArea, SpatialTransform
from app.imaging.voi_lut import Window, windows_from
from app.services.annotations_gsps import graphic_objects
from app.services.annotations_gsps import text_objects as label_objects
from app.services.annotations_model import LAYERS, Kind, Measurement, UserAnnotation
from app.services.studies import StudyService

logger = logging.getLogger(__name__)

DEFAULT_LABEL = "LIGHTBOX"
DEFAULT_DESCRIPTION = "Window, view and annotations saved in Lightbox"
OVERLAY_LAYER = "OVERLAYS"  # the layer image overlays are activated in (PS3.3 C.11.7)


@dataclass(frozen=True)
class ViewSettings:
    """What the user set on the displayed image, as the presentation state should keep it.

    Attributes
    ----------
    window
        The window shown; None keeps each image's own first window.
    transform
        Rotation and flip (PS3.3 C.10.6).
    displayed_area
        The part of the image shown (zoom and pan, PS3.3 C.10.4); None = the whole image.
    shutter
        The shutter shown (:func:`shutter_setting`); None = shutters off.
    overlays
        Image overlay groups shown (0x6000, ...); None = every overlay of the image.
    invert
        The user inverted the grey scale (on top of the image's own polarity).
    """

    window: Window | None = None
    transform: SpatialTransform = field(default_factory=SpatialTransform)
    displayed_area: DisplayedArea | None = None
    shutter: ShutterSetting | None = None
    overlays: tuple[int, ...] | None = None
    invert: bool = False


def shutter_setting(ds: Dataset) -> ShutterSetting | None:
    """The rectangular/circular/polygonal shutter of an image or presentation state (PS3.3 C.7.6.11).

    A bitmap shutter (C.7.6.15) cannot be carried over and is left out; None when there is none.
    """
    shapes = {str(s).strip().upper() for s in (ds.get("ShutterShape") or [])}
    if isinstance(ds.get("ShutterShape"), str):
        shapes = {str(ds.ShutterShape).strip().upper()}
    try:
        rectangle = None
        if "RECTANGULAR" in shapes:
            rectangle = (
                int(ds.ShutterLeftVerticalEdge),
                int(ds.ShutterRightVerticalEdge),
                int(ds.ShutterUpperHorizontalEdge),
                int(ds.ShutterLowerHorizontalEdge),
            )
        circle = None
        if "CIRCULAR" in shapes:
            centre = [int(v) for v in ds.CenterOfCircularShutter]
            circle = ((centre[0], centre[1]), int(ds.RadiusOfCircularShutter))
        polygon: tuple[tuple[int, int], ...] = ()
        if "POLYGONAL" in shapes:
            v = [int(x) for x in ds.VerticesOfThePolygonalShutter]
            polygon = tuple((v[i], v[i + 1]) for i in range(0, len(v) - 1, 2))
        if rectangle is None and circle is None and not polygon:
            return None
        value = ds.get("ShutterPresentationValue")
        grey = round(int(value) / 65535 * 255) if value not in (None, "") else 0
        return ShutterSetting(rectangle=rectangle, circle=circle, polygon=polygon, grey=grey)
    except (AttributeError, TypeError, ValueError, IndexError, AppError) as exc:
        logger.warning("The shutter is not carried into the presentation state: %s", exc)
        return None


def referenced_images(datasets: Sequence[Dataset], current: Dataset) -> list[Dataset]:
    """The images of the series one presentation state can hold with ``current``.

    A GSPS holds grey images of one size and one rescale (:func:`app.imaging.gsps_writer.write_gsps`);
    ``current`` first, then the others like it, in their order.
    """

    def key(ds: Dataset) -> tuple[object, ...]:
        return (
            ds.get("Rows"),
            ds.get("Columns"),
            str(ds.get("RescaleSlope", "")),
            str(ds.get("RescaleIntercept", "")),
            "ModalityLUTSequence" in ds,
            str(ds.get("PhotometricInterpretation", "")).strip(),
        )

    wanted = key(current)
    uid = str(current.SOPInstanceUID)
    return [current] + [
        ds for ds in datasets if is_grey(ds) and str(ds.SOPInstanceUID) != uid and key(ds) == wanted
    ]


def _frame_ref(image: Dataset, frame: int) -> FrameRef:
    return FrameRef(str(image.SOPInstanceUID), (frame + 1,) if number_of_frames(image) > 1 else ())


def _vois(window: Window | None, images: Sequence[Dataset]) -> tuple[VOISetting, ...]:
    """One window for every image, or each image's own first window (grouped where equal)."""
    if window is not None:
        return (VOISetting(window),)
    groups: dict[Window, list[FrameRef]] = {}
    for image in images:
        own = windows_from(image)
        if own:
            groups.setdefault(own[0], []).append(FrameRef(str(image.SOPInstanceUID)))
    if len(groups) == 1 and sum(len(refs) for refs in groups.values()) == len(images):
        return (VOISetting(next(iter(groups))),)
    return tuple(VOISetting(w, tuple(refs)) for w, refs in groups.items())


def _layers(
    annotations: Sequence[tuple[UserAnnotation, Measurement]], images: Sequence[Dataset]
) -> tuple[Layer, ...]:
    by_uid = {str(im.SOPInstanceUID): im for im in images}
    items: dict[Kind, list[Annotation]] = {}
    for annotation, measurement in annotations:
        image = by_uid.get(annotation.sop_instance_uid)
        if image is None or not annotation.complete:
            continue
        graphics, texts = graphic_objects(annotation), label_objects(annotation, measurement)
        if not graphics and not texts:
            continue
        items.setdefault(annotation.kind, []).append(
            Annotation(graphics, texts, (_frame_ref(image, annotation.frame),))
        )
    return tuple(
        Layer(name, order, tuple(items[kind]), description)
        for order, (kind, (name, description)) in enumerate(LAYERS.items(), start=1)
        if kind in items
    )


def presentation_model(
    settings: ViewSettings,
    annotations: Sequence[tuple[UserAnnotation, Measurement]],
    images: Sequence[Dataset],
    *,
    label: str = DEFAULT_LABEL,
    description: str = DEFAULT_DESCRIPTION,
    creator: str = "",
) -> PresentationModel:
    """The presentation state of ``images`` (from :func:`referenced_images`) as the user sees them.

    Annotations on images outside ``images`` are left out (they belong in another state).
    """
    first = images[0]
    mono1 = str(first.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1"
    layers = _layers(annotations, images)
    if settings.overlays is None or settings.overlays:
        shown = _overlay_groups(first, settings.overlays)
        if shown:
            layers += (Layer(OVERLAY_LAYER, len(LAYERS) + 1, (), "Image overlays"),)
    return PresentationModel(
        label=label,
        description=description,
        creator=creator,
        vois=_vois(settings.window, images),
        transform=settings.transform,
        areas=(AreaSetting(settings.displayed_area),) if settings.displayed_area is not None else (),
        shutter=settings.shutter,
        layers=layers,
        presentation="INVERSE" if mono1 != settings.invert else "IDENTITY",
    )


def _overlay_groups(image: Dataset, wanted: tuple[int, ...] | None) -> tuple[int, ...]:
    present = [o.group for o in overlays_from(image)]
    return tuple(g for g in present if wanted is None or g in wanted)


def activate_overlays(state: Dataset, image: Dataset, wanted: tuple[int, ...] | None) -> tuple[int, ...]:
    """Show the image's overlay groups ``wanted`` (None = all) through the state (PS3.3 C.11.7).

    Overlay Activation Layer (60xx,1001) names the graphic layer each is shown in. Returns the
    groups activated.
    """
    groups = _overlay_groups(image, wanted)
    for group in groups:
        state.add_new((group, 0x1001), "CS", OVERLAY_LAYER)
    return groups


@dataclass(frozen=True, eq=False)
class SavedState:
    """A presentation state written for the user: the data set and whether it was stored now."""

    dataset: Dataset
    stored: bool

    @property
    def sop_instance_uid(self) -> str:
        return str(self.dataset.SOPInstanceUID)


class PresentationSaver:
    """Saves successive presentation states of some images of a study, in one series.

    Each save of a changed model writes a new instance (new SOP Instance UID, next Instance
    Number, :class:`~app.imaging.gsps_writer.PresentationStateAuthor`) and stores it by STOW-RS;
    saving an unchanged model stores nothing again.
    """

    def __init__(self, studies: StudyService, images: Sequence[Dataset]) -> None:
        self.studies = studies
        self.images = list(images)
        self.author = PresentationStateAuthor(self.images)
        self._stored: str | None = None

    def save(self, settings: ViewSettings, annotations: Sequence[tuple[UserAnnotation, Measurement]],
             **identity: str) -> SavedState:
        """Write and store the state of ``settings`` and ``annotations``.

        Raises
        ------
        AppError
            The server did not store it (the message says why and what to do).
        """
        model = presentation_model(settings, annotations, self.images, **identity)
        ds = self.author.write(model)
        if self._stored == str(ds.SOPInstanceUID):
            return SavedState(ds, stored=False)
        if OVERLAY_LAYER in {layer.name for layer in model.layers}:
            activate_overlays(ds, self.images[0], settings.overlays)
        store(self.studies, ds)
        self._stored = str(ds.SOPInstanceUID)
        return SavedState(ds, stored=True)


def store(studies: StudyService, ds: Dataset) -> None:
    """Store one data set in its study on the server by STOW-RS (PS3.18 10.5).

    Raises
    ------
    AppError
        The server refused or failed it.
    """
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    result = studies.store_files([buffer.getvalue()])
    if result.failed or not result.stored:
        raise AppError(
            f"The server did not store the {ds.get('Modality', '')} object (HTTP {result.http_status}); "
            "check the server log and that the study still exists, then save again."
        )
