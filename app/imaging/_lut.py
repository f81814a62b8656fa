"""Reading LUT Descriptor / LUT Data pairs shared by the Modality and VOI LUT stages.

PS3.3 C.11.1.1.1 (Modality LUT) and C.11.2.1.1 (VOI LUT): a LUT is described by
three values ``(number of entries, first stored value mapped, bits per entry)`` where
0 entries means 65536, and by its LUT Data, US or OW.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError


@dataclass(frozen=True, eq=False)
class Lut:
    """A decoded LUT: ``data[i]`` is the output for input ``first_mapped + i``.

    Inputs below ``first_mapped`` give ``data[0]``; inputs past the end give ``data[-1]``
    (PS3.3 C.11.1.1.1).
    """

    first_mapped: int
    bits: int
    data: np.ndarray

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Map ``values`` (any numeric array) through the LUT, clamping at both ends."""
        index = np.floor(np.asarray(values, dtype=np.float64)) - self.first_mapped
        index = np.clip(index, 0, len(self.data) - 1).astype(np.intp)
        out: np.ndarray = self.data[index].astype(np.float64)
        return out

    @property
    def max_output(self) -> int:
        """Largest output value the descriptor allows (``2**bits - 1``)."""
        return int(2**self.bits - 1)


def read_lut(item: Dataset, *, signed_input: bool, little_endian: bool = True) -> Lut:
    """Decode one item of a Modality or VOI LUT Sequence.

    Parameters
    ----------
    item
        The sequence item holding LUT Descriptor (0028,3002) and LUT Data (0028,3006).
    signed_input
        Whether the first mapped value is signed (Pixel Representation 1): a descriptor
        stored as US is then re-read as SS (PS3.3 C.11.1.1.1).
    little_endian
        Byte order of LUT Data when it was read as OW bytes.
    """
    try:
        descriptor = [int(v) for v in item.LUTDescriptor]
        raw = item.LUTData
    except AttributeError as exc:
        raise DicomInputError(
            "A LUT sequence item lacks LUT Descriptor or LUT Data; the image cannot be displayed "
            "with its LUT. Ask the sender to check the object."
        ) from exc
    if len(descriptor) != 3:
        raise DicomInputError(f"LUT Descriptor {descriptor} must have 3 values (PS3.3 C.11.1.1.1).")
    entries = descriptor[0] or 65536
    first = descriptor[1]
    if signed_input and first >= 32768:
        first -= 65536
    bits = descriptor[2]
    if isinstance(raw, bytes | bytearray):
        dtype = "<u2" if little_endian else ">u2"
        data = np.frombuffer(raw, dtype=dtype)
    else:
        values = raw if isinstance(raw, list | tuple) or hasattr(raw, "__iter__") else [raw]
        data = np.asarray(list(values), dtype=np.float64)
    if data.size == 0:
        raise DicomInputError("LUT Data is empty; the LUT cannot be applied (PS3.3 C.11.1.1.1).")
    data = data[:entries] if data.size >= entries else data
    # Some writers declare 16 bits for 12-bit data: trust the data when it is larger.
    top = float(np.max(data))
    if top > 2**bits - 1:
        bits = max(bits, int(np.ceil(np.log2(top + 1))))
    return Lut(first_mapped=first, bits=bits, data=np.asarray(data, dtype=np.float64))


def is_little_endian(ds: Dataset) -> bool:
    """Byte order of the data set as read (for OW LUT Data)."""
    meta = getattr(ds, "file_meta", None)
    ts = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if ts is not None:
        try:
            return bool(ts.is_little_endian)
        except (AttributeError, ValueError):
            pass
    enc = getattr(ds, "original_encoding", (None, True))
    return enc[1] is not False
