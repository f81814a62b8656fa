"""Export of one study of 1000 CT images to a DICOM file-set folder: Lightbox against DCMTK ``dcmmkdir``
over the same files copied by ``cp``.

The images (512 x 512, 16 bit, explicit VR little endian, about 530 kB each, one study;
``store_throughput.generate_images``, renamed to 8-character file IDs) are stored into a Lightbox
server by STOW-RS once. Each round (order alternating, ``sync`` untimed between runs):

- ``lightbox``: :func:`app.services.media_export.export_studies` (QIDO-RS for the catalogue values,
  WADO-RS series retrieve, each instance made ready for media and staged in pydicom's ``FileSet``,
  folder + DICOMDIR written, every file read back and compared with the checksum of what was written);
- ``lightbox_local``: the File-set Creator alone over the local files (:class:`FileSetWriter`,
  no server, no check), to separate the creator's cost from the retrieve's;
- ``cp_dcmmkdir``: ``cp -r`` of the files into a fresh folder, then ``dcmmkdir +r`` over it
  (DCMTK's General Purpose profile checks and DICOMDIR).

The headline is the median of the rounds' ratios lightbox / cp_dcmmkdir. Writes JSON (default
``benchmarks/results/media_export.json``).

    .venv/bin/python benchmarks/media_export.py [--images 1000] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydicom import dcmread
from qr_peers import start_lightbox
from store_throughput import REPO, dcmtk_env, generate_images, stop, system_path

sys.path.insert(0, str(REPO))

from app.media.file_set_writer import FileSetWriter
from app.services.media_export import ExportOptions, export_studies
from app.services.studies import StudyService


def lightbox_export(url: str, study_uid: str, out: Path, images: int) -> float:
    service = StudyService.connect(url, timeout=120)
    try:
        start = time.perf_counter()
        report = export_studies(service, [study_uid], ExportOptions(out))
        seconds = time.perf_counter() - start
    finally:
        service.close()
    if not report.ok or report.written != images:
        raise SystemExit(f"export failed: {report.summary()}")
    return seconds


def lightbox_local(files: list[Path], out: Path) -> float:
    start = time.perf_counter()
    writer = FileSetWriter(out)
    for path in files:
        writer.add_bytes(path.read_bytes())
    written = writer.write()
    seconds = time.perf_counter() - start
    if len(written.file_ids) != len(files):
        raise SystemExit(f"local file-set has {len(written.file_ids)} of {len(files)} files")
    return seconds


def cp_dcmmkdir(source: Path, out: Path, images: int) -> float:
    out.mkdir(parents=True)
    dcmmkdir = shutil.which("dcmmkdir", path=system_path())
    if dcmmkdir is None:
        raise SystemExit("dcmmkdir (DCMTK) is not installed")
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(source), str(out / "IMAGES")], check=True)
    result = subprocess.run([dcmmkdir, "-q", "+r", "+id", str(out), "+D", str(out / "DICOMDIR"), "IMAGES"],
                            cwd=out, env=dcmtk_env(), capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"dcmmkdir failed: {result.stderr[-500:]}")
    listed = sum(1 for r in dcmread(out / "DICOMDIR").DirectoryRecordSequence if r.DirectoryRecordType == "IMAGE")
    if listed != images:
        raise SystemExit(f"dcmmkdir listed {listed} of {images} images")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "media_export.json")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lightbox-bench-media-"))
    server = None
    try:
        generated = generate_images(work / "generated", args.images)
        source = work / "IMAGES"
        source.mkdir()
        files = []
        for n, path in enumerate(generated):
            files.append(path.rename(source / f"IM{n:06d}"))
        study_uid = str(dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
        server, info = start_lightbox(work / "data", work)
        url = info["http_url"]
        service = StudyService.connect(url, timeout=120)
        for i in range(0, len(files), 50):
            result = service.store_files(files[i : i + 50])
            if result.failed:
                raise SystemExit(f"STOW-RS refused {result.failed} images")
        service.close()
        seconds: dict[str, list[float]] = {"lightbox": [], "lightbox_local": [], "cp_dcmmkdir": []}
        for round_ in range(args.rounds):
            runs = [
                ("lightbox", lambda out: lightbox_export(url, study_uid, out, args.images)),
                ("lightbox_local", lambda out: lightbox_local(files, out)),
                ("cp_dcmmkdir", lambda out: cp_dcmmkdir(source, out, args.images)),
            ]
            if round_ % 2:
                runs.reverse()
            for name, run in runs:
                out = work / f"out-{name}-{round_}"
                os.sync()
                seconds[name].append(run(out))
                shutil.rmtree(out)
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in seconds.items()), flush=True)
        ratios = [a / b for a, b in zip(seconds["lightbox"], seconds["cp_dcmmkdir"], strict=True)]
        local = [a / b for a, b in zip(seconds["lightbox_local"], seconds["cp_dcmmkdir"], strict=True)]
        results = {
            "benchmark": "Export of one study to a DICOM file-set folder: Lightbox vs cp + DCMTK dcmmkdir",
            "images": args.images,
            "image": "CT 512 x 512, 16 bit, explicit VR little endian, about 530 kB",
            "rounds": args.rounds,
            "seconds": seconds,
            "median_seconds": {k: statistics.median(v) for k, v in seconds.items()},
            "round_ratios": ratios,
            "median_ratio_lightbox_to_cp_dcmmkdir": statistics.median(ratios),
            "median_ratio_local_creator_to_cp_dcmmkdir": statistics.median(local),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps({k: results[k] for k in ("median_seconds", "median_ratio_lightbox_to_cp_dcmmkdir",
                                                  "median_ratio_local_creator_to_cp_dcmmkdir")}, indent=2))  # fmt: skip
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
