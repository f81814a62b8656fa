"""Print SCP peers for the print tests: DCMTK's ``dcmprscp`` (config written in a temporary
folder; its database keeps each N-SET image box as ``HG_*.dcm`` and each print as ``SP_*.dcm``)
and a small pynetdicom Print SCP whose answers a test chooses (printer status, N-GET status,
a failing step, an AE title it rejects)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    BasicFilmBox,
    BasicFilmSession,
    BasicGrayscaleImageBox,
    BasicGrayscalePrintManagementMeta,
    PresentationLUT,
    Printer,
)

from app.net.association import Peer
from tests.conftest import require_tool

PRINTER_AE = "PRINT_SERVER_SCP"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dcmprscp exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dcmprscp did not start listening")


@dataclass
class Dcmprscp:
    """A running ``dcmprscp``: where it listens, its database folder and its log (``+d`` dump)."""

    peer: Peer
    database: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def newest(self, prefix: str) -> Dataset:
        files = sorted(self.database.glob(f"{prefix}_*.dcm"), key=lambda p: p.stat().st_mtime_ns)
        assert files, f"dcmprscp stored no {prefix}_*.dcm"
        return pydicom.dcmread(files[-1])

    def count(self, prefix: str) -> int:
        return len(list(self.database.glob(f"{prefix}_*.dcm")))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def dcmprscp_config(folder: Path, port: int, *, implicit_only: bool = False, match_lut: bool = False) -> Path:
    """A ``dcmpstat.cfg`` with one printer entry (12 bit, Presentation LUT, STANDARD\\1,1 ...)."""
    for sub in ("db", "spool", "lut"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    cfg = folder / "dcmpstat.cfg"
    cfg.write_text(f"""[[GENERAL]]
[DATABASE]
Directory = {folder / 'db'}
[PRINT]
Directory = {folder / 'spool'}
DetailedLog = true
BinaryLog = false
[LUT]
Directory = {folder / 'lut'}
[[COMMUNICATION]]
[TESTPRINTER]
Aetitle = {PRINTER_AE}
Description = test printer
Hostname = localhost
Port = {port}
Type = LOCALPRINTER
DisplayFormat = 1,1\\2,2
FilmSizeID = 8INX10IN\\10INX12IN\\14INX17IN
MediumType = PAPER\\BLUE FILM
FilmDestination = MAGAZINE\\PROCESSOR
BorderDensity = BLACK\\WHITE
EmptyImageDensity = BLACK\\WHITE
MaxDensity = 320
MinDensity = 20
MagnificationType = REPLICATE\\NONE
ImplicitOnly = {'true' if implicit_only else 'false'}
MaxPDU = 32768
Supports12Bit = true
SupportsPresentationLUT = true
PresentationLUTMatchRequired = {'true' if match_lut else 'false'}
PresentationLUTinFilmSession = false
SupportsTrim = true
SupportsImageSize = true
SupportsDecimateCrop = true
""")
    return cfg


@contextmanager
def running_dcmprscp(folder: Path, **options: bool) -> Iterator[Dcmprscp]:
    """``dcmprscp`` on a free port with a config in ``folder``; stopped (by its PID) afterwards."""
    tool = require_tool("dcmprscp")
    port = free_port()
    cfg = dcmprscp_config(folder, port, **options)
    log = folder / "dcmprscp.log"
    env = {**os.environ, "TCP_NODELAY": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen([tool, "-c", str(cfg), "-p", "TESTPRINTER", "+d"], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
    try:
        _wait_listening(port, proc)
        yield Dcmprscp(Peer(PRINTER_AE, "127.0.0.1", port), folder / "db", log, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Answers:
    """What the test Print SCP answers, and what it received."""

    printer_status: str = "NORMAL"
    printer_status_info: str = "NORMAL"
    get_status: int = 0x0000
    refuse: tuple[str, ...] = ()  # N-GET attributes it does not return (answering get_status)
    fail: dict[str, int] = field(default_factory=dict)  # operation name -> status, e.g. {"N-ACTION": 0xC602}
    abort_on: str = ""  # "N-SET": the SCP aborts the association when the image box arrives
    received: list[tuple[str, str, Dataset | None]] = field(default_factory=list)

    def operations(self) -> list[str]:
        return [f"{op} {cls}" for op, cls, _ in self.received]


def _class_name(uid: str) -> str:
    return {BasicFilmSession: "session", BasicFilmBox: "box", BasicGrayscaleImageBox: "image",
            PresentationLUT: "lut", Printer: "printer"}.get(uid, uid)


def _handlers(answers: Answers) -> list[Any]:
    image_box_uid = pydicom.uid.generate_uid()

    def record(op: str, event: Any, ds: Dataset | None) -> None:
        uid = event.request.AffectedSOPClassUID or event.request.RequestedSOPClassUID
        answers.received.append((op, _class_name(str(uid)), ds))

    def on_get(event: Any) -> Any:
        record("N-GET", event, None)
        ds = Dataset()
        for tag in event.request.AttributeIdentifierList or []:
            kw = pydicom.datadict.keyword_for_tag(tag)
            if kw in answers.refuse:
                continue
            if kw == "PrinterStatus":
                ds.PrinterStatus = answers.printer_status
            elif kw == "PrinterStatusInfo":
                ds.PrinterStatusInfo = answers.printer_status_info
            elif kw == "PrinterName":
                ds.PrinterName = "Test printer"
        return answers.get_status, ds

    def on_create(event: Any) -> Any:
        ds = event.attribute_list
        record("N-CREATE", event, ds)
        if "N-CREATE " + _class_name(str(event.request.AffectedSOPClassUID)) in answers.fail:
            return answers.fail["N-CREATE " + _class_name(str(event.request.AffectedSOPClassUID))], None
        if event.request.AffectedSOPClassUID == BasicFilmBox:
            item = Dataset()
            item.ReferencedSOPClassUID = BasicGrayscaleImageBox
            item.ReferencedSOPInstanceUID = image_box_uid
            ds.ReferencedImageBoxSequence = [item]
        return 0x0000, ds

    def on_set(event: Any) -> Any:
        record("N-SET", event, event.modification_list)
        if answers.abort_on == "N-SET":
            event.assoc.abort()
            return 0x0110, None
        return answers.fail.get("N-SET", 0x0000), Dataset()

    def on_action(event: Any) -> Any:
        record("N-ACTION", event, None)
        return answers.fail.get("N-ACTION", 0x0000), None

    def on_delete(event: Any) -> Any:
        record("N-DELETE", event, None)
        return answers.fail.get("N-DELETE", 0x0000)

    return [(evt.EVT_N_GET, on_get), (evt.EVT_N_CREATE, on_create), (evt.EVT_N_SET, on_set),
            (evt.EVT_N_ACTION, on_action), (evt.EVT_N_DELETE, on_delete)]


@contextmanager
def print_scp(answers: Answers, ae_title: str = PRINTER_AE) -> Iterator[Peer]:
    """A pynetdicom Print SCP answering as ``answers`` says; it rejects any called AE title but ``ae_title``."""
    ae = AE(ae_title=ae_title)
    ae.require_called_aet = True
    for uid in (BasicGrayscalePrintManagementMeta, PresentationLUT):
        ae.add_supported_context(uid, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=_handlers(answers))
    try:
        yield Peer(ae_title, "127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
