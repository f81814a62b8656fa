"""DICOM values as people read them: person names, dates and times (PS3.5 6.2).

Qt-free so the corner text, the print composer and the UI can share them.
"""

from __future__ import annotations

import datetime as dt

ISO_DATE = "%Y-%m-%d"


def format_person_name(value: object) -> str:
    """PN ``Family^Given^Middle^Prefix^Suffix`` as ``Family, Given Middle`` (PS3.5 6.2.1).

    Only the first (alphabetic) component group is used; empty components are left out.
    """
    parts = str(value).split("=")[0].split("^")
    family = parts[0].strip()
    rest = " ".join(p.strip() for p in parts[1:3] if p.strip())
    return f"{family}, {rest}" if family and rest else family or rest


def format_date(value: object, pattern: str = ISO_DATE) -> str:
    """DA ``YYYYMMDD`` (or the old ``YYYY.MM.DD``) with a strftime ``pattern``; other text unchanged."""
    text = str(value).strip()
    digits = text.replace(".", "") if len(text) == 10 and text[4] == "." else text
    if len(digits) == 8 and digits.isdigit():
        try:
            return dt.datetime.strptime(digits, "%Y%m%d").strftime(pattern)
        except ValueError:
            return text
    return text


def format_time(value: object) -> str:
    """TM ``HHMMSS.FFFFFF`` (or ``HHMM``, ``HH``, the old ``HH:MM:SS``) as ``HH:MM:SS`` / ``HH:MM``."""
    text = str(value).strip()
    digits = text.split(".")[0].replace(":", "")
    if not digits.isdigit() or len(digits) not in (2, 4, 6):
        return text
    if len(digits) == 2:
        return f"{digits}:00"
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def format_datetime(value: object, pattern: str = ISO_DATE) -> str:
    """DT ``YYYYMMDDHHMMSS.FFFFFF&ZZXX`` as date and time; the offset is dropped."""
    text = str(value).strip()
    core = text.split("+")[0].split("-")[0] if len(text) > 8 else text
    date, time = core[:8], core[8:]
    return f"{format_date(date, pattern)} {format_time(time)}".strip() if time else format_date(date, pattern)
