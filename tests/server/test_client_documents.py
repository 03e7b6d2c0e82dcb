"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-01) on both HTTP
paths: a client_id that is an https URL is fetched from a real TLS server on loopback (with the
development switch on and the test's CA trusted), judged by the same metadata rules as the
configuration file, and used through a whole code + PKCE flow; every refusal is an error with an
event naming its rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WEB_SECRET, InProcess, make_in_process
from tests.support.docserver import DocumentServer, Reply, document
from tests.support.flows import authorize_url, run_code_flow
from tests.support.tls import Pki, make_pki
from valetkey.server.client_documents import ClientDocuments
from valetkey.server.outbound import OutboundPolicy

CALLBACK = "http://127.0.0.1:9999/callback"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), dns_names=("localhost",), ips=("127.0.0.1",))


@pytest.fixture(scope="module")
def docs(pki: Pki) -> Iterator[DocumentServer]:
    with DocumentServer(pki) as server:
        yield server


def trusting(env: InProcess, pki: Pki) -> InProcess:
    assert env.state.documents is not None
    env.state.documents.policy = OutboundPolicy(allow_loopback=True, verify=pki.client_context())
    return env


@pytest.fixture
def cimd(http_path: str, pki: Pki) -> Iterator[InProcess]:
    env = make_in_process(http_path=http_path, development_allow_loopback_fetch=True)
    with env.http:
        yield trusting(env, pki)
    env.store.close()


