"""The embedded server gets the workstation's server settings through a generated --config."""

from __future__ import annotations

from pathlib import Path

from app.core.config import (
    ArchiveSettings,
    CommitmentSettings,
    Destination,
    KnownPeer,
    MppsSettings,
    NotifySettings,
    QueryRetrieveAE,
    SendSettings,
    ServerConfig,
    StorageAE,
    WorklistAE,
    load_config,
    server_config_toml,
)
from app.services.embedded_server import EmbeddedServer


def test_server_config_roundtrip(tmp_path: Path) -> None:
    config = ServerConfig(
        data_dir=tmp_path / 'data "quoted"',
        http_port=0,
        duplicates="reject",
        fsync=False,
        sync_directories=True,
        index_busy_timeout_ms=1234,
        storage=(StorageAE("FIRST", 0), StorageAE("SECOND", 11113)),
        qr=QueryRetrieveAE("MY_QR", 0, hit_limit=42, hit_limit_empty=True),
        destinations=(Destination("STORESCP", "127.0.0.1", 11112), Destination("OTHER", "pacs.local", 104)),
        mwl=WorklistAE("MY_MWL", 0, hit_limit=7, drop_completed=False),
        mpps=MppsSettings(relay_to=("STORESCP", "OTHER")),
        commitment=CommitmentSettings(same_association=False, report_to="OTHER"),
        send=SendSettings(compressed_transfer_syntax="1.2.840.10008.1.2.4.80", private_attributes=True,
                          burn_in_overlays=True),
        notify=NotifySettings(ae_title="RIS_SCP", host="ris.local", port=1104, extended=True,
                              ian_receivers=("OTHER",), on_approve=False, on_delete=True, stable_seconds=30.0,
                              comment_added="NEW", comment_deleted="GONE"),
        archive=ArchiveSettings(destination="OTHER", qr_ae_title="STORESCP", commitment=False,
                                commitment_ae_title="STORESCP", commitment_timeout_seconds=60.0,
                                remove_after_days=30.0, min_free_gib=2.5, dry_run=True, purge_interval_seconds=0.0,
                                keep_online_hours=4.0, fetch_timeout_seconds=30.0, notify_on_fetch_back=True),
        restrict_to_known_peers=True,
        allow_loopback=False,
        known_peers=(KnownPeer("MODALITY1", "10.0.0.5"), KnownPeer("CT2", "ct2.local", ("FIRST", "MY_QR"))),
        job_retry_seconds=0.5,
        job_max_attempts=3,
    )
    path = tmp_path / "server.toml"
    path.write_text(server_config_toml(config))
    loaded = load_config(files=[path], include_user_file=False).server
    assert loaded == config


def test_from_config_writes_and_removes_its_file(tmp_path: Path) -> None:
    embedded = EmbeddedServer.from_config(ServerConfig(data_dir=tmp_path / "d"))
    assert embedded.config_file is not None and embedded.config_file.is_file()
    assert embedded.command()[-2:] == ["--config", str(embedded.config_file)]
    assert "--http-port" in embedded.command() and "0" in embedded.command()
    embedded.stop()
    assert not embedded.config_file.exists()
