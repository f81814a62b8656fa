"""The workstation's connection to its server (embedded child process or a configured URL),
and its temporary Storage SCP (the Fetch destination, reference 2.2.6.1)."""

from __future__ import annotations

import logging
from pathlib import Path

from app.core.config import Config
from app.core.paths import user_data_dir
from app.net.temporary_store import TemporaryStorageSCP
from app.services.embedded_server import EmbeddedServer
from app.services.studies import StudyService

log = logging.getLogger(__name__)


def temporary_store_root() -> Path:
    """Where the temporary Storage SCP keeps this user's runs (one folder per live workstation)."""
    return user_data_dir() / "temporary-store"


class Session:
    """A :class:`StudyService` on the configured server, owning the embedded server if it started one.

    ``Session.open(config)`` starts the bundled server when ``config.workstation.server_url`` is
    empty (DESIGN.md section 1, embedded default) and the temporary Storage SCP; :meth:`close`
    stops both (the temporary images are removed then).
    """

    def __init__(
        self, studies: StudyService, embedded: EmbeddedServer | None = None,
        temporary_store: TemporaryStorageSCP | None = None, temporary_store_error: str = "",
    ) -> None:
        self.studies = studies
        self.embedded = embedded
        self.temporary_store = temporary_store
        self.temporary_store_error = temporary_store_error

    @classmethod
    def open(cls, config: Config, start_timeout: float = 60.0, *, temporary_store: bool = True) -> Session:
        url = config.workstation.server_url
        embedded: EmbeddedServer | None = None
        if not url:
            embedded = EmbeddedServer.from_config(config.server, http_port=0)
            url = embedded.start(timeout=start_timeout)
        store, error = (start_temporary_store(config, temporary_store_root()) if temporary_store else (None, ""))
        return cls(StudyService.connect(url), embedded, store, error)

    @property
    def url(self) -> str:
        return self.studies.url

    def close(self) -> None:
        """Close the HTTP client, stop the temporary store (its images removed) and the embedded server."""
        self.studies.close()
        if self.temporary_store is not None:
            self.temporary_store.stop()
            self.temporary_store = None
        if self.embedded is not None:
            code = self.embedded.stop()
            log.info("embedded server stopped (exit code %s)", code)
            self.embedded = None


def start_temporary_store(config: Config, root: Path) -> tuple[TemporaryStorageSCP | None, str]:
    """Start the temporary Storage SCP of ``[workstation.temporary_store]``; on failure (port in
    use) return None and the reason, so the workstation runs without Fetch."""
    settings = config.workstation.temporary_store
    store = TemporaryStorageSCP(
        root, settings.effective_ae_title(), settings.port, settings.max_associations,
        max_pdu=settings.max_pdu, timeout=config.workstation.network_timeout,
    )
    try:
        store.start()
    except OSError as exc:
        reason = (f"The temporary Storage SCP cannot listen on port {settings.port} ({exc.strerror or exc}); "
                  "Fetch is off. Set another [workstation.temporary_store] port.")
        log.warning("%s", reason)
        return None, reason
    return store, ""
