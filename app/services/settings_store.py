"""The user's configuration file edited from the workstation (the settings dialog, the node list).

The file is read and written with tomlkit, so what the dialog does not touch stays as the user
wrote it: comments, key order, tables the workstation does not know (e.g. ``[server.archive]``).
:meth:`SettingsStore.save` checks the whole result with the configuration's own reader
(:func:`app.core.config.load_config`, over the bundled defaults) before it replaces the old file
(written to a temporary file in the same folder, then renamed), so a saved file always loads.

Which settings take effect at once and which need a restart: :func:`needs_restart`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table
from tomlkit.toml_document import TOMLDocument

from app.core.config import Config, load_config
from app.core.errors import ConfigError

#: Key prefixes read only when the workstation starts (the bundled server gets its settings then,
#: the temporary Storage SCP binds its port then, the session connects to its server then).
RESTART_PREFIXES = ("server", "workstation.server_url", "workstation.temporary_store", "workstation.calling_ae_title",
                    "workstation.max_pdu", "workstation.network_timeout", "workstation.refresh_seconds")


def needs_restart(key: str) -> bool:
    """Whether a change of the dotted ``key`` takes effect only after Lightbox restarts."""
    return any(key == prefix or key.startswith(prefix + ".") for prefix in RESTART_PREFIXES)


def _plain(value: Any) -> Any:
    """A tomlkit value as plain Python (dicts, lists, str, int, float, bool)."""
    return value.unwrap() if hasattr(value, "unwrap") else value


class SettingsStore:
    """The user's TOML file as an editable document.

    Parameters
    ----------
    path
        The file (:func:`app.core.paths.user_config_file` for the workstation); made on save if missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        try:
            self.doc: TOMLDocument = tomlkit.parse(text)
        except TOMLKitError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); correct it by hand, then open the settings again.") \
                from exc
        self.changed: set[str] = set()

    # -- reading -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The value at the dotted ``key`` (``"workstation.temporary_store.port"``) as plain Python."""
        node: Any = self.doc
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return _plain(node)

    # -- writing -----------------------------------------------------------------------------
    def _table(self, parts: Sequence[str]) -> Any:
        node: Any = self.doc
        for part in parts:
            if part not in node:
                node[part] = tomlkit.table()
            node = node[part]
            if not isinstance(node, Mapping):
                raise ConfigError(f"{self.path}: {'.'.join(parts)} is not a table; correct the file by hand.")
        return node

    def set(self, key: str, value: Any) -> None:
        """Set the dotted ``key``; ``None`` removes it. Tables on the way are made."""
        *parents, last = key.split(".")
        if value is None:
            parent = self.get(".".join(parents)) if parents else self.doc
            if isinstance(parent, Mapping) and last in parent:
                del self._table(parents)[last]
                self.changed.add(key)
            return
        table = self._table(parents)
        if _plain(table.get(last)) != value:
            table[last] = value
            self.changed.add(key)

    def set_tables(self, key: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Replace the array of tables at ``key`` (``[[workstation.nodes]]``); no items removes it.

        Comments inside the old tables are lost; everything outside them is kept.
        """
        rows = [dict(item) for item in items]
        if rows == (self.get(key) or []):
            return
        *parents, last = key.split(".")
        table = self._table(parents)
        if not rows:
            if last in table:
                del table[last]
        else:
            array = AoT([])
            for row in rows:
                array.append(tomlkit.table() if not row else _table_of(row))
            table[last] = array
        self.changed.add(key)

    def set_mapping(self, key: str, value: Mapping[str, Any] | None) -> None:
        """Replace the (nested) table at ``key`` by ``value`` (empty or None removes it)."""
        if not value:
            self.set(key, None)
            return
        if _plain(self.get(key)) != dict(value):
            *parents, last = key.split(".")
            self._table(parents)[last] = _table_of(value)
            self.changed.add(key)

    # -- checking and saving -----------------------------------------------------------------
    def text(self) -> str:
        return tomlkit.dumps(self.doc)

    def check(self) -> Config:
        """The configuration this file gives over the bundled defaults; raises ConfigError saying what to fix."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".lightbox-check-", suffix=".toml", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.text())
            return load_config(files=[Path(tmp)], include_user_file=False)
        finally:
            os.unlink(tmp)

    def save(self) -> Config:
        """Check the document, then write it in place of the file (atomically); returns the checked config."""
        config = self.check()
        fd, tmp = tempfile.mkstemp(prefix=".lightbox-", suffix=".toml", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.text())
        os.replace(tmp, self.path)
        return config


def _table_of(value: Mapping[str, Any]) -> Table:
    table = tomlkit.table()
    for k, v in value.items():
        table[k] = _table_of(v) if isinstance(v, Mapping) else v
    return table
