"""The workstation session's temporary Storage SCP: started from the configuration, its images
removed when it stops; a port in use leaves Fetch off with the reason instead of failing."""

from __future__ import annotations

import socket
from pathlib import Path

from pynetdicom import AE

from app.core.config import Config
from app.core.workstation_config import TemporaryStore, WorkstationConfig
from app.dicom.sop_classes import VERIFICATION
from app.net.association import Peer, ScuSettings
from app.net.echo import echo
from app.services.session import start_temporary_store


def _config(port: int) -> Config:
    store = TemporaryStore(ae_title="SESSSTORE", port=port, max_pdu=8192)
    return Config(workstation=WorkstationConfig(temporary_store=store))


def test_started_from_config_and_removed_at_stop(tmp_path: Path) -> None:
    store, error = start_temporary_store(_config(0), tmp_path)
    assert store is not None and error == "" and store.area is not None
    folder = store.area.folder
    assert echo(ScuSettings("ME"), Peer("SESSSTORE", "127.0.0.1", store.port)).ok
    ae = AE("ME")
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", store.port, ae_title="SESSSTORE")
    assert assoc.is_established and assoc.acceptor.maximum_length == 8192  # [workstation.temporary_store] max_pdu
    assoc.release()
    store.stop()
    assert not folder.exists()


def test_port_in_use_leaves_fetch_off(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        store, error = start_temporary_store(_config(busy.getsockname()[1]), tmp_path)
    assert store is None
    assert "Fetch is off" in error and "[workstation.temporary_store]" in error
    assert list(tmp_path.iterdir()) == []  # the claimed folder was given back
