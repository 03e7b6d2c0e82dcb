"""The admin CLI's options for clients that authenticate with a JWT (docs/client-auth.md):
``--jwks FILE`` / ``--jwks-uri URL`` for private_key_jwt, and the secret of a client_secret_jwt
client, generated and kept sealed under the ``client_secret_key`` setting."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from valetkey.core import jose
from valetkey.core.client_assertion import KEY_ALGS, SECRET_ALGS
from valetkey.core.models import PRIVATE_KEY_JWT, PUBLIC_AUTH
from valetkey.core.secrets import new_token
from valetkey.core.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def key_options(f: F) -> F:
    f = click.option(
        "--signing-alg",
        default=None,
        type=click.Choice((*KEY_ALGS, *SECRET_ALGS)),
        help="The only alg the client signs assertions with (token_endpoint_auth_signing_alg).",
    )(f)
    f = click.option(
        "--jwks-uri", default=None, help="private_key_jwt: the https URL of the client's JWK Set."
    )(f)
    return click.option(
        "--jwks",
        "jwks_file",
        default=None,
        type=click.Path(exists=True, dir_okay=False),
        help="private_key_jwt: a JSON file with the client's public JWK Set (or one public JWK).",
    )(f)


def read_jwks(path: str | None) -> dict[str, Any] | None:
    """The JWK Set in ``path``; a single JWK is wrapped in one. Checked by the metadata rules."""
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"--jwks {path}: not a JSON file ({exc})") from None
    if isinstance(data, dict) and "keys" not in data and "kty" in data:
        data = {"keys": [data]}
    if not isinstance(data, dict):
        raise click.ClickException(f"--jwks {path}: must hold a JSON object (a JWK Set)")
    return data


def credentials(
    method: str, client_id: str, settings: Settings
) -> tuple[str | None, str | None, str | None]:
    """(secret shown once, its digest, its sealed form) for a new client of ``method``."""
    if method in (PUBLIC_AUTH, PRIVATE_KEY_JWT):
        return None, None, None
    secret = new_token(32)  # 43 characters: 32 bytes and more of key for HS256
    return (secret, *kept_secret(method, client_id, secret, settings))


def kept_secret(
    method: str, client_id: str, secret: str, settings: Settings
) -> tuple[str | None, str | None]:
    """``passwords.stored_secret`` (digest, sealed) with the admin CLI's words for a missing key."""
    from valetkey.server.passwords import SealingKeyMissing, stored_secret

    key = settings.client_secret_key
    try:
        return stored_secret(method, client_id, secret, jose.sealing_key(key) if key else None)
    except SealingKeyMissing:
        raise click.ClickException(
            "client_secret_jwt secrets are kept sealed under the client_secret_key setting, "
            "which is not set: set it (32 random bytes, base64url), or use private_key_jwt"
        ) from None
