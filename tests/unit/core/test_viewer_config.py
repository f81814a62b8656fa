"""[workstation.viewer]: true-size screen pixel, first layout, corner text templates."""

from __future__ import annotations

import pytest

from app.core.errors import ConfigError
from app.core.workstation_config import workstation_from
from app.imaging.corner_text import DEFAULT_TEMPLATES, corner_text
from app.services.viewer_settings import corner_templates
from tests.ui.viewer_data import ct_stack


def test_defaults_and_values() -> None:
    default = workstation_from({}).viewer
    assert (default.screen_pixel_mm, default.layout, default.layout_shape) == (0.0, "1x1", (1, 1))
    assert corner_templates(default) is DEFAULT_TEMPLATES
    viewer = workstation_from({"viewer": {"screen_pixel_mm": 0.2745, "layout": "2 x 3"}}).viewer
    assert viewer.screen_pixel_mm == 0.2745 and viewer.layout_shape == (2, 3)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"layout": "9x1"}, "rows x columns"),
        ({"layout": "two"}, "rows x columns"),
        ({"screen_pixel_mm": -1}, "screen_pixel_mm"),
        ({"screen_pixel_mm": True}, "screen_pixel_mm"),
        ({"corner_text": "CT"}, "must be a table"),
        ({"zoom": 2}, "unknown key"),
    ],
)
def test_bad_values_say_what_to_write(table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        workstation_from({"viewer": table})


def test_corner_text_replaces_only_what_it_gives() -> None:
    viewer = workstation_from(
        {"viewer": {"corner_text": {"date_format": "%d.%m.%Y", "templates": {"ct": {"bottom_left": ["kV {KVP:.0f}"]}}}}}
    ).viewer
    templates = corner_templates(viewer)
    ds = ct_stack(1, 16)[0]
    text = corner_text(ds, templates)
    assert text.bottom_left == ("kV 120",)
    assert text.top_left[:2] == corner_text(ds).top_left[:2]  # the default lines stay
    assert text.top_left[2] == "01.01.1970 O"  # in the configured date format
    assert "01.01.2026 12:00:00" in text.top_right
    bad = workstation_from({"viewer": {"corner_text": {"templates": {"CT": {"top_left": ["{NotAKeyword}"]}}}}}).viewer
    with pytest.raises(ConfigError, match="not a DICOM keyword"):
        corner_templates(bad)
