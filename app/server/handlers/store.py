"""Storage SCP C-STORE adapter (PS3.4 B.2): received data set -> ``Ingest.store_encoded``.

The data set is never decoded here. With pynetdicom's ``STORE_RECV_CHUNKED_DATASET`` on,
the received data set is already a file on disk (preamble + file meta + data set); the
handler opens it, skips the file meta and hands the open file, positioned at the first
data set element, to the ingest, which copies it into the storage area.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO, Protocol

from pydicom.dataset import Dataset

from app.net.received import open_received

LOGGER = logging.getLogger(__name__)

#: PS3.4 Table B.2-1 / PS3.7 C.5 statuses used by the handler's own guard.
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000

_MAX_COMMENT = 64  # Error Comment (0000,0902) is LO: at most 64 characters (PS3.7 C.4)


class StoreOutcomeLike(Protocol):
    """What ``Ingest.store_encoded`` returns (see ``app.server.context``)."""

    @property
    def status(self) -> int: ...

    @property
    def comment(self) -> str: ...


class IngestLike(Protocol):
    """The part of ``app.server.context.Ingest`` the Storage SCP uses."""

    def store_encoded(
        self,
        dataset: bytes | memoryview | BinaryIO,
        *,
        transfer_syntax: str,
        sop_class_uid: str,
        sop_instance_uid: str,
        source_ae: str = "",
        called_ae: str = "",
    ) -> StoreOutcomeLike: ...


def status_dataset(status: int, comment: str = "") -> Dataset:
    """A C-STORE response status data set (PS3.7 9.3.1.2): Status, and Error Comment when given."""
    ds = Dataset()
    ds.Status = status
    if comment and status != SUCCESS:
        ds.ErrorComment = clean_comment(comment)
    return ds


def clean_comment(comment: str) -> str:
    text = "".join(ch if 32 <= ord(ch) < 127 and ch != "\\" else " " for ch in comment)
    return text.strip()[:_MAX_COMMENT]


def store_stream(
    ingest: IngestLike,
    stream: BinaryIO,
    *,
    transfer_syntax: str,
    sop_class_uid: str,
    sop_instance_uid: str,
    source_ae: str,
    called_ae: str,
) -> tuple[int, str]:
    """Hand one received data set to the ingest and return (status, comment); never raises.

    Shared by :func:`handle_store` and the C-STORE fast path (``app.server.fastpath``).
    ``stream`` is valid only during the call: the fast path reuses its buffer for the next
    data set, and its ``read(n)`` returns views into it (``read()`` returns bytes).
    Unexpected failures become 0xA700 (out of resources: ``OSError``, ``MemoryError``)
    or 0xC000 (cannot understand: anything else), PS3.4 Table B.2-1.
    """
    try:
        # In memory already (pynetdicom's BytesIO, the fast path's buffer): hand over a view,
        # which the ingest writes and parses without reading it through the stream.
        getbuffer = getattr(stream, "getbuffer", None)
        data = getbuffer()[stream.tell():] if getbuffer is not None else stream
        outcome = ingest.store_encoded(
            data,
            transfer_syntax=transfer_syntax,
            sop_class_uid=sop_class_uid,
            sop_instance_uid=sop_instance_uid,
            source_ae=source_ae,
            called_ae=called_ae,
        )
        status, comment = int(outcome.status), str(outcome.comment or "")
        if status != SUCCESS:
            LOGGER.warning("C-STORE of %s from %s answered 0x%04X: %s", sop_instance_uid, source_ae, status, comment)
        return status, comment
    except (OSError, MemoryError) as exc:
        LOGGER.exception("C-STORE failed for lack of resources")
        return OUT_OF_RESOURCES, f"Out of resources: {type(exc).__name__}: {exc}"
    except Exception as exc:
        LOGGER.exception("C-STORE failed unexpectedly")
        return CANNOT_UNDERSTAND, f"Cannot process: {type(exc).__name__}: {exc}"


def handle_store(event: Any, ingest: IngestLike) -> Dataset:
    """Store one received SOP instance (PS3.4 B.2.2) and answer its status; never raises.

    Parameters
    ----------
    event
        pynetdicom's ``EVT_C_STORE`` event.
    ingest
        The server's ingest; its outcome's status and comment are answered as they are.

    Returns
    -------
    pydicom.dataset.Dataset
        The response status (PS3.7 9.3.1.2): the ingest's, or 0xA700 (out of
        resources) / 0xC000 (cannot understand) when something unexpected failed here.
    """
    try:
        request = event.request
        assoc = event.assoc
        with open_received(event) as stream:
            status, comment = store_stream(
                ingest,
                stream,
                transfer_syntax=str(event.context.transfer_syntax),
                sop_class_uid=str(request.AffectedSOPClassUID or ""),
                sop_instance_uid=str(request.AffectedSOPInstanceUID or ""),
                source_ae=str(assoc.requestor.ae_title).strip(),
                called_ae=str(assoc.acceptor.ae_title).strip(),
            )
        return status_dataset(status, comment)
    except (OSError, MemoryError) as exc:
        LOGGER.exception("C-STORE failed for lack of resources")
        return status_dataset(OUT_OF_RESOURCES, f"Out of resources: {type(exc).__name__}: {exc}")
    except Exception as exc:
        LOGGER.exception("C-STORE failed unexpectedly")
        return status_dataset(CANNOT_UNDERSTAND, f"Cannot process: {type(exc).__name__}: {exc}")
