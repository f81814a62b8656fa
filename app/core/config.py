"""Configuration: the commented TOML defaults in ``resources/``, overlaid by the user's
file, then by command-line flags. Settings are frozen dataclasses passed down explicitly.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

from app.core.archive_config import ArchiveSettings, archive_from
from app.core.config_checks import bool_value as _bool
from app.core.config_checks import host as _host
from app.core.config_checks import port as _port
from app.core.config_checks import positive_int as _positive_int
from app.core.config_checks import server_table as _table
from app.core.config_checks import string as _string
from app.core.config_checks import validate_ae_title
from app.core.errors import ConfigError
from app.core.paths import default_config_file, user_config_file, user_data_dir
from app.core.workstation_config import PrinterConfig, RemoteNode, TemporaryStore, WorkstationConfig, workstation_from

__all__ = [
    "ArchiveSettings",
    "CommitmentSettings",
    "Config",
    "Destination",
    "KnownPeer",
    "MppsSettings",
    "NotifySettings",
    "PrinterConfig",
    "QueryRetrieveAE",
    "RemoteNode",
    "SendSettings",
    "ServerConfig",
    "StorageAE",
    "TemporaryStore",
    "WorklistAE",
    "WorkstationConfig",
    "load_config",
    "server_config_toml",
    "validate_ae_title",
]

DuplicatePolicy = Literal["keep", "overwrite", "reject"]
_DUPLICATE_POLICIES = ("keep", "overwrite", "reject")


@dataclass(frozen=True)
class StorageAE:
    """One Storage SCP application entity (its own AE title and port)."""

    ae_title: str = "DICOM_STORAGE"
    port: int = 7810


@dataclass(frozen=True)
class QueryRetrieveAE:
    """The Query/Retrieve SCP application entity (PS3.4 C): AE title, port and hit limit."""

    ae_title: str = "DICOM_QR_SCP"
    port: int = 7840
    hit_limit: int = 500
    hit_limit_empty: bool = False


@dataclass(frozen=True)
class WorklistAE:
    """The Modality Worklist SCP application entity (PS3.4 K): AE title, port, hit limit.

    ``drop_completed``: items whose procedure step is COMPLETED or DISCONTINUED (by MPPS)
    are no longer returned.
    """

    ae_title: str = "DICOM_MWL_SCP"
    port: int = 7850
    hit_limit: int = 500
    hit_limit_empty: bool = False
    drop_completed: bool = True


@dataclass(frozen=True)
class MppsSettings:
    """The MPPS SCP (PS3.4 F.7, on the Q/R AE): ``relay_to`` lists destination AE titles
    every received N-CREATE / N-SET is forwarded to, as a durable job."""

    relay_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommitmentSettings:
    """The Storage Commitment Push Model SCP (PS3.4 J.3, on every Storage AE).

    ``same_association``: send the N-EVENT-REPORT on the requesting association while it
    is open; otherwise (or when it closed) open a new association to the requester, found
    among the destinations by its AE title. ``report_to``: when set, always report to this
    destination AE title on a new association (the IHE option).
    """

    same_association: bool = True
    report_to: str = ""


#: Lossless transfer syntaxes the Storage SCU can compress to (RLE, JPEG-LS, JPEG 2000; PS3.5 A.4).
COMPRESSED_SEND_SYNTAXES = ("1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90")


@dataclass(frozen=True)
class SendSettings:
    """The Storage SCU of ``POST /api/studies/{uid}/send`` (the reference's 5.1, 10.3.2, appendix C).

    ``compressed_transfer_syntax``: a lossless syntax proposed besides Implicit VR Little Endian and
    the stored one ("" = none). ``private_attributes``: add our private block (creator
    ``LIGHTBOX_Ident_01``). ``burn_in_overlays``: for a destination that does not accept
    Grayscale Softcopy Presentation States, draw their graphics into an overlay plane (60xx).
    """

    compressed_transfer_syntax: str = ""
    private_attributes: bool = False
    burn_in_overlays: bool = False


@dataclass(frozen=True)
class NotifySettings:
    """Study content notifications (the reference's 4.6, 10.3.1; PS3.4 Annex R).

    The Basic Study Content Notification goes to ``ae_title`` at ``host``:``port`` (no host =
    none); ``extended`` adds study date/time, accession number, birth date, sex and Study
    Comments (``comment_added`` / ``comment_deleted``). ``ian_receivers``: destination AE titles
    that get an Instance Availability Notification (N-CREATE, PS3.4 R) as well. Events: approval
    (``on_approve``), deletion (``on_delete``: the descriptor when a study's last instance goes,
    an IAN for any deleted instances), a study without a new instance for ``stable_seconds``
    (0 = never), the archive policy removing a study's last online copy (``on_offline``: the
    descriptor with ``comment_deleted``, an IAN saying ``NEARLINE``).
    """

    ae_title: str = "SCN_SCP"
    host: str = ""
    port: int = 104
    extended: bool = False
    ian_receivers: tuple[str, ...] = ()
    on_approve: bool = True
    on_delete: bool = False
    on_offline: bool = False
    stable_seconds: float = 0.0
    comment_added: str = "ADD"
    comment_deleted: str = "DELETE"


@dataclass(frozen=True)
class KnownPeer:
    """A calling AE title and the host it may connect from (the reference's known hosts);
    ``called_ae_titles`` limits it to some of our AEs (empty = every AE)."""

    ae_title: str
    host: str
    called_ae_titles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination:
    """A C-MOVE destination (PS3.4 C.4.2): an AE title and where it listens."""

    ae_title: str
    host: str
    port: int


@dataclass(frozen=True)
class ServerConfig:
    """Settings of ``lightbox server``."""

    data_dir: Path = field(default_factory=lambda: user_data_dir() / "server")
    dicom_host: str = "0.0.0.0"
    http_host: str = "127.0.0.1"
    http_port: int = 7880
    max_pdu: int = 131072
    max_associations: int = 5
    duplicates: DuplicatePolicy = "keep"
    fsync: bool = True
    sync_directories: bool = False
    index_url: str = ""
    index_busy_timeout_ms: int = 10000
    http_max_request_bytes: int = 2 * 1024**3
    network_timeout: float = 60.0
    storage: tuple[StorageAE, ...] = (StorageAE(),)
    qr: QueryRetrieveAE = field(default_factory=QueryRetrieveAE)
    destinations: tuple[Destination, ...] = ()
    mwl: WorklistAE = field(default_factory=WorklistAE)
    mpps: MppsSettings = field(default_factory=MppsSettings)
    commitment: CommitmentSettings = field(default_factory=CommitmentSettings)
    send: SendSettings = field(default_factory=SendSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    # Calling-AE allow-list of every SCP AE: off by default; loopback peers stay allowed
    # unless allow_loopback is false.
    restrict_to_known_peers: bool = False
    allow_loopback: bool = True
    known_peers: tuple[KnownPeer, ...] = ()
    # Durable jobs: first retry after this many seconds, doubling up to an hour.
    job_retry_seconds: float = 5.0
    job_max_attempts: int = 20

    def effective_index_url(self) -> str:
        """The SQLAlchemy URL of the index; SQLite inside ``data_dir`` when none is set."""
        return self.index_url or f"sqlite:///{self.data_dir / 'index.sqlite'}"


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    workstation: WorkstationConfig = field(default_factory=WorkstationConfig)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"Configuration file {path} does not exist; check the path given.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Configuration file {path} is not valid TOML: {exc}. Fix the line it names.") from exc


def _qr_from(raw: Any) -> QueryRetrieveAE:
    if not isinstance(raw, Mapping):
        raise ConfigError("[server.qr] must be a table (ae_title, port, hit_limit, hit_limit_empty).")
    unknown = set(raw) - set(QueryRetrieveAE.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"[server.qr]: unknown key(s) {sorted(unknown)}; see README 'Configuration' for the keys.")
    defaults = QueryRetrieveAE()
    hit_limit = raw.get("hit_limit", defaults.hit_limit)
    if not isinstance(hit_limit, int) or isinstance(hit_limit, bool) or hit_limit < 1:
        raise ConfigError(f"[server.qr] hit_limit = {hit_limit!r}: use a whole number of at least 1 (default 500).")
    empty = raw.get("hit_limit_empty", defaults.hit_limit_empty)
    if not isinstance(empty, bool):
        raise ConfigError(f"[server.qr] hit_limit_empty = {empty!r}: use true or false.")
    return QueryRetrieveAE(
        ae_title=validate_ae_title(raw.get("ae_title", defaults.ae_title), "[server.qr]"),
        port=_port(raw.get("port", defaults.port), "[server.qr]"),
        hit_limit=hit_limit,
        hit_limit_empty=empty,
    )


def _mwl_from(raw: Any) -> WorklistAE:
    raw = _table(raw, "mwl", WorklistAE)
    d = WorklistAE()
    hit_limit = raw.get("hit_limit", d.hit_limit)
    if not isinstance(hit_limit, int) or isinstance(hit_limit, bool) or hit_limit < 1:
        raise ConfigError(f"[server.mwl] hit_limit = {hit_limit!r}: use a whole number of at least 1 (default 500).")
    return WorklistAE(
        ae_title=validate_ae_title(raw.get("ae_title", d.ae_title), "[server.mwl]"),
        port=_port(raw.get("port", d.port), "[server.mwl]"),
        hit_limit=hit_limit,
        hit_limit_empty=_bool(raw, "hit_limit_empty", d.hit_limit_empty, "[server.mwl]"),
        drop_completed=_bool(raw, "drop_completed", d.drop_completed, "[server.mwl]"),
    )


def _mpps_from(raw: Any, destinations: tuple[Destination, ...]) -> MppsSettings:
    raw = _table(raw, "mpps", MppsSettings)
    relay = raw.get("relay_to", [])
    if not isinstance(relay, list) or not all(isinstance(t, str) for t in relay):
        raise ConfigError(f"[server.mpps] relay_to = {relay!r}: use a list of destination AE titles.")
    known = {d.ae_title for d in destinations}
    for title in relay:
        if title.strip() not in known:
            raise ConfigError(f"[server.mpps] relay_to names {title!r}, which is not one of [[server.destinations]].")
    return MppsSettings(relay_to=tuple(t.strip() for t in relay))


def _commitment_from(raw: Any, destinations: tuple[Destination, ...]) -> CommitmentSettings:
    raw = _table(raw, "commitment", CommitmentSettings)
    report_to = raw.get("report_to", "")
    if not isinstance(report_to, str):
        raise ConfigError(f"[server.commitment] report_to = {report_to!r}: use a destination AE title or \"\".")
    if report_to.strip() and report_to.strip() not in {d.ae_title for d in destinations}:
        raise ConfigError(
            f"[server.commitment] report_to names {report_to!r}, which is not one of [[server.destinations]]."
        )
    return CommitmentSettings(
        same_association=_bool(raw, "same_association", True, "[server.commitment]"),
        report_to=report_to.strip(),
    )


def _send_from(raw: Any) -> SendSettings:
    raw = _table(raw, "send", SendSettings)
    syntax = _string(raw, "compressed_transfer_syntax", "", "[server.send]")
    if syntax and syntax not in COMPRESSED_SEND_SYNTAXES:
        raise ConfigError(
            f"[server.send] compressed_transfer_syntax = {syntax!r}: use \"\" or one of the lossless syntaxes "
            f"{', '.join(COMPRESSED_SEND_SYNTAXES)} (RLE, JPEG-LS, JPEG 2000)."
        )
    return SendSettings(
        compressed_transfer_syntax=syntax,
        private_attributes=_bool(raw, "private_attributes", False, "[server.send]"),
        burn_in_overlays=_bool(raw, "burn_in_overlays", False, "[server.send]"),
    )


def _notify_from(raw: Any, destinations: tuple[Destination, ...]) -> NotifySettings:
    raw = _table(raw, "notify", NotifySettings)
    d, where = NotifySettings(), "[server.notify]"
    receivers = raw.get("ian_receivers", [])
    if not isinstance(receivers, list) or not all(isinstance(t, str) for t in receivers):
        raise ConfigError(f"{where} ian_receivers = {receivers!r}: use a list of destination AE titles.")
    known = {dest.ae_title for dest in destinations}
    for title in receivers:
        if title.strip() not in known:
            raise ConfigError(f"{where} ian_receivers names {title!r}, which is not one of [[server.destinations]].")
    stable = raw.get("stable_seconds", d.stable_seconds)
    if not isinstance(stable, int | float) or isinstance(stable, bool) or stable < 0:
        raise ConfigError(f"{where} stable_seconds = {stable!r}: use a number of seconds (0 = no stable notice).")
    host = _string(raw, "host", d.host, where)
    port = _port(raw.get("port", d.port), where)
    if host and port == 0:
        raise ConfigError(f"{where} port 0 is invalid for the RIS; give the port it listens on (default 104).")
    return NotifySettings(
        ae_title=validate_ae_title(raw.get("ae_title", d.ae_title), where),
        host=host,
        port=port,
        extended=_bool(raw, "extended", d.extended, where),
        ian_receivers=tuple(t.strip() for t in receivers),
        on_approve=_bool(raw, "on_approve", d.on_approve, where),
        on_delete=_bool(raw, "on_delete", d.on_delete, where),
        on_offline=_bool(raw, "on_offline", d.on_offline, where),
        stable_seconds=float(stable),
        comment_added=_string(raw, "comment_added", d.comment_added, where) or d.comment_added,
        comment_deleted=_string(raw, "comment_deleted", d.comment_deleted, where) or d.comment_deleted,
    )


def _known_peers_from(raw: Any) -> tuple[KnownPeer, ...]:
    if not isinstance(raw, list):
        raise ConfigError("[[server.known_peers]] must be an array of tables (ae_title, host, called_ae_titles).")
    out = []
    for i, item in enumerate(raw):
        where = f"[[server.known_peers]] #{i + 1}"
        if not isinstance(item, Mapping) or set(item) - {"ae_title", "host", "called_ae_titles"}:
            raise ConfigError(f"{where} must be a table with ae_title, host and optionally called_ae_titles.")
        host = item.get("host")
        if not isinstance(host, str) or not host.strip():
            raise ConfigError(f"{where}: host {host!r} is invalid; give a host name or an IP address.")
        called = item.get("called_ae_titles", [])
        if not isinstance(called, list):
            raise ConfigError(f"{where}: called_ae_titles = {called!r}: use a list of our AE titles (empty = all).")
        out.append(KnownPeer(
            validate_ae_title(item.get("ae_title", ""), where), host.strip(),
            tuple(validate_ae_title(t, f"{where} called_ae_titles") for t in called),
        ))
    return tuple(out)


def _destinations_from(raw: Any) -> tuple[Destination, ...]:
    if not isinstance(raw, list):
        raise ConfigError("[[server.destinations]] must be an array of tables (ae_title, host, port).")
    out = []
    for i, item in enumerate(raw):
        where = f"[[server.destinations]] #{i + 1}"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where} must be a table with ae_title, host and port.")
        unknown = set(item) - {"ae_title", "host", "port"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; use ae_title, host and port.")
        host = _host(item.get("host"), where)
        port = _port(item.get("port"), where)
        if port == 0:
            raise ConfigError(f"{where}: port 0 is invalid for a destination; give the port it listens on.")
        out.append(Destination(validate_ae_title(item.get("ae_title", ""), where), host, port))
    titles = [d.ae_title for d in out]
    if len(set(titles)) != len(titles):
        raise ConfigError(f"[[server.destinations]]: AE titles must be distinct, got {titles}.")
    return tuple(out)


def _server_from(raw: Mapping[str, Any]) -> ServerConfig:
    known = set(ServerConfig.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"[server]: unknown key(s) {sorted(unknown)}; see README 'Configuration' for the keys.")
    data_dir = raw.get("data_dir") or ""
    max_pdu = raw.get("max_pdu", 131072)
    if not isinstance(max_pdu, int) or max_pdu < 4096:
        raise ConfigError(f"[server] max_pdu = {max_pdu!r}: use at least 4096 (default 131072).")
    max_assoc = raw.get("max_associations", 5)
    if not isinstance(max_assoc, int) or max_assoc < 1:
        raise ConfigError(f"[server] max_associations = {max_assoc!r}: use a number of at least 1.")
    duplicates = raw.get("duplicates", "keep")
    if duplicates not in _DUPLICATE_POLICIES:
        raise ConfigError(f"[server] duplicates = {duplicates!r}: use one of {', '.join(_DUPLICATE_POLICIES)}.")
    storage_raw = raw.get("storage") or [{}]
    if not isinstance(storage_raw, list):
        raise ConfigError("[[server.storage]] must be an array of tables, one per Storage SCP AE.")
    storage = tuple(
        StorageAE(
            ae_title=validate_ae_title(item.get("ae_title", "DICOM_STORAGE"), f"[[server.storage]] #{i + 1}"),
            port=_port(item.get("port", 7810), f"[[server.storage]] #{i + 1}"),
        )
        for i, item in enumerate(storage_raw)
    )
    titles = [ae.ae_title for ae in storage]
    if len(set(titles)) != len(titles):
        raise ConfigError(f"[[server.storage]]: AE titles must be distinct, got {titles}.")
    defaults = ServerConfig()
    destinations = _destinations_from(raw.get("destinations", []))
    retry = raw.get("job_retry_seconds", defaults.job_retry_seconds)
    if not isinstance(retry, int | float) or isinstance(retry, bool) or retry <= 0:
        raise ConfigError(f"[server] job_retry_seconds = {retry!r}: use a positive number of seconds.")
    return ServerConfig(
        data_dir=Path(data_dir).expanduser() if data_dir else defaults.data_dir,
        dicom_host=str(raw.get("dicom_host", defaults.dicom_host)),
        http_host=str(raw.get("http_host", defaults.http_host)),
        http_port=_port(raw.get("http_port", defaults.http_port), "[server] http_port"),
        max_pdu=max_pdu,
        max_associations=max_assoc,
        duplicates=duplicates,
        fsync=bool(raw.get("fsync", True)),
        sync_directories=bool(raw.get("sync_directories", False)),
        index_url=str(raw.get("index_url", "")),
        index_busy_timeout_ms=_positive_int(raw, "index_busy_timeout_ms", defaults.index_busy_timeout_ms),
        http_max_request_bytes=_positive_int(raw, "http_max_request_bytes", defaults.http_max_request_bytes),
        network_timeout=float(raw.get("network_timeout", defaults.network_timeout)),
        storage=storage,
        qr=_qr_from(raw.get("qr", {})),
        destinations=destinations,
        mwl=_mwl_from(raw.get("mwl", {})),
        mpps=_mpps_from(raw.get("mpps", {}), destinations),
        commitment=_commitment_from(raw.get("commitment", {}), destinations),
        send=_send_from(raw.get("send", {})),
        notify=_notify_from(raw.get("notify", {}), destinations),
        archive=archive_from(raw.get("archive", {}), {d.ae_title for d in destinations}),
        restrict_to_known_peers=_bool(raw, "restrict_to_known_peers", False, "[server]"),
        allow_loopback=_bool(raw, "allow_loopback", True, "[server]"),
        known_peers=_known_peers_from(raw.get("known_peers", [])),
        job_retry_seconds=float(retry),
        job_max_attempts=_positive_int(raw, "job_max_attempts", defaults.job_max_attempts),
    )


def load_config(
    files: list[Path] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    include_user_file: bool = True,
) -> Config:
    """Build the configuration.

    Parameters
    ----------
    files
        Extra TOML files, applied in order after the defaults and the user's file.
    overrides
        Values from command-line flags, shaped like the TOML (``{"server": {"data_dir": ...}}``).
    include_user_file
        Whether to overlay the user's own configuration file when it exists.
    """
    raw = _read_toml(default_config_file())
    if include_user_file and user_config_file().is_file():
        raw = _merge(raw, _read_toml(user_config_file()))
    for path in files or []:
        raw = _merge(raw, _read_toml(path))
    if overrides:
        raw = _merge(raw, overrides)
    return Config(
        server=_server_from(raw.get("server", {})),
        workstation=workstation_from(raw.get("workstation", {})),
    )


def _toml_value(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        value = value.as_posix()
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def server_config_toml(config: ServerConfig) -> str:
    """``config`` as a ``[server]`` TOML document that :func:`load_config` reads back equal.

    Written from the dataclass fields, so a new setting can never be left out (the
    workstation hands its loaded settings to the embedded server this way).
    """
    scalars: list[str] = ["[server]"]
    tables: list[str] = []
    for item in fields(config):
        value = getattr(config, item.name)
        if is_dataclass(value):
            tables += ["", f"[server.{item.name}]"]
            tables += [f"{f.name} = {_toml_value(getattr(value, f.name))}" for f in fields(value)]
        elif isinstance(value, tuple) and all(is_dataclass(v) for v in value):
            for entry in value:
                tables += ["", f"[[server.{item.name}]]"]
                tables += [f"{f.name} = {_toml_value(getattr(entry, f.name))}" for f in fields(entry)]
        else:
            scalars.append(f"{item.name} = {_toml_value(value)}")
    return "\n".join(scalars + tables) + "\n"
