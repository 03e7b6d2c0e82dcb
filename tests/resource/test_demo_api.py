"""The demo API's behaviour: profile with userinfo, per-user and per-client file spaces, persistence,
and clear answers to bad bodies."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.resource.conftest import AS, resource_args
from tests.support.servers import free_port, running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_profile_is_enriched_from_userinfo_with_openid(api: str, auth: AS) -> None:
    plain = httpx.get(f"{api}/api/profile", headers=bearer(auth.user_token("read:profile"))).json()
    assert plain["user"] is True and plain["userinfo"] is None
    assert plain["claims"]["sub"] == plain["sub"] and plain["scope"] == ["read:profile"]
    token = auth.user_token("openid profile email read:profile")
    body = httpx.get(f"{api}/api/profile", headers=bearer(token)).json()
    assert body["sub"] == plain["sub"]
    assert body["userinfo"]["sub"] == body["sub"]
    assert body["userinfo"]["name"] == "Alice Liddell"
    assert body["userinfo"]["email"] == "alice@example.test"


def test_a_service_token_has_no_user_and_its_own_file_space(api: str, auth: AS) -> None:
    service = auth.service_token("read:files")
    body = httpx.get(f"{api}/api/profile", headers=bearer(service))
    assert body.status_code == 403  # svc may not ask for read:profile at all
    alice = auth.user_token("read:files write:files")
    bob = auth.user_token("read:files write:files", username="bob", password="builder-bob")
    r = httpx.post(
        f"{api}/api/files", json={"name": "alice.txt", "content": "a"}, headers=bearer(alice)
    )
    assert r.status_code == 201 and r.json()["file"]["created_by_client"] == "cli"

    def names(tok):
        return [
            f["name"] for f in httpx.get(f"{api}/api/files", headers=bearer(tok)).json()["files"]
        ]

    assert "alice.txt" in names(alice)
    assert "alice.txt" not in names(bob)
    listing = httpx.get(f"{api}/api/files", headers=bearer(service)).json()
    assert listing["owner"] == "client:svc" and listing["files"] == []


def test_files_survive_a_restart(auth: AS, tmp_path: Path) -> None:
    token = auth.user_token("read:files write:files")
    for expected in ([], ["kept.txt"]):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with running(resource_args(auth, port, tmp_path), f"{base}/", tmp_path):
            files = httpx.get(f"{base}/api/files", headers=bearer(token)).json()["files"]
            assert [f["name"] for f in files] == expected
            if not expected:
                r = httpx.post(
                    f"{base}/api/files", json={"name": "kept.txt"}, headers=bearer(token)
                )
                assert r.status_code == 201


def test_bad_bodies_get_clear_errors(api: str, auth: AS) -> None:
    token = auth.user_token("write:files")
    cases = [
        ({"content": "x"}, None, 400, "name"),
        ({"name": "x" * 201}, None, 400, "name"),
        ({"name": "a", "content": 5}, None, 400, "content"),
        (None, b"[1, 2]", 400, "JSON object"),
        (None, b"{not json", 400, "not valid JSON"),
    ]
    for obj, raw, status, words in cases:
        kwargs = (
            {"json": obj}
            if obj is not None
            else {"content": raw, "headers": {**bearer(token), "Content-Type": "application/json"}}
        )
        kwargs.setdefault("headers", bearer(token))
        r = httpx.post(f"{api}/api/files", **kwargs)  # type: ignore[arg-type]
        assert r.status_code == status, (obj, raw, r.text)
        assert r.json()["error"] == "invalid_request" and words in r.json()["error_description"]
    r = httpx.post(f"{api}/api/files", data={"name": "x"}, headers=bearer(token))
    assert r.status_code == 415
    huge = b'{"name": "big", "content": "' + b"x" * 600_000 + b'"}'
    r = httpx.post(
        f"{api}/api/files",
        content=huge,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "larger than" in r.json()["error_description"]
    r = httpx.post(
        f"{api}/api/files", json={"name": "big", "content": "x" * 70_000}, headers=bearer(token)
    )
    assert r.status_code == 400 and "content" in r.json()["error_description"]


def test_cors_is_off_unless_configured_then_exposes_the_challenge(auth: AS, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    origin = "http://localhost:9002"
    args = resource_args(auth, port, tmp_path, "--cors-origin", origin)
    with running(args, f"{base}/", tmp_path):
        pre = httpx.options(
            f"{base}/api/files",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == origin
        r = httpx.get(f"{base}/api/files", headers={"Origin": origin})
        assert r.status_code == 401
        assert "www-authenticate" in r.headers["access-control-expose-headers"].lower()
        other = httpx.get(f"{base}/api/files", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_discovery_documents(api: str, auth: AS) -> None:
    meta = httpx.get(f"{api}/.well-known/oauth-protected-resource").json()
    assert meta == {
        "resource": "https://api.valetkey.test",
        "authorization_servers": [auth.base],
        "scopes_supported": ["read:profile", "read:files", "write:files"],
        "bearer_methods_supported": ["header"],
        "resource_name": "valetkey demo API",
    }
    url = "https://api.valetkey.test/.well-known/oauth-protected-resource"
    index = httpx.get(f"{api}/", headers={"Origin": "https://x.example"}).json()
    assert index["resource"] == meta["resource"] and index["resource_metadata"] == url
    refused = httpx.get(f"{api}/api/files")
    assert refused.status_code == 401
    assert f'resource_metadata="{url}"' in refused.headers["www-authenticate"]
