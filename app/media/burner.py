"""CD/DVD burning through the system's own tool: xorriso, wodim or growisofs, whichever is installed.

Lightbox writes the ISO image itself (:mod:`app.media.iso_image`); a burner tool only puts that
image on the disc. When none is installed, or no writer drive is present, the message says what
to install or to use the image with another program.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import AppError

log = logging.getLogger(__name__)

#: Tools tried in this order.
TOOLS = ("xorriso", "wodim", "growisofs")

#: Device nodes of optical drives on Linux.
DEVICE_PATTERNS = ("/dev/sr[0-9]*", "/dev/cdrw", "/dev/dvdrw", "/dev/cdrom")


class BurnerError(AppError):
    """No burning tool or drive, or the tool failed."""


@dataclass(frozen=True)
class Burner:
    tool: str  # "xorriso", "wodim" or "growisofs"
    executable: str
    device: str

    def command(self, iso_path: Path) -> list[str]:
        """The command line that writes ``iso_path`` to the disc and ejects it."""
        image = str(iso_path)
        if self.tool == "xorriso":
            return [self.executable, "-as", "cdrecord", "-v", f"dev={self.device}", "-eject", image]
        if self.tool == "wodim":
            return [self.executable, "-v", f"dev={self.device}", "-eject", image]
        return [self.executable, "-dvd-compat", "-Z", f"{self.device}={image}"]


def find_devices() -> list[str]:
    found: list[str] = []
    for pattern in DEVICE_PATTERNS:
        found.extend(str(p) for p in sorted(Path("/").glob(pattern.lstrip("/"))) if str(p) not in found)
    return found


def detect_burner(
    path: str | None = None, device: str | None = None, devices: Sequence[str] | None = None
) -> Burner:
    """The first installed burning tool and a writer drive.

    Parameters
    ----------
    path
        Search path for the tools (default: ``PATH``).
    device
        The drive to use (default: the first of :data:`DEVICE_PATTERNS` present).
    devices
        Drives to choose from instead of looking in ``/dev``.

    Raises
    ------
    BurnerError
        When no tool is installed or no drive is found; the message says what to do.
    """
    for tool in TOOLS:
        executable = shutil.which(tool, path=path)
        if executable:
            break
    else:
        raise BurnerError(
            "No CD/DVD burning program was found (looked for xorriso, wodim and growisofs). Install one "
            "(e.g. 'apt install xorriso'), or export to an ISO image and burn it with another program."
        )
    drives = [device] if device else list(devices if devices is not None else find_devices())
    if not drives:
        raise BurnerError(
            f"{tool} is installed but no CD/DVD writer drive was found (/dev/sr0 ...). Connect a drive, "
            "or export to an ISO image or a folder instead."
        )
    return Burner(tool, executable, drives[0])


def burn(
    burner: Burner, iso_path: Path, should_stop: Callable[[], bool] | None = None, timeout: float = 3600.0
) -> str:
    """Write ``iso_path`` to the disc; returns the tool's output.

    Raises
    ------
    BurnerError
        When the tool fails, is stopped by ``should_stop``, or takes longer than ``timeout``.
    """
    command = burner.command(iso_path)
    log.info("burning %s with %s on %s", iso_path.name, burner.tool, burner.device)
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        raise BurnerError(f"{burner.tool} could not be started ({exc}).") from exc
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if (should_stop is not None and should_stop()) or time.monotonic() > deadline:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            raise BurnerError(f"Burning with {burner.tool} was stopped; the disc may be unusable.")
        time.sleep(0.2)
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-5:])
        raise BurnerError(f"{burner.tool} failed (exit code {process.returncode}): {tail}")
    return output
