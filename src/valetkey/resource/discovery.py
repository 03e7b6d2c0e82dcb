"""The authorization server's metadata (RFC 8414), fetched once and checked against the issuer."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from valetkey.core.discovery import oauth_metadata_url, same_issuer
from valetkey.core.errors import TemporarilyUnavailable

TIMEOUT = httpx.Timeout(5.0)


class Unavailable(TemporarilyUnavailable):
    """The authorization server could not be asked; the request cannot be decided right now."""


async def get_json(http: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"the authorization server's {what} could not be fetched; try again shortly",
            detail=f"{url}: {type(exc).__name__}",
        ) from exc
    if response.status_code != 200:
        raise Unavailable(
            f"the authorization server's {what} could not be fetched; try again shortly",
            detail=f"{url}: HTTP {response.status_code}",
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise Unavailable(f"the authorization server's {what} is not JSON", detail=url) from exc
    if not isinstance(body, dict):
        raise Unavailable(f"the authorization server's {what} is not a JSON object", detail=url)
    return body


class Discovery:
    """Fetches and caches the issuer's RFC 8414 metadata; a failed fetch is retried next time."""

    def __init__(self, issuer: str, http: httpx.AsyncClient) -> None:
        self.issuer = issuer
        self.http = http
        self._metadata: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is not None:
            return self._metadata
        async with self._lock:
            if self._metadata is None:
                body = await get_json(self.http, oauth_metadata_url(self.issuer), "metadata")
                # RFC 8414 §3.3: the issuer in the document must be identical to the one configured.
                if not same_issuer(body, self.issuer):
                    raise Unavailable(
                        "the authorization server's metadata names a different issuer",
                        detail=f"configured {self.issuer!r}, metadata says {body.get('issuer')!r}",
                    )
                self._metadata = body
        return self._metadata

    async def endpoint(self, name: str) -> str:
        metadata = await self.metadata()
        value = metadata.get(name)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise Unavailable(
                f"the authorization server's metadata has no {name}",
                detail=f"{name}={value!r}",
            )
        return value


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
