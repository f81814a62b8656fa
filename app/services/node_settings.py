"""Remote nodes edited from the workstation: checked like the configuration file, and saved as
the ``[[workstation.nodes]]`` tables of the user's configuration file.

Saving rewrites only those tables (the rest of the file is kept as written, comments included;
comments inside the old node tables are lost) and checks the whole new file with the
configuration's own reader before it replaces the old one (written to a temporary file, then
renamed).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

from app.core.errors import ConfigError
from app.core.workstation_config import RemoteNode, workstation_from

_TABLE = re.compile(r"^\s*\[")
_NODES = re.compile(r"^\s*\[\[\s*workstation\.nodes\s*\]\]")


def nodes_toml(nodes: Sequence[RemoteNode]) -> str:
    """The nodes as ``[[workstation.nodes]]`` tables."""
    blocks = []
    for node in nodes:
        blocks.append("\n".join([
            "[[workstation.nodes]]",
            f"name = {json.dumps(node.name)}",
            f"ae_title = {json.dumps(node.ae_title)}",
            f"host = {json.dumps(node.host)}",
            f"port = {int(node.port)}",
            f"services = {json.dumps(list(node.services))}",
        ]))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _parse_nodes(text: str) -> tuple[RemoteNode, ...]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The node settings cannot be written as TOML ({exc}); edit the file by hand.") from exc
    return workstation_from(raw.get("workstation", {})).nodes


def check_nodes(nodes: Sequence[RemoteNode]) -> tuple[RemoteNode, ...]:
    """The nodes as the configuration reader would read them; raises ConfigError saying what to fix."""
    return _parse_nodes(nodes_toml(nodes))


def _without_node_tables(text: str) -> str:
    kept: list[str] = []
    skipping = False
    for line in text.splitlines():
        if _TABLE.match(line):
            skipping = bool(_NODES.match(line))
        if not skipping:
            kept.append(line)
    return "\n".join(kept).rstrip()


def save_nodes(path: Path, nodes: Sequence[RemoteNode]) -> tuple[RemoteNode, ...]:
    """Replace the ``[[workstation.nodes]]`` tables of the file at ``path`` (made if missing)."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    rest = _without_node_tables(old)
    text = (rest + "\n\n" if rest else "") + nodes_toml(nodes)
    saved = _parse_nodes(text)
    if len(saved) != len(nodes):
        raise ConfigError(f"{path} defines nodes in another form (an inline array?); edit it by hand.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".lightbox-", suffix=".toml", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return saved
