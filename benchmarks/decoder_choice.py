"""Decode time of every available pydicom decoder plugin, per transfer syntax (PS3.5 A.4).

Measures what :data:`app.imaging.decoders.PREFERENCE` records. For each syntax a realistic
frame is encoded once, then each plugin that pydicom reports available for the syntax
(``get_decoder(ts).available_plugins``: gdcm, pylibjpeg, pyjpegls, pillow, pydicom) decodes it
``--rounds`` times, interleaved; the best wall-clock and CPU (process) time per plugin are
printed as (ms, cpu ms), with a check that the lossless ones give back the original values
exactly. On a loaded machine the CPU time is the steadier of the two.

Frames: a CT-like 512 x 512 slice (body, lungs, bone ring, noise; 12 bits stored in 16; 8 bits
for JPEG baseline) and, for JPEG 2000 / HTJ2K, a 2048 x 2048 radiograph-like frame.
Encoders: pydicom's own (``Dataset.compress``: RLE, JPEG-LS via pyjpegls, JPEG 2000 via
pylibjpeg-openjpeg), DCMTK's ``dcmcjpeg`` for the JPEG processes, and ``imagecodecs``'s
OpenJPH for HTJ2K (``pip install imagecodecs``; only this script needs it).

    .venv/bin/python benchmarks/decoder_choice.py [--rounds 7] [--only JPEG 2000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
    generate_uid,
)

REPO = Path(__file__).resolve().parent.parent


def ct_like(size: int = 512, bits: int = 12, seed: int = 1) -> np.ndarray:
    """A CT-like slice: air, a body disc with two lungs and a bone ring, Gaussian noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / (size / 512)
    body = np.hypot(x - 256, (y - 256) * 1.25) < 220
    lungs = (np.hypot(x - 170, y - 250) < 70) | (np.hypot(x - 342, y - 250) < 70)
    ring = np.abs(np.hypot(x - 256, (y - 256) * 1.25) - 200) < 8
    values = np.where(body, 1060.0, 20.0)
    values = np.where(lungs, 200.0, values)
    values = np.where(ring, 1900.0, values)
    values += 40 * np.sin(x / 23.0) * np.cos(y / 31.0) * body
    values += rng.normal(0, 12, values.shape)
    scale = (2**bits - 1) / 4095
    return np.clip(np.rint(values * scale), 0, 2**bits - 1).astype(np.uint16 if bits > 8 else np.uint8)


