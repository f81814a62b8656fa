"""Configuration: defaults, overlays, validation with messages that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import ServerConfig, StorageAE, load_config
from app.core.errors import ConfigError


def test_defaults_match_the_documented_values() -> None:
    config = load_config(include_user_file=False)
    server = config.server
    assert server.http_host == "127.0.0.1"
    assert server.http_port == 7880
    assert server.max_pdu == 131072
    assert server.max_associations == 5
    assert server.duplicates == "keep"
    assert server.fsync is True
    assert server.storage == (StorageAE("DICOM_STORAGE", 7810),)
    assert config.workstation.server_url == ""


def test_file_then_overrides_win(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        '[server]\nduplicates = "reject"\nmax_pdu = 65536\n'
        '[[server.storage]]\nae_title = "CT_IN"\nport = 11112\n'
        '[[server.storage]]\nae_title = "MR_IN"\nport = 11113\n'
    )
    config = load_config(
        files=[site], overrides={"server": {"data_dir": str(tmp_path / "d")}}, include_user_file=False
    )
    assert config.server.duplicates == "reject"
    assert config.server.max_pdu == 65536
    assert [ae.ae_title for ae in config.server.storage] == ["CT_IN", "MR_IN"]
    assert config.server.data_dir == tmp_path / "d"
    assert config.server.effective_index_url() == f"sqlite:///{tmp_path / 'd' / 'index.sqlite'}"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[server]\nduplicates = "maybe"', "keep, overwrite, reject"),
        ("[server]\nmax_pdu = 100", "at least 4096"),
        ("[server]\nmax_associations = 0", "at least 1"),
        ("[server]\nhttp_port = 70000", "port 70000 is invalid"),
        ("[server]\nmax_pdus = 4096", "unknown key"),
        ('[[server.storage]]\nae_title = "THIS_TITLE_IS_TOO_LONG"\nport = 1', "AE title"),
        ('[[server.storage]]\nae_title = "A\\\\B"\nport = 1', "no backslash"),
        ('[[server.storage]]\nae_title = "X"\nport = 1\n[[server.storage]]\nae_title = "X"\nport = 2', "distinct"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(tmp_path: Path, toml: str, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    with pytest.raises(ConfigError, match=expected):
        load_config(files=[bad], include_user_file=False)


def test_missing_config_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(files=[tmp_path / "nope.toml"], include_user_file=False)


def test_config_is_immutable() -> None:
    server = ServerConfig()
    with pytest.raises(AttributeError):
        server.max_pdu = 1  # type: ignore[misc]


def test_index_and_http_limits_are_configurable(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[server]\nindex_busy_timeout_ms = 250\nhttp_max_request_bytes = 1048576\n")
    server = load_config(files=[site], include_user_file=False).server
    assert (server.index_busy_timeout_ms, server.http_max_request_bytes) == (250, 1048576)
    site.write_text("[server]\nindex_busy_timeout_ms = 0\n")
    with pytest.raises(ConfigError, match="index_busy_timeout_ms"):
        load_config(files=[site], include_user_file=False)


def test_qr_defaults_and_destinations(tmp_path: Path) -> None:
    from app.core.config import Destination, QueryRetrieveAE

    server = load_config(include_user_file=False).server
    assert server.qr == QueryRetrieveAE("DICOM_QR_SCP", 7840, 500, False)
    assert server.destinations == ()
    site = tmp_path / "site.toml"
    site.write_text(
        '[server.qr]\nae_title = "QR"\nport = 11114\nhit_limit = 20\nhit_limit_empty = true\n'
        '[[server.destinations]]\nae_title = "WS1"\nhost = "10.0.0.2"\nport = 104\n'
    )
    server = load_config(files=[site], include_user_file=False).server
    assert server.qr == QueryRetrieveAE("QR", 11114, 20, True)
    assert server.destinations == (Destination("WS1", "10.0.0.2", 104),)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[server.qr]\nhit_limit = 0", "hit_limit"),
        ('[server.qr]\nhit_limit_empty = "yes"', "true or false"),
        ("[server.qr]\nport = -1", "port -1 is invalid"),
        ('[server.qr]\nae_title = ""', "AE title"),
        ("[server.qr]\nhitlimit = 5", "unknown key"),
        ('[[server.destinations]]\nae_title = "A"\nport = 104', "host"),
        ('[[server.destinations]]\nae_title = "A"\nhost = "h"\nport = 0', "port 0"),
        ('[[server.destinations]]\nae_title = "A"\nhost = "h"\nport = 1\n'
         '[[server.destinations]]\nae_title = "A"\nhost = "h"\nport = 2', "distinct"),
    ],
)
def test_invalid_qr_settings_are_refused(tmp_path: Path, toml: str, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    with pytest.raises(ConfigError, match=expected):
        load_config(files=[bad], include_user_file=False)


def test_service_defaults() -> None:
    server = load_config(include_user_file=False).server
    assert (server.mwl.ae_title, server.mwl.port, server.mwl.hit_limit, server.mwl.drop_completed) == (
        "DICOM_MWL_SCP", 7850, 500, True,
    )
    assert server.mpps.relay_to == ()
    assert (server.commitment.same_association, server.commitment.report_to) == (True, "")
    assert (server.restrict_to_known_peers, server.allow_loopback, server.known_peers) == (False, True, ())


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[server.mwl]\nhit_limit = 0", "hit_limit"),
        ('[server.mwl]\ndrop_completed = "no"', "true or false"),
        ("[server.mwl]\nbogus = 1", "unknown key"),
        ('[server.mpps]\nrelay_to = ["NOWHERE"]', "not one of"),
        ('[server.mpps]\nrelay_to = "A"', "list of destination"),
        ('[server.commitment]\nreport_to = "NOWHERE"', "not one of"),
        ('[[server.known_peers]]\nae_title = "MOD"', "host"),
        ('[[server.known_peers]]\nae_title = "MOD"\nhost = "h"\ncalled_ae_titles = "X"', "list of our AE"),
        ("[server]\njob_retry_seconds = 0", "job_retry_seconds"),
        ('[server]\nrestrict_to_known_peers = "yes"', "true or false"),
    ],
)
def test_invalid_service_settings_are_refused(tmp_path: Path, toml: str, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    with pytest.raises(ConfigError, match=expected):
        load_config(files=[bad], include_user_file=False)


def test_send_and_notify_defaults_and_values(tmp_path: Path) -> None:
    server = load_config(include_user_file=False).server
    assert (server.send.compressed_transfer_syntax, server.send.private_attributes, server.send.burn_in_overlays) == (
        "", False, False,
    )
    notify = server.notify
    assert (notify.ae_title, notify.host, notify.port, notify.extended) == ("SCN_SCP", "", 104, False)
    assert (notify.ian_receivers, notify.on_approve, notify.on_delete, notify.stable_seconds) == ((), True, False, 0)
    assert (notify.comment_added, notify.comment_deleted) == ("ADD", "DELETE")
    site = tmp_path / "site.toml"
    site.write_text(
        '[[server.destinations]]\nae_title = "IAN_RX"\nhost = "127.0.0.1"\nport = 11112\n'
        '[server.send]\ncompressed_transfer_syntax = "1.2.840.10008.1.2.5"\nprivate_attributes = true\n'
        '[server.notify]\nhost = "ris.example"\nextended = true\nian_receivers = ["IAN_RX"]\nstable_seconds = 90\n'
    )
    loaded = load_config(files=[site], include_user_file=False).server
    assert loaded.send.compressed_transfer_syntax == "1.2.840.10008.1.2.5" and loaded.send.private_attributes
    assert (loaded.notify.host, loaded.notify.extended, loaded.notify.ian_receivers, loaded.notify.stable_seconds) == (
        "ris.example", True, ("IAN_RX",), 90.0,
    )


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[server.send]\ncompressed_transfer_syntax = "1.2.840.10008.1.2.4.50"', "lossless"),
        ('[server.send]\nprivate_attributes = "yes"', "true or false"),
        ('[server.notify]\nian_receivers = ["NOWHERE"]', "not one of"),
        ("[server.notify]\nstable_seconds = -1", "stable_seconds"),
        ('[server.notify]\nhost = "ris"\nport = 0', "port 0"),
        ('[server.notify]\nae_title = "WAY_TOO_LONG_AE_TITLE"', "AE title"),
        ("[server.notify]\nbogus = 1", "unknown key"),
    ],
)
def test_invalid_send_and_notify_settings_are_refused(tmp_path: Path, toml: str, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    with pytest.raises(ConfigError, match=expected):
        load_config(files=[bad], include_user_file=False)


def test_archive_defaults_and_values(tmp_path: Path) -> None:
    archive = load_config(include_user_file=False).server.archive
    assert not archive.enabled and archive.commitment and not archive.dry_run
    assert (archive.remove_after_days, archive.min_free_gib, archive.keep_online_hours) == (0, 0, 24.0)
    assert (archive.fetch_timeout_seconds, archive.notify_on_fetch_back) == (120.0, False)
    site = tmp_path / "site.toml"
    site.write_text(
        '[[server.destinations]]\nae_title = "ARCHIVE"\nhost = "127.0.0.1"\nport = 11112\n'
        '[[server.destinations]]\nae_title = "ARCH_QR"\nhost = "127.0.0.1"\nport = 11113\n'
        '[server.archive]\ndestination = "ARCHIVE"\nqr_ae_title = "ARCH_QR"\nremove_after_days = 30\n'
        'min_free_gib = 1.5\ndry_run = true\nkeep_online_hours = 2\nnotify_on_fetch_back = true\n'
    )
    loaded = load_config(files=[site], include_user_file=False).server.archive
    assert loaded.enabled and (loaded.effective_qr_ae_title, loaded.effective_commitment_ae_title) == (
        "ARCH_QR", "ARCHIVE",
    )
    assert (loaded.remove_after_days, loaded.min_free_gib, loaded.dry_run, loaded.keep_online_hours) == (
        30.0, 1.5, True, 2.0,
    )
    assert loaded.notify_on_fetch_back


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[server.archive]\ndestination = "NOWHERE"', "not one of"),
        ('[server.archive]\nqr_ae_title = "NOWHERE"', "not one of"),
        ("[server.archive]\nremove_after_days = -1", "remove_after_days"),
        ("[server.archive]\nfetch_timeout_seconds = 0", "above 0"),
        ('[server.archive]\ndry_run = "yes"', "true or false"),
        ("[server.archive]\nbogus = 1", "unknown key"),
    ],
)
def test_invalid_archive_settings_are_refused(tmp_path: Path, toml: str, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    with pytest.raises(ConfigError, match=expected):
        load_config(files=[bad], include_user_file=False)
