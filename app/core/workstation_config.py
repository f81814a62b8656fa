"""Settings of the workstation (``[workstation]`` in the TOML): the server it uses, the remote
archives and worklist servers it queries, its temporary Storage SCP, and its printers.

Read by :func:`app.core.config.load_config`; every value is checked here, with a message that
names the table and says what to write.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core import config_checks as check
from app.core.errors import ConfigError
from app.core.viewer_config import ViewerConfig, viewer_from

_SERVICES = ("qr", "mwl")


@dataclass(frozen=True)
class RemoteNode:
    """A remote DICOM node the workstation queries (PS3.4 C Q/R and/or K MWL).

    ``services`` holds ``"qr"`` (Study Root C-FIND/C-MOVE) and/or ``"mwl"`` (worklist C-FIND).
    """

    name: str
    ae_title: str
    host: str
    port: int
    services: tuple[str, ...] = ("qr",)

    @property
    def offers_qr(self) -> bool:
        return "qr" in self.services

    @property
    def offers_mwl(self) -> bool:
        return "mwl" in self.services


def default_store_ae_title(host_name: str | None = None) -> str:
    """First part of the host name in upper case, then ``STORE`` (``read1.example`` -> ``READ1STORE``),
    cut to the 16 characters an AE title allows; characters an AE title cannot hold are dropped."""
    first = (host_name if host_name is not None else socket.gethostname()).split(".")[0].upper()
    kept = "".join(ch for ch in first if ch.isascii() and (ch.isalnum() or ch in "-_"))
    return (kept[: 16 - len("STORE")] or "LIGHTBOX") + "STORE"


@dataclass(frozen=True)
class TemporaryStore:
    """The workstation's temporary Storage SCP, the destination of a Fetch (C-MOVE).

    ``ae_title`` empty means :func:`default_store_ae_title`. ``max_pdu`` is the largest PDU it
    accepts (4096 to 131072 bytes, as the reference's 3.1.1.1 allows; the largest by default,
    the fastest fetch).
    """

    ae_title: str = ""
    port: int = 7820
    max_associations: int = 5
    max_pdu: int = 131072

    def effective_ae_title(self) -> str:
        return self.ae_title or default_store_ae_title()


@dataclass(frozen=True)
class PrinterConfig:
    """A DICOM printer (Basic Grayscale Print Management SCP, PS3.4 H) and the profile its
    attribute defaults and quirks come from (``resources/printers/<profile>.toml``)."""

    name: str
    ae_title: str = "PRINT_SERVER_SCP"
    host: str = "127.0.0.1"
    port: int = 104
    profile: str = "default"


@dataclass(frozen=True)
class WorkstationConfig:
    """Settings of the workstation (``lightbox``).

    ``calling_ae_title`` is the AE title of the Q/R-MWL SCU; empty means the temporary store's
    AE title (so a remote archive knows one AE title for the workstation). ``max_pdu`` is the
    largest PDU the SCU accepts (the reference's 16384 by default).
    """

    server_url: str = ""
    refresh_seconds: float = 3.0
    calling_ae_title: str = ""
    max_pdu: int = 16384
    network_timeout: float = 30.0
    nodes: tuple[RemoteNode, ...] = ()
    temporary_store: TemporaryStore = field(default_factory=TemporaryStore)
    print_calling_ae_title: str = "DICOM_PRINT_SCU"
    printers: tuple[PrinterConfig, ...] = ()
    viewer: ViewerConfig = field(default_factory=ViewerConfig)

    def effective_calling_ae_title(self) -> str:
        return self.calling_ae_title or self.temporary_store.effective_ae_title()

    def node(self, name: str) -> RemoteNode:
        """The node called ``name`` (or whose AE title is ``name``)."""
        for node in self.nodes:
            if name in (node.name, node.ae_title):
                return node
        raise ConfigError(f"No remote node {name!r} is configured; add it under [[workstation.nodes]].")

    def printer(self, name: str) -> PrinterConfig:
        """The printer called ``name`` (or whose AE title is ``name``)."""
        for printer in self.printers:
            if name in (printer.name, printer.ae_title):
                return printer
        raise ConfigError(f"No printer {name!r} is configured; add it under [[workstation.printers]].")


def _nodes_from(raw: Any) -> tuple[RemoteNode, ...]:
    out = []
    for i, item in enumerate(check.table_array(raw, "[[workstation.nodes]]")):
        where = f"[[workstation.nodes]] #{i + 1}"
        check.known_keys(item, where, RemoteNode)
        services = item.get("services", ["qr"])
        if not isinstance(services, list) or not services or not set(services) <= set(_SERVICES):
            raise ConfigError(f"{where}: services = {services!r}; use [\"qr\"], [\"mwl\"] or [\"qr\", \"mwl\"].")
        ae_title = check.validate_ae_title(item.get("ae_title", ""), where)
        port = check.port(item.get("port"), where)
        if port == 0:
            raise ConfigError(f"{where}: port 0 is invalid for a remote node; give the port it listens on.")
        out.append(RemoteNode(
            name=check.string(item, "name", ae_title, where) or ae_title,
            ae_title=ae_title,
            host=check.host(item.get("host"), where),
            port=port,
            services=tuple(s for s in _SERVICES if s in services),
        ))
    names = [n.name for n in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"[[workstation.nodes]]: names must be distinct, got {names}.")
    return tuple(out)


def _temporary_store_from(raw: Any) -> TemporaryStore:
    where = "[workstation.temporary_store]"
    raw = check.known_keys(raw, where, TemporaryStore)
    d = TemporaryStore()
    ae_title = check.string(raw, "ae_title", d.ae_title, where)
    max_pdu = check.positive_int(raw, "max_pdu", d.max_pdu, where)
    if not 4096 <= max_pdu <= 131072:
        raise ConfigError(f"{where} max_pdu = {max_pdu}: use 4096 to 131072 bytes (131072 is the default).")
    return TemporaryStore(
        ae_title=check.validate_ae_title(ae_title, where) if ae_title else "",
        port=check.port(raw.get("port", d.port), where),
        max_associations=check.positive_int(raw, "max_associations", d.max_associations, where),
        max_pdu=max_pdu,
    )


def _printers_from(raw: Any) -> tuple[PrinterConfig, ...]:
    out = []
    for i, item in enumerate(check.table_array(raw, "[[workstation.printers]]")):
        where = f"[[workstation.printers]] #{i + 1}"
        check.known_keys(item, where, PrinterConfig)
        d = PrinterConfig(name="")
        ae_title = check.validate_ae_title(item.get("ae_title", d.ae_title), where)
        port = check.port(item.get("port", d.port), where)
        if port == 0:
            raise ConfigError(f"{where}: port 0 is invalid for a printer; give the port it listens on.")
        profile = check.string(item, "profile", d.profile, where)
        if not profile or not all(ch.isalnum() or ch in "-_" for ch in profile):
            raise ConfigError(f"{where}: profile {profile!r}; name a printer profile (letters, digits, -, _).")
        out.append(PrinterConfig(
            name=check.string(item, "name", ae_title, where) or ae_title,
            ae_title=ae_title,
            host=check.host(item.get("host", d.host), where),
            port=port,
            profile=profile,
        ))
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"[[workstation.printers]]: names must be distinct, got {names}.")
    return tuple(out)


def workstation_from(raw: Mapping[str, Any]) -> WorkstationConfig:
    """The ``[workstation]`` table as a :class:`WorkstationConfig`."""
    where = "[workstation]"
    check.known_keys(raw, where, WorkstationConfig)
    d = WorkstationConfig()
    calling = check.string(raw, "calling_ae_title", d.calling_ae_title, where)
    max_pdu = check.positive_int(raw, "max_pdu", d.max_pdu, where)
    if max_pdu < 4096:
        raise ConfigError(f"{where} max_pdu = {max_pdu}: use at least 4096 bytes (16384 is the default).")
    return WorkstationConfig(
        server_url=check.server_url(raw.get("server_url", d.server_url), where),
        refresh_seconds=check.positive_float(raw, "refresh_seconds", d.refresh_seconds, where),
        calling_ae_title=check.validate_ae_title(calling, where) if calling else "",
        max_pdu=max_pdu,
        network_timeout=check.positive_float(raw, "network_timeout", d.network_timeout, where),
        nodes=_nodes_from(raw.get("nodes", [])),
        temporary_store=_temporary_store_from(raw.get("temporary_store", {})),
        print_calling_ae_title=check.validate_ae_title(
            raw.get("print_calling_ae_title", d.print_calling_ae_title), where),
        printers=_printers_from(raw.get("printers", [])),
        viewer=viewer_from(raw.get("viewer", {})),
    )
