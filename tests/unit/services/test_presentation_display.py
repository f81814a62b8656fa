"""Which presentation state is shown (newest, none, chosen) and the "graphics only" mode, asserted
on the pixels the pipeline renders."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np

from app.imaging.annotations import GraphicObject
from app.imaging.calibration import calibration_from
from app.imaging.gsps_model import Annotation, Layer, ShutterSetting
from app.imaging.gsps_writer import write_gsps
from app.imaging.render import render_frame
from app.imaging.spatial import SpatialTransform
from app.imaging.state_choice import state_choices
from app.imaging.voi_lut import Window
from app.services.annotations_model import Kind, UserAnnotation, measure
from app.services.presentation_display import Mode, PresentationSelection, describe, graphics_only_state, shown_state
from app.services.presentation_save import ViewSettings, presentation_model
from tests.unit.services.calibrated import calibrated_image, stored_values

NARROW = Window(1000.0, 50.0)


def _state(ds, label: str, created: str, window: Window = NARROW):  # type: ignore[no-untyped-def]
    """A state with a narrow window, a rotation, a shutter, one own line and one foreign line."""
    line = UserAnnotation(Kind.DISTANCE, ((10.0, 40.5), (80.0, 40.5)), str(ds.SOPInstanceUID))
    pair = (line, measure(line, stored_values(), ds, calibration_from(ds)))
    model = presentation_model(
        ViewSettings(window=window, transform=SpatialTransform(180), shutter=ShutterSetting(rectangle=(3, 94, 3, 62))),
        [pair], [ds], label=label,
    )
    foreign = Layer("THEIRS", 50, (Annotation((GraphicObject("POLYLINE", ((10.0, 10.5), (80.0, 10.5))),)),))
    state = write_gsps(replace(model, layers=(*model.layers, foreign)), [ds])
    state.PresentationCreationDate, state.PresentationCreationTime = created[:8], created[8:]
    return state


def test_newest_applies_by_default_and_the_user_can_pick_another_or_none() -> None:
    ds = calibrated_image()
    old, new = _state(ds, "OLD", "20250101101010"), _state(ds, "NEW", "20260101101010")
    choices = state_choices(ds, [old, new])
    assert PresentationSelection().pick(choices).dataset is new  # type: ignore[union-attr]
    assert PresentationSelection(Mode.CHOSEN, str(old.SOPInstanceUID)).pick(choices).dataset is old  # type: ignore[union-attr]
    assert PresentationSelection(Mode.NONE).pick(choices) is None
    assert PresentationSelection(Mode.CHOSEN, "1.2.3").pick(choices) is None
    assert describe(choices[0]).startswith("NEW - ") and choices[0].created == dt.datetime(2026, 1, 1, 10, 10, 10)


def test_full_state_applies_its_window_and_geometry_without_our_editable_lines() -> None:
    ds = calibrated_image()
    state = _state(ds, "A", "20260101101010")
    (choice,) = state_choices(ds, [state])
    shown = render_frame(ds, 0, shown_state(choice, ds, None, graphics_only=False))
    assert shown.voi == Window(1000.0, 50.0) and shown.transform == SpatialTransform(180)
    out = shown.composite()
    # rotated 180: image row 10 (their line) is displayed row 63 - 10; our own line (row 40) is not drawn
    assert (out[63 - 10, 20:70] == 255).all()
    np.testing.assert_array_equal(out[63 - 40], shown.composite(annotations=False)[63 - 40])


def test_graphics_only_keeps_the_users_window_and_geometry_but_shows_graphics_and_shutter() -> None:
    ds = calibrated_image()
    state = _state(ds, "A", "20260101101010")
    (choice,) = state_choices(ds, [state])
    own = Window(1100.0, 400.0)
    shown = render_frame(ds, 0, shown_state(choice, ds, own, graphics_only=True))
    plain = render_frame(ds, 0, window=own).composite()
    out = shown.composite()
    assert shown.voi == own and shown.transform == SpatialTransform()
    assert (out[10, 20:70] == 255).all()  # their line, unrotated
    assert (out[0, :] == 0).all() and (out[:, 0] == 0).all()  # the state's shutter (rows/columns 1-2 closed)
    inside = np.ones(out.shape, dtype=bool)
    inside[:2, :], inside[:, :2], inside[62:, :], inside[:, 94:] = False, False, False, False
    inside[10, :] = False
    np.testing.assert_array_equal(out[inside], plain[inside])  # elsewhere: exactly the user's own rendering


def test_graphics_only_inverts_a_monochrome1_image_as_its_own_display_does() -> None:
    ds = calibrated_image()
    ds.PhotometricInterpretation = "MONOCHROME1"
    state = _state(ds, "A", "20260101101010")
    reduced = graphics_only_state(state, ds, Window(1100.0, 400.0))
    assert reduced.PresentationLUTShape == "INVERSE"
    own = render_frame(ds, 0, window=Window(1100.0, 400.0)).pixels
    np.testing.assert_array_equal(render_frame(ds, 0, reduced).pixels, own)