def dataset(arr: np.ndarray, bits_stored: int) -> Dataset:
    """An explicit VR little endian CT data set holding ``arr``."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = "CT", "Bench^Decode", "BENCH"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = arr.shape
    ds.BitsAllocated = 8 if arr.dtype == np.uint8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits_stored, bits_stored - 1, 0
    ds.PixelData = arr.tobytes()
    return ds


def dcmtk(ds: Dataset, option: str, tmp: Path) -> Dataset:
    """``dcmcjpeg OPTION`` applied to ``ds``."""
    exe = shutil.which("dcmcjpeg")
    if exe is None:
        raise SystemExit("dcmcjpeg (DCMTK) is needed for the JPEG processes")
    src, dst = tmp / "src.dcm", tmp / f"dst{option}.dcm"
    ds.save_as(src, enforce_file_format=True)
    subprocess.run([exe, option, str(src), str(dst)], check=True, capture_output=True)
    return dcmread(dst)


def htj2k(ds: Dataset, arr: np.ndarray, ts: UID, qstep: float | None) -> Dataset:
    """HTJ2K via imagecodecs (OpenJPH); ``qstep`` None = reversible, else the quantisation step."""
    import imagecodecs  # only this script needs it

    out = dataset(arr, int(ds.BitsStored))
    out.file_meta.TransferSyntaxUID = ts
    out.PixelData = encapsulate([imagecodecs.htj2k_encode(arr, level=qstep, reversible=qstep is None)])
    out["PixelData"].VR = "OB"
    return out


def cases(tmp: Path) -> list[tuple[str, UID, Dataset, np.ndarray, bool]]:
    """(name, syntax, encoded data set, original values, lossless)."""
    ct12, ct8, big = ct_like(512, 12), ct_like(512, 8), ct_like(2048, 12, seed=2)
    out: list[tuple[str, UID, Dataset, np.ndarray, bool]] = []
    out.append(("JPEG baseline 8-bit 512", JPEGBaseline8Bit, dcmtk(dataset(ct8, 8), "+eb", tmp), ct8, False))
    out.append(("JPEG extended 12-bit 512", JPEGExtended12Bit, dcmtk(dataset(ct12, 12), "+ee", tmp), ct12, False))
    out.append(("JPEG lossless SV1 512", JPEGLosslessSV1, dcmtk(dataset(ct12, 12), "+e1", tmp), ct12, True))
    out.append(("JPEG lossless P14 512", JPEGLossless, dcmtk(dataset(ct12, 12), "+el", tmp), ct12, True))
    for ts, kwargs, lossless in ((JPEGLSLossless, {}, True), (JPEGLSNearLossless, {"jls_error": 2}, False)):
        ds = dataset(ct12, 12)
        ds.compress(ts, **kwargs)  # type: ignore[arg-type]
        out.append((f"{ts.name} 512", ts, ds, ct12, lossless))
    for ts, kwargs, lossless in ((JPEG2000Lossless, {}, True), (JPEG2000, {"j2k_cr": [15]}, False)):
        ds = dataset(big, 12)
        ds.compress(ts, **kwargs)  # type: ignore[arg-type]
        out.append((f"{ts.name} 2048", ts, ds, big, lossless))
    try:
        out.append(("HTJ2K lossless 2048", HTJ2KLossless, htj2k(dataset(big, 12), big, HTJ2KLossless, None), big, True))
        out.append(("HTJ2K lossy 2048", HTJ2K, htj2k(dataset(big, 12), big, HTJ2K, 0.0005), big, False))
    except ImportError:
        print("imagecodecs not installed: HTJ2K not measured", file=sys.stderr)
    ds = dataset(ct12, 12)
    ds.compress(RLELossless)
    out.append(("RLE 512", RLELossless, ds, ct12, True))
    return out


def measure(rounds: int, only: str = "") -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, ts, ds, original, lossless in cases(Path(tmp)):
            if only.lower() not in name.lower():
                continue
            decoder = get_decoder(ts)
            row: dict[str, object] = {"case": name, "ts": str(ts), "plugins": {}}
            plugins: dict[str, object] = row["plugins"]  # type: ignore[assignment]
            working: dict[str, int] = {}
            for plugin in decoder.available_plugins:
                try:
                    arr, _ = decoder.as_array(ds, index=0, decoding_plugin=plugin)
                except Exception as exc:  # a plugin that cannot decode this frame
                    plugins[plugin] = f"failed: {str(exc).splitlines()[-1].strip()}"
                    continue
                error = int(np.abs(arr.astype(np.int64) - original.astype(np.int64)).max())
                if lossless and error:
                    plugins[plugin] = f"wrong: max error {error}"
                else:
                    working[plugin] = error
            best = dict.fromkeys(working, float("inf"))
            cpu = dict.fromkeys(working, float("inf"))
            for _ in range(rounds):  # interleaved, so that load from elsewhere hits every plugin alike
                for plugin in working:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    decoder.as_array(ds, index=0, decoding_plugin=plugin)
                    best[plugin] = min(best[plugin], time.perf_counter() - start)
                    cpu[plugin] = min(cpu[plugin], time.process_time() - start_cpu)
            for plugin, error in working.items():
                plugins[plugin] = {
                    "ms": round(best[plugin] * 1000, 2),
                    "cpu_ms": round(cpu[plugin] * 1000, 2),
                    "max_error": error,
                }
            results.append(row)
            timings = {p: (v["ms"], v["cpu_ms"]) if isinstance(v, dict) else v for p, v in plugins.items()}
            print(f"{name:30s} {timings}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", default="", help="measure only the cases whose name contains this")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "decoder_choice.json")
    args = parser.parse_args()
    results = measure(args.rounds, args.only)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
