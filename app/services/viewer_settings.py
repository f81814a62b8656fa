"""The viewer's settings as the display pipeline takes them (``[workstation.viewer]``).

:func:`corner_templates` merges the configured corner text templates over the defaults
(:data:`app.imaging.corner_text.DEFAULT_TEMPLATES`) and checks every line: a bad keyword or
brace raises :class:`~app.core.errors.ConfigError` naming the entry, when the viewer starts.
"""

from __future__ import annotations

from app.core.viewer_config import ViewerConfig
from app.imaging.corner_text import DEFAULT_TEMPLATES, CornerTemplates


def corner_templates(config: ViewerConfig) -> CornerTemplates:
    """The corner text templates of ``config`` (the defaults where it gives none)."""
    if not config.corner_text:
        return DEFAULT_TEMPLATES
    return CornerTemplates.from_dict(config.corner_text, base=DEFAULT_TEMPLATES)
