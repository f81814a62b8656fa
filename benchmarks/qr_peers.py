"""The Q/R benchmarks' servers and clients: ``python -m app.server`` and DCMTK ``dcmqrscp``
on loopback ports, and two C-FIND clients (DCMTK ``findscu``, one process per query, and a
pynetdicom SCU holding one association).

DCMTK's tools run with ``dcmtk_env()`` (``TCP_NODELAY=1``, the virtual environment's bin
off the PATH so that pynetdicom's own ``findscu``/``movescu`` scripts never shadow DCMTK's).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]
from store_throughput import REPO, dcmtk_env, free_port, stop, wait_ready

from app.server.scu import keep_responses

LIGHTBOX_QR_AET = "DICOM_QR_SCP"
DCMQRSCP_AET = "DCMQRSCP"
CLIENT_AET = "BENCHSCU"
#: The largest PDU both servers accept (dcmqrscp's upper bound, Lightbox's default).
MAX_PDU = 131072


def study_identifier(keys: Sequence[tuple[str, str]], return_keys: Sequence[str]) -> Dataset:
    """A study-level C-FIND identifier: the matching keys, then the return keys (empty)."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    for keyword in return_keys:
        setattr(ds, keyword, "")
    for keyword, value in keys:
        setattr(ds, keyword, value)
    return ds


# -- servers ----------------------------------------------------------------------------


def start_lightbox(
    data_dir: Path, work: Path, destinations: Sequence[tuple[str, int]] = ()
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """``python -m app.server`` on ``data_dir``, every AE on a free port; returns it and its ready line's data
    (``info["qr"]["port"]``, ``info["storage"][0]["port"]``).

    ``destinations`` are (AE title, port) of C-MOVE destinations on 127.0.0.1.
    """
    config = work / f"lightbox-{data_dir.name}.toml"
    lines = [
        "[server]", f'data_dir = "{data_dir.as_posix()}"', "http_port = 0", 'dicom_host = "127.0.0.1"',
        f"max_pdu = {MAX_PDU}", "[server.qr]", f'ae_title = "{LIGHTBOX_QR_AET}"', "port = 0",
        "[server.mwl]", "port = 0", "[[server.storage]]", 'ae_title = "DICOM_STORAGE"', "port = 0",
    ]
    for title, port in destinations:
        lines += ["[[server.destinations]]", f'ae_title = "{title}"', 'host = "127.0.0.1"', f"port = {port}"]
    config.write_text("\n".join(lines) + "\n")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.server", "--data-dir", str(data_dir), "--config", str(config),
         "--log-level", "WARNING"],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env=env,
    )
    return proc, wait_ready(proc)


def _wait_listening(proc: subprocess.Popen[bytes], port: int, what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    stop_group(proc)
    raise SystemExit(f"{what} did not start listening on port {port}")


def start_dcmqrscp(
    work: Path, areas: dict[str, Path], destinations: Sequence[tuple[str, int]] = ()
) -> tuple[subprocess.Popen[bytes], int]:
    """DCMTK ``dcmqrscp`` (forking mode) serving one AE title per storage area; returns it and its port.

    Each area allows 500 studies (``DB_UpperMaxStudies``, a compile-time bound of DCMTK) and
    1 GB per study. ``destinations`` (AE title, port) are move destinations on localhost
    (its HostTable takes host names, not addresses).
    """
    port = free_port()
    hosts = [f"dest{n} = ({title}, localhost, {dport})" for n, (title, dport) in enumerate(destinations)]
    aes = [f"{title} {area} RW (500, 1024mb) ANY" for title, area in areas.items()]
    config = work / "dcmqrscp.cfg"
    config.write_text(
        "\n".join([
            f"NetworkTCPPort = {port}", f"MaxPDUSize = {MAX_PDU}", "MaxAssociations = 16",
            "HostTable BEGIN", *hosts, "HostTable END", "VendorTable BEGIN", "VendorTable END",
            "AETable BEGIN", *aes, "AETable END",
        ]) + "\n"
    )
    # Its own process group: it forks a child per association, stopped with it.
    proc = subprocess.Popen(
        ["dcmqrscp", "-c", str(config), str(port)], env=dcmtk_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    _wait_listening(proc, port, "dcmqrscp")
    return proc, port


def start_storescp(out: Path) -> tuple[subprocess.Popen[bytes], int]:
    """DCMTK ``storescp -od OUT`` (AE STORESCP, 128 KiB PDU) on a free port, in its own process group."""
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        ["storescp", "-aet", "STORESCP", "-pdu", str(MAX_PDU), "-od", str(out), str(port)],
        env=dcmtk_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    _wait_listening(proc, port, "storescp")
    return proc, port


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a DCMTK server started in its own process group, with the children it forked."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    stop(proc)


# -- clients ----------------------------------------------------------------------------


def findscu(
    port: int, called_ae: str, identifier: Dataset, *, repeat: int = 1, count: bool = False
) -> tuple[float, int]:
    """One ``findscu -S`` process (Study Root) sending the query ``repeat`` times on one association.

    Returns the wall time divided by ``repeat`` and, with ``count``, the number of matches
    of the first query (its ``-v`` log, read; otherwise it runs ``-q``, since printing every
    response would weigh on the time, and the count is -1).
    """
    args = ["findscu", "-v" if count else "-q", "-S", "-aet", CLIENT_AET, "-aec", called_ae, "-pdu", str(MAX_PDU)]
    if repeat > 1:
        args += ["--repeat", str(repeat)]
    for element in identifier:
        args += ["-k", f"{element.keyword}={element.value}"]
    start = time.perf_counter()
    result = subprocess.run([*args, "127.0.0.1", str(port)], env=dcmtk_env(), capture_output=True, text=True)
    seconds = (time.perf_counter() - start) / repeat
    log = result.stdout + result.stderr
    # findscu exits 0 even on a failed final response: read its log (PEERS.md).
    if result.returncode != 0 or (count and log.count("Received Final Find Response (Success)") != repeat):
        raise SystemExit(f"findscu to {called_ae} failed:\n{log[-2000:]}")
    return seconds, log.count("(Pending)") // repeat if count else -1


class HeldAssociation:
    """A pynetdicom Study Root C-FIND SCU on one association kept open between queries."""

    def __init__(self, port: int, called_ae: str) -> None:
        ae = AE(ae_title=CLIENT_AET)
        ae.maximum_pdu_size = MAX_PDU
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        self._assoc: Association = ae.associate("127.0.0.1", port, ae_title=called_ae)
        if not self._assoc.is_established:
            raise SystemExit(f"could not open an association to {called_ae} on port {port}")
        keep_responses(self._assoc)  # pynetdicom's reactor race would stall a query now and then
        self._sock_nodelay()

    def _sock_nodelay(self) -> None:
        sock = getattr(self._assoc.dul.socket, "socket", None)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def find(self, identifier: Dataset) -> tuple[float, int]:
        """One C-FIND: the time from the request to the final response, and the number of matches."""
        matches = 0
        start = time.perf_counter()
        for status, _ in self._assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind):
            code = int(status.Status) if status is not None and "Status" in status else -1
            if code in (0xFF00, 0xFF01):
                matches += 1
            elif code != 0x0000:
                raise SystemExit(f"C-FIND failed with status 0x{code & 0xFFFF:04X}")
        return time.perf_counter() - start, matches

    def close(self) -> None:
        self._assoc.release()
