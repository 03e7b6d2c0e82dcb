"""How a client's secret is kept for its authentication method (``passwords.stored_secret``, the
one rule registration, the admin CLI and the configuration file use), and the configuration's
restart path keeping a stored value only while it still fits the method and the secret."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.server.jwt_clients import SEALING_KEY
from valetkey.core import jose
from valetkey.core.config_tables import ClientConfig
from valetkey.server.bootstrap import client_record
from valetkey.server.passwords import SealingKeyMissing, stored_secret, verify_client_secret

KEY = jose.sealing_key(SEALING_KEY)
SECRET = "s" * 43


@pytest.mark.parametrize("method", ["none", "private_key_jwt"])
def test_methods_without_a_shared_secret_keep_nothing(method: str) -> None:
    assert stored_secret(method, "c", SECRET, KEY) == (None, None)


def test_a_secret_method_keeps_a_digest_and_client_secret_jwt_a_sealed_secret() -> None:
    digest, sealed = stored_secret("client_secret_basic", "c", SECRET, KEY)
    assert sealed is None and digest is not None and verify_client_secret(SECRET, digest)
    digest, sealed = stored_secret("client_secret_jwt", "c", SECRET, KEY)
    assert digest is None and sealed is not None
    assert jose.unseal_secret(KEY, "c", sealed) == SECRET  # the MAC key itself, for this client
    with pytest.raises(ValueError):
        jose.unseal_secret(KEY, "another-client", sealed)
    with pytest.raises(SealingKeyMissing):
        stored_secret("client_secret_jwt", "c", SECRET, None)


def _config(method: str) -> ClientConfig:
    return ClientConfig(
        client_id="c", client_secret=SECRET, client_name="", redirect_uris=(),
        grant_types=("client_credentials",), response_types=(), token_endpoint_auth_method=method,
        scope=(), require_pkce=False, pkce_methods=(),
    )  # fmt: skip


def test_a_restart_keeps_what_still_fits_and_a_method_change_stores_anew() -> None:
    basic = client_record(_config("client_secret_basic"), None, sealing=KEY)
    assert client_record(_config("client_secret_basic"), basic, sealing=KEY) == basic
    # Same secret, now client_secret_jwt: the digest cannot key a MAC, so it is sealed instead.
    jwt = client_record(_config("client_secret_jwt"), basic, sealing=KEY)
    assert jwt.secret_digest is None and jwt.secret_sealed is not None
    assert client_record(_config("client_secret_jwt"), jwt, sealing=KEY) == jwt
    changed = replace(_config("client_secret_jwt"), client_secret="t" * 43)
    assert client_record(changed, jwt, sealing=KEY).secret_sealed != jwt.secret_sealed
