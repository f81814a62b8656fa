"""Checks shared by the configuration readers: each returns the valid value or raises
:class:`~app.core.errors.ConfigError` with a message naming the TOML table and what to write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.errors import ConfigError

_AE_TITLE_CHARS = set(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~")


def validate_ae_title(title: str, where: str) -> str:
    """Return a valid AE title or raise :class:`ConfigError` (PS3.5 6.2: 1-16 chars, no backslash)."""
    if not isinstance(title, str) or not title.strip() or len(title) > 16 or not set(title) <= _AE_TITLE_CHARS:
        raise ConfigError(
            f"{where}: AE title {title!r} is invalid; use 1 to 16 printable ASCII characters, no backslash."
        )
    return title.strip()


def port(value: Any, where: str) -> int:
    """A TCP port, 0 meaning any free port."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ConfigError(f"{where}: port {value!r} is invalid; use a number from 1 to 65535 (0 = any free port).")
    return value


def host(value: Any, where: str) -> str:
    """A host name or IP address (not empty)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: host {value!r} is invalid; give a host name or an IP address.")
    return value.strip()


def positive_int(raw: Mapping[str, Any], key: str, default: int, where: str = "[server]") -> int:
    """``raw[key]`` (or ``default``) as a whole number of at least 1."""
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where} {key} = {value!r}: use a whole number of at least 1.")
    return value


def positive_float(raw: Mapping[str, Any], key: str, default: float, where: str) -> float:
    """``raw[key]`` (or ``default``) as a number above 0."""
    value = raw.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{where} {key} = {value!r}: use a number above 0.")
    return float(value)


def bool_value(raw: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    """``raw[key]`` (or ``default``) as true or false."""
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where} {key} = {value!r}: use true or false.")
    return value


def string(raw: Mapping[str, Any], key: str, default: str, where: str) -> str:
    """``raw[key]`` (or ``default``) as a string, stripped."""
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where} {key} = {value!r}: use a quoted string.")
    return value.strip()


def known_keys(raw: Any, where: str, cls: type[Any]) -> Mapping[str, Any]:
    """``raw`` when it is a table holding only fields of the dataclass ``cls``."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table; see README 'Configuration' for the keys.")
    unknown = set(raw) - set(cls.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; see README 'Configuration'.")
    return raw


def server_table(raw: Any, name: str, cls: type[Any]) -> Mapping[str, Any]:
    """The ``[server.<name>]`` table, checked against the dataclass ``cls``."""
    return known_keys(raw, f"[server.{name}]", cls)


def table_array(raw: Any, where: str) -> list[Mapping[str, Any]]:
    """An array of tables (``[[...]]``)."""
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise ConfigError(f"{where} must be an array of tables ([[...]] entries); see README 'Configuration'.")
    return raw
