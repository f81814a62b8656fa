"""Pieces of the send job: what goes and in which order, what is proposed, the private block,
presentation-state graphics as an overlay plane (reference 5.1.2, appendix C, 10.3.2)."""

from __future__ import annotations

from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGLSLossless, RLELossless

from app.server.index.records import StoredInstance
from app.server.overlay_burn import (
    OverlayFrames,
    add_overlay,
    annotation_mask,
    burn_states,
    referenced_images,
)
from app.server.private_tags import PRIVATE_CREATOR, PrivateValues, add_private_attributes, read_private_attributes
from app.server.send import send_order
from app.server.send_encoding import encode_for, proposed_syntaxes
from tests.send_data import CT_IMAGE, GSPS, make_study

KO = "1.2.840.10008.5.1.4.1.1.88.59"


def _stored(n: int, sop_class: str, series: str, uid: str | None = None) -> StoredInstance:
    return StoredInstance(n, "1.9", series, uid or f"1.9.{n}", sop_class, ExplicitVRLittleEndian, f"{n}.dcm", 10)


def test_send_order_images_of_the_asked_series_then_every_state_and_document() -> None:
    items = [_stored(1, GSPS, "9"), _stored(2, CT_IMAGE, "1"), _stored(3, CT_IMAGE, "2"), _stored(4, KO, "8"),
             _stored(5, CT_IMAGE, "1", uid="1.9.2")]  # a second stored copy of 1.9.2: sent once, the last
    assert [i.id for i in send_order(items, ())] == [3, 5, 1, 4]
    assert [i.id for i in send_order(items, ("2",))] == [3, 1, 4]


def test_at_most_three_syntaxes_implicit_always_compressed_for_images_only() -> None:
    assert proposed_syntaxes(CT_IMAGE, ExplicitVRLittleEndian, RLELossless) == [
        ExplicitVRLittleEndian, RLELossless, ImplicitVRLittleEndian]
    assert proposed_syntaxes(CT_IMAGE, JPEGLSLossless, RLELossless) == [JPEGLSLossless, RLELossless,
                                                                         ImplicitVRLittleEndian]
    assert proposed_syntaxes(CT_IMAGE, ImplicitVRLittleEndian, "") == [ImplicitVRLittleEndian]
    assert proposed_syntaxes(GSPS, ExplicitVRLittleEndian, RLELossless) == [ExplicitVRLittleEndian,
                                                                            ImplicitVRLittleEndian]


def test_lossless_conversion_keeps_the_instance_uid_and_the_pixels() -> None:
    image = make_study(series=1, per_series=1).images[0]
    pixels, uid = image.pixel_array.copy(), image.SOPInstanceUID
    data = encode_for(image, RLELossless)
    assert image.SOPInstanceUID == uid and image["PixelData"].is_undefined_length
    assert np.array_equal(image.pixel_array, pixels) and len(data) < pixels.nbytes


def test_private_block_under_our_creator_beside_others() -> None:
    ds = Dataset()
    ds.add_new(0x00090010, "LO", "OTHER_VENDOR")
    ds.add_new(0x00091001, "LO", "theirs")
    add_private_attributes(ds, PrivateValues(7, "ACC1", "3", 2, "ab.dcm", 42))
    assert ds[0x00091001].value == "theirs"  # not overwritten: our block takes the next slot
    assert ds[0x00090011].value == PRIVATE_CREATOR
    assert read_private_attributes(ds) == {1: "7", 2: "ACC1", 4: "3", 5: "2", 6: "ab.dcm", 7: "42"}


def test_state_graphics_become_one_overlay_in_a_free_group() -> None:
    study = make_study(series=1, per_series=2)
    first, second = study.images
    assert referenced_images(study.state) == {str(first.SOPInstanceUID)}
    assert annotation_mask(second, [study.state]) is None  # the state does not apply to it
    first.add_new(0x60000010, "US", 1)  # group 6000 is in use already
    assert burn_states(first, [study.state]) == 0x6002
    overlay = first.overlay_array(0x6002)
    assert overlay.shape == (first.Rows, first.Columns)
    assert overlay[10, 10:51].all() and overlay[10:41, 50].all() and not overlay[30, 20]
    full = Dataset()
    for group in range(0x6000, 0x6020, 2):
        full.add_new((group, 0x0010), "US", 1)
    assert add_overlay(full, OverlayFrames(0, np.ones((1, 2, 2), dtype=bool))) is None


def test_store_outcomes_of_response_statuses() -> None:
    from app.server.scu import store_outcome

    assert [store_outcome(s) for s in (0x0000, 0xB000, 0xB007, 0xA700, 0xC000, None)] == [
        "completed", "warning", "warning", "failed", "failed", "failed"]


def test_a_compressed_file_goes_to_an_uncompressed_receiver_decompressed() -> None:
    from pynetdicom.dsutils import decode

    image = make_study(series=1, per_series=1).images[0]
    pixels, uid = image.pixel_array.copy(), image.SOPInstanceUID
    image.compress(JPEGLSLossless, generate_instance_uid=False)  # as if stored JPEG-LS
    data = encode_for(image, ImplicitVRLittleEndian)
    received = decode(BytesIO(data), True, True)
    received.file_meta = image.file_meta
    received.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    assert received.SOPInstanceUID == uid
    assert not received["PixelData"].is_undefined_length
    assert np.array_equal(received.pixel_array, pixels)


def test_text_objects_are_drawn_into_the_overlay_inside_their_box() -> None:
    from pydicom.sequence import Sequence

    study = make_study(series=1, per_series=1)
    image, state = study.images[0], study.state
    text = Dataset()
    text.UnformattedTextValue = "HELLO"
    text.BoundingBoxAnnotationUnits = "PIXEL"
    text.BoundingBoxTopLeftHandCorner = [60.0, 70.0]
    text.BoundingBoxBottomRightHandCorner = [120.0, 90.0]
    text.BoundingBoxTextHorizontalJustification = "LEFT"
    annotation = state.GraphicAnnotationSequence[0]
    del annotation.GraphicObjectSequence
    annotation.TextObjectSequence = Sequence([text])
    overlay = annotation_mask(image, [state])
    assert overlay is not None and overlay.bits.shape[0] == 1
    rows, columns = np.nonzero(overlay.bits[0])
    assert rows.size > 20  # glyph strokes
    assert rows.min() >= 70 and rows.max() <= 91 and columns.min() >= 60 and columns.max() <= 121


def test_a_multi_frame_image_gets_a_multi_frame_overlay_for_the_annotated_frames() -> None:
    from app.imaging.overlays import overlays_from

    study = make_study(series=1, per_series=1)
    image, state = study.images[0], study.state
    frame = image.PixelData
    image.NumberOfFrames, image.PixelData = 4, frame * 4
    reference = state.GraphicAnnotationSequence[0].ReferencedImageSequence[0]
    reference.ReferencedFrameNumber = [2, 3]
    assert burn_states(image, [state]) == 0x6000
    (overlay,) = overlays_from(image)
    assert (overlay.frames, overlay.image_frame_origin) == (2, 2)
    shape = (image.Rows, image.Columns)
    assert not overlay.mask(shape, image_frame=0).any() and not overlay.mask(shape, image_frame=3).any()
    for shown in (1, 2):
        mask = overlay.mask(shape, image_frame=shown)
        assert mask[10, 10:51].all() and mask[10:41, 50].all()
