"""What a Print Management status means (PS3.4 H.4, PS3.7 C), for showing it to the user."""

from __future__ import annotations

from dataclasses import dataclass

from pynetdicom.status import PRINT_JOB_MANAGEMENT_SERVICE_CLASS_STATUS

SUCCESS, WARNING, FAILURE, CANCEL = "Success", "Warning", "Failure", "Cancel"


def category(status: int) -> str:
    """Success, Warning, Failure or Cancel (PS3.7 C.1: 0x0001 and 0xBxxx warn, 0xAxxx/0xCxxx fail)."""
    known = PRINT_JOB_MANAGEMENT_SERVICE_CLASS_STATUS.get(status)
    if known is not None:
        return str(known[0])
    if status == 0:
        return SUCCESS
    if status == 0x0001 or 0xB000 <= status <= 0xBFFF:
        return WARNING
    if status == 0xFE00:
        return CANCEL
    return FAILURE


def meaning(status: int) -> str:
    """A sentence for ``status``: its category and what the standard says it means."""
    known = PRINT_JOB_MANAGEMENT_SERVICE_CLASS_STATUS.get(status)
    text = str(known[1]) if known is not None and known[1] else ""
    if not text:
        text = {0: "done"}.get(status, "a status the standard does not define for this service")
    return f"{category(status)} 0x{status:04X}: {text}"


@dataclass(frozen=True)
class StepOutcome:
    """The response to one DIMSE-N request of a print job."""

    operation: str
    status: int | None  # None: no response (association lost or timed out)
    comment: str = ""

    @property
    def category(self) -> str:
        return category(self.status) if self.status is not None else FAILURE

    @property
    def ok(self) -> bool:
        return self.category in (SUCCESS, WARNING)

    def describe(self) -> str:
        if self.status is None:
            return f"{self.operation}: no response (the association was lost or timed out)"
        extra = f" ({self.comment})" if self.comment else ""
        return f"{self.operation}: {meaning(self.status)}{extra}"
