"""HTTP caching of outbound fetches over real TLS connections: fresh hits make no request,
stale documents are revalidated with their ETag, no-store and errors are never kept, and
concurrent fetches of one URL make one request. The freshness rules with plain values are in
test_outbound_rules.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from tests.support.tls import (
    MisbehavingServer,
    Pki,
    Seen,
    answer,
    fetch_from,
    loopback_policy,
    make_pki,
    respond,
)
from valetkey.server.outbound import FetchCache, FetchedDocument
from valetkey.server.outbound_errors import UnexpectedStatus

pytestmark = pytest.mark.e2e

NOW = 1_700_000_000.0
DOC = {"client_id": "https://docs.test/client.json", "redirect_uris": ["https://app.test/cb"]}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), dns_names=("docs.test",))


def cached(
    pki: Pki, routes: dict[str, Any], times: Sequence[float], path: str = "/d"
) -> tuple[list[FetchedDocument], MisbehavingServer]:
    """Fetch ``path`` once at each of ``times`` (seconds after NOW) through one cache."""

    async def scenario() -> tuple[list[FetchedDocument], MisbehavingServer]:
        cache, rules = FetchCache(), loopback_policy(pki)
        async with MisbehavingServer(routes, tls=pki) as server:
            documents = [await fetch_from(server, path, rules, cache, NOW + t) for t in times]
        return documents, server

    return asyncio.run(scenario())


def test_a_fresh_document_comes_from_the_cache_without_a_request(pki: Pki) -> None:
    route = answer(DOC, headers={"Cache-Control": "max-age=600"})
    documents, server = cached(pki, {"/d": route}, [0, 599, 601])
    assert [d.source for d in documents] == ["network", "cache", "network"]
    assert len(server.requests) == 2
    assert documents[1].data == DOC and documents[1].fresh_until == NOW + 600
    assert [c.rule for c in documents[1].checks] == ["outbound_cache_fresh"]


def test_freshness_has_a_floor_an_attacker_cannot_lower(pki: Pki) -> None:
    route = answer(DOC, headers={"Cache-Control": "max-age=0"})
    documents, server = cached(pki, {"/d": route}, [0, 59, 61])
    assert [d.source for d in documents] == ["network", "cache", "network"]
    assert len(server.requests) == 2


def test_a_stale_document_is_revalidated_with_its_etag(pki: Pki) -> None:
    async def etagged(seen: Seen, writer: asyncio.StreamWriter) -> None:
        if seen.headers.get("if-none-match") == '"v1"':
            await respond(writer, 304, {"ETag": '"v1"', "Cache-Control": "max-age=120"})
        else:
            await answer(DOC, headers={"ETag": '"v1"', "Cache-Control": "max-age=60"})(seen, writer)

    documents, server = cached(pki, {"/d": etagged}, [0, 61, 180, 182])
    assert [d.source for d in documents] == ["network", "revalidated", "cache", "revalidated"]
    assert [s.headers.get("if-none-match") for s in server.requests] == [None, '"v1"', '"v1"']
    assert all(d.data == DOC for d in documents)
    assert documents[1].fresh_until == NOW + 61 + 120  # the 304's Cache-Control replaced max-age


def test_a_changed_document_replaces_the_cached_one(pki: Pki) -> None:
    versions = iter([{"v": 1}, {"v": 2}])

    async def changing(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await answer(next(versions), headers={"ETag": '"x"', "Cache-Control": "max-age=60"})(
            seen, writer
        )

    documents, _ = cached(pki, {"/d": changing}, [0, 61, 62])
    assert [(d.source, d.data) for d in documents] == [
        ("network", {"v": 1}),
        ("network", {"v": 2}),
        ("cache", {"v": 2}),
    ]


def test_no_store_is_never_kept_and_no_cache_is_revalidated_each_time(pki: Pki) -> None:
    routes = {
        "/no-store": answer(DOC, headers={"Cache-Control": "no-store", "ETag": '"s"'}),
        "/no-cache": answer(DOC, headers={"Cache-Control": "no-cache", "ETag": '"c"'}),
    }
    stored, server = cached(pki, routes, [0, 0], path="/no-store")
    assert [d.source for d in stored] == ["network", "network"]
    assert [s.headers.get("if-none-match") for s in server.requests] == [None, None]
    revalidated, server = cached(pki, routes, [0, 1], path="/no-cache")
    assert [s.headers.get("if-none-match") for s in server.requests] == [None, '"c"']
    assert revalidated[1].source == "network"  # the route answers 200 again, never 304


def test_errors_are_not_cached(pki: Pki) -> None:
    statuses = iter([500, 200])

    async def flaky(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await answer(DOC, status=next(statuses))(seen, writer)

    async def scenario() -> FetchedDocument:
        cache, rules = FetchCache(), loopback_policy(pki)
        async with MisbehavingServer({"/d": flaky}, tls=pki) as server:
            with pytest.raises(UnexpectedStatus):
                await fetch_from(server, "/d", rules, cache)
            return await fetch_from(server, "/d", rules, cache)

    assert asyncio.run(scenario()).source == "network"


def test_concurrent_fetches_of_one_url_make_one_request(pki: Pki) -> None:
    async def slow(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.2)
        await answer(DOC)(seen, writer)

    async def scenario() -> tuple[list[FetchedDocument], MisbehavingServer]:
        cache, rules = FetchCache(), loopback_policy(pki)
        async with MisbehavingServer({"/d": slow}, tls=pki) as server:
            documents = await asyncio.gather(
                *(fetch_from(server, "/d", rules, cache) for _ in range(5))
            )
        return list(documents), server

    documents, server = asyncio.run(scenario())
    assert server.connections == 1 and all(d.data == DOC for d in documents)
    documents[0].data["client_id"] = "changed"  # every waiter has its own copy
    assert documents[1].data == DOC


def test_callers_get_their_own_copy_of_a_cached_document(pki: Pki) -> None:
    async def scenario() -> FetchedDocument:
        cache, rules = FetchCache(), loopback_policy(pki)
        async with MisbehavingServer({"/d": answer(DOC)}, tls=pki) as server:
            first = await fetch_from(server, "/d", rules, cache)
            first.data["redirect_uris"].append("https://evil.test/cb")
            return await fetch_from(server, "/d", rules, cache)

    again = asyncio.run(scenario())
    assert again.source == "cache" and again.data == DOC
