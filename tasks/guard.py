"""Outbound address guard: the fetcher sends nothing to an address that is not public.

The host is resolved with the injected resolver and refused (outcome ``blocked``) if any address is
not public. A source's ``allow_private_network`` lifts that for loopback and private addresses,
never for link-local and cloud-metadata ones (`always_refused_reason`). Known limit: DNS rebinding
between our check and urllib3's own resolution. It is mitigated (not prevented) by checking the
connected peer's address once headers arrive (`check_peer`): the request has then been sent, but no
body is read and the outcome is ``blocked``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from wirehouse.tasks.fetch_errors import Fatal, Retriable, one_line
from wirehouse.urls import url_host

# Cloud instance metadata services (credentials): AWS/GCP/Azure/OpenStack, AWS ECS tasks, AWS over
# IPv6, Alibaba Cloud, Oracle Cloud. Refused even for sources with allow_private_network.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)


def non_public_reason(address: str) -> str | None:
    """Why an IP address must not be fetched (e.g. "private"), or None when it is public.

    Args:
        address: an IPv4 or IPv6 address, optionally with an IPv6 zone (``fe80::1%eth0``).

    Returns:
        A short adjective, or None for a globally routable unicast address.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "unparseable"
    always = always_refused_reason(address)
    if always:
        return always
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            reason = non_public_reason(str(embedded))
            if reason:
                return reason
    for name in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if not ip.is_global:  # e.g. 100.64.0.0/10 shared address space
        return "non-global"
    return None


def always_refused_reason(address: str) -> str | None:
    """Why an address is refused even for a source with ``allow_private_network``: cloud metadata
    services (`METADATA_ADDRESSES`) and link-local addresses (169.254.0.0/16, fe80::/10), where
    credentials live and no news site does. The opt-in is for loopback and LAN sites.

    Args:
        address: an IPv4 or IPv6 address, optionally with an IPv6 zone.

    Returns:
        "cloud-metadata", "link-local", or None.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    forms = [ip]
    if isinstance(ip, ipaddress.IPv6Address):  # the same address wrapped: ::ffff:169.254.169.254, 6to4, Teredo
        forms += [a for a in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None) if a is not None]
    if any(form in METADATA_ADDRESSES for form in forms):
        return "cloud-metadata"
    if any(form.is_link_local for form in forms):
        return "link-local"
    return None


def refusal(address: str, allow_private: bool) -> str | None:
    """The guard's one-line reason to refuse an address, or None to allow it."""
    if allow_private:
        reason = always_refused_reason(address)
        return f"{reason} address {address}, refused even with allow_private_network" if reason else None
    reason = non_public_reason(address)
    return f"{reason} address {address}" if reason else None


def check_host(url: str, allow_private: bool, resolver: Callable[..., list]) -> None:
    """Refuse (outcome blocked) when the host resolves to any non-public address; with
    ``allow_private``, still when it resolves to a link-local or cloud-metadata one.

    Args:
        url: the URL about to be requested.
        allow_private: the source's ``allow_private_network``.
        resolver: ``getaddrinfo``-compatible.

    Raises:
        Fatal: blocked, or the lookup failed for good.
        Retriable: the lookup failed temporarily.
    """
    host = url_host(url).strip("[]")
    port = urlsplit(url).port or (443 if url.startswith("https:") else 80)
    try:
        infos = resolver(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if allow_private:
            return  # as before the opt-in was checked here: the connection attempt reports it
        if exc.errno == socket.EAI_AGAIN:
            raise Retriable(one_line(f"DNS lookup for {host} failed temporarily: {exc}")) from None
        raise Fatal("error", one_line(f"DNS lookup for {host} failed: {exc}")) from None
    except (OSError, UnicodeError) as exc:
        if allow_private:
            return
        raise Fatal("error", one_line(f"DNS lookup for {host} failed: {exc}")) from None
    if not infos and not allow_private:
        raise Fatal("error", f"DNS lookup for {host} returned no address")
    for info in infos:
        address = str(info[4][0])
        reason = refusal(address, allow_private)
        if reason:
            raise Fatal("blocked", f"{host} resolves to {reason}")


def check_peer(resp: requests.Response, url: str, allow_private: bool) -> None:
    """Mitigate DNS rebinding: the address we actually connected to must be allowed, too.
    (Not for a session with proxies: its peer is the proxy, not the site.)

    Raises:
        Fatal: blocked.
    """
    peer = peer_address(resp)
    reason = refusal(peer, allow_private) if peer else None
    if reason:
        raise Fatal("blocked", f"{url_host(url)} connected to {reason}")


def peer_address(resp: requests.Response) -> str | None:
    """The IP address the response came from, when the socket is still reachable.

    There is no public API for this: try urllib3's connection, then (when http.client already
    detached the socket from a "Connection: close" response) the response's own socket.
    """
    raw = resp.raw
    candidates = (
        lambda: raw._connection.sock,  # noqa: SLF001
        lambda: raw._fp.fp.raw._sock,  # noqa: SLF001
    )
    for get_sock in candidates:
        try:
            sock = get_sock()
            if sock is not None:
                return str(sock.getpeername()[0])
        except Exception:
            continue
    return None
