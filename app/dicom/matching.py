"""Matching rules of C-FIND keys that do not depend on how values are stored (PS3.4 C.2.2.2).

The SQL side of matching lives with the index (``app.server.index.query``); what is here is
plain text logic that every query front end (C-FIND on the Q/R and worklist AEs, QIDO-RS)
applies the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydicom.multival import MultiValue


def key_text(value: Any) -> str:
    """A key's element value as text: multiple values joined by ``\\``, None as ``""``."""
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return str(value)


def is_universal(value: str | None) -> bool:
    """Whether a key value asks for universal matching (absent, empty or ``*``, PS3.4 C.2.2.2.3)."""
    return value is None or value.strip() in ("", "*")


def is_range(value: str | None) -> bool:
    """Whether a date or time key value is a range (``A-B``, ``A-``, ``-B``, PS3.4 C.2.2.2.5)."""
    return value is not None and "-" in value.strip()


def date_for_time_range(date_value: str | None, time_value: str | None, today: dt.date | None = None) -> str | None:
    """The date to match along with a time range: a time range without a date means today.

    The reference's Q/R SCP (its section 4.4.3.2): when Study Date is not given and Study Time
    is a range, an implicit Study Date of today is assumed, so the search returns what
    happened between the two times on the day of the query. The same holds for the pair
    Scheduled Procedure Step Start Date / Time of a worklist query.

    Parameters
    ----------
    date_value, time_value
        The date and time keys of the request, as given (None when absent).
    today
        The day of the query (the server's local date when None).

    Returns
    -------
    str or None
        ``today`` as ``YYYYMMDD`` when the time is a range and the date is universal;
        otherwise ``date_value`` unchanged.
    """
    if not is_universal(date_value) or not is_range(time_value):
        return date_value
    return (today or dt.date.today()).strftime("%Y%m%d")
