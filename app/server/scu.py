"""Outbound associations of the server (C-MOVE sub-operations, MPPS relay, ...): one AE setup.

The server's SCU side calls with the title of its Q/R AE, its implementation identity,
its PDU size and its network timeouts (PS3.7 D.3.3.2, PS3.8 9.3.2).
"""

from __future__ import annotations

from typing import Any

from pynetdicom import AE

from app.core.config import Destination, ServerConfig
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME


def make_scu_ae(config: ServerConfig) -> AE:
    """A pynetdicom AE for one outbound association, calling as ``config.qr.ae_title``."""
    ae = AE(ae_title=config.qr.ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = config.network_timeout
    ae.maximum_pdu_size = config.max_pdu
    return ae


def associate(config: ServerConfig, destination: Destination, contexts: list[Any]) -> Any:
    """Request an association with ``destination`` proposing ``contexts``; returns pynetdicom's
    Association (check ``is_established``). Raises only when the request cannot be made."""
    ae = make_scu_ae(config)
    return ae.associate(destination.host, destination.port, contexts=contexts, ae_title=destination.ae_title)
