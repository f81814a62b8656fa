"""C-MOVE of one study of 500 CT images into DCMTK ``storescp``: Lightbox's Q/R SCP side by
side with DCMTK's ``dcmqrscp``.

Both servers get the same 500 images (512 x 512, 16 bit, explicit VR little endian, about
530 kB each, one study; ``store_throughput.generate_images``) through DCMTK ``storescu``,
and both have ``STORESCP`` (one ``storescp -od DIR``, 128 KiB PDU, on a loopback port) as a
configured move destination. Each round, for each server (alternating which goes first),
the receiving folder is emptied, ``sync`` runs (untimed), and DCMTK ``movescu -S`` asks for
the study; the time is ``movescu``'s wall time until the final response, checked to be a
success with 500 completed sub-operations and 500 files received. ``TCP_NODELAY=1`` is in
every DCMTK tool's environment (PEERS.md). The headline is the median of the rounds'
ratios lightbox/dcmqrscp. Writes JSON (default ``benchmarks/results/qr_move.json``).

    .venv/bin/python benchmarks/qr_move.py [--images 500] [--rounds 5] [--json PATH]
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
from qr_peers import (
    DCMQRSCP_AET,
    LIGHTBOX_QR_AET,
    MAX_PDU,
    start_dcmqrscp,
    start_lightbox,
    start_storescp,
    stop_group,
)
from store_throughput import REPO, dcmtk_env, generate_images, send, stop, system_path

DESTINATION = "STORESCP"


def move(port: int, called_ae: str, study_uid: str) -> tuple[float, str]:
    """``movescu -S`` of one study to STORESCP; returns its wall time and its log."""
    args = [
        "movescu", "-v", "-S", "-aet", "BENCHSCU", "-aec", called_ae, "-aem", DESTINATION, "-pdu", str(MAX_PDU),
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}", "127.0.0.1", str(port),
    ]
    start = time.perf_counter()
    result = subprocess.run(args, env=dcmtk_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"movescu to {called_ae} failed:\n{log[-2000:]}")
    return seconds, log


def _check(name: str, log: str, out: Path, images: int) -> None:
    """A final Success (a failed sub-operation would make it a warning or a failure) and every file received."""
    received = sum(1 for _ in out.iterdir())
    if "Received Final Move Response (Success)" not in log or received != images:
        raise SystemExit(f"C-MOVE from {name}: {received} of {images} files received:\n{log[-1500:]}")


def _empty(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500, help="images of the study (default 500)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each server once per round (default 5)")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "qr_move.json")
    args = parser.parse_args(argv)
    for tool in ("movescu", "storescu", "storescp", "dcmqrscp"):
        if shutil.which(tool, path=system_path()) is None:
            raise SystemExit(f"{tool} (DCMTK) is not installed")

    work = Path(tempfile.mkdtemp(prefix="lightbox-move-bench-"))
    seconds: dict[str, list[float]] = {"lightbox": [], "dcmqrscp": []}
    procs: list[subprocess.Popen[str]] = []
    groups: list[subprocess.Popen[bytes]] = []
    try:
        images = work / "images"
        generate_images(images, args.images)
        study_uid = str(dcmread(next(images.iterdir()), stop_before_pixels=True).StudyInstanceUID)
        out = work / "received"
        dest_proc, dest_port = start_storescp(out)
        groups.append(dest_proc)
        area = work / "dcmqrscp-area"
        area.mkdir()
        dc_proc, dc_port = start_dcmqrscp(work, {DCMQRSCP_AET: area}, [(DESTINATION, dest_port)])
        groups.append(dc_proc)
        lb_proc, info = start_lightbox(work / "lightbox-data", work, [(DESTINATION, dest_port)])
        procs.append(lb_proc)
        lb_port = int(info["qr"]["port"])
        t0 = time.perf_counter()
        send(int(info["storage"][0]["port"]), "DICOM_STORAGE", images, args.images)
        send(dc_port, DCMQRSCP_AET, images, args.images)
        print(f"{args.images} images stored into both servers in {time.perf_counter() - t0:.0f} s")
        sides = [("lightbox", lb_port, LIGHTBOX_QR_AET), ("dcmqrscp", dc_port, DCMQRSCP_AET)]
        for rnd in range(-1, args.rounds):  # round -1: warm-up, untimed
            for name, port, aet in sides if rnd % 2 == 0 else sides[::-1]:
                _empty(out)
                os.sync()
                elapsed, log = move(port, aet, study_uid)
                _check(name, log, out, args.images)
                if rnd >= 0:
                    seconds[name].append(elapsed)
                    print(f"round {rnd + 1}: {name:9s} {elapsed:6.2f} s ({args.images / elapsed:.0f} images/s)")
    finally:
        for proc in procs:
            stop(proc)
        for group in groups:
            stop_group(group)
        shutil.rmtree(work, ignore_errors=True)

    ratios = sorted(a / b for a, b in zip(seconds["lightbox"], seconds["dcmqrscp"], strict=True) if b)
    ratio = statistics.median(ratios)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print()
    for name, median in medians.items():
        print(f"{name:9s} median {median:6.2f} s ({args.images / median:.0f} images/s)")
    print(f"ratio lightbox/dcmqrscp (time): {ratio:.2f}x, median of the rounds' ratios "
          f"{', '.join(f'{r:.2f}' for r in ratios)}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "benchmark": "C-MOVE of one study into storescp, Study Root",
        "images": args.images,
        "image": "CT 512 x 512, 16 bit, explicit VR little endian, about 530 kB",
        "rounds": args.rounds,
        "seconds": seconds,
        "median_seconds": medians,
        "round_ratios": ratios,
        "ratio_lightbox_over_dcmqrscp": ratio,
        "machine": platform.platform(),
        "python": platform.python_version(),
    }, indent=2))
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
