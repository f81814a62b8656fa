"""C-STORE receive throughput: Lightbox's Storage SCP side by side with DCMTK's ``storescp``.

Generates CT-sized images (512 x 512, 16 bit, unique UIDs), starts ``python -m app.server``
(temporary data directory, fsync on) and DCMTK ``storescp -od DIR`` on loopback ports, then
sends the same files with DCMTK ``storescu`` to each, interleaved, for several rounds, with
``TCP_NODELAY=1`` in both DCMTK tools' environment (see /work/shared/PEERS.md). Prints a
table and writes the results as JSON.

Run ``python benchmarks/store_throughput.py --help`` for the options; see README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

REPO = Path(__file__).resolve().parent.parent
READY_PREFIX = "LIGHTBOX-READY "
LIGHTBOX_AET = "DICOM_STORAGE"
SCP_ONLY = "scp-only"


@dataclass
class Side:
    name: str
    seconds: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.images_per_s) if self.images_per_s else 0.0


def generate_images(folder: Path, count: int) -> list[Path]:
    """``count`` synthetic 512 x 512 16-bit CT images (from pydicom's CT_small, upscaled)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = get_testdata_file("CT_small.dcm", download=False)
    if path is None:
        raise SystemExit("pydicom's CT_small.dcm test file is missing")
    base = dcmread(path)
    small = base.pixel_array.astype(np.int16)
    big = np.kron(small, np.ones((4, 4), dtype=np.int16))  # 128 x 128 -> 512 x 512
    rng = np.random.default_rng(7)
    study, series = generate_uid(), generate_uid()
    files = []
    for i in range(count):
        ds = base.copy()
        pixels = (big + rng.integers(-20, 20, size=big.shape, dtype=np.int16)).astype(np.int16)
        ds.Rows, ds.Columns = pixels.shape
        ds.PixelData = pixels.tobytes()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = i + 1
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        out = folder / f"ct{i:04d}.dcm"
        ds.save_as(out, enforce_file_format=True)
        files.append(out)
    return files


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def system_path() -> str:
    """PATH without the virtual environment's bin, where pynetdicom installs its own
    ``storescu``/``storescp``/``findscu``/``movescu`` scripts that would shadow DCMTK's."""
    venv_bin = Path(sys.prefix, "bin").resolve()
    dirs = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and Path(d).resolve() != venv_bin)


def dcmtk_env() -> dict[str, str]:
    return dict(os.environ, TCP_NODELAY="1", PATH=system_path())


