"""``[server.archive]``: the external archive tier (the reference's 2.2.7, 5.3).

The archive is named by AE titles of ``[[server.destinations]]`` (where each listens):
its Storage SCP (``destination``), its Query/Retrieve SCP for fetch-back (``qr_ae_title``)
and its Storage Commitment SCP (``commitment_ae_title``); the last two default to the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.core.config_checks import bool_value, server_table, string
from app.core.errors import ConfigError


@dataclass(frozen=True)
class ArchiveSettings:
    """The external archive and the policy that removes online copies.

    Parameters
    ----------
    destination
        AE title (one of ``[[server.destinations]]``) the studies are archived to by
        C-STORE; ``""``: no archive tier.
    qr_ae_title
        The archive's Q/R SCP, asked by C-FIND + C-MOVE to send a study back ("" = destination).
    commitment
        Ask the archive for Storage Commitment (PS3.4 J.3); without it no online copy is
        ever removed.
    commitment_ae_title
        The archive's Storage Commitment SCP ("" = destination).
    commitment_timeout_seconds
        How long to wait for the N-EVENT-REPORT before asking again.
    remove_after_days
        Remove the online copy of a committed study received that long ago (0 = never by age).
    min_free_gib
        Remove online copies of committed studies, oldest first, while the storage area has
        less free space than this (0 = never by space).
    dry_run
        The policy lists what it would remove and removes nothing.
    purge_interval_seconds
        How often the policy runs by itself (0 = only through ``POST /api/archive/purge``).
    keep_online_hours
        How long a study fetched back from the archive stays online at least.
    fetch_timeout_seconds
        Longest wait for a fetch-back (C-FIND + C-MOVE) before the request fails.
    notify_on_fetch_back
        Send the study content notification (``[server.notify]``) when a study is fetched back.
    """

    destination: str = ""
    qr_ae_title: str = ""
    commitment: bool = True
    commitment_ae_title: str = ""
    commitment_timeout_seconds: float = 3600.0
    remove_after_days: float = 0.0
    min_free_gib: float = 0.0
    dry_run: bool = False
    purge_interval_seconds: float = 3600.0
    keep_online_hours: float = 24.0
    fetch_timeout_seconds: float = 120.0
    notify_on_fetch_back: bool = False

    @property
    def enabled(self) -> bool:
        """True when an archive is configured."""
        return bool(self.destination)

    @property
    def effective_qr_ae_title(self) -> str:
        return self.qr_ae_title or self.destination

    @property
    def effective_commitment_ae_title(self) -> str:
        return self.commitment_ae_title or self.destination


def _number(raw: Mapping[str, Any], key: str, default: float, *, positive: bool) -> float:
    value = raw.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0 or (positive and value == 0):
        need = "a number above 0" if positive else "a number of at least 0 (0 = off)"
        raise ConfigError(f"[server.archive] {key} = {value!r}: use {need}.")
    return float(value)


def archive_from(raw: Any, destination_titles: set[str]) -> ArchiveSettings:
    """Parse and check ``[server.archive]``; AE titles must be among ``destination_titles``."""
    raw = server_table(raw, "archive", ArchiveSettings)
    d, where = ArchiveSettings(), "[server.archive]"
    titles = {key: string(raw, key, "", where) for key in ("destination", "qr_ae_title", "commitment_ae_title")}
    for key, title in titles.items():
        if title and title not in destination_titles:
            raise ConfigError(f"{where} {key} names {title!r}, which is not one of [[server.destinations]]; add it "
                              "there (ae_title, host, port).")
    if not titles["destination"] and (titles["qr_ae_title"] or titles["commitment_ae_title"]):
        raise ConfigError(f"{where}: set destination (the archive's Storage SCP) as well, or leave the table out.")
    return ArchiveSettings(
        destination=titles["destination"],
        qr_ae_title=titles["qr_ae_title"],
        commitment=bool_value(raw, "commitment", d.commitment, where),
        commitment_ae_title=titles["commitment_ae_title"],
        commitment_timeout_seconds=_number(raw, "commitment_timeout_seconds", d.commitment_timeout_seconds,
                                           positive=True),
        remove_after_days=_number(raw, "remove_after_days", d.remove_after_days, positive=False),
        min_free_gib=_number(raw, "min_free_gib", d.min_free_gib, positive=False),
        dry_run=bool_value(raw, "dry_run", d.dry_run, where),
        purge_interval_seconds=_number(raw, "purge_interval_seconds", d.purge_interval_seconds, positive=False),
        keep_online_hours=_number(raw, "keep_online_hours", d.keep_online_hours, positive=False),
        fetch_timeout_seconds=_number(raw, "fetch_timeout_seconds", d.fetch_timeout_seconds, positive=True),
        notify_on_fetch_back=bool_value(raw, "notify_on_fetch_back", d.notify_on_fetch_back, where),
    )
