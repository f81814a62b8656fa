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
import socket
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
#: The most of the server's standard error kept (bytes): the temporary file is cut to its tail.
STDERR_KEEP = 256 * 1024


def dicom_listeners(config: ServerConfig) -> list[tuple[str, int, str]]:
    """The fixed DICOM ports of the server as (what, port, the setting that chooses it); port 0 left out."""
    out = [(f"Storage SCP {ae.ae_title}", ae.port,
            "Settings > Workstation > Bundled server: Storage port ([[server.storage]] port)") for ae in config.storage]
    out.append((f"Query/Retrieve SCP {config.qr.ae_title}", config.qr.port,
                "Settings > Workstation > Bundled server: Query/Retrieve port ([server.qr] port)"))
    out.append((f"Worklist SCP {config.mwl.ae_title}", config.mwl.port,
                "Settings > Workstation > Bundled server: Worklist port ([server.mwl] port)"))
    return [item for item in out if item[1]]


def check_dicom_ports(config: ServerConfig) -> None:
    """Raise :class:`ServerUnavailableError` naming the port and its setting when another program holds
    a DICOM port of the bundled server.

    The server is not moved to a free port: modalities and archives are configured with its port
    (what they send to), and a silently moved port would make their sends fail (or reach the other
    program). The site decides: stop the other program or choose another port in Settings.
    """
    host = config.dicom_host or "0.0.0.0"
    for what, port, setting in dicom_listeners(config):
        probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds (pynetdicom)
            probe.bind((host, port))
        except OSError as exc:
            raise ServerUnavailableError(
                f"The bundled image server cannot listen on DICOM port {port} ({what}): "
                f"{exc.strerror or exc}. Another program (another DICOM server, or a Lightbox server started "
                f"by hand) uses it. Stop that program, or choose another port in {setting}; then tell the "
                "modalities that send to Lightbox the new port."
            ) from exc
        finally:
            probe.close()


def append_only(stream: IO[bytes]) -> IO[bytes]:
    """``stream`` with O_APPEND set on its descriptor (what a child process inherits), where the system has it.

    Python's ``"a"`` mode on an already open descriptor only seeks to the end; the flag is what
    makes every write of the server land at the end, also after :func:`trim_tail` cut the file.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no trimming needed for correctness, the file grows as before
        return stream
    flags = fcntl.fcntl(stream.fileno(), fcntl.F_GETFL)
    fcntl.fcntl(stream.fileno(), fcntl.F_SETFL, flags | os.O_APPEND)
    return stream


def trim_tail(stream: IO[bytes], keep: int) -> bool:
    """Cut an append-mode file to its last ``keep`` bytes once it holds more than twice that; True when cut.

    The server writes to the same open file (O_APPEND, :func:`append_only`: its writes land at the
    end, also after the cut); a line written between the read and the cut is lost, never the bound.
    Without O_APPEND (Windows) nothing is cut.
    """
    try:
        import fcntl

        fd = stream.fileno()
        if not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
            return False
        size = os.fstat(fd).st_size
        if size <= 2 * keep:
            return False
        tail = os.pread(fd, keep, size - keep)
        os.ftruncate(fd, 0)
        os.write(fd, tail)  # O_APPEND: lands at the (new) end
    except (ImportError, OSError, ValueError):
        return False
    return True


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
        self.server_config: ServerConfig | None = None
        """The settings it was made from (:meth:`from_config`): its DICOM ports are checked before it starts."""
        self.trim_every = 30.0
        """Seconds between checks of the standard error file's size (:func:`trim_tail`)."""
        self._trimming = threading.Event()
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
        server.server_config = config
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
            size = os.fstat(self._stderr.fileno()).st_size
            self._stderr.seek(max(0, size - STDERR_KEEP))
            text = self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def _trim_stderr(self, stop: threading.Event, every: float) -> None:
        """Keep the standard error file to about :data:`STDERR_KEEP` bytes while the server runs."""
        while not stop.wait(every):
            stderr = self._stderr
            if stderr is None:
                return
            trim_tail(stderr, STDERR_KEEP)

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def start(self, timeout: float = 60.0) -> str:
        """Start the server and wait for its ready line; return its HTTP URL.

        Raises
        ------
        ServerUnavailableError
            When another program holds one of its DICOM ports (:func:`check_dicom_ports`), or the
            process exits or stays silent for ``timeout`` seconds; the message carries the tail of
            its standard error.
        """
        if self.process is not None and self.process.poll() is None:
            return self.http_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.server_config is not None:
            try:
                check_dicom_ports(self.server_config)
            except ServerUnavailableError:
                self.stop()  # removes its private --config file
                raise
        self._stderr = append_only(tempfile.TemporaryFile())  # noqa: SIM115 - closed in stop()
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
        self._trimming = threading.Event()
        threading.Thread(target=self._trim_stderr, args=(self._trimming, self.trim_every), daemon=True,
                         name="server-stderr-trim").start()
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
        self._trimming.set()
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
