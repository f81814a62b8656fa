"""Corner text: default lines per modality, fallbacks, dropped lines, configuration."""

from __future__ import annotations

import logging
import tomllib

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from app.core.errors import ConfigError
from app.imaging.corner_text import DEFAULT_TEMPLATES, CornerTemplates, corner_text


def _ct() -> Dataset:
    ds = Dataset()
    ds.Modality = "CT"
    ds.PatientName = "Doe^John^Quincy^Dr"
    ds.PatientID = "ID-42"
    ds.PatientBirthDate = "19700315"
    ds.PatientSex = "M"
    ds.InstitutionName = "General Hospital"
    ds.StudyDescription = "CT HEAD"
    ds.StudyDate, ds.StudyTime = "20240102", "080000"
    ds.ContentDate, ds.ContentTime = "20240103", "101530.123"
    ds.SeriesNumber, ds.InstanceNumber = 4, 17
    ds.KVP = "120"
    ds.XRayTubeCurrent = 250
    ds.Exposure = 180
    ds.ExposureTime = 750
    ds.SliceThickness = "0.625"
    ds.ConvolutionKernel = "BONE"
    ds.GantryDetectorTilt = "-12.5"
    ds.ContrastBolusAgent = "IOMEPROL"
    ds.ReconstructionDiameter = "250.0"
    ds.PatientPosition = "HFS"
    return ds


def test_ct_default_lines_as_appendix_a_lists_them() -> None:
    text = corner_text(_ct(), window=(40.0, 400.0))
    assert text.top_left == ("Doe, John Quincy", "ID-42", "1970-03-15 M")
    assert text.top_right == ("General Hospital", "CT HEAD", "2024-01-03 10:15:30")
    assert text.bottom_left == (
        "120 kV",
        "250 mA",
        "180 mAs",
        "750 ms",
        "ST 0.625 mm",
        "BONE",
        "Tilt -12.5\N{DEGREE SIGN}",
        "C+ IOMEPROL",
    )  # no Contrast/Bolus Volume: that line is dropped
    assert text.bottom_right == ("Se 4", "Im 17", "FOV 250 mm", "HFS", "W 400 L 40")


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (("Content", "Acquisition", "Series", "Study"), "2024-04-04 04:04:04"),
        (("Acquisition", "Series", "Study"), "2024-03-03 03:03:03"),
        (("Series", "Study"), "2024-02-02 02:02:02"),
        (("Study",), "2024-01-01 01:01:01"),
    ],
)
def test_date_and_time_fall_back_from_content_to_study(present: tuple[str, ...], expected: str) -> None:
    ds = Dataset()
    ds.Modality = "OT"
    for level, n in (("Study", 1), ("Series", 2), ("Acquisition", 3), ("Content", 4)):
        if level in present:
            setattr(ds, f"{level}Date", f"20240{n}0{n}")
            setattr(ds, f"{level}Time", f"0{n}0{n}0{n}")
    assert corner_text(ds).top_right == (expected,)


def test_mr_sequence_fallback_multi_values_and_missing_lines() -> None:
    ds = Dataset()
    ds.Modality = "MR"
    ds.ScanningSequence = ["SE", "IR"]
    ds.RepetitionTime = "2500"
    ds.EchoTime = "12.25"
    ds.MagneticFieldStrength = "1.5"
    text = corner_text(ds)
    assert text.bottom_left == ("SE/IR", "TR 2500 ms", "TE 12.25 ms", "1.5 T")
    ds.SequenceName = "*tse2d1_9"
    assert corner_text(ds).bottom_left[0] == "*tse2d1_9"
    assert text.top_left == () and text.bottom_right == ()  # nothing to show, no window given


def test_window_and_frame_lines_are_dynamic() -> None:
    ds = Dataset()
    ds.Modality, ds.NumberOfFrames, ds.InstanceNumber = "XA", 30, 1
    ds.WindowCenter, ds.WindowWidth = "100", "200"  # the image's own window is not what is shown
    text = corner_text(ds, frame=6, window=(-600.0, 1500.0), zoom=1.5)
    assert text.bottom_right == ("Im 1", "Frame 7/30", "W 1500 L -600", "Zoom 1.50")
    del ds.NumberOfFrames
    assert corner_text(ds).bottom_right == ("Im 1",)


def test_optional_fields_keep_the_line_while_any_is_present() -> None:
    ds = Dataset()
    ds.Modality = "OT"
    ds.PatientSex = "F"
    assert corner_text(ds).top_left == ("F",)
    del ds.PatientSex
    assert corner_text(ds).top_left == ()


def test_templates_from_toml_override_a_modality_corner_and_the_date_format() -> None:
    table = tomllib.loads(
        """
        date_format = "%d.%m.%Y"
        [templates.CT]
        top_left = ["{PatientName}", "Born {PatientBirthDate}", "Static text"]
        """
    )
    templates = CornerTemplates.from_dict(table, base=DEFAULT_TEMPLATES)
    text = corner_text(_ct(), templates)
    assert text.top_left == ("Doe, John Quincy", "Born 15.03.1970", "Static text")
    assert text.top_right[-1] == "03.01.2024 10:15:30"
    assert text.bottom_left[0] == "120 kV"  # CT's other corners are kept from the base
    again = CornerTemplates.from_dict(templates.to_dict())
    assert corner_text(_ct(), again) == text


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"templates": {"CT": {"top_left": ["{PatientsName}"]}}}, "not a DICOM keyword"),
        ({"templates": {"CT": {"middle": ["{PatientName}"]}}}, "not one of top_left"),
        ({"templates": {"CT": {"top_left": "{PatientName}"}}}, "list of strings"),
        ({"templates": {"CT": {"top_left": ["{PatientName"]}}}, "malformed"),
        ({"templates": {"CT": {"top_left": ["{PatientName!r}"]}}}, "conversions"),
        ({"date_format": ""}, "strftime"),
    ],
)
def test_bad_templates_are_config_errors_that_say_what_to_fix(table: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        CornerTemplates.from_dict(table)


def test_enhanced_ct_values_come_from_the_frame_functional_groups() -> None:
    path = get_testdata_file("eCT_Supplemental.dcm")
    assert path is not None
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    thickness = float(ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SliceThickness)
    text = corner_text(ds, frame=1)
    assert f"ST {thickness:.4g} mm" in text.bottom_left
    assert f"Frame 2/{int(ds.NumberOfFrames)}" in text.bottom_right


def test_no_patient_name_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        text = corner_text(_ct(), window=(40.0, 400.0))
    assert text.top_left[0] == "Doe, John Quincy"
    assert "Doe" not in caplog.text and "ID-42" not in caplog.text
