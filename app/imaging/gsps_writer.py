"""Write a Grayscale Softcopy Presentation State from a :class:`~app.imaging.gsps_model.PresentationModel`.

PS3.3 A.33.1. highdicom (:class:`highdicom.pr.GrayscaleSoftcopyPresentationState`) writes
Patient, Study, Series, Equipment, Presentation State Identification (C.11.10), Presentation
State Relationship (C.11.11), Graphic Annotation (C.10.5), Graphic Layer (C.10.7), Modality LUT
(C.11.1), Softcopy VOI LUT (C.11.8) and Softcopy Presentation LUT (C.11.6);
:mod:`app.imaging.gsps_modules` then adds with pydicom what highdicom lacks: Spatial
Transformation (C.10.6), Display Shutter (C.7.6.11), the Displayed Area (C.10.4) of the model,
the layers' recommended grey, a Modality LUT Sequence and our implementation identity.

Every written object gets a new SOP Instance UID under our root (:mod:`app.dicom.uids`);
:class:`PresentationStateAuthor` keeps the series and numbers the versions of one state,
writing a new instance only when the model changes.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID

from app import __version__
from app.core.errors import DicomInputError
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, generate_uid
from app.imaging.annotations import GraphicObject, TextObject
from app.imaging.cielab import srgb_to_dicom_lab
from app.imaging.gsps_model import Annotation, Layer, PresentationModel, VOISetting, code_string
from app.imaging.gsps_modules import (
    add_displayed_areas,
    add_shutter,
    add_spatial_transformation,
    is_multiframe_image,
    p_value,
    resolve,
)

logger = logging.getLogger(__name__)

#: Series Number of the presentation state series we create (a high number keeps it after the images).
GSPS_SERIES_NUMBER = 9001
MANUFACTURER = "Lightbox"

#: Attributes highdicom reads from the first image as attributes (Type 2: may be empty).
_TYPE2_READ = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
)
_MODALITY_KEYWORDS = ("RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence")


def write_gsps(
    model: PresentationModel,
    images: Sequence[Dataset],
    *,
    series_instance_uid: str | None = None,
    series_number: int = GSPS_SERIES_NUMBER,
    instance_number: int = 1,
) -> Dataset:
    """A new GSPS (PS3.3 A.33.1) for ``images`` saying what ``model`` says, with a new SOP Instance UID.

    Parameters
    ----------
    images
        The referenced grey images (one study, one size), as read (pixel data not needed).
    series_instance_uid
        The presentation state series; a new one when None.

    Raises
    ------
    DicomInputError
        The images cannot share one presentation state, or the model does not fit them.
    """
    headers = _check_images(images)
    try:
        layers = {layer.name: _layer(layer) for layer in model.layers}
        annotations = [_annotation(a, layers[la.name], headers) for la in model.layers for a in la.annotations]
        vois = [t for setting in model.vois for t in _vois(setting, headers)]
        ps = hd.pr.GrayscaleSoftcopyPresentationState(
            referenced_images=headers,
            series_instance_uid=series_instance_uid or generate_uid(),
            series_number=series_number,
            sop_instance_uid=generate_uid(),
            instance_number=instance_number,
            manufacturer=MANUFACTURER,
            manufacturer_model_name=MANUFACTURER,
            software_versions=__version__,
            device_serial_number=None,  # type: ignore[arg-type]  # Type 3 in the General Equipment Module
            content_label=code_string(model.label, "PRESENTATION"),
            content_description=model.description or None,
            graphic_annotations=annotations or None,
            graphic_layers=list(layers.values()) or None,
            content_creator_name=model.creator or None,
            modality_lut_transformation=_modality_lut(images),
            voi_lut_transformations=vois or None,
            presentation_lut_transformation=hd.PresentationLUTTransformation(
                presentation_lut_shape=model.presentation or _polarity(images)
            ),
            specific_character_set=_character_set(model, images),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise DicomInputError(f"The presentation state cannot be written: {exc}") from exc
    _complete(ps, model, images)
    return ps


class PresentationStateAuthor:
    """Successive versions of one presentation state of some images, in one series.

    :meth:`write` gives a new instance (new SOP Instance UID, next Instance Number) when the
    model differs from the last one written, and the same data set otherwise.
    """

    def __init__(self, images: Sequence[Dataset], series_instance_uid: str | None = None) -> None:
        self.images = list(images)
        self.series_instance_uid = series_instance_uid or str(generate_uid())
        self.instance_number = 0
        self._last: tuple[PresentationModel, Dataset] | None = None

    def write(self, model: PresentationModel) -> Dataset:
        """The GSPS of ``model``: the last one written when the model did not change."""
        if self._last is not None and self._last[0] == model:
            return self._last[1]
        ds = write_gsps(
            model, self.images, series_instance_uid=self.series_instance_uid, instance_number=self.instance_number + 1
        )
        self.instance_number += 1
        self._last = (model, ds)
        return ds


def _check_images(images: Sequence[Dataset]) -> list[Dataset]:
    if not images:
        raise DicomInputError("A presentation state needs at least one image to reference (PS3.3 C.11.11).")
    if any(int(im.get("SamplesPerPixel", 1) or 1) != 1 for im in images):
        raise DicomInputError("A Grayscale Softcopy Presentation State applies to grey images only (PS3.3 A.33.1).")
    if len({str(im.StudyInstanceUID) for im in images}) != 1:
        raise DicomInputError("The images of one presentation state must belong to one study (PS3.3 C.11.11).")
    if len({(int(im.Rows), int(im.Columns)) for im in images}) != 1:
        raise DicomInputError("Write one presentation state per image size: these images differ in rows/columns.")
    return [_header(im) for im in images]


def _header(image: Dataset) -> Dataset:
    """The image without pixels, overlays and modality stage, with highdicom's Type 2 reads present."""
    out = Dataset()
    for elem in image:
        group = elem.tag.group
        if group == 0x7FE0 or 0x6000 <= group <= 0x60FF or elem.keyword in _MODALITY_KEYWORDS:
            continue
        out.add(copy.deepcopy(elem))
    for keyword in _TYPE2_READ:
        if keyword not in out:
            setattr(out, keyword, "")
    if is_multiframe_image(out) and "SharedFunctionalGroupsSequence" not in out:
        out.SharedFunctionalGroupsSequence = [Dataset()]  # no per-frame rescale for highdicom to look at
    return out


