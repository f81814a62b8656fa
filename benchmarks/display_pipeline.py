"""Display pipeline speed: Lightbox's ``app.imaging`` side by side with the plain pydicom path.

The plain path is what a pydicom user writes: ``ds.pixel_array``, ``pydicom.pixels.apply_modality_lut``,
``apply_voi_lut``, then a scale to uint8 (and numpy for overlays and shutters). Each case runs
both sides in the same process, alternating which goes first, and reports the median of the
rounds for each side and the median of the rounds' ratios ours/plain (below 1 = Lightbox faster):

(a) window change on an indexed 512 x 512 16-bit CT frame: ours builds a new uint8 table and
    does one ``np.take``; plain recomputes modality, VOI and the uint8 scale over the frame;
(b) a 512 x 512 frame with two overlays (60xx) and a rectangular + circular shutter, end to
    end: read from bytes, decode, grey stages, layers, composite; plus ours alone with a GSPS
    carrying text objects and DISPLAY-unit graphics (burn-in; pydicom has no GSPS renderer);
(c) decode of frame 1 per transfer syntax, ``app.imaging.frames.decode_frame`` against
    ``ds.pixel_array`` (each on a freshly read data set), and each installed decoder plugin
    alone. Images are the same 512 x 512 12-bit frame, encoded by pydicom's
    ``Dataset.compress`` (RLE, JPEG-LS, JPEG 2000) or by ``imagecodecs`` when installed (JPEG
    baseline on its 8-bit version, JPEG lossless SV1, HTJ2K); without imagecodecs those
    syntaxes use pydicom's test files (different images; marked in the output).

    .venv/bin/python benchmarks/display_pipeline.py [--rounds 31] [--json PATH]

Writes JSON (default ``benchmarks/results/display_pipeline.json``).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom import dcmread, uid
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.sequence import Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.imaging.frames import decode_frame  # noqa: E402
from app.imaging.pipeline import GreyPipeline  # noqa: E402
from app.imaging.render import render_frame  # noqa: E402
from app.imaging.voi_lut import Window  # noqa: E402

SIZE = 512


def ct_frame() -> np.ndarray:
    """A 512 x 512 12-bit CT-like frame: a disc of tissue in air, with noise."""
    rng = np.random.default_rng(512)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    body = ((x - SIZE / 2) ** 2 + (y - SIZE / 2) ** 2 < (0.4 * SIZE) ** 2) * 1000
    return np.clip(body + 24 + rng.normal(0, 30, (SIZE, SIZE)), 0, 4095).astype(np.uint16)


def ct_dataset(stored: np.ndarray, ts: uid.UID = uid.ExplicitVRLittleEndian) -> Dataset:
    """A CT image data set (rescale -1024, window 40/400) holding ``stored``."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = uid.CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = uid.generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = uid.generate_uid(), uid.generate_uid(), "CT"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = stored.shape
    bits = 8 if stored.dtype == np.uint8 else 12
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8 if bits == 8 else 16, bits, bits - 1, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth = 1, -1024, 40, 400
    ds.PixelData = stored.tobytes()
    return ds


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def median_pair(ours: Callable[[], object], plain: Callable[[], object], rounds: int) -> dict[str, float]:
    """Median seconds of each side and of the rounds' ratios, alternating which runs first."""
    ours(), plain()  # first-call costs
    a: list[float] = []
    b: list[float] = []
    for r in range(rounds):
        for side in ((ours, a), (plain, b)) if r % 2 == 0 else ((plain, b), (ours, a)):
            start = time.perf_counter()
            side[0]()
            side[1].append(time.perf_counter() - start)
    return {
        "ours_ms": statistics.median(a) * 1000,
        "plain_ms": statistics.median(b) * 1000,
        "ratio_ours_over_plain": statistics.median(x / y for x, y in zip(a, b, strict=True)),
    }


