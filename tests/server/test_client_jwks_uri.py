"""A private_key_jwt client whose keys are at its jwks_uri, on both HTTP paths: fetched from a real
TLS server on loopback through server.outbound (development switch on, the test CA trusted), kept
in its HTTP cache, fetched once more for an unknown kid at most once a minute per client, and every
refused fetch answered invalid_client naming the outbound rule."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.conftest import InProcess, make_in_process
from tests.server import jwt_clients as j
from tests.support.docserver import DocumentServer, Reply, document
from tests.support.tls import Pki, make_pki
from valetkey.core import jose
from valetkey.server.outbound import OutboundPolicy

NEW_KEY = jose.generate_private_jwk("ES256", kid="svc-key-2")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), dns_names=("localhost",), ips=("127.0.0.1",))


@pytest.fixture(scope="module")
def docs(pki: Pki) -> Iterator[DocumentServer]:
    with DocumentServer(pki) as server:
        yield server


@pytest.fixture
def server(http_path: str, pki: Pki) -> Iterator[InProcess]:
    env = make_in_process(j.JWT_CONFIG, http_path=http_path, development_allow_loopback_fetch=True)
    env.state.client_keys.policy = OutboundPolicy(allow_loopback=True, verify=pki.client_context())
    with env.http:
        yield env
    env.store.close()


def register(server: InProcess, uri: str, client_id: str = "svc-key") -> None:
    """svc-key, now with its keys at ``uri`` (the store's client cache is on the server's clock)."""
    client = server.store.get_client("svc-key")
    assert client is not None
    server.store.upsert_client(replace(client, client_id=client_id, jwks=None, jwks_uri=uri))


def serve(docs: DocumentServer, path: str, reply: Reply) -> str:
    docs.routes[path] = reply
    docs.hits.pop(path, None)  # the document server is shared by the tests of this module
    return docs.url(path)


def token(server: InProcess, key: dict[str, object] = j.KEY) -> tuple[int, str]:
    r = j.post(server, "/token", j.signed(server, "/token", key=key))
    return r.status_code, r.text


def refused(server: InProcess, key: dict[str, object] = j.KEY) -> tuple[str, str]:
    r = j.post(server, "/token", j.signed(server, "/token", key=key))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    event = server.sink.named("client.assertion_refused")[-1]
    return str(event.data["rule"]), r.json()["error_description"]


def test_keys_are_fetched_once_and_kept_as_http_caching_allows(
    server: InProcess, docs: DocumentServer, http_path: str
) -> None:
    path = f"/jwks/{http_path}/cached"
    register(
        server, serve(docs, path, document(jose.jwks([j.KEY]), **{"Cache-Control": "max-age=300"}))
    )
    assert token(server)[0] == 200
    assert token(server)[0] == 200
    assert docs.hits[path] == 1


def test_a_rotated_key_is_found_by_fetching_once_more(
    server: InProcess, docs: DocumentServer, http_path: str
) -> None:
    path = f"/jwks/{http_path}/rotated"
    register(
        server, serve(docs, path, document(jose.jwks([j.KEY]), **{"Cache-Control": "max-age=300"}))
    )
    assert token(server)[0] == 200
    docs.routes[path] = document(jose.jwks([NEW_KEY]))  # the client rotated its key
    status, text = token(server, NEW_KEY)
    assert status == 200, text
    assert docs.hits[path] == 2


def test_unknown_kids_refetch_at_most_once_a_minute(
    server: InProcess, docs: DocumentServer, http_path: str
) -> None:
    path = f"/jwks/{http_path}/unknown"
    register(
        server, serve(docs, path, document(jose.jwks([j.KEY]), **{"Cache-Control": "max-age=3600"}))
    )
    assert token(server)[0] == 200
    for _ in range(3):  # an attacker's unknown kids: one fetch, then the cache
        assert refused(server, NEW_KEY)[0] == "check_assertion_key"
    assert docs.hits[path] == 2
    server.clock.advance(61)
    docs.routes[path] = document(jose.jwks([j.KEY, NEW_KEY]))
    assert token(server, NEW_KEY)[0] == 200
    assert docs.hits[path] == 3


@pytest.mark.parametrize(
    ("reply", "rule", "words"),
    [
        (Reply(404, b"{}"), "outbound_status_200", "jwks_uri could not be fetched"),
        (Reply(200, b"keys", {"Content-Type": "application/json"}), "outbound_json_syntax", "json"),
        (Reply(200, b"{}", {"Content-Type": "text/html"}), "outbound_json_content_type", "json"),
        (Reply(302, b"", {"Location": "https://127.0.0.1/x"}), "outbound_no_redirects", "redirect"),
    ],
)
def test_a_refused_fetch_is_invalid_client_naming_why(
    server: InProcess, docs: DocumentServer, http_path: str, reply: Reply, rule: str, words: str
) -> None:
    register(server, serve(docs, f"/jwks/{http_path}/{rule}", reply))
    found, description = refused(server)
    assert found == rule
    assert "jwks_uri could not be fetched" in description and words in description.lower()


def test_a_private_address_is_never_fetched(server: InProcess) -> None:
    register(server, "https://10.0.0.1/jwks")
    assert refused(server)[0] == "outbound_ip_literal"


def test_loopback_needs_the_development_switch(
    server: InProcess, docs: DocumentServer, pki: Pki, http_path: str
) -> None:
    path = f"/jwks/{http_path}/loop"
    register(server, serve(docs, path, document(jose.jwks([j.KEY]))))
    server.state.client_keys.policy = OutboundPolicy(verify=pki.client_context())
    assert refused(server)[0] == "outbound_port"  # loopback's port 8xxx: refused before DNS
    assert path not in docs.hits


def test_private_members_in_the_fetched_set_refuse_the_key(
    server: InProcess, docs: DocumentServer, http_path: str
) -> None:
    register(server, serve(docs, f"/jwks/{http_path}/private", document({"keys": [j.KEY]})))
    rule, description = refused(server)
    assert rule == "check_assertion_key" and "private" in description
