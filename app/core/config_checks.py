"""Checks shared by the configuration readers: each returns the valid value or raises
:class:`~app.core.errors.ConfigError` with a message naming the TOML table and what to write."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

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


_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def host(value: Any, where: str) -> str:
    """An IP address (IPv4 or IPv6) or a host name (RFC 1123 2.1, RFC 952): labels of 1 to 63
    letters, digits and hyphens, not starting or ending with a hyphen, 253 characters at most.

    A name of digits and dots only must be an IPv4 address (``300.1.1.1`` is refused: RFC 1123
    2.1 keeps such names for addresses); spaces, slashes, ports (``host:104``) are refused.
    """
    text = value.strip() if isinstance(value, str) else ""
    if text:
        try:
            ipaddress.ip_address(text)
            return text
        except ValueError:
            pass
        labels = text.split(".")
        numeric = all(label.isdigit() for label in labels)
        if len(text) <= 253 and not numeric and all(_LABEL.match(label) for label in labels):
            return text
    raise ConfigError(f"{where}: host {value!r} is invalid; give a host name (letters, digits, hyphens, dots, "
                      "e.g. pacs.example.org) or an IP address (e.g. 192.168.1.20), without spaces, slashes or port.")


def server_url(value: Any, where: str) -> str:
    """An http(s) URL of a Lightbox server (``http://host[:port][/path]``, port 1 to 65535), without
    its trailing slash; empty stays empty (the bundled server)."""
    text = value.strip() if isinstance(value, str) else value
    if text == "":
        return ""
    hint = "e.g. http://pacs.example.org:7880 (or leave it empty for the bundled server)"
    if not isinstance(text, str):
        raise ConfigError(f"{where} server_url = {value!r}: use a quoted URL, {hint}.")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{where} server URL {text!r}: start it with http:// or https://, {hint}.")
    try:
        given_port = parts.port
    except ValueError:
        raise ConfigError(f"{where} server URL {text!r}: the port must be a number from 1 to 65535, {hint}.") from None
    if given_port == 0:
        raise ConfigError(f"{where} server URL {text!r}: the port must be a number from 1 to 65535, {hint}.")
    if not parts.hostname:
        raise ConfigError(f"{where} server URL {text!r} names no host, {hint}.")
    host(parts.hostname, f"{where} server URL")
    if parts.query or parts.fragment or any(ch.isspace() for ch in text):
        raise ConfigError(f"{where} server URL {text!r}: no spaces, ? or #, {hint}.")
    return text.rstrip("/")


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
