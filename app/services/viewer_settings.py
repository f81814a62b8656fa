"""The viewer's settings as the display pipeline takes them (``[workstation.viewer]``).

:func:`corner_templates` merges the configured corner text templates over the defaults
(:data:`app.imaging.corner_text.DEFAULT_TEMPLATES`) and checks every line: a bad keyword or
brace raises :class:`~app.core.errors.ConfigError` naming the entry, when the viewer starts.
"""

from __future__ import annotations

from app.core.viewer_config import ViewerConfig
from app.imaging.corner_text import DEFAULT_TEMPLATES, CornerTemplates
from app.imaging.presets import use_site_presets
from app.imaging.stacks import SortKey
from app.services.image_stack import ImageStack


def corner_templates(config: ViewerConfig) -> CornerTemplates:
    """The corner text templates of ``config`` (the defaults where it gives none)."""
    if not config.corner_text:
        return DEFAULT_TEMPLATES
    return CornerTemplates.from_dict(config.corner_text, base=DEFAULT_TEMPLATES)


def apply_viewer_settings(config: ViewerConfig) -> CornerTemplates:
    """Use ``config`` for what opens from now on: window presets, stack sort default; returns the
    checked corner text templates (the viewer window keeps them, see ``ViewerWindow.configure``)."""
    templates = corner_templates(config)
    use_site_presets(config.presets)
    ImageStack.default_key = SortKey[config.sort]
    return templates
