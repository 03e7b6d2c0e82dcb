"""One GET of a JSON document over a pinned connection, and the rules its response must pass."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from valetkey.server.outbound_address import Address, Target
from valetkey.server.outbound_cache import CACHE_HEADERS
from valetkey.server.outbound_errors import (
    ConnectionFailed,
    EncodedResponse,
    FetchRefused,
    FetchTimedOut,
    InvalidJson,
    NotJsonContentType,
    NotJsonObject,
    RedirectRefused,
    ResponseTooLarge,
    TlsFailed,
    UnexpectedStatus,
)
from valetkey.server.outbound_net import PinnedTransport

USER_AGENT = "valetkey (outbound fetch)"


@dataclass(frozen=True)
class Reply:
    status: int  # 200, or 304 to a conditional request
    headers: Mapping[str, str]  # the CACHE_HEADERS, keyed in lower case
    etag: str | None
    body: bytes
    address: str  # the checked address the connection was made to


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    connect_timeout: float
    read_timeout: float


async def get(
    target: Target,
    addresses: Sequence[Address],
    ssl_context: ssl.SSLContext,
    limits: Limits,
    purpose: str,
    etag: str | None,
) -> Reply:
    """GET ``target`` from one of ``addresses`` (already checked), TLS verified for its host."""
    transport = PinnedTransport(target.host, addresses, ssl_context)
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "identity",
        "User-Agent": USER_AGENT,
    }
    if etag:
        headers["If-None-Match"] = etag  # RFC 9111 §4.3.1
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    # trust_env=False: no proxy from the environment (it would connect instead of us), no .netrc
    async with httpx.AsyncClient(
        transport=transport, trust_env=False, follow_redirects=False, timeout=timeout
    ) as client:
        try:
            async with client.stream("GET", target.url, headers=headers) as response:
                check_response(response, purpose, limits.max_bytes, conditional=bool(etag))
                body = b""
                if response.status_code == 200:
                    body = await read_capped(response.aiter_raw(), limits.max_bytes, purpose)
                kept = {k: response.headers[k] for k in CACHE_HEADERS if k in response.headers}
                address = transport.backend.connected or ""
                new_etag = response.headers.get("etag")
                return Reply(response.status_code, kept, new_etag, body, address)
        except httpx.TimeoutException as exc:
            raise FetchTimedOut(
                f"the {purpose} URL did not answer in time", detail=repr(exc.__cause__)
            ) from exc
        except httpx.TransportError as exc:
            raise _connection_refusal(exc, purpose) from exc


def check_response(response: httpx.Response, purpose: str, cap: int, *, conditional: bool) -> None:
    status = response.status_code
    if status == 304 and conditional:
        return
    if 300 <= status < 400 and status != 304:  # CIMD draft-01 §4: redirects are never followed
        raise RedirectRefused(
            f"the {purpose} URL answered with a redirect (HTTP {status}); redirects are not "
            "followed: serve the document at this URL",
            detail=f"Location: {response.headers.get('location', '')}",
        )
    if status != 200:  # CIMD draft-01 §4: any other status is an error
        raise UnexpectedStatus(
            f"the {purpose} URL answered with HTTP {status}; it must answer 200",
            detail=f"status {status}",
        )
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):  # a compressed body could expand past the cap
        raise EncodedResponse(
            f"the {purpose} must be sent without Content-Encoding ({encoding} was used)",
            detail=encoding,
        )
    if not is_json_media_type(response.headers.get("content-type", "")):
        raise NotJsonContentType(
            f"the {purpose} must be served as application/json",
            detail=f"Content-Type: {response.headers.get('content-type', '')}",
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(purpose, cap, f"Content-Length: {declared}")


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or a more specific ``application/...+json`` (CIMD draft-01 §4.1)."""
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_capped(chunks: AsyncIterator[bytes], cap: int, purpose: str) -> bytes:
    """The whole body, or ``ResponseTooLarge`` as soon as it would pass ``cap`` bytes: nothing
    more is read (what is held is at most one network read, 64 KiB, past the cap)."""
    body = bytearray()
    async for chunk in chunks:
        if len(body) + len(chunk) > cap:
            raise _too_large(purpose, cap, f"more than {cap} bytes")
        body += chunk
    return bytes(body)


def _too_large(purpose: str, cap: int, detail: str) -> ResponseTooLarge:
    return ResponseTooLarge(f"the {purpose} is larger than {cap} bytes", detail=detail)


def _connection_refusal(exc: httpx.TransportError, purpose: str) -> FetchRefused:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        return TlsFailed(
            f"the TLS connection to the host of the {purpose} URL failed: its certificate must "
            "be valid for the host name and issued by a trusted authority",
            detail=str(cause),
        )
    return ConnectionFailed(
        f"the host of the {purpose} URL could not be reached", detail=repr(exc.__cause__ or exc)
    )


def parse_object(body: bytes, purpose: str) -> dict[str, Any]:
    """RFC 8259 strictly: UTF-8, no NaN or Infinity, no repeated member names; an object."""
    try:
        value = json.loads(
            body.decode("utf-8"), object_pairs_hook=_unique_members, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidJson(f"the {purpose} is not valid JSON", detail=str(exc)[:200]) from exc
    if not isinstance(value, dict):
        raise NotJsonObject(
            f"the {purpose} must be a JSON object", detail=f"a JSON {type(value).__name__}"
        )
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise ValueError(f"member {name!r} appears twice")
        members[name] = value
    return members


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
