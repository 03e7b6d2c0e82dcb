"""A storage outage answers 503 with ``Retry-After`` (RFC 9110 §15.6.4), an unexpected error a JSON
``server_error`` or an error page: on every kind of route, on both HTTP paths, the connection kept,
and the next request served normally once the storage is back, without a restart.

The store is wrapped so that its calls fail on demand, as the store fails during an outage
(``StorageUnavailable``) or through a defect (any other exception).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import SVC_SECRET, WEB_SECRET, InProcess
from tests.support.flows import authorize_url, run_code_flow
from valetkey.core import pkce
from valetkey.core.errors import StorageUnavailable


class FailingStore:
    """The real store; while ``error`` is set, calls to ``methods`` (all, if None) raise it."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.error: Exception | None = None
        self.methods: set[str] | None = None

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.error is not None and (self.methods is None or name in self.methods):
                raise self.error
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def failing(server: InProcess) -> Iterator[FailingStore]:
    store = FailingStore(server.state.store)
    server.state.store = store  # type: ignore[assignment]
    yield store
    server.state.store = store.store


CC = {"grant_type": "client_credentials", "scope": "read:files"}
AUTHORIZE = {
    "response_type": "code",
    "client_id": "cli",
    "redirect_uri": "http://127.0.0.1:9999/callback",
    "scope": "read:profile",
    "code_challenge": pkce.s256("v" * 43),
    "code_challenge_method": "S256",
}

Call = Callable[[httpx.Client], httpx.Response]
PROTOCOL: dict[str, Call] = {
    "token (hot)": lambda h: h.post("/token", data=CC, auth=("svc", SVC_SECRET)),
    "introspect (hot)": lambda h: h.post(
        "/introspect", data={"token": "x"}, auth=("web", WEB_SECRET)
    ),
    "revoke": lambda h: h.post("/revoke", data={"token": "x"}, auth=("web", WEB_SECRET)),
}
PAGES: dict[str, Call] = {
    "authorize GET (hot)": lambda h: h.get(authorize_url("", **AUTHORIZE)),
    "authorize POST": lambda h: h.post("/authorize", data=AUTHORIZE),
}


def assert_json(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == error
    assert "nothing was issued" not in response.json()["error_description"]
    assert "connection" not in response.headers  # the connection goes on


def assert_page(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text and "connection" not in response.headers


@pytest.mark.parametrize("name", PROTOCOL)
def test_an_outage_is_a_503_with_retry_after_then_recovers(
    server: InProcess, failing: FailingStore, name: str
) -> None:
    call = PROTOCOL[name]
    failing.error = StorageUnavailable("connection refused", retry_after=9)
    down = call(server.http)
    assert_json(down, 503, "temporarily_unavailable")
    assert down.headers["retry-after"] == "9"
    failing.error = None
    assert call(server.http).status_code == 200  # same client, same connection, no restart


@pytest.mark.parametrize("name", PAGES)
def test_an_outage_on_a_browser_page_is_a_503_error_page(
    server: InProcess, failing: FailingStore, name: str
) -> None:
    failing.error = StorageUnavailable("connection refused")
    down = PAGES[name](server.http)
    assert_page(down, 503)
    assert down.headers["retry-after"] == "5" and "unavailable" in down.text
    failing.error = None
    assert PAGES[name](server.http).status_code == 200  # the sign-in page


def test_a_failed_write_of_new_tokens_is_a_503_and_stores_nothing(
    server: InProcess, failing: FailingStore
) -> None:
    failing.error, failing.methods = (
        StorageUnavailable("server closed the connection"),
        {"save_all"},
    )
    down = PROTOCOL["token (hot)"](server.http)
    assert_json(down, 503, "temporarily_unavailable")
    assert "access_token" not in down.text
    failing.error = None
    issued = PROTOCOL["token (hot)"](server.http).json()["access_token"]
    seen = server.http.post("/introspect", data={"token": issued}, auth=("svc", SVC_SECRET))
    assert seen.json()["active"] is True


@pytest.mark.parametrize("name", [*PROTOCOL, *PAGES])
def test_an_unexpected_error_is_never_plain_text(
    server: InProcess, failing: FailingStore, name: str
) -> None:
    failing.error = RuntimeError("a defect with a secret detail")
    call = {**PROTOCOL, **PAGES}[name]
    response = call(server.http)
    if name in PAGES:
        assert_page(response, 500)
    else:
        assert_json(response, 500, "server_error")
    assert "secret detail" not in response.text
    failing.error = None
    assert call(server.http).status_code == 200


class FailingAfterCommit(FailingStore):
    """The outage begins just after a redemption or rotation commits: every later call fails."""

    def __getattr__(self, name: str) -> Any:
        attr = super().__getattr__(name)
        if name not in ("redeem_code", "rotate_refresh"):
            return attr

        def spend(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if self.methods == {"after"}:
                self.error, self.methods = StorageUnavailable("the server went away"), None
            return result

        return spend


@pytest.mark.parametrize("grant", ["authorization_code", "refresh_token"])
def test_an_outage_just_after_a_redemption_commits_loses_nothing(
    server: InProcess, grant: str
) -> None:
    """Once a code or refresh token is spent, the answer needs no database: an outage starting at
    that moment cannot turn the tokens it bought into a 503 (the client would retry, and find its
    code used and its grant revoked)."""
    verifier = pkce.new_verifier()
    flow = run_code_flow(
        server.http,
        "",
        scope="openid read:profile offline_access",
        verifier=verifier,
        client_id="cli",
    )
    redeem = {
        "grant_type": "authorization_code",
        "code": flow.params["code"],
        "redirect_uri": "http://127.0.0.1:9999/callback",
        "client_id": "cli",
        "code_verifier": verifier,
    }
    store = FailingAfterCommit(server.state.store)
    server.state.store = store  # type: ignore[assignment]
    try:
        if grant == "refresh_token":
            tokens = server.http.post("/token", data=redeem).json()
            redeem = {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": "cli",
            }
        store.methods = {"after"}
        answer = server.http.post("/token", data=redeem)
        store.error = None
        if answer.status_code != 200:  # refused without spending: the same request still works
            assert_json(answer, 503, "temporarily_unavailable")
            answer = server.http.post("/token", data=redeem)
        assert answer.status_code == 200, answer.text
        assert "id_token" in answer.json()
    finally:
        server.state.store = store.store
