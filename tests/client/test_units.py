"""Pure pieces: expiry words, token responses, the loopback receiver on both loopback families."""

from __future__ import annotations

import threading

import httpx
import pytest

from valetkey.cli.token_display import expiry_words
from valetkey.client import ConfigError, IdTokenInvalid, LoopbackReceiver, Outcome, TokenSet
from valetkey.client.errors import SecurityCheckFailed
from valetkey.client.idtoken import check_claims
from valetkey.client.messages import token_response


@pytest.mark.parametrize(
    ("expires_at", "words"),
    [
        (None, "no expiry given"),
        (1000 + 59, "expires in 59 seconds"),
        (1000 + 600, "expires in 10 minutes"),
        (1000 + 7200, "expires in 2 hours"),
        (1000 - 86400 * 3, "expired 3 days ago"),
        (1000 - 1, "expired 1 second ago"),
    ],
)
def test_expiry_in_words(expires_at: float | None, words: str) -> None:
    assert expiry_words(expires_at, now=1000) == words


def test_token_response_keeps_absolute_expiry_and_old_refresh_token() -> None:
    first = TokenSet.from_response(
        {"access_token": "a", "token_type": "Bearer", "expires_in": 60, "refresh_token": "r1"},
        now=100,
        requested_scope="s",
    )
    assert first.expires_at == 160 and first.scope == "s"  # RFC 6749 §5.1: absent scope = requested
    assert first.expires_within(30, now=131) and not first.expires_within(30, now=129)
    second = first.refreshed(
        TokenSet.from_response({"access_token": "b", "token_type": "Bearer"}, 200)
    )
    assert second.refresh_token == "r1" and second.access_token == "b"
    assert TokenSet.from_dict(second.to_dict()) == second


def test_implicit_id_token_needs_at_hash() -> None:
    claims = {"iss": "https://as", "aud": "c", "exp": 2000, "iat": 990, "nonce": "n"}
    with pytest.raises(IdTokenInvalid, match="at_hash"):
        check_claims(
            {"alg": "RS256"},
            claims,
            issuer="https://as",
            client_id="c",
            nonce="n",
            access_token="t",
            now=1000,
            require_at_hash=True,
        )


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_loopback_receiver_hands_over_the_callback(host: str) -> None:
    try:
        receiver = LoopbackReceiver(f"http://{host}:0/cb")
    except ConfigError as exc:
        if host == "[::1]":
            pytest.skip(f"SKIPPED: no IPv6 loopback here ({exc})")
        raise
    with receiver:
        assert receiver.redirect_uri.startswith(f"http://{host}:")
        assert httpx.get(receiver.redirect_uri.replace("/cb", "/other")).status_code == 404
        answer: list[httpx.Response] = []
        t = threading.Thread(
            target=lambda: answer.append(
                httpx.get(receiver.redirect_uri, params={"code": "c", "state": "s"}, timeout=10)
            )
        )
        t.start()
        assert receiver.wait(10) == {"code": "c", "state": "s"}
        receiver.finish(Outcome(True, "Signed in", "all good <b>"))
        t.join(10)
    assert "Signed in" in answer[0].text and "&lt;b&gt;" in answer[0].text
    assert answer[0].headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "uri", ["https://127.0.0.1/cb", "http://example.com/cb", "http://10.0.0.1/cb"]
)
def test_loopback_receiver_only_takes_loopback_http(uri: str) -> None:
    with pytest.raises(ConfigError, match="RFC 8252"):
        LoopbackReceiver(uri)


@pytest.mark.parametrize(
    ("status", "challenge", "expected"),
    [
        (401, 'Bearer realm="api", error="invalid_token"', True),
        (401, "Bearer error=invalid_token", True),
        (401, 'Bearer realm="api"', False),
        (401, 'Bearer error="insufficient_scope"', False),
        (403, 'Bearer error="invalid_token"', False),
    ],
)
def test_only_a_401_invalid_token_triggers_a_refresh(
    status: int, challenge: str, expected: bool
) -> None:
    from valetkey.client.auth import invalid_token_challenge

    response = httpx.Response(status, headers={"WWW-Authenticate": challenge})
    assert invalid_token_challenge(response) is expected


def _response(body: dict[str, object]) -> httpx.Response:
    return httpx.Response(200, json=body, request=httpx.Request("POST", "https://as/token"))


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "DPoP"])
def test_a_token_type_the_client_understands_is_taken(token_type: str) -> None:
    body = {"access_token": "a", "token_type": token_type}
    assert token_response(_response(body), 0).access_token == "a"


def test_a_token_type_the_client_does_not_understand_is_refused() -> None:
    """RFC 6749 §7.1: it must not be sent as if it were a Bearer token."""
    with pytest.raises(SecurityCheckFailed, match="type 'mac'"):
        token_response(_response({"access_token": "a", "token_type": "mac"}), 0)


def test_a_scope_wider_than_requested_is_refused_and_a_narrower_one_taken() -> None:
    """RFC 6749 §3.3 lets a server grant less; more than was asked for is refused (RFC 9700 §2.3)."""
    wide = {"access_token": "a", "token_type": "Bearer", "scope": "read write admin"}
    with pytest.raises(SecurityCheckFailed, match="not requested: admin"):
        token_response(_response(wide), 0, requested_scope="read write")
    narrow = {"access_token": "a", "token_type": "Bearer", "scope": "read"}
    assert token_response(_response(narrow), 0, requested_scope="read write").scope == "read"
