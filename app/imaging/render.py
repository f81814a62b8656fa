"""One frame rendered for export or print: pixels, then layers, then geometry (DESIGN.md section 4).

The grey stages (or colour to RGB) give the pixels; the shutter, the overlays and the graphic
layers are kept as layers (:class:`RenderedFrame`) and only drawn by
:meth:`RenderedFrame.composite`: shutter and overlays over the image, then the displayed area
and the spatial transform, then the graphic layers with their text in the displayed frame
(:mod:`app.imaging.burn_in`). ``lightbox render`` writes that composite as PNG (PNG: ISO/IEC
15948; grey 8-bit or RGB 8-bit, no filtering).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError
from app.imaging.annotations import AnnotationLayer, annotation_layers
from app.imaging.burn_in import burn_in
from app.imaging.frames import decode_frame, is_grey, number_of_frames, rgb_frame
from app.imaging.mask_subtraction import FramePixels, subtracted_frame
from app.imaging.overlays import OverlayLayer, combined_mask, overlay_layers, overlays_from
from app.imaging.pipeline import GreyPipeline
from app.imaging.presentation_state import PresentationState
from app.imaging.shutters import ShutterLayer, shutter_layer
from app.imaging.spatial import DisplayedArea, SpatialTransform
from app.imaging.view_geometry import ViewGeometry
from app.imaging.voi_lut import VOI, Window

OVERLAY_VALUE = 255


@dataclass(frozen=True, eq=False)
class RenderedFrame:
    """Display pixels of one frame (uint8 grey or RGB) and the layers drawn over them."""

    pixels: np.ndarray
    shutter: ShutterLayer | None
    overlays: list[OverlayLayer]
    transform: SpatialTransform
    displayed_area: DisplayedArea | None
    voi: VOI | None
    annotations: list[AnnotationLayer] = field(default_factory=list)

    @property
    def geometry(self) -> ViewGeometry:
        """The displayed frame: displayed area, then spatial transform."""
        return ViewGeometry((self.pixels.shape[0], self.pixels.shape[1]), self.displayed_area, self.transform)

    def composite(self, overlays: bool = True, annotations: bool = True, colour: bool | None = None) -> np.ndarray:
        """What the viewer shows, at the resolution of the image (or of its displayed area).

        The shutter and the overlays are drawn over the pixels, which are then cut to the
        displayed area and transformed; the graphic layers (graphics in PIXEL and DISPLAY
        units, text objects) are burnt in last, in layer order (:func:`~app.imaging.burn_in.burn_in`).

        Parameters
        ----------
        colour
            RGB output, where layers show their recommended colour; default: RGB for a colour image
            or under a coloured shutter (:meth:`~app.imaging.shutters.ShutterLayer.apply`).
        """
        out = self.shutter.apply(self.pixels, colour) if self.shutter is not None else self.pixels.copy()
        if overlays and self.overlays:
            out[combined_mask(self.overlays, out.shape[:2])] = OVERLAY_VALUE
        geometry = self.geometry
        out = geometry.to_display(out)
        if colour and out.ndim == 2:
            out = np.repeat(out[:, :, None], 3, axis=2)
        elif colour is False and out.ndim == 3:
            raise ValueError("A colour image has no grey composite; ask for colour.")
        if annotations and self.annotations:
            burn_in(out, self.annotations, geometry)
        return out


def render_frame(
    image: Dataset,
    frame: int = 0,
    presentation_state: Dataset | None = None,
    window: Window | None = None,
    decoded: np.ndarray | None = None,
    frames: FramePixels | None = None,
) -> RenderedFrame:
    """Render frame ``frame`` (0-based) of ``image``, under a GSPS when given.

    Parameters
    ----------
    window
        Overrides the VOI of the image and of the presentation state.
    decoded
        The frame already decoded (stored values of a grey image, RGB uint8 of a colour one),
        so this call decodes nothing (the viewer decodes on workers).
    frames
        Stored values of the image's other frames (0-based) that mask subtraction reads
        (:func:`~app.imaging.mask_subtraction.subtraction_frames` lists them), decoded already;
        default: decoded here.
    """
    if "PixelData" not in image or "Rows" not in image or "Columns" not in image:
        sop_class = image.get("SOPClassUID")
        kind = f" ({sop_class.name})" if sop_class is not None and hasattr(sop_class, "name") else ""
        raise DicomInputError(
            f"The data set{kind} is not an image: it has no Pixel Data, Rows or Columns; give an image file."
        )
    if not 0 <= frame < number_of_frames(image):
        raise DicomInputError(f"Frame {frame + 1} does not exist: the image has {number_of_frames(image)} frame(s).")
    shape = (int(image.Rows), int(image.Columns))
    state = PresentationState(presentation_state) if presentation_state is not None else None
    if state is not None and not state.applies_to(image):
        raise DicomInputError("The presentation state does not reference this image (PS3.3 C.11.11).")
    fp = state.for_frame(image, frame) if state is not None else None
    voi: VOI | None = None
    if is_grey(image):
        pipe = GreyPipeline.from_dataset(image)
        if fp is not None:
            pipe = GreyPipeline(
                pipe.range.bits_stored,
                pipe.range.signed,
                fp.modality or pipe.modality,
                fp.presentation,
                pipe.windows,
                pipe.voi_luts,
            )
        stored = decoded if decoded is not None else decode_frame(image, frame)[0]

        def stored_values(index: int) -> np.ndarray:
            if index == frame:
                return stored
            return frames(index) if frames is not None else decode_frame(image, index)[0]

        # PS3.4 N.2.1: mask first
        subtraction = subtracted_frame(image, frame, presentation_state, pixels=stored_values)
        if subtraction is not None:
            pipe, stored = subtraction.pipeline(pipe), subtraction.values
        index = pipe.index(stored)
        if window is not None:
            voi = window
        elif fp is not None:
            # a state without a softcopy VOI for this frame means no VOI: the identity over the
            # whole modality range (PS3.4 N.2.1), not the image's own window
            voi = fp.voi if fp.voi is not None else pipe.full_range_voi()
        else:
            voi = pipe.default_voi(index)
        pixels = pipe.render(index, voi)
    else:
        pixels = decoded if decoded is not None else rgb_frame(image, frame)
    if state is not None and fp is not None:
        shutter = shutter_layer(state.ds, shape, image=state.ds, image_frame=frame)
        own = [o for o in overlays_from(state.ds) if (o.group, 0x1001) in state.ds]
        layers = overlay_layers(image, frame, shown=fp.overlay_groups) if fp.overlay_groups else []
        layers += [OverlayLayer(o.group, o.mask(shape, frame), o.type, o.label, o.description) for o in own]
        graphics = annotation_layers(state.ds, image, frame)
        return RenderedFrame(pixels, shutter, layers, fp.transform, fp.displayed_area, voi, graphics)
    return RenderedFrame(
        pixels, shutter_layer(image, shape), overlay_layers(image, frame), SpatialTransform(), None, voi
    )


def png_bytes(arr: np.ndarray) -> bytes:
    """Encode a uint8 grey (rows, columns) or RGB (rows, columns, 3) array as PNG."""
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ValueError(f"PNG needs uint8 grey or RGB, got {arr.dtype} {arr.shape}")
    rows, columns = arr.shape[:2]
    colour_type = 0 if arr.ndim == 2 else 2
    raw = b"".join(b"\x00" + np.ascontiguousarray(arr[r]).tobytes() for r in range(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", columns, rows, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def write_png(arr: np.ndarray, path: Path) -> None:
    """Write ``arr`` (see :func:`png_bytes`) to ``path``."""
    path.write_bytes(png_bytes(arr))
