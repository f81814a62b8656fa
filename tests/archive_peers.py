"""A Storage Commitment Push Model SCP for the archive tier tests (DCMTK ``dcmqrscp`` has none),
and ``dcmqrscp`` logging what it was asked (:class:`LoggingDcmqrscp`: count its C-MOVE requests).

It answers the N-ACTION at once, then checks each referenced instance against the files the
archive (``dcmqrscp``) actually holds, and sends the N-EVENT-REPORT on a *new* association to
the requester's Storage AE, taking the SCP role (SCP/SCU Role Selection, PS3.7 D.3.3.4), as
archives do (PS3.4 J.3.3). ``hold()`` keeps reports back until ``release()``.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt

from tests.qr_archive import Dcmqrscp, dcmtk_env, free_port, wait_listening

PUSH_MODEL = "1.2.840.10008.1.20.1"
PUSH_MODEL_INSTANCE = "1.2.840.10008.1.20.1.1"


class LoggingDcmqrscp(Dcmqrscp):
    """:class:`~tests.qr_archive.Dcmqrscp` in verbose mode, its output in ``work/dcmqrscp.log``."""

    @property
    def log(self) -> Path:
        return self.area.parent / "dcmqrscp.log"

    def start(self) -> LoggingDcmqrscp:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [self.tool, "-v", "-c", str(self.config), str(self.port)], env=dcmtk_env(),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_listening(self.port, self.proc, "dcmqrscp")
        return self

    def move_requests(self) -> int:
        """How many C-MOVE requests it received so far."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        types = [line.rsplit(":", 1)[-1].strip() for line in text.splitlines() if "Message Type" in line]
        return types.count("C-MOVE RQ")


@dataclass
class CommitmentScp:
    """The archive's commitment AE; reports go to ``report_port`` (our Storage AE) on 127.0.0.1."""

    archive_files: Callable[[], list[Path]]
    report_port: int
    ae_title: str = "ARCH_COMMIT"
    report_to: str = "DICOM_STORAGE"
    port: int = field(default_factory=free_port)
    requests: list[str] = field(default_factory=list)
    reports: list[tuple[str, int, int | None]] = field(default_factory=list)  # (transaction, event type, status)
    _held: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    _hold: bool = False
    _server: Any = None

    def start(self) -> CommitmentScp:
        ae = AE(self.ae_title)
        ae.add_supported_context(PUSH_MODEL)
        self._server = ae.start_server(("127.0.0.1", self.port), block=False,
                                       evt_handlers=[(evt.EVT_N_ACTION, self._on_action)])
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def hold(self) -> None:
        self._hold = True

    def release(self) -> None:
        self._hold = False
        held, self._held = list(self._held), []
        for transaction, refs in held:
            self._report(transaction, refs)

    def _on_action(self, event: Any) -> tuple[int, None]:
        info = event.action_information
        refs = [(str(i.ReferencedSOPClassUID), str(i.ReferencedSOPInstanceUID)) for i in info.ReferencedSOPSequence]
        transaction = str(info.TransactionUID)
        self.requests.append(transaction)
        if self._hold:
            self._held.append((transaction, refs))
        else:
            threading.Timer(0.2, self._report, (transaction, refs)).start()  # after the N-ACTION response
        return 0x0000, None

    def _report(self, transaction: str, refs: list[tuple[str, str]]) -> None:
        held = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in self.archive_files()}
        info = Dataset()
        info.TransactionUID = transaction
        ok, failed = [], []
        for sop_class, sop_uid in refs:
            item = Dataset()
            item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_uid
            if sop_uid in held:
                ok.append(item)
            else:
                item.FailureReason = 0x0112
                failed.append(item)
        if ok:
            info.ReferencedSOPSequence = ok
        if failed:
            info.FailedSOPSequence = failed
        ae = AE(self.ae_title)
        ae.add_requested_context(PUSH_MODEL)
        assoc = ae.associate("127.0.0.1", self.report_port, ae_title=self.report_to,
                             ext_neg=[build_role(PUSH_MODEL, scu_role=False, scp_role=True)])
        status: int | None = None
        if assoc.is_established:
            rsp, _ = assoc.send_n_event_report(info, 2 if failed else 1, PUSH_MODEL, PUSH_MODEL_INSTANCE)
            status = int(rsp.Status) if rsp is not None and "Status" in rsp else None
            assoc.release()
        self.reports.append((transaction, 2 if failed else 1, status))
