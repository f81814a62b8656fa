"""The Storage SCP alone, for ``store_throughput.py --scp-only``: isolates the network layer.

Runs :class:`app.server.scp.StorageService` with a minimal ingest that does what DCMTK's
``storescp -od`` does (one file per instance: preamble, ``DICM``, data set as received;
no index, no parsing) plus an ``fsync`` and an atomic rename when the configuration asks
for fsync. Speaks the same ``LIGHTBOX-READY`` line protocol as ``python -m app.server``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.config import load_config
from app.core.logging import setup_logging
from app.server.scp import StorageService


@dataclass(frozen=True)
class Outcome:
    status: int
    comment: str = ""
    sop_instance_uid: str = ""


class FileIngest:
    """Write each data set to ``folder`` (fsync + rename when ``fsync``); no index."""

    def __init__(self, folder: Path, fsync: bool) -> None:
        self.folder = folder
        self.fsync = fsync
        folder.mkdir(parents=True, exist_ok=True)

    def store_encoded(self, dataset: bytes | memoryview | BinaryIO, **identity: str) -> Outcome:
        temp = self.folder / f".{uuid.uuid4().hex}.tmp"
        with temp.open("wb") as fh:
            fh.write(b"\0" * 128 + b"DICM")
            if isinstance(dataset, bytes | memoryview):
                fh.write(dataset)
            else:
                shutil.copyfileobj(dataset, fh, 1 << 20)
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
        os.replace(temp, self.folder / f"{uuid.uuid4().hex}.dcm")
        return Outcome(0, "", identity.get("sop_instance_uid", ""))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    setup_logging(args.log_level)
    config = load_config([args.config], include_user_file=False).server
    service = StorageService(config, FileIngest(args.data_dir / "storage", config.fsync))
    started = service.start()
    info = {"http_url": "", "storage": [{"ae_title": title, "port": port} for title, port in started]}
    print("LIGHTBOX-READY " + json.dumps(info), flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    while not stopping.wait(0.5):
        pass
    service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
