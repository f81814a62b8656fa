"""Image Pixel attributes with the defaults of a lenient reader (PS3.3 C.7.6.3).

Some senders leave out Type 1 attributes of the Image Pixel Module. Like the reference
workstation (its conformance statement, Appendix A), Lightbox then assumes Samples per Pixel
1, Photometric Interpretation MONOCHROME2, Planar Configuration 0, Number of Frames 1, Pixel
Representation 0 (unsigned) and High Bit = Bits Stored - 1, and warns instead of refusing.
Rows, Columns and Bits Allocated cannot be guessed: without them the image is refused.
"""

from __future__ import annotations

import logging
import warnings

from pydicom.dataset import Dataset

from app.core.errors import DicomInputError

logger = logging.getLogger(__name__)


class PixelDefaultWarning(UserWarning):
    """An Image Pixel attribute was missing or invalid and a default was assumed."""


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def pixel_defaults(ds: Dataset) -> dict[str, object]:
    """The attributes of ``ds`` that must be assumed, keyword -> default (PS3.3 C.7.6.3.1).

    Raises
    ------
    DicomInputError
        When a data set with Pixel Data lacks Rows, Columns or Bits Allocated (nothing
        sensible can be assumed).
    """
    for keyword in ("Rows", "Columns", "BitsAllocated"):
        if "PixelData" in ds and not _int(ds, keyword):
            raise DicomInputError(
                f"The image lacks {keyword}; its pixels cannot be interpreted (PS3.3 C.7.6.3). "
                "Ask the sender to correct the object."
            )
    fixes: dict[str, object] = {}
    samples = _int(ds, "SamplesPerPixel")
    if samples is None or samples < 1:
        samples = 1
        fixes["SamplesPerPixel"] = 1
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    if not photometric:
        fixes["PhotometricInterpretation"] = "MONOCHROME2" if samples == 1 else "RGB"
    if samples > 1 and _int(ds, "PlanarConfiguration") not in (0, 1):
        fixes["PlanarConfiguration"] = 0
    frames = _int(ds, "NumberOfFrames")
    if "NumberOfFrames" in ds and (frames is None or frames < 1):
        fixes["NumberOfFrames"] = 1
    if _int(ds, "PixelRepresentation") not in (0, 1):
        fixes["PixelRepresentation"] = 0
    allocated = _int(ds, "BitsAllocated")
    stored = _int(ds, "BitsStored")
    if allocated is None:  # header-only data set: nothing more to check
        return fixes
    if stored is None or not 1 <= stored <= allocated:
        stored = allocated
        fixes["BitsStored"] = allocated
    high = _int(ds, "HighBit")
    if (high is None or not 0 < high < allocated or high + 1 < stored) and high != stored - 1:
        fixes["HighBit"] = stored - 1
    return fixes


def with_pixel_defaults(ds: Dataset) -> Dataset:
    """``ds`` itself when complete, else a shallow copy with the defaults set and a warning.

    The original data set is never modified (it may be stored again as received).
    """
    fixes = pixel_defaults(ds)
    if not fixes:
        return ds
    text = ", ".join(f"{k}={v}" for k, v in fixes.items())
    message = f"Image Pixel attributes missing or invalid; assumed {text} (PS3.3 C.7.6.3)"
    logger.warning(message)
    warnings.warn(message, PixelDefaultWarning, stacklevel=2)
    out = Dataset({tag: ds.get_item(tag) for tag in list(ds.keys())})  # own dict, raw elements
    if hasattr(ds, "file_meta"):
        out.file_meta = ds.file_meta
    out.set_original_encoding(*_encoding(ds))
    for keyword, value in fixes.items():
        if keyword in out:  # the element object is shared with ds: replace it, never mutate it
            delattr(out, keyword)
        setattr(out, keyword, value)
    return out


def _encoding(ds: Dataset) -> tuple[bool | None, bool | None, str | list[str] | None]:
    enc = getattr(ds, "original_encoding", (None, None))
    charset = getattr(ds, "original_character_set", None)
    return enc[0], enc[1], charset
