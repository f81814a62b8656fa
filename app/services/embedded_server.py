"""Start and stop the bundled image server as a child process (DESIGN.md section 1).

The workstation never imports ``app.server``: it runs ``python -m app.server`` and waits
for its single ``LIGHTBOX-READY {json}`` line on standard output.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from app.core.config import ServerConfig, server_config_toml
from app.core.errors import ServerUnavailableError
from app.core.paths import user_data_dir, user_log_dir

log = logging.getLogger(__name__)

READY_PREFIX = "LIGHTBOX-READY "


class EmbeddedServer:
    """The bundled server child process.

    Parameters
    ----------
    data_dir
        The server's data directory (default: ``user_data_dir()/server``).
    http_port
        HTTP port to ask for; 0 = any free port.
    config_file
        An optional ``--config`` TOML for the server.
    """

    def __init__(self, data_dir: Path | None = None, http_port: int = 0, config_file: Path | None = None) -> None:
        self.data_dir = data_dir or (user_data_dir() / "server")
        self.http_port = http_port
        self.config_file = config_file
        self._own_config: Path | None = None
        self.process: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self._stderr: IO[bytes] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    @classmethod
    def from_config(cls, config: ServerConfig, http_port: int = 0) -> EmbeddedServer:
        """An embedded server with the workstation's server settings (written to a private ``--config``).

        ``http_port`` defaults to 0 (any free port) so that several workstations and a
        standalone server on the same machine do not collide.
        """
        config.data_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="lightbox-embedded-", suffix=".toml")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(server_config_toml(config))
        server = cls(data_dir=config.data_dir, http_port=http_port, config_file=Path(name))
        server._own_config = Path(name)
        return server

    @property
    def http_url(self) -> str:
        """The server's HTTP URL from its ready line."""
        if not self.info:
            raise ServerUnavailableError("The embedded server has not started yet.")
        return str(self.info["http_url"])

    def command(self) -> list[str]:
        """The server's command line: ``python -m app.server ...``, or ``<executable> server ...`` when frozen.

        A PyInstaller build has no Python interpreter; its executable serves ``lightbox server``
        through the SUBCOMMANDS table of ``app.cli``.
        """
        launcher = [sys.executable, "server"] if getattr(sys, "frozen", False) else [sys.executable, "-m", "app.server"]
        cmd = [*launcher, "--data-dir", str(self.data_dir), "--http-port", str(self.http_port),
               "--log-dir", str(user_log_dir()), "--stop-with-stdin"]
        if self.config_file is not None:
            cmd += ["--config", str(self.config_file)]
        return cmd

    def _stderr_tail(self, lines: int = 15) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def start(self, timeout: float = 60.0) -> str:
        """Start the server and wait for its ready line; return its HTTP URL.

        Raises
        ------
        ServerUnavailableError
            When the process exits or stays silent for ``timeout`` seconds; the message carries
            the tail of its standard error.
        """
        if self.process is not None and self.process.poll() is None:
            return self.http_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        log.info("starting embedded server: %s", " ".join(self.command()))
        try:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env
            )  # the server stops when this pipe closes: it never outlives the workstation
        except OSError as exc:
            raise ServerUnavailableError(f"Cannot start the embedded server ({exc}).") from exc
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True, name="server-stdout").start()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = self._stderr_tail()
                self.stop()
                raise ServerUnavailableError(
                    f"The embedded server did not report ready within {timeout:.0f} s. "
                    f"Its last messages:\n{tail or '(none)'}"
                )
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                code = self.process.wait(5)
                tail = self._stderr_tail()
                self.process = None
                raise ServerUnavailableError(
                    f"The embedded server exited with code {code} before it was ready. "
                    f"Its last messages:\n{tail or '(none)'}\nCheck its data directory {self.data_dir}."
                )
            if line.startswith(READY_PREFIX):
                try:
                    self.info = json.loads(line[len(READY_PREFIX) :])
                except json.JSONDecodeError as exc:
                    self.stop()
                    raise ServerUnavailableError(f"The embedded server's ready line is malformed: {line!r}") from exc
                log.info("embedded server ready at %s", self.http_url)
                return self.http_url

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the server, kill it after ``timeout`` seconds; return its exit code."""
        proc, self.process = self.process, None
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded server ignored SIGTERM for %.0f s; killing it", timeout)
                proc.kill()
                code = proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._own_config is not None:
            self._own_config.unlink(missing_ok=True)
            self._own_config = None
        return code

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
