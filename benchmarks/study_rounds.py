"""What the one-study benchmarks (``send_study``, ``qr_move``, ``fetch_temporary_store``) share:
their command line, the DCMTK tools check, the generated study and its receiving ``storescp``,
the per-round line, and the summary (median of the rounds' ratios lightbox/baseline) with its JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pydicom import dcmread
from qr_peers import start_storescp
from store_throughput import REPO, generate_images, system_path

IMAGE = "CT 512 x 512, 16 bit, explicit VR little endian, about 530 kB"


def parse_arguments(doc: str | None, name: str, argv: list[str] | None) -> argparse.Namespace:
    """``--images`` (500), ``--rounds`` (5) and ``--json`` (``benchmarks/results/{name}.json``)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500, help="images of the study (default 500)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each side once per round (default 5)")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / f"{name}.json")
    return parser.parse_args(argv)


def require_dcmtk(tools: Sequence[str]) -> None:
    """Stop with a message when one of the DCMTK ``tools`` is not on the system PATH."""
    for tool in tools:
        if shutil.which(tool, path=system_path()) is None:
            raise SystemExit(f"{tool} (DCMTK) is not installed")


def generate_study(work: Path, count: int) -> tuple[Path, str]:
    """``count`` generated images of one study in ``work/images``; the folder and the Study Instance UID."""
    images = work / "images"
    generate_images(images, count)
    return images, str(dcmread(next(images.iterdir()), stop_before_pixels=True).StudyInstanceUID)


def start_receiver(work: Path) -> tuple[Path, subprocess.Popen[bytes], int]:
    """``storescp -od work/received``; the folder, the process (stop with ``stop_group``) and its port."""
    out = work / "received"
    proc, port = start_storescp(out)
    return out, proc, port


def empty(folder: Path) -> None:
    """Remove the files of ``folder`` (the receiving folder, between rounds)."""
    for path in folder.iterdir():
        path.unlink()


def record(seconds: dict[str, list[float]], rnd: int, name: str, elapsed: float, images: int) -> None:
    """Keep and print one side's time of round ``rnd`` (round -1, the warm-up, is not kept)."""
    if rnd < 0:
        return
    seconds[name].append(elapsed)
    width = max(len(side) for side in seconds)
    print(f"round {rnd + 1}: {name:{width}s} {elapsed:6.2f} s ({images / elapsed:.0f} images/s)")


def report(args: argparse.Namespace, benchmark: str, seconds: dict[str, list[float]]) -> None:
    """Print the medians and the median ratio lightbox/baseline (the other key of ``seconds``); write the JSON."""
    baseline = next(name for name in seconds if name != "lightbox")
    ratios = sorted(a / b for a, b in zip(seconds["lightbox"], seconds[baseline], strict=True) if b)
    ratio = statistics.median(ratios)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    width = max(len(side) for side in seconds)
    print()
    for name, median in medians.items():
        print(f"{name:{width}s} median {median:6.2f} s ({args.images / median:.0f} images/s)")
    print(f"ratio lightbox/{baseline} (time): {ratio:.2f}x, rounds' ratios {', '.join(f'{r:.2f}' for r in ratios)}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "benchmark": benchmark,
        "images": args.images,
        "image": IMAGE,
        "rounds": args.rounds,
        "seconds": seconds,
        "median_seconds": medians,
        "round_ratios": ratios,
        f"ratio_lightbox_over_{baseline}": ratio,
        "machine": platform.platform(),
        "python": platform.python_version(),
    }, indent=2))
    print(f"results written to {args.json}")
