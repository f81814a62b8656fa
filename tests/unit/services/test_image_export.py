"""Export of the displayed frame as PNG/JPEG with the user's annotations burnt in where the
displayed area and the rotation put them."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import AppError
from app.imaging.calibration import calibration_from
from app.imaging.render import render_frame
from app.imaging.spatial import SpatialTransform
from app.imaging.view_geometry import ViewGeometry
from app.services.annotations_model import Kind, UserAnnotation, measure
from app.services.image_export import ANNOTATION_RGB, encode, export_image, with_annotations
from tests.unit.services.calibrated import calibrated_image, stored_values


def _line_pair(ds):  # type: ignore[no-untyped-def]
    line = UserAnnotation(Kind.DISTANCE, ((10.0, 20.5), (80.0, 20.5)), str(ds.SOPInstanceUID))
    return line, measure(line, stored_values(), ds, calibration_from(ds))


def test_annotations_are_burnt_in_where_the_transform_puts_them() -> None:
    ds = calibrated_image()
    display = render_frame(ds).composite()
    plain = with_annotations(display, ViewGeometry(display.shape), [_line_pair(ds)])
    assert plain.shape == (*display.shape, 3)
    assert (plain[20, 15:75] == ANNOTATION_RGB).all()
    # its label ("17.50 mm") is drawn too (anti-aliased): pixels changed away from the line, towards amber
    changed = np.any(plain != display[:, :, None], axis=2)
    changed[20] = False
    assert changed.sum() > 20
    assert (plain[changed][:, 0].astype(int) >= plain[changed][:, 2].astype(int)).all()
    # rotated 90 degrees clockwise: image row 20 becomes displayed column rows - 1 - 20
    turned = SpatialTransform(90)
    geometry = ViewGeometry(display.shape, None, turned)
    rotated = with_annotations(turned.apply(display), geometry, [_line_pair(ds)])
    column = display.shape[0] - 1 - 20
    assert (rotated[15:75, column] == ANNOTATION_RGB).all()


def test_png_and_jpeg_exports_decode_to_the_displayed_pixels(tmp_path: Path) -> None:
    ds = calibrated_image()
    display = with_annotations(render_frame(ds).composite(), ViewGeometry((64, 96)), [_line_pair(ds)])
    png = export_image(display, tmp_path / "view.png")
    np.testing.assert_array_equal(np.asarray(Image.open(png)), display)
    jpeg = export_image(display, tmp_path / "view.JPG")
    decoded = np.asarray(Image.open(jpeg)).astype(int)
    assert Image.open(jpeg).format == "JPEG" and decoded.shape == display.shape
    assert np.abs(decoded - display.astype(int)).mean() < 4
    grey = np.asarray(Image.open(BytesIO(encode(render_frame(ds).composite(), "PNG"))))
    assert grey.ndim == 2
    with pytest.raises(AppError, match=r"\.png or \.jpg"):
        export_image(display, tmp_path / "view.tif")
