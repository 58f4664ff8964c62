"""Where a request made on the model's behalf may go: never to loopback, private, link-local or metadata addresses.

A URL the model chose (a docs page, a redirect, a search result) could otherwise reach the cloud metadata service,
a database on the local network or a service on this machine (server-side request forgery). The rule is applied
after DNS resolution, at connect time, on every connection of a request, redirects included; the connection then
goes to the address that was checked, so a name that resolves differently the second time (DNS rebinding) gains
nothing. Origins the person configured (the Hub endpoint, the GitHub API, an MCP server in config.json) are
trusted as they are: a person may run them on their own network.

    client = guarded_client(trusted=[config.hf_endpoint], timeout=30)   # an httpx.AsyncClient
    await check_url(url)                                                # a ToolError if it may not be fetched
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from .registry import ToolError

Resolver = Callable[[str, int], list[str]]
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class BlockedDestination(ToolError):
    """A request on the model's behalf aimed at an address it may not reach."""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_allowed(address: str) -> bool:
    """Public unicast addresses only: no loopback, private, link-local (169.254.169.254), shared, reserved."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_global and not ip.is_multicast


def origin_key(url: str) -> tuple[str, int] | None:
    """(host, port) of a URL, the unit of trust; None when the URL has no host."""
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 443)
    except ValueError:
        return None
    return parts.hostname.lower().strip("[]"), port


def _env_proxy() -> str | None:
    proxies = urllib.request.getproxies()
    return proxies.get("https") or proxies.get("http")


class NetGuard:
    """The rule, with the origins to trust and the resolver (tests map names to addresses with their own)."""

    def __init__(self, trusted: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        self.trusted = {key for key in map(origin_key, trusted) if key is not None}
        self.resolver = resolver or _resolve

    def is_trusted(self, host: str, port: int) -> bool:
        return (host.lower().strip("[]"), port) in self.trusted

    def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses of host:port, or BlockedDestination."""
        try:
            found = self.resolver(host, port)
        except OSError as exc:
            raise BlockedDestination(f"{host} could not be resolved ({exc.strerror or exc})") from None
        if not found:
            raise BlockedDestination(f"{host} has no address")
        refused = [a for a in found if not address_allowed(a)]
        if refused:
            raise BlockedDestination(
                f"{host} resolves to {refused[0]}, a loopback, private, link-local or metadata address; requests "
                "on the model's behalf may not reach this machine, the local network or the cloud metadata "
                "service")
        return found

    async def check_url(self, url: str) -> None:
        """Refuse a URL whose host is not trusted and resolves to a forbidden address (or whose scheme is odd)."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise BlockedDestination(f"only http(s) URLs can be fetched, not {parts.scheme or 'a relative URL'!r}")
        key = origin_key(url)
        if key is None:
            raise BlockedDestination(f"{url!r} has no host")
        if not self.is_trusted(*key):
            await asyncio.to_thread(self.addresses, *key)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address (TLS still verifies the original host name)."""

    def __init__(self, guard: NetGuard, inner: httpcore.AsyncNetworkBackend, proxy: tuple[str, int] | None) -> None:
        self.guard, self.inner, self.proxy = guard, inner, proxy

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        target = host
        if not self.guard.is_trusted(host, port) and (host.lower(), port) != self.proxy:
            target = (await asyncio.to_thread(self.guard.addresses, host, port))[0]
        return await self.inner.connect_tcp(target, port, timeout=timeout, local_address=local_address,
                                            socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise BlockedDestination("unix sockets cannot be reached on the model's behalf")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(guard: NetGuard) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection passes the guard (a proxy from the environment is honoured;
    then the destination is checked per request by `guarded_client`'s hook, the proxy connects)."""
    proxy = _env_proxy()
    transport = httpx.AsyncHTTPTransport(proxy=proxy)
    pool = transport._pool
    # httpx has no public hook for the connection backend; fail closed if its shape ever changes.
    inner = getattr(pool, "_network_backend", None)
    if inner is None:
        raise RuntimeError("httpx's connection pool changed: the network guard cannot be installed")
    proxy_key = origin_key(proxy) if proxy else None
    pool._network_backend = _GuardedBackend(guard, inner, proxy_key)
    return transport


def guarded_client(*, trusted: Iterable[str] = (), resolver: Resolver | None = None,
                   **kwargs: Any) -> httpx.AsyncClient:
    """An httpx.AsyncClient for requests made on the model's behalf. `trusted`: URLs whose origins the person
    configured. Redirects (if followed) pass the same checks; httpx drops Authorization on a cross-origin hop."""
    guard = NetGuard(trusted, resolver)

    async def check(request: httpx.Request) -> None:
        await guard.check_url(str(request.url))

    hooks = kwargs.pop("event_hooks", None) or {}
    hooks = {**hooks, "request": [check, *hooks.get("request", [])]}
    return httpx.AsyncClient(transport=guarded_transport(guard), event_hooks=hooks, **kwargs)
