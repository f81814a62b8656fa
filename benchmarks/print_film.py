"""Printing speed: composing a 4x5 film of 512 x 512 CT images (14x17 in, 300 dpi) and a print job
end to end into DCMTK's print SCP ``dcmprscp``.

(a) compose: 20 CT images (rendered once by ``app.printing.print_images.print_image``) composed
    into one 4200 x 5100 film image by ``compose_film``, 8 and 12 bit (median of the rounds, wall
    clock and CPU time of all threads);
    also the rendering of the 20 images. Side by side: DCMTK's ``dcmpsprt -l 4 5`` preparing the
    same 4x5 film job from the same 20 files. It divides the work differently (it renders each
    image box at the image's own 512 x 512 and leaves the magnification to the printer; it writes
    20 Hardcopy Grayscale Images and a Stored Print to its database), so the ratio compares
    "prepare a 4x5 film job from 20 files" as each does it: ours render + compose, in process.
(b) print: the 12-bit (and 8-bit) composed film printed into ``dcmprscp`` by
    ``app.net.print_scu.print_film`` (association, N-GET Printer, Film Session, Presentation LUT,
    Film Box, Image Box N-SET of the 42 MB / 21 MB film, N-ACTION, N-DELETEs, release) against
    DCMTK's ``dcmprscu`` printing the Stored Print that ``dcmprscp`` kept of our job (the same film
    box and the same one image) into the same ``dcmprscp``. Rounds alternate which goes first.

    .venv/bin/python benchmarks/print_film.py [--rounds 5] [--json PATH]

Writes JSON (default ``benchmarks/results/print_film.json``). DCMTK tools run with TCP_NODELAY=1.
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
from typing import Any

import numpy as np
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.core.workstation_config import WorkstationConfig  # noqa: E402
from app.net.print_scu import print_film  # noqa: E402
from app.printing.compose import compose_film, film_spec  # noqa: E402
from app.printing.film_job import film_job  # noqa: E402
from app.printing.film_sizes import Orientation, film_size  # noqa: E402
from app.printing.layouts import layout  # noqa: E402
from app.printing.print_images import print_image  # noqa: E402
from app.printing.profiles import load_profile  # noqa: E402
from tests.print_peers import running_dcmprscp  # noqa: E402

SIZE, IMAGES = 512, 20
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def ct_dataset(seed: int) -> Dataset:
    """A 512 x 512 12-bit CT-like image (a disc of tissue with two lungs in air, noise), 0.7 mm pixels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    body = ((x - 256) ** 2 + ((y - 256) * 1.2) ** 2 < 220**2) * 1040
    lungs = (((x - 170) ** 2 + (y - 240) ** 2 < 70**2) | ((x - 342) ** 2 + (y - 240) ** 2 < 70**2)) * -800
    stored = np.clip(body + lungs + 24 + rng.normal(0, 20, (SIZE, SIZE)), 0, 4095).astype(np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = uid.CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = uid.generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = uid.generate_uid(), uid.generate_uid(), "CT"
    ds.PatientName, ds.PatientID, ds.StudyDate, ds.InstitutionName = "Bench^Mark", "B1", "20261127", "Bench"
    ds.InstanceNumber, ds.SeriesNumber = seed + 1, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.Rows, ds.Columns = 1, "MONOCHROME2", SIZE, SIZE
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth = 1, -1024, 40, 400
    ds.PixelSpacing = [0.7, 0.7]
    ds.PixelData = stored.tobytes()
    return ds


def timed(run: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def dcmpsprt_config(folder: Path) -> Path:
    (folder / "db").mkdir(parents=True, exist_ok=True)
    cfg = folder / "dcmpstat.cfg"
    cfg.write_text(f"""[[GENERAL]]
[DATABASE]
Directory = {folder / 'db'}
[PRINT]
Directory = {folder / 'spool'}
[[COMMUNICATION]]
[REMOTE]
Aetitle = PRINT_SERVER_SCP
Hostname = 127.0.0.1
Port = {{port}}
Type = PRINTER
DisplayFormat = 1,1\\4,5
FilmSizeID = 14INX17IN\\8INX10IN
MaxDensity = 320
MinDensity = 20
MaxPDU = 16384
Supports12Bit = true
SupportsPresentationLUT = true
SupportsTrim = true
""")
    return cfg


def compose_case(files: list[Path], datasets: list[Dataset], rounds: int, folder: Path) -> dict[str, Any]:
    profile12, profile8 = load_profile("dcmprscp"), load_profile("default")
    size, grid = film_size("14INX17IN"), layout("4x5")
    out: dict[str, Any] = {}
    for bits, profile in ((8, profile8), (12, profile12)):
        render_times, compose_times, compose_cpu = [], [], []
        images: list[Any] = []
        for _ in range(rounds):
            seconds, images = timed(lambda b=bits: [print_image(ds, bits=b) for ds in datasets])
            render_times.append(seconds)
            spec = film_spec(profile, size, Orientation.PORTRAIT, grid)
            cpu = time.process_time()
            seconds, film = timed(lambda s=spec, i=images: compose_film(i, s))
            compose_cpu.append(time.process_time() - cpu)
            compose_times.append(seconds)
        out[f"{bits}_bit"] = {
            "film_pixels": list(film.pixels.shape[::-1]),
            "render_20_images_s": statistics.median(render_times),
            "compose_s": statistics.median(compose_times),
            "compose_cpu_s": statistics.median(compose_cpu),  # all threads; steadier on a loaded machine
            "render_and_compose_s": statistics.median(r + c for r, c in zip(render_times, compose_times, strict=True)),
        }
    tool = shutil.which("dcmpsprt")
    if tool is None:
        out["dcmpsprt"] = "not installed"
        return out
    peer_times = []
    for r in range(rounds):
        work = folder / f"psprt{r}"
        cfg = dcmpsprt_config(work)
        cfg.write_text(cfg.read_text().replace("{port}", "104"))
        seconds, done = timed(lambda c=cfg: subprocess.run(
            [tool, "-c", str(c), "-p", "REMOTE", "-l", "4", "5", "--filmsize", "14INX17IN", *map(str, files)],
            capture_output=True, env=DCMTK_ENV))
        assert done.returncode == 0, done.stderr
        peer_times.append(seconds)
    ours = out["12_bit"]["render_and_compose_s"]
    out["dcmpsprt_4x5_job_s"] = statistics.median(peer_times)
    out["ratio_ours_render_compose_12bit_vs_dcmpsprt"] = ours / out["dcmpsprt_4x5_job_s"]
    return out


def _print_rounds(peer: Any, job: Any, calling: str, command: list[str] | None, rounds: int) -> tuple[list, list]:
    """``rounds`` of our print job and of ``command`` (dcmprscu), alternating which goes first."""
    ours: list[float] = []
    theirs: list[float] = []
    for r in range(rounds):
        for side in (("ours", "peer") if r % 2 == 0 else ("peer", "ours")):
            if side == "ours":
                seconds, result = timed(lambda: print_film(peer, job, calling))
                assert result.printed
                ours.append(seconds)
            elif command is not None:
                seconds, done = timed(lambda: subprocess.run(command, capture_output=True, env=DCMTK_ENV))
                assert done.returncode == 0, done.stderr
                theirs.append(seconds)
    return ours, theirs


def print_case(datasets: list[Dataset], rounds: int, folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tool = shutil.which("dcmprscu")
    calling = WorkstationConfig().print_calling_ae_title
    for bits, name in ((12, "dcmprscp"), (8, "default")):
        profile = load_profile(name)
        images = [print_image(ds, bits=profile.bits) for ds in datasets]
        film = compose_film(images, film_spec(profile, film_size("14INX17IN"), Orientation.PORTRAIT, layout("4x5")))
        job = film_job(film, profile)
        with running_dcmprscp(folder / f"scp{bits}") as printer:
            outcome = print_film(printer.peer, job, calling)  # warm-up, and the Stored Print dcmprscu re-prints
            assert outcome.printed, outcome.lines()
            scu = folder / f"scu{bits}"
            shutil.copytree(printer.database, scu / "db")
            cfg = dcmpsprt_config(scu)
            cfg.write_text(cfg.read_text().replace("{port}", str(printer.peer.port)))
            stored = sorted((scu / "db").glob("SP_*.dcm"))[-1]
            ours, peer = _print_rounds(printer.peer, job, calling, [tool, "-c", str(cfg), "-p", "REMOTE", str(stored)]
                                       if tool else None, rounds)
            received = printer.count("HG")
        entry: dict[str, Any] = {"film_bytes": int(film.pixels.nbytes), "ours_s": statistics.median(ours),
                                 "jobs_received_by_dcmprscp": received}
        if peer:
            entry["dcmprscu_s"] = statistics.median(peer)
            entry["ratio_ours_vs_dcmprscu"] = entry["ours_s"] / entry["dcmprscu_s"]
        out[f"{bits}_bit"] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "print_film.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        datasets = [ct_dataset(i) for i in range(IMAGES)]
        files = []
        for i, ds in enumerate(datasets):
            path = folder / f"ct{i}.dcm"
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
        result = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "rounds": args.rounds,
            "compose_4x5_14x17_300dpi": compose_case(files, datasets, args.rounds, folder),
            "print_4x5_into_dcmprscp": print_case(datasets, args.rounds, folder),
        }
    print(json.dumps(result, indent=2))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
