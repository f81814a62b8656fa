"""The PDU length bound of the server's SCP AEs: it lives in :mod:`app.net.pdu_limits`,
shared with the workstation's associations."""

from app.net.pdu_limits import MIN_PDU_LIMIT, PduTooLong, bound_pdu_reads, pdu_limit, refuse

__all__ = ["MIN_PDU_LIMIT", "PduTooLong", "bound_pdu_reads", "pdu_limit", "refuse"]