def _layer(layer: Layer) -> hd.pr.GraphicLayer:
    colour = hd.color.CIELabColor.from_dicom_value(srgb_to_dicom_lab(layer.colour)) if layer.colour else None
    item = hd.pr.GraphicLayer(
        code_string(layer.name, "LAYER"), layer.order, description=layer.description or None, display_color=colour
    )
    item.GraphicLayerRecommendedDisplayGrayscaleValue = p_value(layer.grey)
    return item


def _annotation(annotation: Annotation, layer: hd.pr.GraphicLayer, headers: list[Dataset]) -> hd.pr.GraphicAnnotation:
    graphics = [_graphic(g) for g in annotation.graphics] or None
    texts = [_text(t) for t in annotation.texts] or None
    targets = resolve(annotation.applies_to, headers)
    frames = {f for _, fs in targets for f in fs}
    if len(targets) > 1 and frames:
        raise DicomInputError("An annotation on several images applies to all their frames; name one image per frame.")
    return hd.pr.GraphicAnnotation(
        [im for im, _ in targets],
        layer,
        referenced_frame_number=sorted(frames) or None,
        graphic_objects=graphics,
        text_objects=texts,
    )


def _graphic(graphic: GraphicObject) -> hd.pr.GraphicObject:
    points = np.array(graphic.points, dtype=np.float64).reshape(-1, 2)
    return hd.pr.GraphicObject(graphic.graphic_type, points, graphic.units, is_filled=graphic.filled)


