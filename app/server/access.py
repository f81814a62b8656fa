"""Which calling AEs may associate with the server's SCP AEs (the reference's "known hosts").

With ``restrict_to_known_peers`` on, an A-ASSOCIATE-RQ is accepted only when its Calling AE
Title is one of ``[[server.known_peers]]`` or ``[[server.destinations]]`` *and* the request
comes from that entry's host (matched by IP address; host names are resolved once, when the
AE starts). With ``allow_loopback`` (the default) any calling AE on this machine (127.0.0.0/8,
::1) is accepted as well. Any other request is rejected permanent, source service-user,
reason 3, calling AE title not recognised (PS3.8 9.3.4, Table 9-21), with a WARNING naming
the calling AE title and address (never patient data).

Every SCP AE gets the check from :func:`app.server.scp.make_scp_ae` and
:func:`app.server.scp.serve`; nothing else needs wiring.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pynetdicom import evt

from app.core.config import ServerConfig

LOGGER = logging.getLogger(__name__)

#: A-ASSOCIATE-RJ: rejected permanent, DUL service-user, calling AE title not recognised.
REJECT_CALLING_AE = (0x01, 0x01, 0x03)


def _normal_ip(address: str) -> str:
    """An IP address in canonical form (IPv4-mapped IPv6 as IPv4); unparsable text unchanged."""
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return address.strip()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(_normal_ip(address)).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=256)
def resolve(host: str) -> frozenset[str]:
    """The IP addresses of ``host`` (an address or a name); empty when it cannot be resolved.

    Cached: every SCP AE of the process builds its policy at start from the same names.
    """
    host = host.strip()
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return frozenset({_normal_ip(host)})
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        LOGGER.warning("Known peer host %r cannot be resolved (%s): no association from it is accepted", host, exc)
        return frozenset()
    return frozenset(_normal_ip(str(info[4][0])) for info in infos)


@dataclass(frozen=True)
class PeerPolicy:
    """The allow-list of calling AEs, with host names already resolved.

    Parameters
    ----------
    restrict
        ``restrict_to_known_peers``: False admits everyone.
    allow_loopback
        Admit any calling AE connecting from this machine.
    peers
        Calling AE title -> the IP addresses it may connect from.
    """

    restrict: bool = False
    allow_loopback: bool = True
    peers: Mapping[str, frozenset[str]] | None = None

    @classmethod
    def from_config(cls, config: ServerConfig, called_ae_title: str | None = None) -> PeerPolicy:
        """The policy of ``config`` for our AE ``called_ae_title``: the known peers allowed to
        call it (all AEs when their ``called_ae_titles`` is empty; every peer when
        ``called_ae_title`` is None) and the destinations, host names resolved now."""
        if not config.restrict_to_known_peers:
            return cls(False, config.allow_loopback, {})
        entries: Iterable[tuple[str, str]] = [
            *(
                (p.ae_title, p.host)
                for p in config.known_peers
                if called_ae_title is None or not p.called_ae_titles or called_ae_title in p.called_ae_titles
            ),
            *((d.ae_title, d.host) for d in config.destinations),
        ]
        peers: dict[str, frozenset[str]] = {}
        resolved: dict[str, frozenset[str]] = {}
        for title, host in entries:
            if host not in resolved:
                resolved[host] = resolve(host)
            peers[title.strip()] = peers.get(title.strip(), frozenset()) | resolved[host]
        return cls(True, config.allow_loopback, peers)

    def admits(self, calling_ae_title: str, address: str) -> bool:
        """Whether ``calling_ae_title`` connecting from IP ``address`` may associate."""
        if not self.restrict:
            return True
        if self.allow_loopback and _is_loopback(address):
            return True
        return _normal_ip(address) in (self.peers or {}).get(calling_ae_title.strip(), frozenset())

    def on_requested(self, event: Any) -> None:
        """``EVT_REQUESTED``: reject a calling AE that is not admitted (PS3.8 9.3.4, reason 3).

        A request with a wrong Called AE Title is left to pynetdicom (reason 7). Never raises.
        """
        if not self.restrict:
            return
        try:
            assoc = event.assoc
            request = assoc.requestor.primitive
            called = str(getattr(request, "called_ae_title", "") or "").strip()
            if called != str(assoc.acceptor.ae_title).strip() or assoc.is_rejected or assoc.is_aborted:
                return
            calling = str(getattr(request, "calling_ae_title", "") or "").strip()
            address = str(assoc.requestor.address or "")
            if self.admits(calling, address):
                return
            if calling in (self.peers or {}):
                LOGGER.warning(
                    "Association from calling AE %r at %s to %s rejected: that AE is known from another host "
                    "(check its host in [[server.known_peers]] or [[server.destinations]])",
                    calling, address, called,
                )
            else:
                LOGGER.warning(
                    "Association from calling AE %r at %s to %s rejected: not a known peer "
                    "(add it to [[server.known_peers]] or set restrict_to_known_peers = false)",
                    calling, address, called,
                )
            assoc.acse.send_reject(*REJECT_CALLING_AE)
            evt.trigger(assoc, evt.EVT_REJECTED, {})
            assoc.kill()
        except Exception:  # an event handler must not take the association thread down unexplained
            LOGGER.exception("The calling-AE check failed; the association is aborted")
            try:
                event.assoc.abort()
            except Exception:
                pass
