"""Checks on URLs a partner hands us, before we call them.

A partner's versions URL, endpoints and pagination links are input from
outside. Calling whatever it says would let it point the node at its own
loopback or internal network (SSRF). So: https only, and every address the
host resolves to must be public, unless the operator runs local partners
(``OCPI_ALLOW_INSECURE_PARTNERS=1``: tests, development, a lab).
"""

import asyncio
import ipaddress
import os
import socket
import time

import httpx

_RESOLVED: dict[str, tuple[float, list[str]]] = {}
_CACHE_SECONDS = 300.0


class UnsafeUrl(ValueError):
    """A partner URL we refuse to call."""


class UnresolvableHost(UnsafeUrl):
    """The host does not resolve: the partner cannot be reached (not a bad URL)."""


def insecure_partners_allowed() -> bool:
    return os.environ.get("OCPI_ALLOW_INSECURE_PARTNERS") == "1"


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SITE_LOCAL:
            return False
        inner = _embedded_v4(ip)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast


async def _addresses(host: str) -> list[str]:
    cached = _RESOLVED.get(host)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnresolvableHost(f"cannot resolve host {host!r}: {exc}") from None
    found = sorted({str(info[4][0]) for info in infos})
    _RESOLVED[host] = (time.monotonic() + _CACHE_SECONDS, found)
    return found


def check_syntax(url: str) -> httpx.URL:
    """The URL parsed, or ``UnsafeUrl`` when it is not an absolute http(s) URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeUrl(f"{url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UnsafeUrl(f"{url!r} is not an absolute http(s) URL")
    return parsed


async def check_partner_url(url: str) -> httpx.URL:
    """``url`` parsed (the call goes out with it, not parsed again), or ``UnsafeUrl``
    unless we may call it."""
    parsed = check_syntax(url)
    if insecure_partners_allowed():
        return parsed
    if parsed.scheme != "https":
        raise UnsafeUrl(f"{url!r} is not https (set OCPI_ALLOW_INSECURE_PARTNERS=1 "
                        "only for local test partners)")
    host = parsed.host
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:  # a name: resolved as the wire spells it (IDNA 2008), as it is called
        addresses = await _addresses(parsed.raw_host.decode("ascii"))
    for address in addresses:
        if not _public(address):
            raise UnsafeUrl(f"{url!r} points to a non-public address ({address})")
    return parsed
