"""Send of one study of 500 CT images into DCMTK ``storescp``: Lightbox's send job
(``POST /api/studies/{uid}/send``) side by side with DCMTK ``storescu`` sending the same files.

The images (512 x 512, 16 bit, explicit VR little endian, about 530 kB each, one study;
``store_throughput.generate_images``) are stored into Lightbox once through ``storescu``. One
``storescp -od DIR`` (128 KiB PDU, loopback) receives both. Each round, for each sender
(alternating which goes first), the receiving folder is emptied and ``sync`` runs (untimed);
Lightbox's time runs from the POST to the job reported ``done`` (polled every 10 ms through
``GET /api/jobs/{id}``, progress checked to be 500 completed), ``storescu``'s is the wall time
of ``storescu +sd`` over the folder of the 500 files; both checked by the 500 files received.
``TCP_NODELAY=1`` is in every DCMTK tool's environment. The headline is the median of the
rounds' ratios lightbox/storescu. Writes JSON (default ``benchmarks/results/send_study.json``).

    .venv/bin/python benchmarks/send_study.py [--images 500] [--rounds 5] [--json PATH]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from qr_peers import MAX_PDU, start_lightbox, stop_group
from store_throughput import dcmtk_env, send, stop
from study_rounds import empty, generate_study, parse_arguments, record, report, require_dcmtk, start_receiver

DESTINATION = "STORESCP"


def lightbox_send(url: str, study_uid: str, images: int) -> float:
    """POST the send and wait for the job to be done; its wall time."""
    start = time.perf_counter()
    response = httpx.post(f"{url}/api/studies/{study_uid}/send", json={"destination": DESTINATION}, timeout=30)
    response.raise_for_status()
    job_id = response.json()["job_id"]
    with httpx.Client(timeout=30) as client:
        while True:
            job = client.get(f"{url}/api/jobs/{job_id}").json()
            if job["state"] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.01)
    seconds = time.perf_counter() - start
    if job["state"] != "done" or job["progress"].get("completed") != images:
        raise SystemExit(f"send job {job_id} ended {job['state']}: {job['progress']} {job['last_error']}")
    return seconds


def storescu_send(port: int, folder: Path) -> float:
    """``storescu +sd`` of the folder into STORESCP (128 KiB PDU); its wall time."""
    start = time.perf_counter()
    result = subprocess.run(
        ["storescu", "-aec", DESTINATION, "-pdu", str(MAX_PDU), "+sd", "127.0.0.1", str(port), str(folder)],
        env=dcmtk_env(), capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"storescu failed: {result.stderr[-2000:]}")
    return seconds


def _received(out: Path, images: int, who: str) -> None:
    count = sum(1 for _ in out.iterdir())
    if count != images:
        raise SystemExit(f"{who}: {count} of {images} files received")


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, "send_study", argv)
    require_dcmtk(("storescu", "storescp"))

    work = Path(tempfile.mkdtemp(prefix="lightbox-send-bench-"))
    seconds: dict[str, list[float]] = {"lightbox": [], "storescu": []}
    lb_proc = dest_proc = None
    try:
        images, study_uid = generate_study(work, args.images)
        out, dest_proc, dest_port = start_receiver(work)
        lb_proc, info = start_lightbox(work / "lightbox-data", work, [(DESTINATION, dest_port)])
        send(int(info["storage"][0]["port"]), "DICOM_STORAGE", images, args.images)
        url = str(info["http_url"])
        sides = ["lightbox", "storescu"]
        for rnd in range(-1, args.rounds):  # round -1: warm-up, untimed
            for name in sides if rnd % 2 == 0 else sides[::-1]:
                empty(out)
                os.sync()
                if name == "lightbox":
                    elapsed = lightbox_send(url, study_uid, args.images)
                else:
                    elapsed = storescu_send(dest_port, images)
                _received(out, args.images, name)
                record(seconds, rnd, name, elapsed, args.images)
    finally:
        if lb_proc is not None:
            stop(lb_proc)
        if dest_proc is not None:
            stop_group(dest_proc)
        shutil.rmtree(work, ignore_errors=True)

    report(args, "Send of one study into storescp: Lightbox send job vs DCMTK storescu of the same files", seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
