"""The workstation's temporary Storage SCP: the destination of a Fetch (reference 3.1, 2.2.6.1).

- AE title and port from ``[workstation.temporary_store]`` (default: first part of the host
  name in upper case + ``STORE``, port 7820, reference 11.1.1);
- every storage SOP class of :data:`app.dicom.sop_classes.ALL_STORAGE` with the transfer
  syntaxes of :data:`app.dicom.transfer_syntaxes.STORAGE_PREFERENCE`, and Verification;
- an association calling another AE title is rejected (permanent, service-user, reason 7:
  called AE title not recognised; PS3.8 9.3.4); beyond ``max_associations`` simultaneous
  associations (default 5) further ones are rejected transient (local limit exceeded);
- each image is written to :class:`app.net.temporary_area.TemporaryArea` (File Meta
  Information + the data set as received, PS3.10 7.1) before success is answered; a second
  copy of an image becomes a second file;
- the folder is removed at :meth:`TemporaryStorageSCP.stop`, left-overs of a crash at the
  next :meth:`TemporaryStorageSCP.start`.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, cast

from pydicom.uid import UID, DeflatedExplicitVRLittleEndian
from pynetdicom import AE, evt

from app.dicom.element_scan import ScanError, scan_values
from app.dicom.file_meta import file_meta_bytes
from app.dicom.sop_classes import ALL_STORAGE, VERIFICATION
from app.dicom.transfer_syntaxes import STORAGE_PREFERENCE, UNCOMPRESSED
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from app.net.listener import NoDelayServer
from app.net.pdu_limits import bound_pdu_reads
from app.net.received import open_received
from app.net.temporary_area import ReceivedImage, TemporaryArea

LOGGER = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000

_UIDS = (0x00080016, 0x00080018, 0x0020000D, 0x0020000E)


def _identity(event: Any, raw: bytes) -> dict[str, str]:
    """SOP Class/Instance, Study and Series Instance UIDs of a received data set, read from
    its encoding ``raw`` (pydicom's reader when the fast scan cannot)."""
    syntax = UID(event.context.transfer_syntax)
    if syntax != DeflatedExplicitVRLittleEndian:
        try:
            return scan_values(
                raw, implicit_vr=syntax.is_implicit_VR, little_endian=syntax.is_little_endian,
                wanted=_UIDS, stop_after=0x0020000E,
            )
        except ScanError:
            pass
    ds = event.dataset
    return {k: str(ds.get(k, "")) for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")}


class TemporaryStorageSCP:
    """The temporary Storage SCP of one workstation.

    Parameters
    ----------
    root
        Folder under which this run's folder is made (left-overs of crashed runs removed).
    ae_title, port, max_associations
        From ``WorkstationConfig.temporary_store`` (port 0 = any free port).
    host
        Address to listen on.
    max_pdu, timeout
        Our Maximum Length (PS3.8 D.1) and the network timeout (s).
    """

    def __init__(
        self, root: Path, ae_title: str, port: int = 7820, max_associations: int = 5, *,
        host: str = "0.0.0.0", max_pdu: int = 131072, timeout: float = 30.0,
    ) -> None:
        self.root = root
        self.ae_title = ae_title
        self._port, self._host = port, host
        self._max_associations, self._max_pdu, self._timeout = max_associations, max_pdu, timeout
        self.area: TemporaryArea | None = None
        self._server: tuple[AE, NoDelayServer, threading.Thread] | None = None

    @property
    def port(self) -> int:
        """The bound port once started (else the configured one)."""
        return int(self._server[1].server_address[1]) if self._server else self._port

    def _make_ae(self) -> AE:
        ae = AE(ae_title=self.ae_title)
        ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
        ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
        ae.maximum_pdu_size = self._max_pdu
        ae.maximum_associations = self._max_associations
        ae.require_called_aet = True
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self._timeout
        ae.add_supported_context(VERIFICATION, list(UNCOMPRESSED))
        for sop_class in ALL_STORAGE:
            ae.add_supported_context(sop_class, list(STORAGE_PREFERENCE))
        return ae

    def start(self) -> int:
        """Claim a folder (sweeping crash left-overs) and listen; returns the bound port.

        Raises ``OSError`` when the port cannot be bound (the caller reports it)."""
        if self._server is not None:
            return self.port
        self.area = TemporaryArea.claim(self.root)
        ae = self._make_ae()
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, bound_pdu_reads),
            (evt.EVT_C_ECHO, lambda _event: SUCCESS),
            (evt.EVT_C_STORE, self._on_store),
        ]
        try:
            server = cast(
                NoDelayServer,
                ae.make_server((self._host, self._port), evt_handlers=handlers, server_class=NoDelayServer),
            )
        except OSError:
            self.area.remove()
            self.area = None
            raise
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=f"temporary-store-{self.ae_title}",
            daemon=True,
        )
        thread.start()
        ae._servers.append(server)
        self._server = (ae, server, thread)
        LOGGER.info("temporary Storage SCP %s listening on port %d (pid %d)", self.ae_title, self.port, os.getpid())
        return self.port

    def _on_store(self, event: Any) -> int:
        """``EVT_C_STORE``: write the image, then answer success; never raises (PS3.4 B.2.3)."""
        area = self.area
        if area is None:
            return OUT_OF_RESOURCES
        try:
            with open_received(event) as stream:  # in memory, or pynetdicom's file (chunked mode)
                raw = stream.read()
            ids = _identity(event, raw)
            sop_class = ids.get("SOPClassUID") or str(event.request.AffectedSOPClassUID)
            sop_instance = ids.get("SOPInstanceUID") or str(event.request.AffectedSOPInstanceUID)
            study, series = ids.get("StudyInstanceUID", ""), ids.get("SeriesInstanceUID", "")
            source = str(event.assoc.requestor.ae_title).strip()
            meta = file_meta_bytes(event.context.transfer_syntax, sop_class, sop_instance, source, self.ae_title)
        except Exception as exc:
            LOGGER.warning("C-STORE refused: the data set cannot be read (%s)", exc)
            return CANNOT_UNDERSTAND
        try:
            path, copy = area.reserve(source, study, series, sop_instance)
            with path.open("xb") as fh:
                fh.write(meta)
                fh.write(raw)
        except OSError as exc:
            LOGGER.error("C-STORE failed: cannot write the temporary image (%s)", exc)
            return OUT_OF_RESOURCES
        area.commit(ReceivedImage(source, study, series, sop_instance, path, copy))
        return SUCCESS

    def stop(self, grace: float = 5.0) -> None:
        """Stop listening, abort associations still running after ``grace`` s, remove every image."""
        if self._server is not None:
            ae, server, thread = self._server
            self._server = None
            server.shutdown()
            thread.join(timeout=5.0)
            deadline = threading.Event()
            waited = 0.0
            while ae.active_associations and waited < grace:
                deadline.wait(0.05)
                waited += 0.05
            for assoc in ae.active_associations:
                assoc.abort()
        if self.area is not None:
            self.area.remove()
            self.area = None

