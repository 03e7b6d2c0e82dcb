"""One configuration shared by every server under test: clients, user, resource, secrets."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

RESOURCE = "https://api.bench.test"
OPAQUE_RESOURCE = "https://opaque.bench.test"  # oidc-provider only: its introspectable tokens
REDIRECT = "https://client.bench.test/callback"  # parsed by the driver, never fetched
USERNAME = "bench"
SCOPE_CC = "read"
SCOPE_CODE = "read"


@dataclass(frozen=True)
class Secrets:
    web: str
    service: str
    password: str
    cookie_key: str

    @classmethod
    def fresh(cls) -> Secrets:
        return cls(
            web=secrets.token_urlsafe(32),
            service=secrets.token_urlsafe(32),
            password="bench-" + secrets.token_urlsafe(12),
            cookie_key=secrets.token_urlsafe(32),
        )


def valetkey_toml(s: Secrets, db: Path | str, password_hash: str) -> str:
    """valetkey's configuration: the same three clients and one user as every peer. ``db``: an
    SQLite file, or a database URL (PostgreSQL)."""
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return f"""
database = "{url}"
access_token_ttl = 600
authorization_code_ttl = 60

[[resources]]
identifier = "{RESOURCE}"
name = "Bench API"
scopes = ["read", "write"]

[[clients]]
client_id = "bench-web"
client_secret = "{s.web}"
redirect_uris = ["{REDIRECT}"]
grant_types = ["authorization_code", "refresh_token"]
scope = "read write"

[[clients]]
client_id = "bench-native"
token_endpoint_auth_method = "none"
redirect_uris = ["{REDIRECT}"]
grant_types = ["authorization_code", "refresh_token"]
scope = "read write"

[[clients]]
client_id = "bench-service"
client_secret = "{s.service}"
grant_types = ["client_credentials"]
scope = "read write"

[[users]]
username = "{USERNAME}"
password_hash = "{password_hash}"
"""


def es256_jwk() -> str:
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", parameters={"kid": "bench-es256", "alg": "ES256"})
    return json.dumps(key.as_dict(private=True))
