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
from typing import Any

from pydicom.uid import UID
from pynetdicom import AE, evt

from app.core.config import ServerConfig
from app.dicom.transfer_syntaxes import UNCOMPRESSED
from app.server import cancel
from app.server.ae_service import SingleAEService
from app.server.handlers.echo import handle_echo
from app.server.handlers.mwl import ItemCache, handle_mwl_find
from app.server.index.worklist_records import WorklistStoreProtocol
from app.server.scp import Admission, make_scp_ae

LOGGER = logging.getLogger(__name__)

#: Modality Worklist Information Model - FIND (PS3.4 K.6.1.3).
MODALITY_WORKLIST_FIND = UID("1.2.840.10008.5.1.4.31")


def make_mwl_ae(config: ServerConfig) -> AE:
    """The pynetdicom AE of the MWL SCP, with its contexts and limits (not yet listening)."""
    ae = make_scp_ae(config, config.mwl.ae_title)
    ae.add_supported_context(MODALITY_WORKLIST_FIND, list(UNCOMPRESSED))
    return ae


class WorklistService(SingleAEService):
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
        super().__init__(config.dicom_host, config.mwl.ae_title, config.mwl.port, "the MWL SCP")
        self._config = config
        self._store = store
        self._cache = ItemCache()

    def make_ae(self) -> AE:
        return make_mwl_ae(self._config)

    def handlers(self) -> list[Any]:
        return [
            *Admission(self._config.max_associations).handlers(),
            *cancel.handlers(),
            (evt.EVT_C_ECHO, handle_echo),
            (evt.EVT_C_FIND, handle_mwl_find, [self._store, self._config.mwl, self._cache]),
        ]
