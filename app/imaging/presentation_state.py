"""Grayscale Softcopy Presentation State (GSPS) reading: what it says about one image frame.

PS3.3 A.33.1 (GSPS IOD) and PS3.4 N.2 (the order of the stages): a presentation state may
replace the image's Modality LUT (C.11.1, in the state), pick a softcopy VOI per image and
frame (C.11.8, Softcopy VOI LUT Sequence with Referenced Image Sequence), set the
Presentation LUT (C.11.6), shutters (C.7.6.11, C.7.6.15, bitmap from the state's own
overlays), overlays shown (C.9.2 in the state, image overlays activated by Overlay
Activation Layer 60xx,1001; C.11.7), the spatial transformation (C.10.6) and the displayed
area (C.10.4). Graphic annotations are not read yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import GrayscaleSoftcopyPresentationStateStorage

from app.core.errors import DicomInputError
from app.imaging.modality_lut import ModalityLUT, modality_lut_from
from app.imaging.overlays import GROUPS
from app.imaging.presentation_lut import Presentation, presentation_lut_from
from app.imaging.spatial import DisplayedArea, SpatialTransform
from app.imaging.voi_lut import VOI, voi_luts_from, windows_from


def references_frame(item: Dataset, sop_instance_uid: str, frame: int) -> bool:
    """True when ``item`` applies to the image frame (no Referenced Image Sequence = all images).

    ``frame`` is 1-based; an absent Referenced Frame Number means every frame (PS3.3 C.10.1).
    """
    refs = item.get("ReferencedImageSequence")
    if not refs:
        return True
    for ref in refs:
        if str(ref.get("ReferencedSOPInstanceUID", "")) != sop_instance_uid:
            continue
        frames = ref.get("ReferencedFrameNumber")
        if frames in (None, ""):
            return True
        numbers = [int(frames)] if isinstance(frames, int | str) else [int(f) for f in frames]
        if frame in numbers:
            return True
    return False


@dataclass(frozen=True, eq=False)
class FramePresentation:
    """What a presentation state says about one frame of one image; None = keep the image's own."""

    modality: ModalityLUT | None
    voi: VOI | None
    presentation: Presentation
    transform: SpatialTransform
    displayed_area: DisplayedArea | None
    overlay_groups: tuple[int, ...]  # image overlays activated by the state (60xx,1001)


class PresentationState:
    """A GSPS data set, with the questions the pipeline asks it."""

    def __init__(self, ds: Dataset) -> None:
        sop_class = str(ds.get("SOPClassUID", ""))
        if sop_class and sop_class != GrayscaleSoftcopyPresentationStateStorage:
            raise DicomInputError(
                f"SOP Class {sop_class} is not a Grayscale Softcopy Presentation State (PS3.3 A.33.1)."
            )
        self.ds = ds

    def referenced_instances(self) -> list[str]:
        """SOP Instance UIDs of the images the state applies to (Referenced Series Sequence)."""
        out: list[str] = []
        for series in self.ds.get("ReferencedSeriesSequence") or []:
            out.extend(str(ref.ReferencedSOPInstanceUID) for ref in series.get("ReferencedImageSequence") or [])
        return out

    def applies_to(self, image: Dataset) -> bool:
        """True when the image is among the referenced ones (PS3.3 C.11.11)."""
        refs = self.referenced_instances()
        return not refs or str(image.get("SOPInstanceUID", "")) in refs

    def for_frame(self, image: Dataset, frame: int = 0) -> FramePresentation:
        """The presentation of frame ``frame`` (0-based) of ``image``."""
        uid, number = str(image.get("SOPInstanceUID", "")), frame + 1
        ds = self.ds
        modality = None
        if ds.get("ModalityLUTSequence") or "RescaleSlope" in ds or "RescaleIntercept" in ds:
            modality = modality_lut_from(ds)
        voi: VOI | None = None
        for item in ds.get("SoftcopyVOILUTSequence") or []:
            if references_frame(item, uid, number):
                signed_source = Dataset()
                for keyword in ("PixelRepresentation", "RescaleIntercept"):
                    source = ds if keyword in ds else image
                    if keyword in source:
                        setattr(signed_source, keyword, source.get(keyword))
                if "ModalityLUTSequence" in ds or "ModalityLUTSequence" in image:
                    signed_source.ModalityLUTSequence = ds.get("ModalityLUTSequence") or image.ModalityLUTSequence
                for key in ("WindowCenter", "WindowWidth", "VOILUTFunction", "WindowCenterWidthExplanation"):
                    if key in item:
                        setattr(signed_source, key, item.get(key))
                if "VOILUTSequence" in item:
                    signed_source.VOILUTSequence = item.VOILUTSequence
                if hasattr(ds, "file_meta"):  # byte order of OW LUT Data
                    signed_source.file_meta = ds.file_meta
                windows = windows_from(signed_source)
                luts = voi_luts_from(signed_source)
                voi = luts[0] if luts else (windows[0] if windows else None)
                break
        area = None
        for item in ds.get("DisplayedAreaSelectionSequence") or []:
            if references_frame(item, uid, number):
                area = DisplayedArea.from_item(item, (int(image.Rows), int(image.Columns)))
                break
        activated = tuple(g for g in GROUPS if (g, 0x1001) in ds and (g, 0x3000) not in ds)
        return FramePresentation(
            modality=modality,
            voi=voi,
            presentation=presentation_lut_from(ds),
            transform=SpatialTransform.from_dataset(ds),
            displayed_area=area,
            overlay_groups=activated,
        )
