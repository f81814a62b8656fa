"""The language of dates (``workstation.viewer.date_language``): month and day names from Qt's
locale data (:class:`QLocale`, CLDR), given to :func:`app.dicom.value_format.use_date_style`
with the date pattern (``workstation.viewer.corner_text.date_format``), for the viewer's corner
text and the study list's date columns.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale

from app.core.viewer_config import ViewerConfig
from app.dicom.value_format import ISO_DATE, DateStyle, use_date_style

#: The languages offered in the settings (locale name, shown name); "" = the system's.
LANGUAGES = (("", "System"), ("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español"),
             ("it", "Italiano"), ("nl", "Nederlands"), ("pt", "Português"), ("sv", "Svenska"), ("da", "Dansk"),
             ("nb", "Norsk bokmål"), ("fi", "Suomi"), ("pl", "Polski"), ("cs", "Čeština"), ("tr", "Türkçe"),
             ("ja", "日本語"), ("zh", "中文"))


def locale_of(language: str) -> QLocale:
    """The QLocale of a ``date_language`` value ("" = the system's)."""
    return QLocale(language) if language else QLocale.system()


def date_style(pattern: str, language: str) -> DateStyle:
    """``pattern`` with the month and day names of ``language``."""
    locale = locale_of(language)
    long_, short = QLocale.FormatType.LongFormat, QLocale.FormatType.ShortFormat
    return DateStyle(
        pattern=pattern,
        months=tuple(locale.monthName(m, long_) for m in range(1, 13)),
        short_months=tuple(locale.monthName(m, short) for m in range(1, 13)),
        days=tuple(locale.dayName(d, long_) for d in range(1, 8)),  # Qt: 1 = Monday, as date.weekday() + 1
        short_days=tuple(locale.dayName(d, short) for d in range(1, 8)),
    )


def apply_date_language(config: ViewerConfig) -> DateStyle:
    """Show dates as ``config`` says from now on; returns the style in use."""
    pattern = str(config.corner_text.get("date_format", ISO_DATE) or ISO_DATE)
    style = date_style(pattern, config.date_language)
    use_date_style(style)
    return style
