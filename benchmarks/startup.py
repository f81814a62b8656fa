"""Start-up time of the PyInstaller one-folder build against ``python -m app`` (issue 10).

Two measures, each from ``Popen`` to a line on the program's standard output:

- ``server``: ``lightbox server --config CFG`` to its ``LIGHTBOX-READY`` line (index opened and
  migrated, every AE listening, HTTP API up), then SIGTERM;
- ``gui``: ``lightbox --smoke-test --config CFG`` offscreen (QT_QPA_PLATFORM=offscreen) to its
  ``LIGHTBOX-SHOWN`` line, printed at the main window's first paint (app.ui.smoke); this includes
  starting the bundled server child and waiting for its ready line, as a real start does.

The frozen program is ``tests/packaging/frozen.py``'s cached build (built first if the sources
changed: say so in the results, the build time is recorded). Each variant gets one untimed warm-up
run (page cache, the index created), then the rounds alternate frozen / source; both reuse their own
data directory, as a user's second start does. The headline is the ratio of medians frozen /
source. Writes JSON (default ``benchmarks/results/startup.json``).

    .venv/bin/python benchmarks/startup.py [--rounds 5] [--json PATH]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import write_server_config  # noqa: E402
from tests.packaging.frozen import frozen_build, frozen_env  # noqa: E402


def _time_to_line(cmd: list[str], prefix: str, env: dict[str, str], cwd: Path, timeout: float = 300) -> float:
    """Seconds from start to the first stdout line starting with ``prefix``; the process is then stopped."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=cwd)
    assert proc.stdout is not None
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{cmd[:3]} exited ({proc.wait()}) before printing {prefix!r}")
            if line.startswith(prefix):
                elapsed = time.perf_counter() - started
                break
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{cmd[:3]}: no {prefix!r} within {timeout} s")
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(120)  # the GUI exits by itself after the paint; the server on SIGTERM
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "startup.json")
    args = parser.parse_args()

    build = frozen_build()
    frozen = [str(build.executable)]
    source = [sys.executable, "-m", "app"]
    size_mb = sum(p.stat().st_size for p in build.folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6

    samples: dict[str, dict[str, list[float]]] = {"server": {"frozen": [], "source": []},
                                                  "gui": {"frozen": [], "source": []}}
    with tempfile.TemporaryDirectory(prefix="lightbox-startup-") as tmp:
        base = Path(tmp)
        runs = {}
        for variant, launcher in (("frozen", frozen), ("source", source)):
            home = base / variant
            home.mkdir()
            cfg = write_server_config(home / "lightbox.toml", home / "server-data")
            cfg.write_text(cfg.read_text() + "\n[workstation.temporary_store]\nport = 0\n")
            env = frozen_env(home) if variant == "frozen" else frozen_env(home, PYTHONUNBUFFERED="1")
            if variant == "source":
                env["PYTHONPATH"] = str(ROOT)
            runs[variant] = {
                "server": ([*launcher, "server", "--config", str(cfg)], "LIGHTBOX-READY ", env, home),
                "gui": ([*launcher, "--smoke-test", "--config", str(cfg)], "LIGHTBOX-SHOWN", env, home),
            }
        for measure in ("server", "gui"):
            for variant in ("frozen", "source"):
                _time_to_line(*runs[variant][measure])  # warm-up, untimed
            for i in range(args.rounds):
                order = ("frozen", "source") if i % 2 == 0 else ("source", "frozen")
                for variant in order:
                    seconds = _time_to_line(*runs[variant][measure])
                    samples[measure][variant].append(round(seconds, 3))
                    print(f"{measure:6s} {variant:6s} {seconds:6.2f} s", flush=True)

    results: dict[str, object] = {
        "benchmark": "startup",
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "rounds": args.rounds,
        "build": {"pyinstaller_seconds": round(build.build_seconds, 1), "reused_from_cache": build.reused,
                  "folder_mb": round(size_mb, 1)},
    }
    for measure, by_variant in samples.items():
        med = {v: statistics.median(s) for v, s in by_variant.items()}
        results[measure] = {
            "frozen_s": by_variant["frozen"], "source_s": by_variant["source"],
            "median_frozen_s": round(med["frozen"], 3), "median_source_s": round(med["source"], 3),
            "ratio_frozen_over_source": round(med["frozen"] / med["source"], 3),
        }
        print(f"{measure}: frozen {med['frozen']:.2f} s, python -m app {med['source']:.2f} s, "
              f"ratio {med['frozen'] / med['source']:.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