def _text(text: TextObject) -> hd.pr.TextObject:
    box = (*text.bounding_box[0], *text.bounding_box[1]) if text.bounding_box is not None else None
    units = text.box_units if box is not None else text.anchor_units
    item = hd.pr.TextObject(
        text.text,
        units,
        bounding_box=box,
        anchor_point=text.anchor,
        text_justification=text.justification,
        anchor_point_visible=text.anchor_visible,
    )
    if text.anchor is not None:
        item.AnchorPointAnnotationUnits = text.anchor_units
    return item


def _vois(setting: VOISetting, headers: list[Dataset]) -> list[hd.pr.SoftcopyVOILUTTransformation]:
    window = setting.window
    kwargs = {
        # lists: highdicom 0.28 splits a plain explanation string into one value per character
        "window_center": [window.center],
        "window_width": [window.width],
        "window_explanation": [window.explanation] if window.explanation else None,
        "voi_lut_function": window.function if window.function != "LINEAR" else None,
    }
    if not setting.applies_to:
        return [hd.pr.SoftcopyVOILUTTransformation(**kwargs)]  # type: ignore[arg-type]
    out = []
    for image, frames in resolve(setting.applies_to, headers):
        refs = hd.ReferencedImageSequence([image], referenced_frame_number=list(frames) or None)
        out.append(hd.pr.SoftcopyVOILUTTransformation(**kwargs, referenced_images=refs))  # type: ignore[arg-type]
    return out


def _modality_lut(images: Sequence[Dataset]) -> hd.ModalityLUTTransformation | None:
    """The images' rescale (PS3.3 C.11.1), which the state must repeat; a LUT Sequence is copied later."""
    first = images[0]
    keys = {(str(im.get("RescaleSlope", "")), str(im.get("RescaleIntercept", ""))) for im in images}
    if len(keys) > 1:
        raise DicomInputError("The images differ in Rescale Slope/Intercept: write one presentation state per rescale.")
    if "RescaleIntercept" not in first or "RescaleSlope" not in first or "ModalityLUTSequence" in first:
        return None
    default_type = "HU" if str(first.get("Modality", "")) == "CT" else "US"
    return hd.ModalityLUTTransformation(
        rescale_intercept=float(first.RescaleIntercept),
        rescale_slope=float(first.RescaleSlope),
        rescale_type=str(first.get("RescaleType", "") or default_type),
    )


def _polarity(images: Sequence[Dataset]) -> str:
    shapes = {str(im.get("PhotometricInterpretation", "MONOCHROME2")).strip() for im in images}
    if len(shapes) > 1:
        raise DicomInputError("The images mix MONOCHROME1 and MONOCHROME2: give the model a presentation shape.")
    return "INVERSE" if shapes == {"MONOCHROME1"} else "IDENTITY"


def _character_set(model: PresentationModel, images: Sequence[Dataset]) -> str | None:
    texts = [model.label, model.description, model.creator]
    texts += [t.text for layer in model.layers for a in layer.annotations for t in a.texts]
    texts += [layer.description for layer in model.layers]
    if all(t.isascii() for t in texts):
        charset = images[0].get("SpecificCharacterSet")
        return None if charset in (None, "") else charset
    return "ISO_IR 192"  # UTF-8 (PS3.3 C.12.1.1.2) for our own non-ASCII text


def _complete(ps: Dataset, model: PresentationModel, images: Sequence[Dataset]) -> None:
    """The modules highdicom does not write, and our implementation identity (PS3.10 7.1)."""
    first = images[0]
    if "ModalityLUTSequence" in first:
        ps.ModalityLUTSequence = copy.deepcopy(first.ModalityLUTSequence)
    # General Series, Type 2C: dciodvfy wants it in a state without Body Part Examined; R or L, else empty
    lateralities = {str(im.get("Laterality") or im.get("ImageLaterality") or "").strip() for im in images}
    ps.Laterality = lateralities.pop() if len(lateralities) == 1 and lateralities <= {"R", "L"} else ""
    add_displayed_areas(ps, model.areas, images, model.transform)
    add_spatial_transformation(ps, model.transform)
    if model.shutter is not None:
        add_shutter(ps, model.shutter)
    ps.file_meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    ps.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
