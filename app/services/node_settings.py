"""Remote nodes edited from the workstation: checked like the configuration file, and saved as
the ``[[workstation.nodes]]`` tables of the user's configuration file.

Saving goes through :class:`app.services.settings_store.SettingsStore`: only those tables are
rewritten (the rest of the file is kept as written, comments included; comments inside the old
node tables are lost) and the whole new file is checked with the configuration's own reader
before it replaces the old one.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomlkit

from app.core.workstation_config import PrinterConfig, RemoteNode, workstation_from
from app.services.settings_store import SettingsStore


def node_table(node: RemoteNode) -> dict[str, Any]:
    """One node as its ``[[workstation.nodes]]`` table."""
    return {"name": node.name, "ae_title": node.ae_title, "host": node.host, "port": int(node.port),
            "services": list(node.services)}


def printer_table(printer: PrinterConfig) -> dict[str, Any]:
    """One printer as its ``[[workstation.printers]]`` table."""
    return {"name": printer.name, "ae_title": printer.ae_title, "host": printer.host, "port": int(printer.port),
            "profile": printer.profile}


def nodes_toml(nodes: Sequence[RemoteNode]) -> str:
    """The nodes as ``[[workstation.nodes]]`` tables."""
    return tomlkit.dumps({"workstation": {"nodes": [node_table(n) for n in nodes]}}) if nodes else ""


def check_nodes(nodes: Sequence[RemoteNode]) -> tuple[RemoteNode, ...]:
    """The nodes as the configuration reader would read them; raises ConfigError saying what to fix."""
    raw = tomllib.loads(nodes_toml(nodes))
    return workstation_from(raw.get("workstation", {})).nodes


def check_printers(printers: Sequence[PrinterConfig]) -> tuple[PrinterConfig, ...]:
    """The printers as the configuration reader would read them; raises ConfigError saying what to fix."""
    return workstation_from({"printers": [printer_table(p) for p in printers]}).printers


def save_nodes(path: Path, nodes: Sequence[RemoteNode]) -> tuple[RemoteNode, ...]:
    """Replace the ``[[workstation.nodes]]`` tables of the file at ``path`` (made if missing)."""
    store = SettingsStore(path)
    store.set_tables("workstation.nodes", [node_table(n) for n in nodes])
    return store.save().workstation.nodes
