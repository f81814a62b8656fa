"""DICOM values as people read them: person names, dates and times (PS3.5 6.2).

Qt-free so the corner text, the print composer and the UI can share them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

ISO_DATE = "%Y-%m-%d"


@dataclass(frozen=True)
class DateStyle:
    """How dates are shown to people: a strftime ``pattern`` and the names of a language.

    ``months`` / ``short_months`` (January first) and ``days`` / ``short_days`` (Monday first)
    stand for ``%B`` / ``%b`` / ``%A`` / ``%a``; empty = the process locale's (strftime's own).
    The workstation fills them from Qt's locale data (``app.ui.date_language``).
    """

    pattern: str = ISO_DATE
    months: Sequence[str] = ()
    short_months: Sequence[str] = ()
    days: Sequence[str] = ()
    short_days: Sequence[str] = ()


_style = DateStyle()


def use_date_style(style: DateStyle) -> None:
    """Show dates with ``style`` from now on (the study list's date columns, names in every pattern)."""
    global _style
    _style = style


def date_style() -> DateStyle:
    """The style in use (:func:`use_date_style`)."""
    return _style


def _named(pattern: str, day: dt.date, style: DateStyle) -> str:
    """``pattern`` with the names of ``style`` put in place of %B %b %A %a (as literal text)."""
    names = {"B": style.months, "b": style.short_months, "A": style.days, "a": style.short_days}
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%" and i + 1 < len(pattern):
            code = pattern[i + 1]
            table = names.get(code)
            if table:
                index = day.month - 1 if code in "Bb" else day.weekday()
                out.append(table[index].replace("%", "%%"))
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def format_person_name(value: object) -> str:
    """PN ``Family^Given^Middle^Prefix^Suffix`` as ``Family, Given Middle`` (PS3.5 6.2.1).

    Only the first (alphabetic) component group is used; empty components are left out.
    """
    parts = str(value).split("=")[0].split("^")
    family = parts[0].strip()
    rest = " ".join(p.strip() for p in parts[1:3] if p.strip())
    return f"{family}, {rest}" if family and rest else family or rest


def format_date(value: object, pattern: str = ISO_DATE) -> str:
    """DA ``YYYYMMDD`` (or the old ``YYYY.MM.DD``) with a strftime ``pattern``; other text unchanged.

    Month and day names (``%B %b %A %a``) are those of the language of :func:`use_date_style`.
    """
    text = str(value).strip()
    digits = text.replace(".", "") if len(text) == 10 and text[4] == "." else text
    if len(digits) == 8 and digits.isdigit():
        try:
            day = dt.datetime.strptime(digits, "%Y%m%d")
        except ValueError:
            return text
        return day.strftime(_named(pattern, day.date(), _style) if "%" in pattern else pattern)
    return text


def format_shown_date(value: object) -> str:
    """DA as the user chose to see dates (pattern and language of :func:`use_date_style`)."""
    return format_date(value, _style.pattern)


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
