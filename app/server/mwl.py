"""The server's Modality Worklist SCP application entity (PS3.4 K, PS3.7 9.1.2).

One pynetdicom AE with the title and port of ``[server.mwl]``, bound on
``config.dicom_host``, offering with the uncompressed transfer syntaxes:

- Verification (PS3.4 A);
- Modality Worklist Information Model - FIND (PS3.4 K.6.1.3), served by
  :func:`app.server.handlers.mwl.handle_mwl_find` over the worklist store.

The association policies are those of every SCP AE of the server
(:func:`app.server.scp.make_scp_ae`, :class:`app.server.scp.Admission`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pydicom.uid import UID
from pynetdicom import AE, evt

from app.core.config import ServerConfig
from app.dicom.transfer_syntaxes import UNCOMPRESSED
from app.server import cancel
from app.server.handlers.echo import handle_echo
from app.server.handlers.mwl import ItemCache, handle_mwl_find
from app.server.index.worklist_records import WorklistStoreProtocol
from app.server.scp import STOP_GRACE_SECONDS, Admission, _NoDelayServer, make_scp_ae, serve, stop_listener

LOGGER = logging.getLogger(__name__)

#: Modality Worklist Information Model - FIND (PS3.4 K.6.1.3).
MODALITY_WORKLIST_FIND = UID("1.2.840.10008.5.1.4.31")


def make_mwl_ae(config: ServerConfig) -> AE:
    """The pynetdicom AE of the MWL SCP, with its contexts and limits (not yet listening)."""
    ae = make_scp_ae(config, config.mwl.ae_title)
    ae.add_supported_context(MODALITY_WORKLIST_FIND, list(UNCOMPRESSED))
    return ae


class WorklistService:
    """The MWL SCP AE of ``lightbox server``.

    Parameters
    ----------
    config
        The server settings: ``mwl`` (AE title, port, hit limit, ``drop_completed``),
        ``dicom_host``, ``max_pdu``, ``max_associations``, ``network_timeout``.
    store
        The worklist store (thread-safe).
    """

    def __init__(self, config: ServerConfig, store: WorklistStoreProtocol) -> None:
        self._config = config
        self._store = store
        self._cache = ItemCache()
        self._server: tuple[AE, _NoDelayServer, threading.Thread] | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> tuple[str, int] | None:
        """(AE title, bound port) once started."""
        if self._server is None:
            return None
        ae, server, _ = self._server
        return ae.ae_title, int(server.server_address[1])

    def start(self) -> tuple[str, int]:
        """Start listening; non-blocking. Returns the AE title and the bound port."""
        with self._lock:
            ae = make_mwl_ae(self._config)
            handlers: list[Any] = [
                *Admission(self._config.max_associations).handlers(),
                *cancel.handlers(),
                (evt.EVT_C_ECHO, handle_echo),
                (evt.EVT_C_FIND, handle_mwl_find, [self._store, self._config.mwl, self._cache]),
            ]
            title = self._config.mwl.ae_title
            server, thread = serve(ae, self._config.dicom_host, self._config.mwl.port, title, handlers,
                                   f"MWLSCP-{title}")
            self._server = (ae, server, thread)
            return title, int(server.server_address[1])

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop accepting, let running associations finish for up to ``grace`` s, then abort them."""
        with self._lock:
            if self._server is None:
                return
            ae, server, thread = self._server
            self._server = None
            stop_listener(ae, server, thread, grace, "the MWL SCP")
