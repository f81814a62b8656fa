"""The data set of a received C-STORE request, whichever way pynetdicom kept it.

With pynetdicom's process-wide ``STORE_RECV_CHUNKED_DATASET`` on (the server turns it on for its
Storage SCP), the data set is in a Part 10 file pynetdicom wrote (``event.dataset_path``) and the
request carries none; otherwise it is the request's in-memory encoding. Every SCP handler that
reads the bytes goes through :func:`open_received`, so none depends on that setting.
"""

from __future__ import annotations

import struct
from io import BytesIO
from typing import Any, BinaryIO


def data_set_offset(fh: BinaryIO) -> int:
    """Offset of the data set in a Part 10 file written by pynetdicom (PS3.10 7.1).

    Reads the 128-byte preamble, ``DICM`` and the File Meta Information Group Length
    (0002,0000), which pynetdicom always writes first, explicit VR little endian.
    """
    head = fh.read(144)
    if len(head) < 144 or head[128:132] != b"DICM" or head[132:136] != b"\x02\x00\x00\x00":
        raise ValueError("received file has no File Meta Information Group Length")
    (group_length,) = struct.unpack("<I", head[140:144])
    return 144 + group_length


def open_received(event: Any) -> BinaryIO:
    """The received data set as a binary stream positioned at its first element.

    Uses the file pynetdicom wrote when ``STORE_RECV_CHUNKED_DATASET`` is on, else the
    in-memory encoded data set of the request.
    """
    try:
        path = event.dataset_path
    except AttributeError:
        path = None
    if path is not None:
        fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by the caller
        try:
            fh.seek(data_set_offset(fh))
        except BaseException:
            fh.close()
            raise
        return fh
    raw = event.request.DataSet
    if isinstance(raw, BytesIO):
        raw.seek(0)
        return raw
    raise ValueError("the C-STORE request carries no data set")