def start_lightbox(
    work: Path, fsync: bool, module: str = "app.server", fast_path: bool = True, sync_directories: bool = False
) -> tuple[subprocess.Popen[str], int]:
    data_dir = work / "lightbox-data"
    config = work / "server.toml"
    config.write_text(
        f'[server]\ndata_dir = "{data_dir.as_posix()}"\nhttp_port = 0\ndicom_host = "127.0.0.1"\n'
        f"fsync = {'true' if fsync else 'false'}\n"
        f"sync_directories = {'true' if sync_directories else 'false'}\n"
        f'[[server.storage]]\nae_title = "{LIGHTBOX_AET}"\nport = 0\n'
    )
    pythonpath = os.environ.get("PYTHONPATH", "")
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), pythonpath])))
    env["LIGHTBOX_STORE_FASTPATH"] = "1" if fast_path else "0"
    proc = subprocess.Popen(
        [
            sys.executable,
            *(["-m", module] if module != SCP_ONLY else [str(REPO / "benchmarks" / "scp_only_server.py")]),
            "--data-dir",
            str(data_dir),
            "--config",
            str(config),
            "--log-level",
            "WARNING",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    info = wait_ready(proc)
    return proc, int(info["storage"][0]["port"])


def wait_ready(proc: subprocess.Popen[str], timeout: float = 60.0) -> dict[str, Any]:
    """The ``LIGHTBOX-READY {json}`` line of a starting server, decoded (kills it on failure)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(READY_PREFIX):
            info: dict[str, Any] = json.loads(line[len(READY_PREFIX) :])
            return info
    proc.kill()
    raise SystemExit(f"lightbox server did not start (exit code {proc.poll()})")


def start_storescp(work: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    out = work / "storescp-out"
    out.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        ["storescp", "-od", str(out), str(port)],
        env=dcmtk_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port, out
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("storescp did not start")


def send(port: int, called_ae: str, folder: Path, count: int) -> float:
    """Send every file of ``folder`` in one association; return the wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        ["storescu", "-aec", called_ae, "+sd", "127.0.0.1", str(port), str(folder)],
        env=dcmtk_env(),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"storescu to port {port} failed: {result.stderr[-2000:]}")
    return seconds


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=300, help="images per round (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each side once per round (default 3)")
    parser.add_argument("--no-fsync", action="store_true", help="run the Lightbox server with fsync off")
    parser.add_argument("--sync-directories", action="store_true",
                        help="run the Lightbox server with sync_directories on (power-loss durable at once)")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "store_throughput.json")
    parser.add_argument(
        "--no-fastpath", action="store_true", help="serve C-STORE through pynetdicom's stock path (comparison)"
    )
    parser.add_argument(
        "--scp-only",
        action="store_true",
        help="run the Storage SCP alone with a file-writing ingest (no index): the network layer's share",
    )
    parser.add_argument("--server-module", default="app.server", help="module run as the server (default app.server)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    for tool in ("storescu", "storescp"):
        if shutil.which(tool, path=system_path()) is None:
            raise SystemExit(f"{tool} (DCMTK) is not installed")

    work = Path(tempfile.mkdtemp(prefix="lightbox-bench-"))
    lightbox = Side("lightbox")
    dcmtk = Side("dcmtk storescp")
    try:
        images = work / "images"
        t0 = time.perf_counter()
        generate_images(images, args.images)
        print(f"generated {args.images} images in {time.perf_counter() - t0:.1f} s under {images}")
        lb_proc, lb_port = start_lightbox(
            work,
            fsync=not args.no_fsync,
            module=SCP_ONLY if args.scp_only else args.server_module,
            fast_path=not args.no_fastpath,
            sync_directories=args.sync_directories,
        )
        dc_proc, dc_port, dc_out = start_storescp(work)
        try:
            send(lb_port, LIGHTBOX_AET, images, min(10, args.images))  # warm-up (also duplicates = keep)
            for rnd in range(args.rounds):
                order = [(lightbox, lb_port, LIGHTBOX_AET), (dcmtk, dc_port, "STORESCP")]
                if rnd % 2:
                    order.reverse()
                for side, port, aet in order:
                    # storescp leaves ~160 MB of dirty pages per round; flushed in the background
                    # they would slow whichever side runs next (Lightbox's fsyncs most): start
                    # each run with a clean page cache, untimed.
                    os.sync()
                    seconds = send(port, aet, images, args.images)
                    side.seconds.append(seconds)
                    side.images_per_s.append(args.images / seconds)
                    print(f"round {rnd + 1}: {side.name:15s} {args.images / seconds:8.1f} images/s ({seconds:.2f} s)")
        finally:
            stop(lb_proc)
            stop(dc_proc)
        received = len(list(dc_out.iterdir()))
        if received < args.images:
            raise SystemExit(f"storescp stored only {received} files")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    # Each round sends to both sides back to back: the ratio of a round compares like with
    # like on a machine whose speed drifts; the headline is the median of the rounds' ratios.
    ratios = sorted(a / b for a, b in zip(lightbox.images_per_s, dcmtk.images_per_s, strict=True) if b)
    ratio = ratios[len(ratios) // 2] if ratios else 0.0
    print()
    print(f"{'receiver':18s} {'median images/s':>16s} {'rounds':>30s}")
    for side in (lightbox, dcmtk):
        rounds = ", ".join(f"{v:.0f}" for v in side.images_per_s)
        print(f"{side.name:18s} {side.median:16.1f} {rounds:>30s}")
    print(
        f"ratio lightbox/dcmtk: {ratio:.2f}x, median of the rounds' ratios "
        f"{', '.join(f'{r:.2f}' for r in ratios)} (Lightbox{' SCP only' if args.scp_only else ''}: "
        f"fsync {'off' if args.no_fsync else 'on'}"
        f"{', sync_directories on' if args.sync_directories else ''}, "
        f"C-STORE fast path {'off' if args.no_fastpath else 'on'})"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "images": args.images,
                "rounds": args.rounds,
                "fsync": not args.no_fsync,
                "sync_directories": args.sync_directories,
                "round_ratios": ratios,
                "fast_path": not args.no_fastpath,
                "server": "scp-only (no index)" if args.scp_only else "python -m app.server",
                "machine": platform.platform(),
                "python": platform.python_version(),
                "sides": [asdict(lightbox) | {"median": lightbox.median}, asdict(dcmtk) | {"median": dcmtk.median}],
                "ratio": ratio,
            },
            indent=2,
        )
    )
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
