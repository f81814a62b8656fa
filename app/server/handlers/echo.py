"""Verification SCP (PS3.4 A.4): answer C-ECHO with Success."""

from __future__ import annotations

from typing import Any

SUCCESS = 0x0000


def handle_echo(event: Any) -> int:
    """Answer a C-ECHO request (PS3.7 9.3.5): always Success (0x0000).

    Parameters
    ----------
    event
        pynetdicom's ``EVT_C_ECHO`` event (unused: verification carries no data set).
    """
    return SUCCESS
