"""Fetch of one study of 500 CT images from DCMTK ``dcmqrscp`` into the workstation's temporary
Storage SCP, side by side with DCMTK ``movescu`` + ``storescp`` doing the same.

Both sides ask the same ``dcmqrscp`` (500 images, 512 x 512, 16 bit, explicit VR little endian,
about 530 kB each; ``store_throughput.generate_images``) for the same study:

- **lightbox**: :func:`app.net.move.move` (the workstation's Q/R SCU, in process, as the search
  panel's Fetch calls it) to the :class:`~app.net.temporary_store.TemporaryStorageSCP` running in
  this process (128 KiB PDU, files written to its folder, index in memory); the time runs from
  the C-MOVE request to the final response, checked to be a success with 500 images in the store;
- **dcmtk**: ``movescu -S`` to ``storescp -od DIR`` (128 KiB PDU), timed as ``movescu``'s wall
  time, checked the same way.

Each round (alternating which goes first) starts from an empty store (the temporary store is
stopped and started again, so its folder is new) and ``sync`` (untimed). ``TCP_NODELAY=1`` is in
every DCMTK tool's environment (PEERS.md). The headline is the median of the rounds' ratios
lightbox/dcmtk (time). Writes JSON (default ``benchmarks/results/fetch_temporary_store.json``).

    .venv/bin/python benchmarks/fetch_temporary_store.py [--images 500] [--rounds 5] [--json PATH]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from qr_move import DESTINATION
from qr_move import move as movescu
from qr_peers import DCMQRSCP_AET, MAX_PDU, start_dcmqrscp, stop_group
from store_throughput import free_port, send
from study_rounds import empty, generate_study, parse_arguments, record, report, require_dcmtk, start_receiver

from app.net.association import Peer, ScuSettings
from app.net.move import move, move_identifier
from app.net.temporary_store import TemporaryStorageSCP

STORE_AE = "BENCHSTORE"


def _lightbox_fetch(store: TemporaryStorageSCP, port: int, study_uid: str, images: int) -> float:
    settings = ScuSettings("BENCHSCU", max_pdu=MAX_PDU, timeout=60)
    start = time.perf_counter()
    result = move(settings, Peer(DCMQRSCP_AET, "127.0.0.1", port), move_identifier(study_uid), STORE_AE)
    seconds = time.perf_counter() - start
    received = len(store.area.images()) if store.area else 0
    if not result.ok or received != images:
        raise SystemExit(f"fetch into the temporary store: {received} of {images} images: {result.describe()}")
    return seconds


def _dcmtk_fetch(port: int, study_uid: str, out: Path, images: int) -> float:
    seconds, log = movescu(port, DCMQRSCP_AET, study_uid)
    received = sum(1 for _ in out.iterdir())
    if "Received Final Move Response (Success)" not in log or received != images:
        raise SystemExit(f"movescu + storescp: {received} of {images} files:\n{log[-1500:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, "fetch_temporary_store", argv)
    require_dcmtk(("movescu", "storescu", "storescp", "dcmqrscp"))
    work = Path(tempfile.mkdtemp(prefix="lightbox-fetch-bench-"))
    seconds: dict[str, list[float]] = {"lightbox": [], "dcmtk": []}
    groups = []
    store_port = free_port()
    store = TemporaryStorageSCP(work / "temporary", STORE_AE, store_port, 5, host="127.0.0.1", max_pdu=MAX_PDU,
                                timeout=60)
    try:
        images, study_uid = generate_study(work, args.images)
        out, dest_proc, dest_port = start_receiver(work)
        groups.append(dest_proc)
        area = work / "dcmqrscp-area"
        area.mkdir()
        dc_proc, dc_port = start_dcmqrscp(work, {DCMQRSCP_AET: area}, [(DESTINATION, dest_port),
                                                                        (STORE_AE, store_port)])
        groups.append(dc_proc)
        send(dc_port, DCMQRSCP_AET, images, args.images)
        for rnd in range(-1, args.rounds):  # round -1: warm-up, untimed
            sides = ["lightbox", "dcmtk"] if rnd % 2 == 0 else ["dcmtk", "lightbox"]
            for name in sides:
                if name == "lightbox":
                    store.stop()
                    store.start()
                    os.sync()
                    elapsed = _lightbox_fetch(store, dc_port, study_uid, args.images)
                else:
                    empty(out)
                    os.sync()
                    elapsed = _dcmtk_fetch(dc_port, study_uid, out, args.images)
                record(seconds, rnd, name, elapsed, args.images)
    finally:
        store.stop()
        for group in groups:
            stop_group(group)
        shutil.rmtree(work, ignore_errors=True)

    report(args, "Fetch (C-MOVE from dcmqrscp) into the temporary Storage SCP vs movescu + storescp", seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
