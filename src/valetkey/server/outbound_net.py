"""Resolve once, connect only to the addresses that were checked.

DNS rebinding defeats a check that resolves the host and then lets the HTTP library resolve it
again to connect. Here the host is resolved once, every address is checked, and the connection is
made through an httpcore network backend that knows only those addresses: the request keeps the
host name for TLS SNI and certificate verification, but no second lookup ever happens.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import contextmanager
from functools import cache

import httpcore
import httpx

from valetkey.server.outbound_address import Address, Target
from valetkey.server.outbound_errors import UnresolvableHost

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves ``(host, port)`` to IP address strings; tests inject one to play DNS."""


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve(target: Target, resolver: Resolver | None, purpose: str) -> list[Address]:
    """The addresses to check and then connect to: an IP literal is its own only address."""
    if target.literal is not None:
        return [target.literal]
    try:
        found = await (resolver or system_resolver)(target.host, target.port)
        addresses = [ipaddress.ip_address(a) for a in found]
    except (OSError, ValueError) as exc:
        raise UnresolvableHost(
            f"the host of the {purpose} URL could not be resolved", detail=f"{target.host}: {exc}"
        ) from exc
    if not addresses:
        raise UnresolvableHost(
            f"the host of the {purpose} URL could not be resolved", detail=f"{target.host}: none"
        )
    return addresses


@cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's verifying default (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), built once."""
    return httpx.create_ssl_context()


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to ``host`` only, and only at the checked ``addresses``, tried in order."""

    def __init__(self, host: str, addresses: Sequence[Address]) -> None:
        self._host = host
        self._addresses = [str(a) for a in addresses]
        self._inner = httpcore.AnyIOBackend()
        self.connected: str | None = None

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host != self._host:
            raise httpcore.ConnectError(f"{host!r} was not checked (only {self._host!r})")
        error = httpcore.ConnectError("no address to connect to")
        for address in self._addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            self.connected = address
            return stream
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("outbound fetches never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one connection pool whose backend is a ``PinnedBackend``: TLS
    still verifies the certificate for the URL's host name and sends it as SNI."""

    def __init__(self, host: str, addresses: Sequence[Address], ssl_context: ssl.SSLContext):
        self.backend = PinnedBackend(host, addresses)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=self.backend, max_connections=1, retries=0
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as httpx's, the cause kept (a TLS failure stays visible)."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise httpx.TimeoutException(str(exc)) from exc
    except httpcore.ConnectError as exc:
        raise httpx.ConnectError(str(exc)) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise httpx.TransportError(str(exc)) from exc
