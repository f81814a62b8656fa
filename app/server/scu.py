"""Outbound associations of the server (C-MOVE sub-operations, MPPS relay, ...): one AE setup.

The server's SCU side calls with the title of its Q/R AE, its implementation identity,
its PDU size and its network timeouts (PS3.7 D.3.3.2, PS3.8 9.3.2).
"""

from __future__ import annotations

from typing import Any

from pynetdicom import AE

from app.core.config import Destination, ServerConfig
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from app.net.association import keep_responses  # pynetdicom #875, shared with the workstation's SCU

#: C-STORE statuses that mean "stored, with a warning" (PS3.4 B.2.3: coercion, elements discarded,
#: data set does not match the SOP class); every other status from 0xA000 up is a failure.
STORE_WARNINGS = (0xB000, 0xB006, 0xB007)


def store_outcome(status: int | None) -> str:
    """What a C-STORE response status means for a sub-operation count: ``completed``,
    ``warning`` or ``failed`` (``None``: no response, the instance was not sent)."""
    if status is None or (status >= 0xA000 and status not in STORE_WARNINGS):
        return "failed"
    return "completed" if status == 0x0000 else "warning"


def make_scu_ae(config: ServerConfig) -> AE:
    """A pynetdicom AE for one outbound association, calling as ``config.qr.ae_title``."""
    ae = AE(ae_title=config.qr.ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = config.network_timeout
    ae.maximum_pdu_size = config.max_pdu
    return ae


def associate(
    config: ServerConfig, destination: Destination, contexts: list[Any], *, calling_ae_title: str | None = None,
    ext_neg: list[Any] | None = None,
) -> Any:
    """Request an association with ``destination`` proposing ``contexts``; returns pynetdicom's
    Association (check ``is_established``). Raises only when the request cannot be made.

    ``calling_ae_title`` replaces the Q/R AE's title (a Storage AE reporting storage
    commitment calls as itself); ``ext_neg`` adds extended negotiation items such as
    SCP/SCU Role Selection (PS3.7 D.3.3.4)."""
    ae = make_scu_ae(config)
    if calling_ae_title:
        ae.ae_title = calling_ae_title
    assoc = ae.associate(
        destination.host, destination.port, contexts=contexts, ae_title=destination.ae_title, ext_neg=ext_neg
    )
    if assoc.is_established:
        keep_responses(assoc)
    return assoc
