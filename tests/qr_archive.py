"""A real remote archive for the search/retrieve tests: DCMTK ``dcmqrscp`` with its config file
written in a temporary folder, studies loaded into it with DCMTK ``storescu``, and small
synthetic CT studies written with pydicom.

``dcmqrscp`` runs in its default forking mode (PEERS.md: ``-s`` crashes here) in a process
group of its own, stopped with its children.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from app.net.temporary_store import TemporaryStorageSCP
from tests.conftest import require_tool

ARCHIVE_AE = "ARCHIVE"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dcmtk_env() -> dict[str, str]:
    """DCMTK's environment: TCP_NODELAY on (PEERS.md), the venv's bin off the PATH."""
    venv_bin = Path(sys.prefix, "bin").resolve()
    path = os.pathsep.join(
        d for d in os.environ.get("PATH", os.defpath).split(os.pathsep) if d and Path(d).resolve() != venv_bin
    )
    return dict(os.environ, TCP_NODELAY="1", PATH=path)


def wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} (exit code {proc.poll()})")


def storescu_to(port: int, called_ae: str, files: Sequence[Path]) -> None:
    """Store ``files`` with DCMTK ``storescu`` (one association); fails the test on an error."""
    done = subprocess.run([require_tool("storescu"), "-aec", called_ae, "127.0.0.1", str(port), *map(str, files)],
                          env=dcmtk_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@dataclass(frozen=True)
class Study:
    """A synthetic study written to disk: its UIDs and files, per series."""

    study_uid: str
    patient_id: str
    patient_name: str
    series: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        return [f for files in self.series.values() for f in files]


def write_study(
    folder: Path, patient_id: str, patient_name: str, series_sizes: Sequence[int], *, study_date: str = "20240105",
    description: str = "CT CHEST", size: int = 16, accession: str = "",
) -> Study:
    """A CT study with ``len(series_sizes)`` series of that many images (``size`` x ``size``, 16 bit)."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid()
    study = Study(study_uid, patient_id, patient_name)
    rng = np.random.default_rng(len(list(folder.iterdir())))
    n = 0
    for s, count in enumerate(series_sizes, start=1):
        series_uid = generate_uid()
        study.series[series_uid] = []
        for i in range(count):
            ds = Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
            ds.SOPClassUID = CTImageStorage
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient_name, patient_id, "19600101", "O"
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.StudyDate, ds.StudyTime, ds.StudyID = study_date, "101500", "1"
            ds.AccessionNumber = accession or f"A{patient_id}"
            ds.StudyDescription, ds.SeriesDescription = description, f"series {s}"
            ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", s, i + 1
            ds.ReferringPhysicianName = ""
            ds.ImagePositionPatient = [0.0, 0.0, float(i)]
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            ds.PixelSpacing = [0.5, 0.5]
            ds.Rows = ds.Columns = size
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
            ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
            ds.WindowCenter, ds.WindowWidth = 40, 400
            ds.PixelData = rng.integers(0, 2000, size=(size, size), dtype=np.int16).tobytes()
            n += 1
            path = folder / f"{patient_id}-{s}-{i:04d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            study.series[series_uid].append(path)
    return study


class Dcmqrscp:
    """DCMTK ``dcmqrscp`` serving one AE (``ARCHIVE``) from a storage folder in ``work``.

    ``destinations`` (AE title, port) are the C-MOVE destinations it knows, on localhost (its
    HostTable takes host names).
    """

    def __init__(self, work: Path, destinations: Sequence[tuple[str, int]] = (), ae_title: str = ARCHIVE_AE) -> None:
        self.tool = require_tool("dcmqrscp")
        self.ae_title = ae_title
        self.area = work / "dcmqrscp-db"
        self.area.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        hosts = [f"dest{n} = ({title}, localhost, {port})" for n, (title, port) in enumerate(destinations)]
        self.config = work / "dcmqrscp.cfg"
        self.config.write_text("\n".join([
            f"NetworkTCPPort = {self.port}", "MaxPDUSize = 16384", "MaxAssociations = 16",
            "HostTable BEGIN", *hosts, "HostTable END", "VendorTable BEGIN", "VendorTable END",
            "AETable BEGIN", f"{ae_title} {self.area} RW (200, 1024mb) ANY", "AETable END",
        ]) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Dcmqrscp:
        self.proc = subprocess.Popen(
            [self.tool, "-c", str(self.config), str(self.port)], env=dcmtk_env(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_listening(self.port, self.proc, "dcmqrscp")
        return self

    def load(self, files: Sequence[Path]) -> None:
        """Store ``files`` into the archive with DCMTK ``storescu`` (one association)."""
        storescu_to(self.port, self.ae_title, files)

    def stored_files(self) -> list[Path]:
        """The image files in its storage folder (not its index)."""
        return sorted(p for p in self.area.iterdir() if p.name != "index.dat" and p.is_file())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def serving_archive(work: Path, studies: Sequence[Study], destinations: Sequence[tuple[str, int]]) -> Dcmqrscp:
    """A started :class:`Dcmqrscp` in ``work`` knowing ``destinations``, with ``studies`` loaded (stop it)."""
    archive = Dcmqrscp(work, destinations).start()
    archive.load([f for s in studies for f in s.files])
    return archive


@contextmanager
def temporary_store(
    root: Path, ae_title: str, max_associations: int = 5, timeout: float = 20.0
) -> Iterator[TemporaryStorageSCP]:
    """The workstation's temporary Storage SCP under ``root`` on a free loopback port, stopped at the end."""
    scp = TemporaryStorageSCP(root, ae_title, 0, max_associations, host="127.0.0.1", timeout=timeout)
    scp.start()
    try:
        yield scp
    finally:
        scp.stop()


def temporary_store_fixture(ae_title: str) -> Any:
    """A pytest fixture ``store`` for a module to bind (``store_fixture = temporary_store_fixture(AE)``): the
    test's :func:`temporary_store` as ``ae_title`` under ``tmp_path / "temporary"``."""

    @pytest.fixture(name="store")
    def store(tmp_path: Path) -> Iterator[TemporaryStorageSCP]:
        with temporary_store(tmp_path / "temporary", ae_title) as scp:
            yield scp

    return store
