"""The workstation's connection to its server: embedded child process or a configured URL."""

from __future__ import annotations

import logging

from app.core.config import Config
from app.services.embedded_server import EmbeddedServer
from app.services.studies import StudyService

log = logging.getLogger(__name__)


class Session:
    """A :class:`StudyService` on the configured server, owning the embedded server if it started one.

    ``Session.open(config)`` starts the bundled server when ``config.workstation.server_url`` is
    empty (DESIGN.md section 1, embedded default); :meth:`close` stops it.
    """

    def __init__(self, studies: StudyService, embedded: EmbeddedServer | None = None) -> None:
        self.studies = studies
        self.embedded = embedded

    @classmethod
    def open(cls, config: Config, start_timeout: float = 60.0) -> Session:
        url = config.workstation.server_url
        embedded: EmbeddedServer | None = None
        if not url:
            embedded = EmbeddedServer.from_config(config.server, http_port=0)
            url = embedded.start(timeout=start_timeout)
        return cls(StudyService.connect(url), embedded)

    @property
    def url(self) -> str:
        return self.studies.url

    def close(self) -> None:
        """Close the HTTP client and stop the embedded server if this session started it."""
        self.studies.close()
        if self.embedded is not None:
            code = self.embedded.stop()
            log.info("embedded server stopped (exit code %s)", code)
            self.embedded = None
