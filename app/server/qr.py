"""The server's Query/Retrieve SCP application entity (PS3.4 C, PS3.7 9.1.2-9.1.4, PS3.8 9.3).

One pynetdicom AE with the title and port of ``[server.qr]``, bound on
``config.dicom_host``. It offers, with the uncompressed transfer syntaxes only:

- Verification (PS3.4 A);
- C-FIND in the Patient Root, Study Root and Patient/Study Only models (PS3.4 C.6.1-C.6.3),
  served by :func:`app.server.handlers.find.handle_find`, hierarchical by default and
  relational when the SCU asks for it by SOP Class Extended Negotiation (PS3.4 C.5.1);
- C-MOVE in the same three models, served by :mod:`app.server.handlers.move`;
- Modality Performed Procedure Step N-CREATE and N-SET (PS3.4 F.7, as the reference's Q/R
  AE does), served by :mod:`app.server.handlers.mpps` when an MPPS service is given.

The association policies are those of the Storage SCP AEs (:mod:`app.server.scp`): a wrong
Called AE Title is rejected (reason 7), at most ``config.max_associations`` associations at
a time (:class:`app.server.scp.Admission`), ``max_pdu``, network timeouts, ``TCP_NODELAY``
on accepted sockets, and Lightbox's implementation class UID and version name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynetdicom import AE, _config, evt

from app.core.config import ServerConfig
from app.dicom.mpps import MPPS_SOP_CLASS_UID
from app.dicom.transfer_syntaxes import UNCOMPRESSED
from app.server import cancel, find_encoding
from app.server.ae_service import SingleAEService
from app.server.handlers.echo import handle_echo
from app.server.handlers.find import handle_find
from app.server.handlers.move import MoveService
from app.server.handlers.mpps import handle_n_create, handle_n_set
from app.server.index.admin_records import CatalogueValues
from app.server.index.records import CatalogueProtocol
from app.server.mpps import MppsService
from app.server.qr_models import MODELS, relational_reply
from app.server.scp import Admission, make_scp_ae

LOGGER = logging.getLogger(__name__)


def make_qr_ae(config: ServerConfig) -> AE:
    """The pynetdicom AE of the Q/R SCP, with its contexts and limits (not yet listening)."""
    ae = make_scp_ae(config, config.qr.ae_title)
    find_encoding.install()  # pending C-FIND identifiers sent as encoded by the handler
    syntaxes = list(UNCOMPRESSED)
    for model in MODELS:
        ae.add_supported_context(model.find, syntaxes)
        ae.add_supported_context(model.move, syntaxes)
    ae.add_supported_context(MPPS_SOP_CLASS_UID, syntaxes)
    return ae


def _sop_extended(event: Any) -> dict[str, bytes]:
    """``EVT_SOP_EXTENDED``: relational queries and combined date-time matching (PS3.4 C.5.1)."""
    return relational_reply(event.app_info)


class QueryRetrieveService(SingleAEService):
    """The Q/R SCP AE of ``lightbox server``.

    Parameters
    ----------
    config
        The server settings: ``qr`` (AE title, port, hit limit), ``destinations``,
        ``dicom_host``, ``max_pdu``, ``max_associations``, ``network_timeout``.
    catalogue
        The index (thread-safe).
    path_of
        The absolute path of a stored file from its relative path (``Storage.path_of``):
        C-MOVE sends the files as stored.
    mpps
        Serves Modality Performed Procedure Step N-CREATE / N-SET (refused with 0x0110 when None).
    values_of
        The catalogue values of a study (``CorrectionStore.catalogue_values``): C-MOVE gives
        the instances of corrected studies the catalogue's values.
    ensure_online
        Fetches archived studies back before a C-MOVE (``ArchiveFetcher.ensure_online``).
    """

    def __init__(
        self, config: ServerConfig, catalogue: CatalogueProtocol, path_of: Callable[[str], Path],
        mpps: MppsService | None = None, values_of: Callable[[str], CatalogueValues | None] | None = None,
        ensure_online: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        super().__init__(config.dicom_host, config.qr.ae_title, config.qr.port, "the Q/R SCP")
        self._config = config
        self._mpps = mpps
        self._catalogue = catalogue
        self._move = MoveService(config, catalogue, path_of, values_of, ensure_online)

    def make_ae(self) -> AE:
        # C-MOVE sub-operations stream a stored file's data set as it is on disk.
        _config.STORE_SEND_CHUNKED_DATASET = True
        return make_qr_ae(self._config)

    def handlers(self) -> list[Any]:
        handlers: list[Any] = [
            *Admission(self._config.max_associations).handlers(),
            *cancel.handlers(),
            (evt.EVT_C_ECHO, handle_echo),
            (evt.EVT_C_FIND, handle_find, [self._catalogue, self._config.qr]),
            (evt.EVT_SOP_EXTENDED, _sop_extended),
            (evt.EVT_ACCEPTED, self._move.install),
        ]
        if self._mpps is not None:
            handlers += [(evt.EVT_N_CREATE, handle_n_create, [self._mpps]),
                         (evt.EVT_N_SET, handle_n_set, [self._mpps])]
        return handlers
