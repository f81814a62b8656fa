"""C-FIND study-level latency: Lightbox's Q/R SCP side by side with DCMTK's ``dcmqrscp``.

Three queries (see ``qr_dataset.py``): 1 match (Patient ID), 100 matches (Study Date range)
and a prefix wildcard on Patient Name (30 matches), Study Root, study level, against:

- ``dcmqrscp`` holding ``--like-for-like`` studies (default 500: its most per storage area,
  ``DB_UpperMaxStudies`` is a compile-time bound of DCMTK; past it, it deletes the oldest study);
- Lightbox holding the same studies (the like-for-like ratio);
- Lightbox holding ``--studies`` studies (default 100,000; no DCMTK side can hold them).

Two clients: DCMTK ``findscu`` (one process, association and query per run: what a user's
script sees) and a pynetdicom SCU keeping one association open (the server's own time per
query). Each round runs every query once per side, the sides' order rotating; the headline
per query is the median of the rounds' ratios lightbox/dcmqrscp. The data are built once
and cached (``--cache``). Writes JSON (default ``benchmarks/results/qr_latency.json``).

    .venv/bin/python benchmarks/qr_latency.py [--studies 100000] [--rounds 9] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qr_dataset import RETURN_KEYS, StudySet, build_info, dcmqrscp_area, lightbox_data_dir
from qr_peers import (
    DCMQRSCP_AET,
    LIGHTBOX_QR_AET,
    HeldAssociation,
    findscu,
    start_dcmqrscp,
    start_lightbox,
    stop_group,
    study_identifier,
)
from store_throughput import REPO, stop, system_path

CLIENTS = ("findscu", "findscu-held", "pynetdicom")
#: Queries per ``findscu --repeat`` process (client "findscu-held").
REPEAT = 10
DCMQRSCP_MAX_STUDIES = 500


@dataclass
class Side:
    """One server and the study set it holds."""

    name: str
    port: int
    called_ae: str
    studies: StudySet
    held: HeldAssociation | None = None
    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def run(self, client: str, query_index: int, count: bool = False) -> tuple[float, int]:
        query = self.studies.queries()[query_index]
        identifier = study_identifier(query.keys, RETURN_KEYS)
        if client == "findscu":
            return findscu(self.port, self.called_ae, identifier, count=count)
        if client == "findscu-held":
            return findscu(self.port, self.called_ae, identifier, repeat=REPEAT, count=count)
        if self.held is None:
            self.held = HeldAssociation(self.port, self.called_ae)
        return self.held.find(identifier)


def _check(side: Side, client: str, query_index: int, matches: int) -> None:
    if matches < 0:  # not counted (findscu -q)
        return
    expected = side.studies.queries()[query_index].expected
    if matches != expected:
        raise SystemExit(f"{side.name} ({client}) returned {matches} matches instead of {expected}")


def _median_ratio(a: list[float], b: list[float]) -> tuple[float, list[float]]:
    ratios = sorted(x / y for x, y in zip(a, b, strict=True) if y)
    return (statistics.median(ratios) if ratios else 0.0), ratios


def measure(sides: list[Side], clients: list[str], rounds: int, log: Callable[[str], None]) -> None:
    """Warm up (and check the match counts), then time ``rounds`` rounds into ``side.seconds``."""
    queries = len(sides[0].studies.queries())
    for side in sides:
        for client in clients:
            for q in range(queries):
                _check(side, client, q, side.run(client, q, count=True)[1])
    for rnd in range(rounds):
        order = sides[rnd % len(sides) :] + sides[: rnd % len(sides)]
        for q in range(queries):
            for client in clients:
                for side in order:
                    seconds, matches = side.run(client, q)
                    _check(side, client, q, matches)
                    side.seconds.setdefault((client, str(q)), []).append(seconds)
        log(f"round {rnd + 1}/{rounds} done")


def report(sides: list[Side], clients: list[str], dcmtk: Side) -> list[dict[str, object]]:
    """Print the table; return the per-query results for the JSON."""
    results: list[dict[str, object]] = []
    lightboxes = [s for s in sides if s is not dcmtk]
    print()
    print(f"{'query':44s} {'client':11s} " + " ".join(f"{s.name:>22s}" for s in sides) + "   ratios lightbox/dcmqrscp")
    for q, query in enumerate(dcmtk.studies.queries()):
        entry: dict[str, object] = {"query": query.name, "expected_matches": query.expected, "clients": {}}
        for client in clients:
            key = (client, str(q))
            medians = {s.name: statistics.median(s.seconds[key]) for s in sides}
            ratios = {}
            for side in lightboxes:
                ratio, rounds = _median_ratio(side.seconds[key], dcmtk.seconds[key])
                ratios[side.name] = {"ratio": ratio, "round_ratios": rounds}
            entry["clients"][client] = {  # type: ignore[index]
                "seconds": {s.name: s.seconds[key] for s in sides},
                "median_seconds": medians,
                "ratio_lightbox_over_dcmqrscp": ratios,
            }
            cells = " ".join(f"{medians[s.name] * 1000:19.2f} ms" for s in sides)
            shown = ", ".join(f"{name}: {r['ratio']:.2f}x" for name, r in ratios.items())
            print(f"{query.name:44s} {client:11s} {cells}   {shown}")
        results.append(entry)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=100_000, help="studies of the large Lightbox index")
    parser.add_argument("--like-for-like", type=int, default=DCMQRSCP_MAX_STUDIES,
                        help=f"studies both servers hold (dcmqrscp keeps at most {DCMQRSCP_MAX_STUDIES})")
    parser.add_argument("--rounds", type=int, default=9, help="rounds, every query once per side (default 9)")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="findscu, pynetdicom or both (default)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "lightbox-qr-bench",
                        help="folder of the generated, indexed data (reused between runs)")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "qr_latency.json")
    args = parser.parse_args(argv)
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    if any(c not in CLIENTS for c in clients):
        parser.error(f"--clients: choose among {', '.join(CLIENTS)}")
    for tool in ("findscu", "dcmqrscp", "dcmqridx"):
        if shutil.which(tool, path=system_path()) is None:
            raise SystemExit(f"{tool} (DCMTK) is not installed")
    small, large = StudySet(args.like_for_like), StudySet(args.studies)

    print(f"data sets (cached under {args.cache}):")
    t0 = time.perf_counter()
    dcmtk_area = dcmqrscp_area(args.cache, small)
    small_dir = lightbox_data_dir(args.cache, small)
    large_dir = lightbox_data_dir(args.cache, large) if large != small else None
    print(f"ready in {time.perf_counter() - t0:.0f} s")

    work = Path(tempfile.mkdtemp(prefix="lightbox-qr-bench-"))
    procs: list[subprocess.Popen[str]] = []
    dcmtk_proc = None
    sides: list[Side] = []
    try:
        dcmtk_proc, dcmtk_port = start_dcmqrscp(work, {DCMQRSCP_AET: dcmtk_area})
        dcmtk = Side(f"dcmqrscp {small.studies}", dcmtk_port, DCMQRSCP_AET, small)
        proc, info = start_lightbox(small_dir, work)
        procs.append(proc)
        sides = [Side(f"lightbox {small.studies}", info["qr"]["port"], LIGHTBOX_QR_AET, small), dcmtk]
        if large_dir is not None:
            proc, info = start_lightbox(large_dir, work)
            procs.append(proc)
            sides.append(Side(f"lightbox {large.studies}", info["qr"]["port"], LIGHTBOX_QR_AET, large))
        measure(sides, clients, args.rounds, print)
        results = report(sides, clients, dcmtk)
    finally:
        for side in sides:
            if side.held is not None:
                side.held.close()
        for proc in procs:
            stop(proc)
        if dcmtk_proc is not None:
            stop_group(dcmtk_proc)
        shutil.rmtree(work, ignore_errors=True)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "benchmark": "C-FIND study-level latency, Study Root",
        "studies": {side.name: side.studies.studies for side in sides},
        "dcmqrscp_max_studies_per_area": DCMQRSCP_MAX_STUDIES,
        "built": {
            f"dcmqrscp {small.studies} (files written + dcmqridx)": build_info(dcmtk_area),
            f"lightbox {small.studies} (in-process ingest, fsync off)": build_info(small_dir),
            **({f"lightbox {large.studies} (in-process ingest, fsync off)": build_info(large_dir)}
               if large_dir else {}),
        },
        "rounds": args.rounds,
        "return_keys": list(RETURN_KEYS),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "queries": results,
    }, indent=2))
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