def serve(docs: DocumentServer, path: str, reply: Reply | None = None, **fields: object) -> str:
    url = docs.url(path)
    base = {"client_id": url, "client_name": "Agent", "redirect_uris": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none"}  # fmt: skip
    docs.routes[path] = reply or document({**base, **fields})
    docs.hits.pop(path, None)  # the server is shared by the tests of this module
    return url


def refused_at_authorize(env: InProcess, client_id: str) -> tuple[str, str]:
    """The error page's text and the rule of the refusal event."""
    r = env.http.get(authorize_url(env.base, response_type="code", client_id=client_id,
                                   redirect_uri=CALLBACK, code_challenge="x" * 43,
                                   code_challenge_method="S256"))  # fmt: skip
    assert r.status_code == 400, r.text
    assert "location" not in r.headers  # never a redirect to a URI from a refused document
    [event] = env.sink.named("client.document_refused")
    assert event.error == "invalid_client"
    return r.text, event.checks[0].rule


def test_the_metadata_advertises_documents(server: InProcess) -> None:
    meta = server.http.get("/.well-known/oauth-authorization-server").json()
    assert meta["client_id_metadata_document_supported"] is True


def test_turned_off_a_url_is_an_unknown_client_and_nothing_is_fetched(
    docs: DocumentServer,
) -> None:
    env = make_in_process(client_id_metadata_documents=False)
    url = serve(docs, "/off.json")
    with env.http:
        meta = env.http.get("/.well-known/oauth-authorization-server").json()
        assert "client_id_metadata_document_supported" not in meta
        r = env.http.get(authorize_url(env.base, response_type="code", client_id=url,
                                       redirect_uri=CALLBACK))  # fmt: skip
        assert r.status_code == 400 and "location" not in r.headers
    env.store.close()
    assert docs.hits.get("/off.json") is None


def test_a_whole_code_flow_with_pkce_and_a_document_client_id(
    cimd: InProcess, docs: DocumentServer
) -> None:
    url = serve(docs, "/agent.json", client_name="Research Agent")
    result = run_code_flow(cimd.http, cimd.base, client_id=url, redirect_uri=CALLBACK)
    assert result.response.headers["location"].startswith(CALLBACK), result.response.text
    token = cimd.http.post("/token", data={
        "grant_type": "authorization_code", "code": result.params["code"], "client_id": url,
        "redirect_uri": CALLBACK, "code_verifier": result.verifier})  # fmt: skip
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "Bearer" and token.json()["refresh_token"]
    accepted = cimd.sink.named("client.document_accepted")
    assert accepted and accepted[0].data["source"] == "network"
    rules = [c.rule for c in accepted[0].checks]
    assert "outbound_resolved_address" in rules and "check_document_client_id" in rules


def test_the_consent_page_shows_the_documents_host(cimd: InProcess, docs: DocumentServer) -> None:
    url = serve(docs, "/consent.json", client_name="Totally Official App")
    page = cimd.http.get(authorize_url(cimd.base, response_type="code", client_id=url,
                                       redirect_uri=CALLBACK, code_challenge="x" * 43,
                                       code_challenge_method="S256", prompt="consent"))  # fmt: skip
    assert page.status_code == 200  # the sign-in page first
    from tests.support.forms import the_form

    form = the_form(page.text, str(page.url))
    consent = cimd.http.post(form.action, data={**form.fields, "username": "alice",
                                                "password": "wonderland"})  # fmt: skip
    assert 'class="client-host">An application from <strong>127.0.0.1</strong>' in consent.text


def test_the_document_is_cached_as_http_caching_allows(
    cimd: InProcess, docs: DocumentServer
) -> None:
    path = "/cached.json"
    url = serve(docs, path)
    docs.routes[path] = Reply(200, docs.routes[path].body,
                              {"Content-Type": "application/json", "Cache-Control": "max-age=600"})  # fmt: skip
    for _ in range(2):
        run_code_flow(cimd.http, cimd.base, client_id=url, redirect_uri=CALLBACK)
    assert docs.hits[path] == 1
    cimd.clock.advance(601)
    run_code_flow(cimd.http, cimd.base, client_id=url, redirect_uri=CALLBACK)
    assert docs.hits[path] == 2


def test_a_redirect_uri_not_in_the_document_is_refused(
    cimd: InProcess, docs: DocumentServer
) -> None:
    url = serve(docs, "/strict.json")
    r = cimd.http.get(authorize_url(cimd.base, response_type="code", client_id=url,
                                    redirect_uri="http://127.0.0.1:9999/elsewhere"))  # fmt: skip
    assert r.status_code == 400 and "location" not in r.headers


@pytest.mark.parametrize(
    ("reply", "fields", "rule", "says"),
    [
        (Reply(302, b"", {"Location": "https://127.0.0.1/other.json"}), {}, "outbound_no_redirects",
         "redirect"),
        (Reply(200, b'{"a": 1}' + b" " * 40_000), {}, "outbound_size_cap", "larger than"),
        (Reply(200, b"<html></html>", {"Content-Type": "text/html"}), {},
         "outbound_json_content_type", "JSON"),
        (Reply(200, b"{not json", {"Content-Type": "application/json"}), {}, "outbound_json_syntax",
         "JSON"),
        (None, {"client_id": "https://127.0.0.1/someone-else.json"}, "check_document_client_id",
         "must be exactly the URL"),
        (None, {"redirect_uris": ["http://evil.example/cb"]}, "check_redirect_uris",
         "redirect_uris[0]"),
        (None, {"redirect_uris": []}, "check_redirect_uri_registered", "redirect_uris"),
        (None, {"token_endpoint_auth_method": "client_secret_basic"},
         "check_document_public_client", "none"),
        (None, {"client_secret": "s3cret"}, "check_document_no_secret", "client_secret"),
    ],
)  # fmt: skip
def test_each_refusal_explains_itself(
    cimd: InProcess,
    docs: DocumentServer,
    reply: Reply | None,
    fields: dict[str, object],
    rule: str,
    says: str,
) -> None:
    path = f"/refused/{rule}.json"
    url = serve(docs, path, reply, **fields)
    text, event_rule = refused_at_authorize(cimd, url)
    assert event_rule == rule
    assert says.lower() in text.lower()


def test_a_document_on_a_private_address_is_never_fetched(cimd: InProcess) -> None:
    for n, url in enumerate(("https://10.0.0.7/client.json",
                             "https://169.254.169.254/latest/client.json")):  # fmt: skip
        cimd.sink.events.clear()
        text, rule = refused_at_authorize(cimd, url)
        assert rule == "outbound_ip_literal", n
        assert "not public" in text or "address" in text


def test_loopback_is_refused_without_the_development_switch(
    http_path: str, pki: Pki, docs: DocumentServer
) -> None:
    env = make_in_process(http_path=http_path)
    assert env.state.documents is not None
    ports = frozenset({443, docs.port})  # so that the address is what is refused
    env.state.documents.policy = OutboundPolicy(allowed_ports=ports, verify=pki.client_context())
    url = serve(docs, "/no-switch.json")
    with env.http:
        _, rule = refused_at_authorize(env, url)
    env.store.close()
    assert rule == "outbound_ip_literal"
    assert docs.hits.get("/no-switch.json") is None


def test_a_url_without_a_path_is_refused_before_any_fetch(cimd: InProcess) -> None:
    _, rule = refused_at_authorize(cimd, "https://127.0.0.1:1/")
    assert rule == "check_document_url_path"


def test_the_token_endpoint_refuses_a_client_whose_document_went_bad(
    cimd: InProcess, docs: DocumentServer, tmp_path: Path
) -> None:
    path = "/went-bad.json"
    url = serve(docs, path)
    docs.routes[path] = Reply(200, docs.routes[path].body,
                              {"Content-Type": "application/json", "Cache-Control": "no-store"})  # fmt: skip
    result = run_code_flow(cimd.http, cimd.base, client_id=url, redirect_uri=CALLBACK)
    serve(docs, path, client_id="https://127.0.0.1/impostor.json")
    token = cimd.http.post("/token", data={
        "grant_type": "authorization_code", "code": result.params["code"], "client_id": url,
        "redirect_uri": CALLBACK, "code_verifier": result.verifier})  # fmt: skip
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    assert "must be exactly the URL" in token.json()["error_description"]
    assert cimd.sink.named("client.document_refused")[-1].checks[0].rule == (
        "check_document_client_id"
    )


def test_tokens_stand_where_the_document_was_not_read_yet(
    cimd: InProcess, docs: DocumentServer
) -> None:
    """Another worker, or this one after a restart, has not fetched the document: introspection
    still answers for the client's tokens; with documents turned off it does not."""
    url = serve(docs, "/other-worker.json")
    result = run_code_flow(cimd.http, cimd.base, client_id=url, redirect_uri=CALLBACK)
    token = cimd.http.post("/token", data={
        "grant_type": "authorization_code", "code": result.params["code"], "client_id": url,
        "redirect_uri": CALLBACK, "code_verifier": result.verifier}).json()  # fmt: skip
    assert cimd.state.documents is not None
    cimd.state.documents = ClientDocuments(cimd.state.documents.policy)  # nothing read yet

    def introspect() -> dict[str, object]:
        r = cimd.http.post("/introspect", data={"token": token["access_token"]},
                           auth=("web", WEB_SECRET))  # fmt: skip
        assert r.status_code == 200, r.text
        return dict(r.json())

    answer = introspect()
    assert answer["active"] is True and answer["client_id"] == url
    assert docs.hits["/other-worker.json"] == 1  # introspection fetched nothing
    cimd.state.documents = None  # client_id_metadata_documents = false
    assert introspect()["active"] is False


def test_fetches_from_one_host_are_throttled(cimd: InProcess, docs: DocumentServer) -> None:
    """Refusals are never cached, so anyone could make the server fetch again and again: one host
    gets a bounded number of requests per window; cached documents do not count."""
    assert cimd.state.documents is not None
    cimd.state.documents.fetches_per_host = 2
    good = serve(docs, "/throttle-good.json")
    run_code_flow(cimd.http, cimd.base, client_id=good, redirect_uri=CALLBACK)  # fetch 1
    missing = [docs.url(f"/throttle-missing-{n}.json") for n in range(3)]
    for url in missing[:1]:  # fetch 2: a 404
        cimd.sink.events.clear()
        assert refused_at_authorize(cimd, url)[1] == "outbound_status_200"
    cimd.sink.events.clear()
    text, rule = refused_at_authorize(cimd, missing[1])
    assert rule == "check_document_fetch_rate" and "try again later" in text
    assert docs.hits.get("/throttle-missing-1.json") is None  # not requested
    again = run_code_flow(cimd.http, cimd.base, client_id=good, redirect_uri=CALLBACK)
    assert again.response.headers["location"].startswith(CALLBACK)  # from the cache: not counted
    assert docs.hits["/throttle-good.json"] == 1
    cimd.clock.advance(61)
    cimd.sink.events.clear()
    assert refused_at_authorize(cimd, missing[2])[1] == "outbound_status_200"


@pytest.mark.parametrize(
    "client_id",
    ["https://[abc/x.json", "https://", "https:///x.json", "https://exa mple.test/x.json",
     "https://example.test:99999/x.json", "https://user@example.test/x.json",
     "https://example.test/x.json#f", "https://example.test/x\x00.json", "HTTPS://%zz/x.json",
     "https://" + "a" * 5000 + "/x.json"],
)  # fmt: skip
def test_odd_client_id_urls_are_refused_not_crashes(cimd: InProcess, client_id: str) -> None:
    r = cimd.http.get("/authorize", params={"response_type": "code", "client_id": client_id,
                                            "redirect_uri": CALLBACK})  # fmt: skip
    assert r.status_code == 400 and "location" not in r.headers
    token = cimd.http.post("/token", data={"grant_type": "authorization_code", "code": "x",
                                           "client_id": client_id})  # fmt: skip
    assert token.status_code in (400, 401) and token.json()["error"] in (
        "invalid_client", "invalid_request")  # fmt: skip


def test_logout_reads_the_document_for_its_post_logout_redirect_uris(
    cimd: InProcess, docs: DocumentServer
) -> None:
    signed_out = "http://127.0.0.1:9999/signed-out"
    url = serve(docs, "/logout.json", post_logout_redirect_uris=[signed_out])
    query = {"client_id": url, "post_logout_redirect_uri": signed_out, "state": "s1"}
    r = cimd.http.get("/logout", params=query)  # nobody signed in: straight back to the client
    assert r.status_code in (302, 303) and r.headers["location"].startswith(signed_out)
    r = cimd.http.get("/logout", params={**query, "post_logout_redirect_uri": CALLBACK})
    assert r.status_code == 400 and "location" not in r.headers
    cimd.sink.events.clear()
    bad = serve(docs, "/logout-bad.json", client_id="https://127.0.0.1/impostor.json")
    r = cimd.http.get("/logout", params={**query, "client_id": bad})
    assert "location" not in r.headers and "must be exactly the URL" in r.text
    assert cimd.sink.named("client.document_refused")
