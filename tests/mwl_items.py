"""Worklist items for the MWL tests: DICOM worklist files written with pydicom, and ways to
get them into a running server (the real ``lightbox server worklist import`` command) and
to query it (DCMTK's ``findscu -W``, pynetdicom)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE

from tests.conftest import require_tool
from tests.dimse_frames import collect_find

MWL = "DICOM_MWL_SCP"
MWL_FIND = "1.2.840.10008.5.1.4.31"


@dataclass(frozen=True)
class Item:
    """One scheduled procedure step (the attributes the tests vary)."""

    name: str
    pid: str
    referring: str
    date: str
    time: str
    modality: str
    stations: str
    station_name: str
    performing: str
    description: str
    protocol_code: str
    accession: str
    charset: str = "ISO_IR 192"
    part10: bool = False


def item_dataset(item: Item) -> Dataset:
    """The worklist item as a data set (PS3.4 Table K.6-1), one Scheduled Procedure Step."""
    ds = Dataset()
    ds.SpecificCharacterSet = item.charset
    ds.AccessionNumber = item.accession
    ds.ReferringPhysicianName = item.referring
    ds.PatientName, ds.PatientID = item.name, item.pid
    ds.PatientBirthDate, ds.PatientSex = "19700101", "O"
    ds.MedicalAlerts, ds.Allergies = "none", "LATEX"
    ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.543.9.{item.pid[1:]}"
    ds.RequestingPhysician = "Requester^Rita"
    ds.RequestedProcedureDescription = f"{item.description} procedure"
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = f"R{item.protocol_code}", "LB", "requested"
    ds.RequestedProcedureCodeSequence = [code]
    ds.RequestedProcedureID = f"RP{item.pid}"
    ds.AdmissionID = f"ADM{item.pid}"
    sps = Dataset()
    sps.Modality = item.modality
    sps.ScheduledStationAETitle = item.stations.split("\\")
    sps.ScheduledProcedureStepStartDate, sps.ScheduledProcedureStepStartTime = item.date, item.time
    sps.ScheduledPerformingPhysicianName = item.performing
    sps.ScheduledProcedureStepDescription = item.description
    protocol = Dataset()
    protocol.CodeValue, protocol.CodingSchemeDesignator, protocol.CodeMeaning = item.protocol_code, "LB", "protocol"
    sps.ScheduledProtocolCodeSequence = [protocol]
    sps.ScheduledProcedureStepID = f"SPS{item.pid}"
    sps.ScheduledStationName = item.station_name
    sps.ScheduledProcedureStepLocation = "Room 1"
    sps.PreMedication = "none"
    sps.RequestedContrastAgent = ""
    ds.ScheduledProcedureStepSequence = [sps]
    return ds


def write_wl(folder: Path, item: Item) -> Path:
    """A ``.wl`` file: a bare data set as DCMTK's worklist database holds, or Part 10."""
    ds = item_dataset(item)
    path = folder / f"{item.pid}.wl"
    if item.part10:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MWL_FIND
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        dcmwrite(path, ds, enforce_file_format=True)
    else:
        dcmwrite(path, ds, implicit_vr=False, little_endian=True)
    return path


def import_files(url: str, files: Iterable[Path | str]) -> subprocess.CompletedProcess[str]:
    """Run the real ``python -m app server worklist import --server URL FILE...``."""
    return subprocess.run(
        [sys.executable, "-m", "app", "server", "worklist", "import", "--server", url, *map(str, files)],
        capture_output=True, text=True, timeout=120,
    )


def findscu(port: int, *keys: str | bytes, called: str = MWL) -> tuple[list[Dataset], str]:
    """DCMTK ``findscu -W`` with ``-k`` keys; the extracted response identifiers and the log."""
    tool = require_tool("findscu")
    with tempfile.TemporaryDirectory() as out:
        args: list[str | bytes] = [tool, "-v", "-W", "-aec", called, "-X", "-od", out]
        for key in keys:
            args += ["-k", key]
        args += ["127.0.0.1", str(port)]
        done = subprocess.run(args, capture_output=True, timeout=60)
        responses = [dcmread(p) for p in sorted(Path(out).glob("rsp*.dcm"))]
    return responses, (done.stdout + done.stderr).decode("utf-8", "replace")


def find(port: int, query: Dataset) -> tuple[list[Dataset], Dataset]:
    """Modality Worklist C-FIND with pynetdicom: the pending identifiers and the final status."""
    ae = AE("MWL_TEST")
    ae.add_requested_context(MWL_FIND)
    assoc = ae.associate("127.0.0.1", port, ae_title=MWL)
    assert assoc.is_established
    return collect_find(assoc, query, MWL_FIND)


def names(responses: list[Dataset]) -> set[str]:
    """The Patient's Names of the responses."""
    return {str(r.PatientName) for r in responses}
