"""Writing Grayscale Softcopy Presentation States (PS3.3 A.33.1) from the model, read back by us,
and validated by dicom3tools' ``dciodvfy`` (a real peer: it must report no error)."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import GrayscaleSoftcopyPresentationStateStorage, MultiFrameGrayscaleWordSecondaryCaptureImageStorage

from app.core.errors import DicomInputError
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, UID_ROOT, generate_uid
from app.imaging.annotations import GraphicObject, TextObject, annotation_layers
from app.imaging.cielab import dicom_lab_to_srgb
from app.imaging.gsps_model import (
    Annotation,
    AreaSetting,
    FrameRef,
    Layer,
    PresentationModel,
    ShutterSetting,
    VOISetting,
    code_string,
)
from app.imaging.gsps_writer import PresentationStateAuthor, write_gsps
from app.imaging.presentation_state import PresentationState
from app.imaging.shutters import shutter_layer
from app.imaging.spatial import DisplayedArea, SpatialTransform
from app.imaging.voi_lut import Window
from tests.conftest import require_tool
from tests.unit.imaging.synth import image, ramp


def _file(name: str) -> Dataset:
    return dcmread(get_testdata_file(name, download=False))


def _multiframe(photometric: str = "MONOCHROME2") -> Dataset:
    """A three-frame 12-bit image of a multi-frame IOD (Multi-frame Grayscale Word SC)."""
    stored = np.stack([ramp(24, 20, 0, 4095, seed=i) for i in range(3)])
    ds = image(stored, bits_stored=12, photometric=photometric, WindowCenter=2048, WindowWidth=4096)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MultiFrameGrayscaleWordSecondaryCaptureImageStorage
    return ds


def _full_model(uid: str) -> PresentationModel:
    marks = Annotation(
        graphics=(
            GraphicObject("POLYLINE", ((2, 2), (20, 2), (20, 20), (2, 20), (2, 2)), filled=True),
            GraphicObject("POINT", ((30.5, 40.5),)),
            GraphicObject("CIRCLE", ((40, 40), (45, 40))),
            GraphicObject("ELLIPSE", ((10, 40), (30, 40), (20, 35), (20, 45))),
            GraphicObject("INTERPOLATED", ((1, 60), (30, 50), (60, 60))),
        ),
        texts=(
            TextObject("Lesion 1", bounding_box=((5, 5), (30, 12)), anchor=(10, 10), anchor_visible=True),
            TextObject("anchor only", anchor=(50, 50)),
        ),
        applies_to=(FrameRef(uid),),
    )
    return PresentationModel(
        label="Reading 1: chest",
        description="First reading",
        creator="Doe^Jane",
        vois=(VOISetting(Window(900, 700, explanation="USER")),),
        transform=SpatialTransform(270, True),
        areas=(AreaSetting(DisplayedArea((5, 9), (50, 40), "MAGNIFY", magnification=2.0)),),
        shutter=ShutterSetting(rectangle=(3, 60, 4, 50), circle=((32, 32), 25), grey=40),
        layers=(
            Layer("Marks", 2, (marks,), description="user marks", grey=200, colour=(0, 255, 0)),
            Layer(
                "Text",
                1,
                (Annotation(texts=(TextObject("note", box_units="DISPLAY", bounding_box=((0.1, 0.1), (0.4, 0.2))),)),),
            ),
        ),
    )


def test_code_string() -> None:
    assert code_string("Reading 1: chest", "X") == "READING 1_ CHEST"
    assert code_string("a very long label indeed", "X") == "A VERY LONG LABE"
    assert code_string("2nd look", "PS") == "PS_2ND LOOK"
    assert code_string(" __ ", "PS") == "PS"
    assert code_string("ändern", "PS") == "NDERN"


def test_identification_relationship_and_linkage() -> None:
    img = _file("MR_small.dcm")
    before = datetime.now().strftime("%Y%m%d")
    ps = write_gsps(_full_model(str(img.SOPInstanceUID)), [img])
    assert ps.SOPClassUID == GrayscaleSoftcopyPresentationStateStorage and ps.Modality == "PR"
    assert ps.SOPInstanceUID.startswith(UID_ROOT) and ps.SeriesInstanceUID.startswith(UID_ROOT)
    assert ps.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert ps.StudyInstanceUID == img.StudyInstanceUID and ps.PatientID == img.PatientID
    assert ps.SeriesInstanceUID != img.SeriesInstanceUID
    series = ps.ReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == img.SeriesInstanceUID
    assert series.ReferencedImageSequence[0].ReferencedSOPInstanceUID == img.SOPInstanceUID
    assert ps.ContentLabel == "READING 1_ CHEST" and ps.ContentDescription == "First reading"
    assert str(ps.ContentCreatorName) == "Doe^Jane"
    assert str(ps.PresentationCreationDate) >= before and len(str(ps.PresentationCreationTime)) >= 6
    assert PresentationState(ps).applies_to(img)


def test_read_back_by_our_reader() -> None:
    img = _file("MR_small.dcm")
    model = _full_model(str(img.SOPInstanceUID))
    ps = write_gsps(model, [img])
    fp = PresentationState(ps).for_frame(img, 0)
    assert fp.voi == Window(900, 700) and fp.voi.explanation == "USER"
    assert fp.transform == SpatialTransform(270, True)
    assert fp.presentation == "IDENTITY"
    area = fp.displayed_area
    assert area is not None and (area.size_mode, area.pixel_spacing, area.magnification) == (
        "MAGNIFY",
        (0.3125, 0.3125),
        2.0,
    )
    # rotated 270 and flipped, (column, row) -> (rows - row, columns - column): the rectangle's
    # bottom right corner is shown top left, and is written as such (PS3.3 C.10.4)
    assert (area.top_left, area.bottom_right) == ((50, 40), (5, 9))
    layer = shutter_layer(ps, (64, 64))
    assert layer is not None and layer.shapes == ("RECTANGULAR", "CIRCULAR") and layer.value == 40
    rows, cols = np.mgrid[1:65, 1:65]
    open_ = (cols >= 3) & (cols <= 60) & (rows >= 4) & (rows <= 50) & ((rows - 32) ** 2 + (cols - 32) ** 2 <= 625)
    np.testing.assert_array_equal(layer.mask, ~open_)
    layers = annotation_layers(ps, img)
    assert [la.name for la in layers] == ["TEXT", "MARKS"]  # by Graphic Layer Order
    text, marks = layers
    assert marks.grey == 200 and marks.description == "user marks"
    assert [g.graphic_type for g in marks.graphics] == ["POLYLINE", "POINT", "CIRCLE", "ELLIPSE", "INTERPOLATED"]
    assert marks.graphics[0].filled and marks.graphics[0].points[2] == (20.0, 20.0)
    assert marks.texts[0].bounding_box == ((5.0, 5.0), (30.0, 12.0)) and marks.texts[0].anchor_visible
    assert marks.texts[1].bounding_box is None and marks.texts[1].anchor == (50.0, 50.0)
    assert text.texts[0].box_units == "DISPLAY"
    item = next(i for i in ps.GraphicLayerSequence if i.GraphicLayer == "MARKS")
    assert dicom_lab_to_srgb(item.GraphicLayerRecommendedDisplayCIELabValue) == (0, 255, 0)


def test_new_uid_only_when_the_model_changes() -> None:
    img = _file("MR_small.dcm")
    model = _full_model(str(img.SOPInstanceUID))
    first, second = write_gsps(model, [img]), write_gsps(model, [img])
    assert first.SOPInstanceUID != second.SOPInstanceUID  # every write is a new instance
    author = PresentationStateAuthor([img])
    v1 = author.write(model)
    assert author.write(_full_model(str(img.SOPInstanceUID))) is v1  # equal model: the same instance
    v2 = author.write(PresentationModel(label=model.label, vois=(VOISetting(Window(100, 50)),)))
    assert v2.SOPInstanceUID != v1.SOPInstanceUID and v2.SeriesInstanceUID == v1.SeriesInstanceUID
    assert (int(v1.InstanceNumber), int(v2.InstanceNumber)) == (1, 2)


def test_modality_lut_repeated_from_the_image() -> None:
    ct = _file("CT_small.dcm")
    ps = write_gsps(PresentationModel(label="ct"), [ct])
    assert (float(ps.RescaleSlope), float(ps.RescaleIntercept)) == (float(ct.RescaleSlope), float(ct.RescaleIntercept))
    assert ps.RescaleType == "HU"
    mlut = _file("mlut_18.dcm")
    ps = write_gsps(PresentationModel(label="mlut"), [mlut])
    assert "RescaleSlope" not in ps
    assert ps.ModalityLUTSequence[0].LUTDescriptor == mlut.ModalityLUTSequence[0].LUTDescriptor
    assert "ModalityLUTSequence" not in write_gsps(PresentationModel(label="mr"), [_file("MR_small.dcm")])


def test_per_frame_windows_areas_and_polarity() -> None:
    img = _multiframe("MONOCHROME1")
    uid = str(img.SOPInstanceUID)
    model = PresentationModel(
        label="frames",
        vois=(
            VOISetting(Window(1000, 500), (FrameRef(uid, (2,)),)),
            VOISetting(Window(3000, 1500, "SIGMOID"), (FrameRef(uid, (1, 3)),)),
        ),
        areas=(AreaSetting(DisplayedArea((2, 2), (15, 20)), (FrameRef(uid, (1,)),)),),
        layers=(
            Layer("L", 1, (Annotation(texts=(TextObject("x", anchor=(3, 3)),), applies_to=(FrameRef(uid, (2,)),)),)),
        ),
    )
    ps = write_gsps(model, [img])
    assert ps.PresentationLUTShape == "INVERSE"  # the MONOCHROME1 image keeps its polarity
    state = PresentationState(ps)
    windows = [state.for_frame(img, f).voi for f in range(3)]
    assert windows == [Window(3000, 1500, "SIGMOID"), Window(1000, 500), Window(3000, 1500, "SIGMOID")]
    areas = [state.for_frame(img, f).displayed_area for f in range(3)]
    assert areas[0] is not None and (areas[0].top_left, areas[0].bottom_right) == ((2, 2), (15, 20))
    assert all(a is not None and (a.top_left, a.bottom_right) == ((1, 1), (20, 24)) for a in areas[1:])
    assert [len(annotation_layers(ps, img, f)) for f in range(3)] == [0, 1, 0]


def _two_images() -> list[Dataset]:
    """MR_small and a second instance of its series (a new SOP Instance UID, other pixel values)."""
    first, second = _file("MR_small.dcm"), _file("MR_small.dcm")
    second.SOPInstanceUID = second.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    second.PixelData = (second.pixel_array // 2).astype(second.pixel_array.dtype).tobytes()
    return [first, second]


def _per_image_model(images: list[Dataset]) -> PresentationModel:
    a, b = (str(im.SOPInstanceUID) for im in images)
    point = Annotation(graphics=(GraphicObject("POINT", ((3.5, 4.5),)),), applies_to=(FrameRef(b),))
    return PresentationModel(
        label="two",
        vois=(VOISetting(Window(900, 700), (FrameRef(a),)), VOISetting(Window(450, 350), (FrameRef(b),))),
        areas=(AreaSetting(DisplayedArea((1, 1), (32, 32)), (FrameRef(b),)),),
        layers=(Layer("L", 1, (point,)),),
    )


def test_one_state_for_several_images() -> None:
    images = _two_images()
    ps = write_gsps(_per_image_model(images), images)
    refs = ps.ReferencedSeriesSequence[0].ReferencedImageSequence
    assert [r.ReferencedSOPInstanceUID for r in refs] == [im.SOPInstanceUID for im in images]
    state = PresentationState(ps)
    assert [state.for_frame(im).voi for im in images] == [Window(900, 700), Window(450, 350)]
    areas = [state.for_frame(im).displayed_area for im in images]
    assert [(a.top_left, a.bottom_right) for a in areas if a is not None] == [((1, 1), (64, 64)), ((1, 1), (32, 32))]
    assert [len(annotation_layers(ps, im)) for im in images] == [0, 1]


def test_images_and_models_refused() -> None:
    mr = _file("MR_small.dcm")
    with pytest.raises(DicomInputError, match="grey images"):
        write_gsps(PresentationModel(label="x"), [_file("SC_rgb.dcm")])
    with pytest.raises(DicomInputError, match="one study"):
        write_gsps(PresentationModel(label="x"), [mr, _file("CT_small.dcm")])
    with pytest.raises(DicomInputError, match="single-frame"):
        write_gsps(
            PresentationModel(label="x", vois=(VOISetting(Window(1, 2), (FrameRef(mr.SOPInstanceUID, (1,)),)),)), [mr]
        )
    with pytest.raises(DicomInputError, match="does not reference"):
        write_gsps(PresentationModel(label="x", vois=(VOISetting(Window(1, 2), (FrameRef("1.2.3"),)),)), [mr])
    with pytest.raises(DicomInputError, match="TRUE SIZE"):
        synthetic = image(ramp(8, 8, 0, 255), bits_allocated=8)
        write_gsps(
            PresentationModel(label="x", areas=(AreaSetting(DisplayedArea((1, 1), (8, 8), "TRUE SIZE")),)), [synthetic]
        )
    with pytest.raises(DicomInputError, match="outside the valid range"):
        outside = Annotation(graphics=(GraphicObject("POINT", ((70.0, 3.0),)),))
        write_gsps(PresentationModel(label="x", layers=(Layer("L", 1, (outside,)),)), [mr])
    with pytest.raises(DicomInputError, match="several windows"):
        PresentationModel(label="x", vois=(VOISetting(Window(1, 2)), VOISetting(Window(3, 4))))
    with pytest.raises(DicomInputError, match="rectangle, a circle or a polygon"):
        ShutterSetting()


def _variants() -> dict[str, tuple[PresentationModel, list[Dataset]]]:
    mr, ct, mlut, mf = _file("MR_small.dcm"), _file("CT_small.dcm"), _file("mlut_18.dcm"), _multiframe("MONOCHROME1")
    two = _two_images()
    bare = image(ramp(16, 16, 0, 255), bits_allocated=8)  # no study date, sex, laterality, ...
    del bare.PatientName
    mf_uid = str(mf.SOPInstanceUID)
    return {
        "full MR": (_full_model(str(mr.SOPInstanceUID)), [mr]),
        "CT rescale, polygon shutter": (
            PresentationModel(
                label="ct",
                vois=(VOISetting(Window(40, 400, "LINEAR_EXACT")),),
                shutter=ShutterSetting(polygon=((10, 10), (10, 120), (120, 64)), grey=255),
                transform=SpatialTransform(180),
                presentation="INVERSE",
            ),
            [ct],
        ),
        "modality LUT sequence, true size": (
            PresentationModel(
                label="mlut", areas=(AreaSetting(DisplayedArea((1, 1), (400, 300), "TRUE SIZE", (0.2, 0.2))),)
            ),
            [mlut],
        ),
        "multi-frame per frame": (
            PresentationModel(
                label="frames",
                vois=(
                    VOISetting(Window(1000, 500), (FrameRef(mf_uid, (2,)),)),
                    VOISetting(Window(3000, 1500, "SIGMOID"), (FrameRef(mf_uid, (1, 3)),)),
                ),
                areas=(AreaSetting(DisplayedArea((2, 2), (15, 20)), (FrameRef(mf_uid, (1,)),)),),
                layers=(
                    Layer(
                        "L",
                        1,
                        (
                            Annotation(
                                graphics=(GraphicObject("POINT", ((3.0, 3.0),)),), applies_to=(FrameRef(mf_uid, (2,)),)
                            ),
                        ),
                    ),
                ),
            ),
            [mf],
        ),
        "bare synthetic, label only": (PresentationModel(label=""), [bare]),
        "two images, per-image settings": (_per_image_model(two), two),
        "non-ASCII text": (
            PresentationModel(
                label="x",
                creator="Müller^Jürgen",
                layers=(Layer("L", 1, (Annotation(texts=(TextObject("Größe", anchor=(2, 2)),)),)),),
            ),
            [bare],
        ),
    }


@pytest.mark.peer
@pytest.mark.parametrize("variant", list(_variants()))
def test_dciodvfy_reports_no_error(variant: str, tmp_path: Path) -> None:
    model, images = _variants()[variant]
    path = tmp_path / "ps.dcm"
    write_gsps(model, images).save_as(path, enforce_file_format=True)
    done = subprocess.run([require_tool("dciodvfy"), str(path)], capture_output=True, text=True, timeout=60)
    lines = (done.stdout + done.stderr).splitlines()
    assert "GrayscaleSoftcopyPresentationState" in lines  # it recognised the IOD
    errors = [line for line in lines if line.startswith("Error")]
    assert not errors, errors
