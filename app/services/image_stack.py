"""The images of an opened series as a stack of frames, rendered by :mod:`app.imaging`.

Every frame of every instance, in the order of a sort key (:mod:`app.imaging.stacks`), is one
position of the stack. Grey frames go through their own image's
:class:`~app.imaging.pipeline.GreyPipeline` (one cached table per window), colour frames to
RGB (DESIGN.md section 4). A stack grows while its series loads (:meth:`ImageStack.append`
puts new frames at the end; :meth:`ImageStack.resort` puts them in order): caches are keyed
by (data set, frame), so re-sorting keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import AppError
from app.imaging.frames import decode_frame, is_grey, number_of_frames, rgb_frame
from app.imaging.pipeline import GreyPipeline
from app.imaging.stacks import SortKey, StackPosition, build_stack
from app.imaging.voi_lut import VOI, Window
from app.services.decoded_frames import FrameCache, native_frame, native_kind

__all__ = ["FrameNotReady", "ImageStack", "describe_voi", "native_frame"]

_CACHE_FRAMES = 64


class FrameNotReady(AppError):
    """A frame that needs decoding was asked for on a stack that does not decode inline.

    Decode it first with :meth:`ImageStack.decode` on a worker (the viewer does).
    """


def _pipeline_key(ds: Dataset) -> tuple[object, ...] | None:
    """What the grey pipeline of ``ds`` depends on; None when it has LUT sequences (not shared)."""
    if ds.get("ModalityLUTSequence") or ds.get("VOILUTSequence"):
        return None
    return (
        ds.get("BitsStored"),
        ds.get("PixelRepresentation"),
        str(ds.get("RescaleSlope", "")),
        str(ds.get("RescaleIntercept", "")),
        str(ds.get("PhotometricInterpretation", "")),
        str(ds.get("PresentationLUTShape", "")),
        str(ds.get("WindowCenter", "")),
        str(ds.get("WindowWidth", "")),
        str(ds.get("VOILUTFunction", "")),
    )


class ImageStack:
    """Frames of a series with cached decoded indices and per-instance pipelines.

    Without ``key`` the stack is sorted by :attr:`default_key` (``[workstation.viewer] sort``).
    With ``decode_inline`` False (the viewer), a frame that needs decoding is never decoded by
    the thread asking for its pixels: :meth:`is_ready` says whether it can be shown, a worker
    runs :meth:`decode`, and until then :meth:`pixels` raises :class:`FrameNotReady`.
    """

    default_key: ClassVar[SortKey] = SortKey.INSTANCE_NUMBER

    def __init__(
        self,
        datasets: Iterable[Dataset] = (),
        key: SortKey | None = None,
        descending: bool = False,
        decode_inline: bool = True,
    ) -> None:
        self.datasets: list[Dataset] = []
        self.frames: list[StackPosition] = []
        self.key = key if key is not None else self.default_key
        self.descending = descending
        self._pipelines: dict[int, GreyPipeline] = {}
        self._shared: dict[tuple[object, ...], GreyPipeline] = {}
        self._indices: dict[StackPosition, np.ndarray] = {}
        self._ranges: dict[StackPosition, tuple[float, float]] = {}
        self.decode_inline = decode_inline
        #: Decoded frames of compressed multi-frame images (stored values, or RGB for colour).
        self.decoded = FrameCache()
        self._native: dict[int, str | None] = {}
        #: True once an instance needs decoding (not read in place): the viewer then decodes on workers.
        self.needs_decoding = False
        self._failed: dict[StackPosition, Exception] = {}
        for ds in datasets:
            self.append(ds)
        self.resort()

    def __len__(self) -> int:
        return len(self.frames)

    def append(self, ds: Dataset) -> None:
        """Add an instance's frames at the end (call :meth:`resort` to put them in order)."""
        index = len(self.datasets)
        self.datasets.append(ds)
        self.needs_decoding = self.needs_decoding or self._native_kind(index) is None
        self.frames.extend(StackPosition(index, f) for f in range(number_of_frames(ds)))

    def resort(self, key: SortKey | None = None, descending: bool | None = None) -> None:
        """Order the frames by ``key`` (default: the current one) with :func:`~app.imaging.stacks.build_stack`."""
        self.key = key if key is not None else self.key
        self.descending = descending if descending is not None else self.descending
        if self.datasets:
            self.frames = list(build_stack(self.datasets, self.key, descending=self.descending).positions)

    def position_of(self, ref: StackPosition) -> int | None:
        """Where frame ``ref`` is in the current order, or None."""
        try:
            return self.frames.index(ref)
        except ValueError:
            return None

    def dataset(self, position: int) -> Dataset:
        return self.datasets[self.frames[position].dataset_index]

    def frame(self, position: int) -> int:
        """The 0-based frame number, within its instance, of stack position ``position``."""
        return self.frames[position].frame

    def is_grey(self, position: int) -> bool:
        return is_grey(self.dataset(position))

    def pipeline(self, position: int) -> GreyPipeline:
        """The grey pipeline of a frame's instance, shared by instances with the same parameters.

        A CT series usually has one rescale and one window for all its images: sharing keeps
        one 64 K-entry table per series instead of one per image.
        """
        instance = self.frames[position].dataset_index
        pipe = self._pipelines.get(instance)
        if pipe is None:
            ds = self.datasets[instance]
            key = _pipeline_key(ds)
            pipe = self._shared.get(key) if key is not None else None
            if pipe is None:
                pipe = GreyPipeline.from_dataset(ds)
                if key is not None:
                    self._shared[key] = pipe
            self._pipelines[instance] = pipe
        return pipe

    def is_ready(self, position: int) -> bool:
        """True when the pixels of ``position`` can be had without decoding (native, decoded or failed)."""
        return self.is_decoded(self.frames[position])

    def _native_kind(self, dataset_index: int) -> str | None:
        """:func:`~app.services.decoded_frames.native_kind` of an instance, asked once (None: decode it)."""
        if dataset_index not in self._native:
            ds = self.datasets[dataset_index]
            kind = native_kind(ds)
            self._native[dataset_index] = kind if kind is not None and (kind == "grey") == is_grey(ds) else None
        return self._native[dataset_index]

    def decode(self, position: int | StackPosition) -> None:
        """Decode a frame into :attr:`decoded` (call on a worker; safe beside the GUI thread).

        A frame that cannot be decoded keeps its error: :meth:`pixels` raises it.
        """
        ref = self.frames[position] if isinstance(position, int) else position
        if ref in self.decoded or ref in self._failed:
            return
        try:
            self.decoded.put(ref, self._decode(ref))
        except Exception as exc:  # decoders raise many kinds; the viewer shows the message
            self._failed[ref] = exc

    def _decode(self, ref: StackPosition) -> np.ndarray:
        ds = self.datasets[ref.dataset_index]
        return decode_frame(ds, ref.frame)[0] if is_grey(ds) else rgb_frame(ds, ref.frame)

    def pixels(self, position: int) -> np.ndarray:
        """Stored values of a grey frame, RGB uint8 of a colour one: native, decoded, or decoded now.

        Raises
        ------
        FrameNotReady
            When the frame needs decoding and the stack does not decode inline.
        """
        return self.pixels_of(self.frames[position], position)

    def is_decoded(self, ref: StackPosition) -> bool:
        """:meth:`is_ready` for frame ``ref`` (any frame of an instance, in the stack's order or not)."""
        return self._native_kind(ref.dataset_index) is not None or ref in self.decoded or ref in self._failed

    def pixels_of(self, ref: StackPosition, position: int | None = None) -> np.ndarray:
        """:meth:`pixels` of frame ``ref`` (e.g. a mask frame of the one shown); raises :class:`FrameNotReady` too."""
        if ref in self._failed:
            raise self._failed[ref]
        kind = self._native_kind(ref.dataset_index)
        found = native_frame(self.datasets[ref.dataset_index], ref.frame, kind) if kind is not None else None
        if found is None:
            found = self.decoded.get(ref)
        if found is not None:
            return found
        if not self.decode_inline:
            which = f"Image {position + 1}" if position is not None else f"Frame {ref.frame + 1}"
            raise FrameNotReady(f"{which} is still being decoded; it shows when ready.")
        return self._decode(ref)

    def index(self, position: int) -> np.ndarray:
        """The table index of a grey frame (computed once, a few dozen kept)."""
        ref = self.frames[position]
        idx = self._indices.get(ref)
        if idx is None:
            idx = self.pipeline(position).index(self.pixels(position))
            if len(self._indices) >= _CACHE_FRAMES:
                self._indices.pop(next(iter(self._indices)))
            self._indices[ref] = idx
        return idx

    def default_voi(self, position: int) -> VOI | None:
        """The image's own VOI (its window, VOI LUT, or a window over its values); None for colour."""
        if not self.is_grey(position):
            return None
        return self.pipeline(position).default_voi(self.index(position))

    def modality_range(self, position: int) -> tuple[float, float]:
        """Range of the modality values present in a grey frame (0..255 for colour); drives drag speed."""
        if not self.is_grey(position):
            return 0.0, 255.0
        ref = self.frames[position]
        found = self._ranges.get(ref)
        if found is None:
            found = self.pipeline(position).modality_range(self.index(position))
            self._ranges[ref] = found
        return found

    def render(self, position: int, voi: VOI | None = None) -> np.ndarray:
        """uint8 display pixels: (rows, columns) for grey, (rows, columns, 3) RGB for colour."""
        if not self.is_grey(position):
            return self.pixels(position)
        pipe = self.pipeline(position)
        idx = self.index(position)
        return pipe.render(idx, voi if voi is not None else pipe.default_voi(idx))

    def pixel_aspect(self, position: int) -> float:
        """Height/width of one pixel from Pixel Spacing or Pixel Aspect Ratio (PS3.3 10.7.1.3)."""
        ds = self.dataset(position)
        spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
        try:
            if spacing and float(spacing[1]) > 0:
                return float(spacing[0]) / float(spacing[1])
            ratio = ds.get("PixelAspectRatio")
            if ratio and int(ratio[1]) > 0:
                return int(ratio[0]) / int(ratio[1])
        except (TypeError, ValueError, IndexError):
            pass
        return 1.0


def describe_voi(voi: VOI | None) -> str:
    """Corner text for a VOI: ``W 400 L 40`` for a window, the LUT's name for a VOI LUT."""
    if voi is None:
        return ""
    if isinstance(voi, Window):
        return f"W {voi.width:.0f} L {voi.center:.0f}"
    return f"VOI LUT {voi.explanation}".strip()
