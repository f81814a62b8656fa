"""A slow Study Root C-FIND SCP (pynetdicom) for the cancel tests: it sends one match every
``delay`` seconds and records whether a C-CANCEL-RQ reached it (PS3.4 C.4.1.2.3)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, evt

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"


class SlowFindPeer:
    """Listens on 127.0.0.1 (a free port) as ``ae_title``; ``cancelled`` is set when a C-CANCEL came."""

    def __init__(self, ae_title: str = "SLOWQR", matches: int = 200, delay: float = 0.05) -> None:
        self.ae_title, self.matches, self.delay = ae_title, matches, delay
        self.cancelled = threading.Event()
        self.sent = 0
        self.ae = AE(ae_title=ae_title)
        self.ae.add_supported_context(STUDY_ROOT_FIND)
        self.server: Any = None

    def _on_find(self, event: Any) -> Iterator[tuple[int, Dataset | None]]:
        for i in range(self.matches):
            if event.is_cancelled:
                self.cancelled.set()
                yield 0xFE00, None
                return
            time.sleep(self.delay)
            ds = Dataset()
            ds.QueryRetrieveLevel = "STUDY"
            ds.PatientName = f"SLOW^{i:04d}"
            ds.PatientID = f"S{i:04d}"
            ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.543.77.{i + 1}"
            self.sent += 1
            yield 0xFF00, ds
        yield 0x0000, None

    def start(self) -> int:
        self.server = self.ae.start_server(("127.0.0.1", 0), block=False,
                                           evt_handlers=[(evt.EVT_C_FIND, self._on_find)])
        return int(self.server.server_address[1])

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None
