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
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from app.imaging.frames import decode_frame, is_grey, number_of_frames, rgb_frame
from app.imaging.pipeline import GreyPipeline
from app.imaging.stacks import SortKey, StackPosition, build_stack
from app.imaging.voi_lut import VOI, Window

_CACHE_FRAMES = 64
_NATIVE_LITTLE_ENDIAN = {ImplicitVRLittleEndian, ExplicitVRLittleEndian}


def native_frame(ds: Dataset, frame: int) -> np.ndarray | None:
    """Frame ``frame`` as a read-only view of Pixel Data, or None when the fast case does not apply.

    The fast case: uncompressed little-endian pixel data (PS3.5 A.1, A.2) of one sample,
    16 bits allocated and 16 stored (no bits to mask or sign-extend, PS3.5 8.1.1), so the
    stored values are the bytes themselves. Anything else goes through the decoders
    (:func:`app.imaging.frames.decode_frame`).
    """
    meta = getattr(ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    data = ds.get("PixelData")
    if syntax not in _NATIVE_LITTLE_ENDIAN or not isinstance(data, bytes):
        return None
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        simple = int(ds.BitsAllocated) == 16 and int(ds.BitsStored) == 16 and int(ds.get("SamplesPerPixel", 1)) == 1
        signed = int(ds.get("PixelRepresentation", 0)) == 1
    except (AttributeError, TypeError, ValueError):
        return None
    count = rows * columns
    if not simple or len(data) < (frame + 1) * count * 2:
        return None
    arr = np.frombuffer(data, dtype="<i2" if signed else "<u2", count=count, offset=frame * count * 2)
    return arr.reshape(rows, columns)


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
    """

    default_key: ClassVar[SortKey] = SortKey.INSTANCE_NUMBER

    def __init__(
        self, datasets: Iterable[Dataset] = (), key: SortKey | None = None, descending: bool = False
    ) -> None:
        self.datasets: list[Dataset] = []
        self.frames: list[StackPosition] = []
        self.key = key if key is not None else self.default_key
        self.descending = descending
        self._pipelines: dict[int, GreyPipeline] = {}
        self._shared: dict[tuple[object, ...], GreyPipeline] = {}
        self._indices: dict[StackPosition, np.ndarray] = {}
        self._ranges: dict[StackPosition, tuple[float, float]] = {}
        for ds in datasets:
            self.append(ds)
        self.resort()

    def __len__(self) -> int:
        return len(self.frames)

    def append(self, ds: Dataset) -> None:
        """Add an instance's frames at the end (call :meth:`resort` to put them in order)."""
        index = len(self.datasets)
        self.datasets.append(ds)
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

    def index(self, position: int) -> np.ndarray:
        """The table index of a grey frame (decoded once, a few dozen kept)."""
        ref = self.frames[position]
        idx = self._indices.get(ref)
        if idx is None:
            ds = self.datasets[ref.dataset_index]
            stored = native_frame(ds, ref.frame)
            if stored is None:
                stored, _ = decode_frame(ds, ref.frame)
            idx = self.pipeline(position).index(stored)
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
        ref = self.frames[position]
        if not self.is_grey(position):
            return rgb_frame(self.datasets[ref.dataset_index], ref.frame)
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
