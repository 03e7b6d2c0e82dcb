"""Clients named by a Client ID Metadata Document: fetch the document at the ``client_id`` URL
through the SSRF-safe fetcher (``server.outbound``: https only, public addresses only unless the
development switch allows loopback, no redirects, a size cap, short timeouts, HTTP caching),
judge it with ``core.client_id_document``, and keep the last accepted client per URL so that
synchronous lookups (introspection, logout, the device pages) still know it.

Each fetch is an event: ``client.document_accepted`` with the rules that passed, or
``client.document_refused`` naming the rule that failed; the caller answers ``invalid_client``.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from valetkey.core.client_id_document import (
    CIMD,
    DOCUMENT_SPEC,
    DocumentRefused,
    check_document,
    check_url,
)
from valetkey.core.errors import InvalidClient
from valetkey.core.events import Check, Emitter
from valetkey.core.models import Client
from valetkey.server.outbound import FetchCache, FetchRefused, OutboundPolicy, fetch_json

PURPOSE = "client metadata document"
KEEP = 1024  # accepted clients remembered for synchronous lookups
HOSTS = 10_000  # hosts whose recent fetches are counted


@dataclass
class ClientDocuments:
    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    cache: FetchCache = field(default_factory=FetchCache)
    # Anyone can make the server fetch a URL (refusals are never cached): at most this many
    # requests to one host per window, so the server cannot be used to flood a site.
    fetches_per_host: int = 30
    window: float = 60.0
    _accepted: OrderedDict[str, Client] = field(default_factory=OrderedDict)
    _fetches: dict[str, deque[float]] = field(default_factory=dict)

    def known(self, url: str) -> Client | None:
        """The client from the last document accepted for ``url`` (no fetch)."""
        return self._accepted.get(url)

    async def load(self, url: str, now: float, emit: Emitter, flow_id: str) -> Client:
        """The client the document at ``url`` describes, fetched or from the HTTP cache;
        InvalidClient (with its event) when the URL or the document is refused."""
        try:
            check_url(url)
            self._admit(url, now)
            document = await fetch_json(
                url, purpose=PURPOSE, policy=self.policy, cache=self.cache, now=now
            )
            metadata = check_document(url, document.data)
        except FetchRefused as refused:
            self._accepted.pop(url, None)
            _refused(emit, flow_id, url, refused.check)
            raise InvalidClient(
                refused.description, rule=refused.rule, spec=refused.spec, detail=refused.detail
            ) from None
        except DocumentRefused as refused:
            self._accepted.pop(url, None)
            check = Check(refused.rule, "fail", refused.spec, refused.description)
            _refused(emit, flow_id, url, check)
            raise InvalidClient(refused.description, rule=refused.rule, spec=refused.spec) from None
        client = metadata.client(url, None)
        self._accepted[url] = client
        self._accepted.move_to_end(url)
        while len(self._accepted) > KEEP:
            self._accepted.popitem(last=False)
        if document.source != "cache":
            emit(
                "client.document_accepted",
                flow_id,
                channel="back",
                source="authorization_server",
                target="client",
                summary=f"Client metadata document {document.source}: {url}",
                checks=(*document.checks, Check("check_document_client_id", "pass", DOCUMENT_SPEC)),
                data={"client_id": url, "source": document.source, "address": document.address},
            )
        return client

    def _admit(self, url: str, now: float) -> None:
        """Count a fetch that will reach the network against its host's budget."""
        cached = self.cache.get(url)
        if cached is not None and now < cached.fresh_until:
            return
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._fetches and len(self._fetches) >= HOSTS:
            self._fetches.clear()
        times = self._fetches.setdefault(host, deque())
        while times and not 0 <= now - times[0] < self.window:
            times.popleft()
        if len(times) >= self.fetches_per_host:
            raise DocumentRefused(
                f"too many client metadata documents were fetched from {host[:100]} in the last "
                f"{self.window:g} seconds; try again later",
                "check_document_fetch_rate",
                f"{CIMD} §4.3",
            )
        times.append(now)


def _refused(emit: Emitter, flow_id: str, url: str, check: Check) -> None:
    emit(
        "client.document_refused",
        flow_id,
        channel="back",
        source="authorization_server",
        target="client",
        summary=f"Client metadata document refused ({check.rule}): {url[:200]}",
        checks=(check,),
        error="invalid_client",
        data={"client_id": url[:500], "rule": check.rule},
    )
