"""Grey stages beyond the basics: LUT data, several windows, presets, the robust default window.

pydicom's ``pixels.processing`` functions are the oracle where they cover the stage
(DESIGN.md section 4).
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, apply_presentation_lut, apply_voi, apply_windowing

from app.imaging.pipeline import GreyPipeline
from app.imaging.presentation_lut import PresentationLUT, presentation_lut_from
from app.imaging.presets import PRESETS, percentile_window, presets_for
from app.imaging.voi_lut import VOILUT, Window, voi_luts_from, windows_from
from tests.unit.imaging.synth import image, lut_item, ramp


def test_modality_lut_sequence_against_pydicom() -> None:
    stored = ramp(16, 16, 0, 4095)
    data = (np.sqrt(np.arange(4096)) * 64).astype(np.int64)  # non-linear, 12-bit values
    ds = image(stored, bits_stored=12, ModalityLUTSequence=[lut_item(0, 16, data)])
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    pipe = GreyPipeline.from_dataset(ds)
    ours = pipe.render_stored(stored)
    modality = apply_modality_lut(stored, ds)
    np.testing.assert_array_equal(pipe.modality.apply(stored), modality)
    expected = np.clip(((modality - 2047.5) / 4095 + 0.5) * 255, 0, 255)
    assert np.abs(ours - expected).max() <= 0.5 + 1e-9


def test_modality_lut_first_item_wins() -> None:
    stored = ramp(4, 4, 0, 255)
    first = lut_item(0, 8, 255 - np.arange(256))
    second = lut_item(0, 8, np.arange(256))
    ds = image(stored, bits_allocated=8, ModalityLUTSequence=[first, second], RescaleSlope=2, RescaleIntercept=5)
    np.testing.assert_array_equal(GreyPipeline.from_dataset(ds).modality.apply(stored), 255 - stored)


@pytest.mark.parametrize("signed", [False, True])
def test_voi_lut_sequence_against_pydicom(signed: bool) -> None:
    lo, hi = (-2048, 2047) if signed else (0, 4095)
    stored = ramp(16, 16, lo, hi)
    first = lo + 100
    data = np.linspace(0, 65535, 3000).astype(np.int64)  # 16 bits: pydicom's apply_voi casts to 8-bit LUTs' dtype
    ds = image(stored, bits_stored=12, signed=signed, VOILUTSequence=[lut_item(first, 16, data, "curve")])
    pipe = GreyPipeline.from_dataset(ds)
    voi = pipe.default_voi()
    assert isinstance(voi, VOILUT) and voi.explanation == "curve"
    ours = pipe.render_stored(stored)
    expected = apply_voi(stored, ds) / 65535 * 255
    assert np.abs(ours.astype(np.float64) - expected).max() <= 0.5 + 1e-9


def test_negative_first_mapped_after_rescale() -> None:
    # CT: stored unsigned, intercept -1024, VOI LUT starts at -1024 written as US 64512
    stored = ramp(8, 8, 0, 4095)
    item = lut_item(0, 8, np.linspace(0, 255, 4096).astype(np.int64))
    item.LUTDescriptor = [4096, 65536 - 1024, 8]
    ds = image(stored, bits_stored=12, RescaleIntercept=-1024, RescaleSlope=1, VOILUTSequence=[item])
    luts = voi_luts_from(ds)
    assert luts[0].lut.first_mapped == -1024
    out = GreyPipeline.from_dataset(ds).render_stored(stored)
    assert out[0, 0] == 0 and out[-1, -1] == 255


def test_several_windows_selectable() -> None:
    stored = ramp(8, 8, 0, 4095)
    ds = image(stored, bits_stored=12, WindowCenter=[1000, 2000], WindowWidth=[500, 4000])
    ds.WindowCenterWidthExplanation = ["NARROW", "WIDE"]
    pipe = GreyPipeline.from_dataset(ds)
    choices = pipe.voi_choices()
    assert [(w.center, w.width) for w in choices if isinstance(w, Window)] == [(1000, 500), (2000, 4000)]
    assert [w.explanation for w in windows_from(ds)] == ["NARROW", "WIDE"]
    assert pipe.default_voi() == Window(1000, 500)
    narrow, wide = pipe.render_stored(stored, choices[0]), pipe.render_stored(stored, choices[1])
    assert (narrow == 255).sum() > (wide == 255).sum()
    assert Window(1, 2, explanation="a") == Window(1, 2) and pipe.table(
        Window(1000, 500, explanation="x")
    ) is pipe.table(choices[0])


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_voi_functions_signed_rescaled_against_pydicom(function: str) -> None:
    stored = ramp(16, 16, -2048, 2047)
    ds = image(stored, bits_stored=12, signed=True, RescaleSlope=0.5, RescaleIntercept=-100)
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = -200, 700, function
    ours = GreyPipeline.from_dataset(ds).render_stored(stored).astype(np.float64)
    with np.errstate(over="ignore"):
        expected = apply_windowing(apply_modality_lut(stored, ds), ds)  # output range of the modality values
    lo, hi = -2048 * 0.5 - 100, 2047 * 0.5 - 100
    expected = (expected - lo) / (hi - lo) * 255
    assert np.abs(ours - expected).max() <= 0.5 + 1e-6


def test_presentation_lut_sequence() -> None:
    stored = ramp(8, 8, 0, 255)
    data = ((np.arange(4096) / 4095.0) ** 0.5 * 65535).astype(np.int64)  # 16-bit P-values
    ds = image(stored, bits_allocated=8, PresentationLUTSequence=[lut_item(0, 16, data)])
    ds.WindowCenter, ds.WindowWidth = 127.5, 256
    stage = presentation_lut_from(ds)
    assert isinstance(stage, PresentationLUT)
    out = GreyPipeline.from_dataset(ds).render_stored(stored).astype(np.float64)
    voi = np.clip(((stored - 127) / 255 + 0.5) * 255, 0, 255)
    expected = data[np.rint(voi / 255 * 4095).astype(int)] / 65535 * 255
    assert np.abs(out - expected).max() <= 0.5 + 1e-9
    # pydicom's apply_presentation_lut indexes the LUT by shifting the 8-bit VOI output (v << 4)
    # where we scale (v * 4095 / 255): equal but for the steep start of the square root curve
    p = apply_presentation_lut(np.rint(voi).astype(np.uint8), ds)
    assert np.median(np.abs(out - p / 65535 * 255)) <= 1.0


def test_presentation_shape_inverse_overrides_photometric() -> None:
    stored = ramp(4, 4, 0, 255)
    m1 = image(stored, bits_allocated=8, photometric="MONOCHROME1", PresentationLUTShape="IDENTITY")
    m2 = image(stored, bits_allocated=8, PresentationLUTShape="INVERSE")
    np.testing.assert_array_equal(
        GreyPipeline.from_dataset(m1).render_stored(stored).astype(int),
        255 - GreyPipeline.from_dataset(m2).render_stored(stored).astype(int),
    )


def test_percentile_window_ignores_outliers() -> None:
    values = np.concatenate([np.linspace(0, 1000, 10000), [30000.0] * 20])
    w = percentile_window(values)
    assert 0 <= w.center - w.width / 2 <= 20 and 980 <= w.center + w.width / 2 <= 1010


def test_percentile_window_from_histogram_equals_from_values() -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 300, 5000)
    counts = np.bincount(values, minlength=300)
    assert percentile_window(np.arange(300), counts) == percentile_window(values)


def test_default_window_is_robust() -> None:
    stored = ramp(64, 64, 0, 1000)
    stored[:2, :2] = 4095  # a few metal pixels
    pipe = GreyPipeline.from_dataset(image(stored, bits_stored=12))
    voi = pipe.default_voi(pipe.index(stored))
    assert isinstance(voi, Window) and voi.center + voi.width / 2 < 1100


def test_flat_image_default_window() -> None:
    stored = np.full((4, 4), 7)
    pipe = GreyPipeline.from_dataset(image(stored, bits_stored=12))
    out = pipe.render(pipe.index(stored), pipe.default_voi(pipe.index(stored)))
    assert out.shape == (4, 4)


def test_ct_presets() -> None:
    ct = presets_for("ct")
    for name in ("lung", "bone", "brain", "abdomen", "mediastinum"):
        assert name in ct
    assert ct["lung"] == Window(-600, 1500) and ct["brain"] == Window(40, 80)
    assert presets_for("XA") == {}
    assert all(w.function == "LINEAR" for presets in PRESETS.values() for w in presets.values())


def test_preset_on_ct_values() -> None:
    hu = ramp(16, 16, 0, 4095)  # stored; HU = stored - 1024
    pipe = GreyPipeline.from_dataset(image(hu, bits_stored=12, RescaleSlope=1, RescaleIntercept=-1024))
    out = pipe.render_stored(hu, presets_for("CT")["brain"])
    h = hu - 1024
    assert (out[h <= 0] == 0).all() and (out[h >= 80] == 255).all()


def test_unused_dataset_attribute_keeps_defaults() -> None:
    assert windows_from(Dataset()) == [] and voi_luts_from(Dataset()) == []
