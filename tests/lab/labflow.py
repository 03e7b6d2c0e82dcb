"""A hand-driven client for in-process tests of the lab app: each step one plain HTTP request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.support.asgi import SyncASGITransport
from valetkey.core import pkce
from valetkey.core.events import RecordingSink
from valetkey.core.secrets import new_token
from valetkey.lab.app import create_lab_app
from valetkey.lab.state import Lab, LabKeys

BASE = "http://lab.test"
REDIRECT = "http://127.0.0.1/callback"
_KEYS: list[LabKeys] = []


def keys() -> LabKeys:
    """RSA keys are slow to make: one set for the whole test run."""
    if not _KEYS:
        _KEYS.append(LabKeys.generate())
    return _KEYS[0]


@contextmanager
def lab_client(hold_seconds: float = 60.0) -> Iterator[tuple[Lab, httpx.Client, RecordingSink]]:
    sink = RecordingSink()
    lab = Lab(BASE, sink=sink, keys=keys(), hold_seconds=hold_seconds)
    transport = SyncASGITransport(create_lab_app(lab))
    with httpx.Client(transport=transport, base_url=BASE, follow_redirects=False) as http:
        yield lab, http, sink


@dataclass
class Flow:
    http: httpx.Client
    fault: str
    client_id: str = "lab-client"
    verifier: str = field(default_factory=pkce.new_verifier)
    state: str = field(default_factory=lambda: new_token(16))
    nonce: str = field(default_factory=lambda: new_token(16))

    @property
    def path(self) -> str:
        return f"/f/{self.fault}"

    def metadata(self) -> dict[str, object]:
        return dict(self.http.get(self.path + "/.well-known/openid-configuration").json())

    def authorize(self, scope: str = "openid profile", **extra: str) -> httpx.Response:
        params = {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT,
            "scope": scope, "state": self.state, "nonce": self.nonce,
            "code_challenge": pkce.s256(self.verifier), "code_challenge_method": "S256", **extra,
        }  # fmt: skip
        return self.http.get(self.path + "/authorize", params=params)

    def callback(self, scope: str = "openid profile") -> dict[str, str]:
        answer = self.authorize(scope)
        assert answer.status_code == 302, answer.text
        return dict(parse_qsl(urlsplit(answer.headers["location"]).query))

    def exchange(self, code: str, verifier: str | None = None) -> httpx.Response:
        return self.http.post(self.path + "/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": self.client_id, "code_verifier": verifier or self.verifier,
        })  # fmt: skip

    def tokens(self, scope: str = "openid profile") -> dict[str, object]:
        answer = self.exchange(self.callback(scope)["code"])
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.http.post(self.path + "/token", data={
            "grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": self.client_id,
        })  # fmt: skip

    def userinfo(self, access_token: str, scheme: str = "Bearer") -> httpx.Response:
        return self.http.get(self.path + "/userinfo", headers={"Authorization": f"{scheme} {access_token}"})