def median_of(run: Callable[[], object], rounds: int) -> float:
    run()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def plain_grey(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """The plain pydicom path from stored values to uint8: modality, VOI, scale to 0..255."""
    values = apply_voi_lut(apply_modality_lut(arr, ds), ds)
    lo = float(-(2 ** (ds.BitsStored - 1)) if ds.PixelRepresentation else 0) + float(ds.RescaleIntercept)
    hi = lo + 2.0**ds.BitsStored - 1
    return np.clip((values - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


# -- (a) -------------------------------------------------------------------------------------
def window_change(rounds: int, bits_stored: int) -> dict[str, Any]:
    ds = ct_dataset(ct_frame())
    ds.BitsStored, ds.HighBit = bits_stored, bits_stored - 1  # 16: a table over all 65536 stored values
    pipe = GreyPipeline.from_dataset(ds)
    index = pipe.index(decode_frame(ds)[0])
    arr = ds.pixel_array
    state = {"n": 0}

    def ours() -> None:  # a new window each call: no cached table
        state["n"] += 1
        pipe.render(index, Window(40 + state["n"] % 1000, 400 + state["n"] % 997))

    def plain() -> None:
        state["n"] += 1
        ds.WindowCenter, ds.WindowWidth = 40 + state["n"] % 1000, 400 + state["n"] % 997
        plain_grey(arr, ds)

    case = f"window change, 512x512 16-bit ({bits_stored} stored)"
    return {"case": case, **median_pair(ours, plain, rounds)}


# -- (b) -------------------------------------------------------------------------------------
def _overlay(ds: Dataset, group: int, plane: np.ndarray) -> None:
    ds.add_new((group, 0x0010), "US", plane.shape[0])
    ds.add_new((group, 0x0011), "US", plane.shape[1])
    ds.add_new((group, 0x0040), "CS", "G")
    ds.add_new((group, 0x0050), "SS", [1, 1])
    ds.add_new((group, 0x0100), "US", 1)
    ds.add_new((group, 0x0102), "US", 0)
    ds.add_new((group, 0x3000), "OW", np.packbits(plane.ravel(), bitorder="little").tobytes())


def layered_image() -> bytes:
    ds = ct_dataset(ct_frame())
    rng = np.random.default_rng(7)
    _overlay(ds, 0x6000, rng.random((SIZE, SIZE)) > 0.97)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    _overlay(ds, 0x6002, (np.abs(x - y) < 2))
    ds.ShutterShape = ["RECTANGULAR", "CIRCULAR"]
    ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge = 20, 492
    ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge = 30, 482
    ds.CenterOfCircularShutter, ds.RadiusOfCircularShutter = [256, 256], 240
    ds.ShutterPresentationValue = 0
    return to_bytes(ds)


def annotated_state(img: Dataset) -> Dataset:
    """A GSPS with two layers: PIXEL and DISPLAY graphics and three text objects."""
    ps = Dataset()
    ps.SOPClassUID, ps.PresentationLUTShape = uid.GrayscaleSoftcopyPresentationStateStorage, "IDENTITY"
    ps.GraphicLayerSequence = Sequence()
    for name, order in (("MEASURE", 1), ("TEXT", 2)):
        layer = Dataset()
        layer.GraphicLayer, layer.GraphicLayerOrder = name, order
        layer.GraphicLayerRecommendedDisplayGrayscaleValue = 65535
        ps.GraphicLayerSequence.append(layer)
    graphics = []
    for units, kind, data in (
        ("PIXEL", "POLYLINE", [100.0, 100.0, 400.0, 380.0]),
        ("PIXEL", "CIRCLE", [256.0, 256.0, 300.0, 256.0]),
        ("DISPLAY", "POLYLINE", [0.05, 0.95, 0.95, 0.95]),
    ):
        g = Dataset()
        g.GraphicAnnotationUnits, g.GraphicDimensions, g.NumberOfGraphicPoints = units, 2, len(data) // 2
        g.GraphicData, g.GraphicType, g.GraphicFilled = data, kind, "N"
        graphics.append(g)
    texts = []
    for value, box, anchor in (
        ("Distance 41.2 mm", ([120.0, 40.0], [330.0, 80.0]), [250.0, 240.0]),
        ("Nodule, follow up in 3 months", ([0.6, 0.05], [0.95, 0.25]), None),
        ("R", None, [20.0, 256.0]),
    ):
        t = Dataset()
        t.UnformattedTextValue = value
        if box is not None:
            t.BoundingBoxAnnotationUnits = "DISPLAY" if box[0][0] < 1 else "PIXEL"
            t.BoundingBoxTopLeftHandCorner, t.BoundingBoxBottomRightHandCorner = box
        if anchor is not None:
            t.AnchorPointAnnotationUnits, t.AnchorPoint, t.AnchorPointVisibility = "PIXEL", anchor, "Y"
        texts.append(t)
    ps.GraphicAnnotationSequence = Sequence()
    for name, field, objects in (("MEASURE", "GraphicObjectSequence", graphics), ("TEXT", "TextObjectSequence", texts)):
        item = Dataset()
        item.GraphicLayer = name
        setattr(item, field, Sequence(objects))
        ps.GraphicAnnotationSequence.append(item)
    return ps


def layers_end_to_end(rounds: int) -> list[dict[str, Any]]:
    data = layered_image()
    y, x = np.mgrid[1 : SIZE + 1, 1 : SIZE + 1]

    def ours() -> np.ndarray:
        return render_frame(dcmread(io.BytesIO(data))).composite()

    def plain() -> np.ndarray:
        ds = dcmread(io.BytesIO(data))
        out = plain_grey(ds.pixel_array, ds)
        for group in (0x6000, 0x6002):
            out[ds.overlay_array(group).astype(bool)] = 255
        rect = (x >= 20) & (x <= 492) & (y >= 30) & (y <= 482)
        out[~(rect & ((y - 256) ** 2 + (x - 256) ** 2 <= 240**2))] = 0
        return out

    assert ours().shape == plain().shape
    img = dcmread(io.BytesIO(data))
    state = annotated_state(img)

    def annotated() -> np.ndarray:
        return render_frame(dcmread(io.BytesIO(data)), 0, state).composite()

    return [
        {"case": "512x512 with 2 overlays + rect/circ shutter, bytes -> composite", **median_pair(ours, plain, rounds)},
        {
            "case": "the same under a GSPS with 3 graphics + 3 text objects (ours only)",
            "ours_ms": median_of(annotated, rounds),
        },
    ]


# -- (c) -------------------------------------------------------------------------------------
def encoded_images() -> list[tuple[str, bytes, str]]:
    """(transfer syntax name, file bytes, image) for every syntax measured."""
    stored = ct_frame()
    out: list[tuple[str, bytes, str]] = []
    own = "512x512 12-bit synthetic"
    out.append(("Explicit VR Little Endian", to_bytes(ct_dataset(stored)), own))
    deflated = ct_dataset(stored, uid.DeflatedExplicitVRLittleEndian)
    out.append(("Deflated Explicit VR Little Endian", to_bytes(deflated), own))
    for ts in (uid.RLELossless, uid.JPEGLSLossless, uid.JPEG2000Lossless):
        ds = ct_dataset(stored)
        ds.compress(ts)
        out.append((ts.name, to_bytes(ds), own))
    try:
        import imagecodecs
    except ImportError:
        imagecodecs = None
    if imagecodecs is not None:
        for ts, frame, bits in (
            (uid.JPEGBaseline8Bit, imagecodecs.jpeg8_encode((stored >> 4).astype(np.uint8), level=90), 8),
            (uid.JPEGLosslessSV1, imagecodecs.jpeg8_encode(stored, lossless=True, predictor=1, bitspersample=12), 12),
            (uid.HTJ2KLossless, imagecodecs.htj2k_encode(stored, reversible=True), 12),
        ):
            ds = ct_dataset((stored >> 4).astype(np.uint8) if bits == 8 else stored, ts)
            ds.PixelData = encapsulate([bytes(frame)])
            ds["PixelData"].VR = "OB"
            out.append((ts.name, to_bytes(ds), own if bits == 12 else "512x512 8-bit synthetic"))
    else:
        for ts, name in ((uid.JPEGBaseline8Bit, "SC_rgb_jpeg.dcm"), (uid.JPEGLosslessSV1, "JPEG-LL.dcm")):
            path = get_testdata_file(name, download=False)
            if path is not None:
                out.append((ts.name, Path(path).read_bytes(), f"pydicom test file {name}"))
    return out


def decode_per_syntax(rounds: int) -> list[dict[str, Any]]:
    rows = []
    for name, data, what in encoded_images():
        ts = dcmread(io.BytesIO(data), stop_before_pixels=True).file_meta.TransferSyntaxUID

        def ours(data: bytes = data) -> np.ndarray:
            return decode_frame(dcmread(io.BytesIO(data)), 0)[0]

        def plain(data: bytes = data) -> np.ndarray:
            return dcmread(io.BytesIO(data)).pixel_array

        # lossy syntaxes: decoders may round their inverse transform differently (one grey level)
        tolerance = 2 if ts in (uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEG2000, uid.HTJ2K) else 0
        assert np.abs(ours().astype(np.int64) - plain()).max() <= tolerance, name
        decoder = get_decoder(ts)
        plugins = {}
        for plugin in decoder.available_plugins:
            ds = dcmread(io.BytesIO(data))
            plugins[plugin] = median_of(partial(decoder.as_array, ds, index=0, decoding_plugin=plugin), rounds)
        read = median_of(lambda data=data: dcmread(io.BytesIO(data)), rounds)
        rows.append(
            {
                "transfer_syntax": name,
                "uid": str(ts),
                "image": what,
                "bytes": len(data),
                **median_pair(ours, plain, rounds),
                "read_only_ms": read,
                "decode_only_ms_by_plugin": plugins,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "display_pipeline.json")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "pydicom": pydicom.__version__,
        "numpy": np.__version__,
        "rounds": args.rounds,
    }
    results["window_change"] = [window_change(args.rounds * 4, bits) for bits in (12, 16)]
    for w in results["window_change"]:
        print(
            f"(a) {w['case']}: ours {w['ours_ms']:.2f} ms, plain {w['plain_ms']:.2f} ms,"
            f" ratio {w['ratio_ours_over_plain']:.2f}"
        )
    results["layers"] = layers_end_to_end(args.rounds)
    for row in results["layers"]:
        extra = ""
        if "plain_ms" in row:
            extra = f", plain {row['plain_ms']:.1f} ms, ratio {row['ratio_ours_over_plain']:.2f}"
        print(f"(b) {row['case']}: ours {row['ours_ms']:.1f} ms{extra}")
    results["decode"] = decode_per_syntax(args.rounds)
    for row in results["decode"]:
        plugins = ", ".join(f"{k} {v:.1f}" for k, v in row["decode_only_ms_by_plugin"].items())
        print(
            f"(c) {row['transfer_syntax']:<55} ours {row['ours_ms']:6.1f} ms  plain {row['plain_ms']:6.1f} ms"
            f"  ratio {row['ratio_ours_over_plain']:.2f}  (read {row['read_only_ms']:.1f}; decode by plugin: {plugins})"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
