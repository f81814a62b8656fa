"""Modality Worklist C-FIND latency: Lightbox's MWL SCP side by side with DCMTK's ``wlmscpfs``.

Both hold the same ``--items`` worklist items (default 2,000 scheduled procedure steps over
100 days, five modalities, twenty stations): ``wlmscpfs`` as ``.wl`` files in its folder
database, Lightbox in its index (items put in through the worklist store, as
``POST /api/worklist`` does). DCMTK ``findscu -W`` (one process, association and query per
run) asks four questions:

- ``one``: one patient by Patient ID;
- ``day+station``: one day's steps on one Scheduled Station AE Title;
- ``name-prefix``: a Patient's Name prefix wildcard;
- ``description``: a Scheduled Procedure Step Description wildcard. Not like for like:
  Lightbox matches it on each stored item (it is not a column), ``wlmscpfs`` does not match on
  it at all and answers every item; it shows what a key outside the columns costs.

Each round runs every question once per side, the sides' order alternating; the headline per
question is the median over the rounds of lightbox/wlmscpfs. Writes JSON (default
``benchmarks/results/mwl_latency.json``).

    .venv/bin/python benchmarks/mwl_latency.py [--items 2000] [--rounds 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from qr_peers import start_lightbox, stop_group
from store_throughput import REPO, dcmtk_env, free_port, stop

from app.core.config import ServerConfig
from app.server.index.stores import open_index
from app.server.worklist_items import normalise

WLM_AET = "WLMSCPFS"
MODALITIES = ("CT", "MR", "US", "CR", "NM")
FIRST_DAY = 20250101


def item(n: int) -> Dataset:
    """Worklist item ``n``: patient ``P{n}``, one step on day ``n % 100``."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = f"{('Smith', 'Jones', 'Brown', 'Taylor', 'Wilson')[n % 5]}{n:05d}^Pat"
    ds.PatientID = f"P{n}"
    ds.PatientBirthDate, ds.PatientSex = "19700101", "O"
    ds.AccessionNumber = f"A{n}"
    ds.ReferringPhysicianName = "Ref^Doc"
    ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.543.77.{n}"
    ds.RequestedProcedureID = f"RP{n}"
    ds.RequestedProcedureDescription = "Procedure"
    sps = Dataset()
    sps.Modality = MODALITIES[n % len(MODALITIES)]
    sps.ScheduledStationAETitle = f"STATION{n % 20:02d}"
    day = n % 100
    sps.ScheduledProcedureStepStartDate = f"2025{1 + day // 28:02d}{1 + day % 28:02d}"
    sps.ScheduledProcedureStepStartTime = f"{8 + n % 10:02d}{n % 60:02d}00"
    sps.ScheduledPerformingPhysicianName = "Perf^Doc"
    sps.ScheduledProcedureStepDescription = f"{sps.Modality} exam {n % 7}"
    sps.ScheduledProcedureStepID = f"S{n}"
    sps.ScheduledStationName = f"ROOM{n % 20:02d}"
    ds.ScheduledProcedureStepSequence = [sps]
    return ds


QUESTIONS: dict[str, list[str]] = {
    "one": ["PatientID=P1234"],
    "day+station": ["ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20250110",
                    "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=STATION09"],
    "name-prefix": ["PatientName=Smith001*"],
    "description": ["ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription=CT exam 3*"],
}
RETURN_KEYS = ["PatientName", "PatientID", "AccessionNumber", "ScheduledProcedureStepSequence[0].Modality",
               "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate"]


def findscu(port: int, called: str, keys: list[str]) -> tuple[float, int]:
    """Seconds for one ``findscu -W`` run and the number of matches."""
    args = ["findscu", "-v", "-W", "-aec", called]
    for key in [*RETURN_KEYS, *keys]:
        args += ["-k", key]
    start = time.perf_counter()
    done = subprocess.run([*args, "127.0.0.1", str(port)], capture_output=True, text=True, env=dcmtk_env(),
                          timeout=600)
    elapsed = time.perf_counter() - start
    out = done.stdout + done.stderr
    if "Received Final Find Response (Success)" not in out:
        raise SystemExit(f"findscu against {called} failed:\n{out[-2000:]}")
    return elapsed, out.count("(Pending)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "mwl_latency.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "wlistdb" / WLM_AET
        folder.mkdir(parents=True)
        (folder / "lockfile").touch()
        data_dir = work / "lightbox"
        stores = open_index(ServerConfig(data_dir=data_dir).effective_index_url())
        for n in range(args.items):
            ds = item(n)
            dcmwrite(folder / f"item{n:06d}.wl", ds, implicit_vr=False, little_endian=True)
            checked = normalise(ds)
            stores.worklist.create(checked.keys, checked.dataset)
        stores.close()
        port = free_port()
        wlm = subprocess.Popen(["wlmscpfs", "-dfp", str(folder.parent), str(port)], env=dcmtk_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        lightbox, info = start_lightbox(data_dir, work)
        try:
            time.sleep(1.0)
            sides = {"lightbox": (int(info["mwl"]["port"]), "DICOM_MWL_SCP"), "wlmscpfs": (port, WLM_AET)}
            times: dict[str, dict[str, list[float]]] = {q: {s: [] for s in sides} for q in QUESTIONS}
            matches: dict[str, dict[str, int]] = {q: {} for q in QUESTIONS}
            for round_ in range(args.rounds):
                order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
                for question, keys in QUESTIONS.items():
                    for side in order:
                        elapsed, count = findscu(*sides[side], keys)
                        times[question][side].append(elapsed)
                        matches[question][side] = count
        finally:
            stop(lightbox)
            stop_group(wlm)
    results = {}
    for question in QUESTIONS:
        ratios = [a / b for a, b in zip(times[question]["lightbox"], times[question]["wlmscpfs"], strict=True)]
        results[question] = {
            "matches": matches[question],
            "median_seconds": {side: statistics.median(values) for side, values in times[question].items()},
            "median_ratio_lightbox_over_wlmscpfs": statistics.median(ratios),
        }
        seconds = results[question]["median_seconds"]
        print(f"{question:12s} matches {matches[question]}  lightbox {seconds['lightbox']:.3f}s"
              f"  wlmscpfs {seconds['wlmscpfs']:.3f}s  ratio {statistics.median(ratios):.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "benchmark": "mwl_latency", "items": args.items, "rounds": args.rounds, "client": "findscu -W",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "results": results,
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
