"""Every RFC 6750 answer of the demo API, against a real authorization server and API process."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest

from tests.resource.conftest import AS
from valetkey.core import jose
from valetkey.core.challenge import parse_challenges


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, str], claims: dict[str, object]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def get(api: str, path: str, token: str | None = None, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{api}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


def challenge_params(response: httpx.Response) -> dict[str, str]:
    """The Bearer challenge's parameters; the demo API also accepts DPoP (RFC 9449 §7.1), whose
    challenge follows, bare, naming the proof algorithms."""
    [(scheme, params), (other, dpop)] = parse_challenges(
        response.headers.get_list("www-authenticate")
    )
    assert (scheme, other) == ("bearer", "dpop")
    assert "error" not in dpop and dpop["algs"] == "ES256 PS256 Ed25519 EdDSA"
    return params


def test_no_credentials_is_401_with_a_bare_challenge(api: str) -> None:
    r = get(api, "/api/profile")
    assert r.status_code == 401
    params = challenge_params(r)
    assert "error" not in params  # RFC 6750 §3.1: no error code without authentication information
    assert params["realm"] == "https://api.valetkey.test"
    assert "error" not in r.json() and "Bearer" in r.json()["error_description"]


def test_another_scheme_counts_as_no_bearer_credentials(api: str) -> None:
    r = httpx.get(f"{api}/api/profile", headers={"Authorization": "Basic YTpi"})
    assert r.status_code == 401
    assert "error" not in challenge_params(r)
    assert "Basic" in r.json()["error_description"]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(api: str, auth: AS, scheme: str) -> None:
    token = auth.service_token("read:files")
    r = httpx.get(f"{api}/api/files", headers={"Authorization": f"{scheme} {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["owner"] == "client:svc"


def _bad_tokens(auth: AS) -> dict[str, tuple[str, str]]:
    now = int(time.time())
    good = auth.forge()
    head, body, sig = good.split(".")
    tampered_sig = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    public = json.dumps(jose.public_jwk(auth.active_key())).encode()
    hs_input = unsigned(
        {"alg": "HS256", "typ": "at+jwt", "kid": auth.active_key()["kid"]},
        {"iss": auth.base, "aud": "https://api.valetkey.test", "exp": now + 300},
    )
    hs = hs_input + "." + b64(hmac.new(public, hs_input.encode(), hashlib.sha256).digest())
    stranger = jose.sign(
        {
            "iss": auth.base,
            "sub": "x",
            "aud": "https://api.valetkey.test",
            "exp": now + 300,
            "iat": now,
            "jti": "j",
            "client_id": "cli",
        },
        jose.generate_private_jwk("ES256"),
        typ="at+jwt",
    )
    return {
        "not a jwt": ("not-a-jwt", "not a JWT"),
        "expired": (auth.forge(exp=now - 3600, iat=now - 4000), "expired"),
        "other audience": (auth.forge(aud="https://other.example"), "another resource"),
        "other issuer": (auth.forge(iss="https://evil.example"), "another authorization server"),
        "id token typ": (auth.forge(header={"typ": "JWT"}), "typ must be at+jwt"),
        "no client_id": (auth.forge(client_id=None), "client_id"),
        "not yet valid": (auth.forge(nbf=now + 3600), "not valid yet"),
        "bad signature": (f"{head}.{body}.{tampered_sig}", "signature"),
        "alg none": (
            unsigned({"alg": "none", "typ": "at+jwt"}, {"iss": auth.base}) + ".",
            "'none'",
        ),
        "hmac with the public key": (hs, "'HS256'"),
        "unknown signing key": (stranger, "does not publish"),
    }


def test_every_bad_token_is_401_invalid_token(api: str, auth: AS) -> None:
    for case, (token, reason) in _bad_tokens(auth).items():
        r = get(api, "/api/profile", token)
        assert r.status_code == 401, (case, r.text)
        params = challenge_params(r)
        assert params["error"] == "invalid_token", case
        assert reason in r.json()["error_description"], (case, r.json())
        assert params["error_description"] == r.json()["error_description"]


def test_a_token_for_openid_only_is_not_for_this_api(api: str, auth: AS) -> None:
    token = auth.user_token("openid")  # its audience is the authorization server itself
    r = get(api, "/api/profile", token)
    assert r.status_code == 401
    assert challenge_params(r)["error"] == "invalid_token"


@pytest.mark.parametrize(
    ("headers", "query", "reason"),
    [
        ([("Authorization", "Bearer aaa"), ("Authorization", "Bearer bbb")], "", "more than one"),
        ([], "access_token=aaa", "URL query"),
        ([("Authorization", "Bearer aaa")], "access_token=aaa", "and in the Authorization header"),
        ([("Authorization", "Bearer")], "", "empty"),
        ([("Authorization", "Bearer a b")], "", "token68"),
        ([("Authorization", "Bearer " + "a" * 9000)], "", "8192 characters"),
    ],
)
def test_malformed_requests_are_400_invalid_request(
    api: str, headers: list[tuple[str, str]], query: str, reason: str
) -> None:
    r = httpx.get(f"{api}/api/profile?{query}", headers=headers)
    assert r.status_code == 400, r.text
    assert challenge_params(r)["error"] == "invalid_request"
    assert r.json()["error"] == "invalid_request"
    assert reason in r.json()["error_description"]


def test_a_valid_token_in_the_query_alone_is_still_refused(api: str, auth: AS) -> None:
    r = httpx.get(f"{api}/api/files", params={"access_token": auth.service_token()})
    assert r.status_code == 400
    assert "Authorization header" in r.json()["error_description"]


def test_each_route_needs_its_own_scope(api: str, auth: AS) -> None:
    profile_only = auth.user_token("read:profile")
    files_rw = auth.user_token("read:files write:files")
    assert get(api, "/api/profile", profile_only).status_code == 200
    for method, path, needed in [
        ("GET", "/api/files", "read:files"),
        ("POST", "/api/files", "write:files"),
    ]:
        r = httpx.request(
            method,
            f"{api}{path}",
            json={"name": "x"},
            headers={"Authorization": f"Bearer {profile_only}"},
        )
        assert r.status_code == 403, r.text
        params = challenge_params(r)
        assert params["error"] == "insufficient_scope" and params["scope"] == needed
        assert r.json()["scope"] == needed
    assert get(api, "/api/files", files_rw).status_code == 200
    r = httpx.post(
        f"{api}/api/files",
        json={"name": "notes.txt", "content": "hi"},
        headers={"Authorization": f"Bearer {files_rw}"},
    )
    assert r.status_code == 201, r.text
    r = get(api, "/api/profile", files_rw)
    assert r.status_code == 403 and challenge_params(r)["scope"] == "read:profile"
    # a route's requirement without any token: 401 with no error code
    r = httpx.post(f"{api}/api/files", json={"name": "x"})
    assert r.status_code == 401 and "error" not in challenge_params(r)


def test_errors_never_leak_internals(api: str, auth: AS) -> None:
    token = auth.service_token("read:files")
    weird = [
        "Bearer \u00e9\u00e9",
        "Bearer ....",
        "Bearer =abc",
        "Bearer a.b.c",
        "Bearer " + token + "x",
    ]
    for value in weird:
        r = httpx.get(f"{api}/api/files", headers={"Authorization": value.encode("utf-8")})  # type: ignore[dict-item]
        assert r.status_code in (400, 401), (value, r.text)
        assert "Traceback" not in r.text and r.headers["content-type"] == "application/json"
