"""Running sans-I/O flows: a flow is a generator that yields requests and receives responses.

The same flow runs on a sync ``httpx.Client`` (:func:`run`) or an ``httpx.AsyncClient``
(:func:`arun`); the flows themselves never touch the network.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import TypeVar

import httpx

from valetkey.client.errors import UnexpectedResponse

T = TypeVar("T")
Flow = Generator[httpx.Request, httpx.Response, T]
Observer = Callable[[httpx.Request, httpx.Response], None]


def run(flow: Flow[T], http: httpx.Client, observe: Observer | None = None) -> T:
    try:
        request = next(flow)
        while True:
            try:
                response = http.send(request)
                response.read()
            except httpx.TransportError as exc:
                raise UnexpectedResponse(f"cannot reach {request.url}: {exc}") from exc
            if observe:
                observe(request, response)
            request = flow.send(response)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def arun(flow: Flow[T], http: httpx.AsyncClient, observe: Observer | None = None) -> T:
    try:
        request = next(flow)
        while True:
            try:
                response = await http.send(request)
                await response.aread()
            except httpx.TransportError as exc:
                raise UnexpectedResponse(f"cannot reach {request.url}: {exc}") from exc
            if observe:
                observe(request, response)
            request = flow.send(response)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def with_headers(flow: Flow[T], headers: Mapping[str, str]) -> Flow[T]:
    """The same flow with ``headers`` set on every request it sends (a correlation id, ...)."""
    try:
        request = next(flow)
        while True:
            request.headers.update(headers)
            request = flow.send((yield request))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
