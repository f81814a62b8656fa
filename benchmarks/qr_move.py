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

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qr_peers import DCMQRSCP_AET, LIGHTBOX_QR_AET, MAX_PDU, start_dcmqrscp, start_lightbox, stop_group
from store_throughput import dcmtk_env, send, stop
from study_rounds import empty, generate_study, parse_arguments, record, report, require_dcmtk, start_receiver

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


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, "qr_move", argv)
    require_dcmtk(("movescu", "storescu", "storescp", "dcmqrscp"))

    work = Path(tempfile.mkdtemp(prefix="lightbox-move-bench-"))
    seconds: dict[str, list[float]] = {"lightbox": [], "dcmqrscp": []}
    procs: list[subprocess.Popen[str]] = []
    groups: list[subprocess.Popen[bytes]] = []
    try:
        images, study_uid = generate_study(work, args.images)
        out, dest_proc, dest_port = start_receiver(work)
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
                empty(out)
                os.sync()
                elapsed, log = move(port, aet, study_uid)
                _check(name, log, out, args.images)
                record(seconds, rnd, name, elapsed, args.images)
    finally:
        for proc in procs:
            stop(proc)
        for group in groups:
            stop_group(group)
        shutil.rmtree(work, ignore_errors=True)

    report(args, "C-MOVE of one study into storescp, Study Root", seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
