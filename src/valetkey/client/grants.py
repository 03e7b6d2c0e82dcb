"""Every grant as a sans-I/O flow returning a :class:`TokenSet` (RFC 6749 §4, §6; RFC 7009)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from valetkey.client import checks, idtoken
from valetkey.client.authorize import PendingAuthorization, check_callback
from valetkey.client.checks import Skip
from valetkey.client.config import ClientConfig, require
from valetkey.client.errors import ConfigError, IdTokenInvalid
from valetkey.client.io import Flow
from valetkey.client.messages import form_request, revocation_response, token_response
from valetkey.client.tokens import TokenSet

GRANTS = ("authorization_code", "implicit", "password", "client_credentials", "refresh_token")


def _token_url(config: ClientConfig) -> str:
    return require(config.endpoints.token_endpoint, "the token URL", "--token-url")


def _scope(config: ClientConfig) -> list[tuple[str, str]]:
    return [("scope", config.scope)] if config.scope else []


def _resources(config: ClientConfig) -> list[tuple[str, str]]:
    """RFC 8707 §2.2: the same resources on every token request, so a refresh keeps them."""
    return [("resource", r) for r in config.resources]


def _checked(
    config: ClientConfig,
    tokens: TokenSet,
    now: float,
    nonce: str | None,
    require_at_hash: bool = False,
    require_id_token: bool = False,
    note: checks.Noter | None = None,
) -> Flow[TokenSet]:
    """OIDC Core §3.1.3.7: validate an ID token whenever openid was requested or one came back;
    the returned token set records the checks it passed, a failure carries the failed check."""
    if tokens.id_token is None:
        if config.wants_openid and require_id_token:
            # OIDC Core §3.1.3.3: an openid request gets an ID token in the token response.
            exc = IdTokenInvalid(
                "openid was requested but the response has no id_token", spec="OIDC Core §3.1.3.3"
            )
            checks.failed("id_token", exc)
            if note is not None:
                note("id_token", exc.checks)
            raise exc
        return tokens
    try:
        claims = yield from idtoken.validate(
            tokens.id_token,
            jwks_uri=config.endpoints.jwks_uri,
            issuer=config.endpoints.issuer,
            client_id=config.client_id,
            nonce=nonce,
            access_token=tokens.access_token,
            now=now,
            require_at_hash=require_at_hash,
        )
    except IdTokenInvalid as exc:
        checks.failed("id_token", exc)
        if note is not None:
            note("id_token", exc.checks)
        raise
    record = checks.id_token_record(tokens.id_token, claims, nonce, tokens.access_token)
    if note is not None:
        note("id_token", record)
    return replace(tokens, checks=(*tokens.checks, *record))


def authorization_code(
    config: ClientConfig,
    pending: PendingAuthorization,
    callback: Mapping[str, str],
    now: float,
    *,
    skip: Iterable[Skip] = (),
    note: checks.Noter | None = None,
) -> Flow[TokenSet]:
    """RFC 6749 §4.1.3 (+ RFC 7636 §4.5): state and iss are checked before any request is sent
    (``skip`` as in :func:`~valetkey.client.authorize.callback_checks`); ``note`` hears of every
    group of checks, passed or failed."""
    params = check_callback(pending, callback, config, skip=skip, note=note)
    fields = [
        ("grant_type", "authorization_code"),
        ("code", params["code"]),
        ("redirect_uri", pending.redirect_uri),
    ]
    if pending.code_verifier:
        fields.append(("code_verifier", pending.code_verifier))
    fields += _resources(config)
    request = form_request(_token_url(config), fields, config, config.params_for("token"))
    tokens = token_response((yield request), now, config.scope, note)
    return (
        yield from _checked(config, tokens, now, pending.nonce, require_id_token=True, note=note)
    )


def implicit(
    config: ClientConfig,
    pending: PendingAuthorization,
    callback: Mapping[str, str],
    now: float,
    *,
    skip: Iterable[Skip] = (),
    note: checks.Noter | None = None,
) -> Flow[TokenSet]:
    """RFC 6749 §4.2.2: the tokens arrive in the fragment; only the ID token check needs I/O."""
    params = check_callback(pending, callback, config, skip=skip, note=note)
    tokens = TokenSet.from_response(params, now, config.scope)
    return (
        yield from _checked(
            config,
            tokens,
            now,
            pending.nonce,
            require_at_hash=True,
            require_id_token=True,
            note=note,
        )
    )


def password(
    config: ClientConfig,
    username: str,
    secret: str,
    now: float,
    note: checks.Noter | None = None,
) -> Flow[TokenSet]:
    """RFC 6749 §4.3 (deprecated by RFC 9700 §2.4, offered for legacy servers)."""
    fields = [("grant_type", "password"), ("username", username), ("password", secret)]
    fields += _scope(config) + _resources(config)
    request = form_request(_token_url(config), fields, config, config.params_for("token"))
    tokens = token_response((yield request), now, config.scope, note)
    return (yield from _checked(config, tokens, now, None, note=note))


def client_credentials(
    config: ClientConfig, now: float, note: checks.Noter | None = None
) -> Flow[TokenSet]:
    """RFC 6749 §4.4."""
    if not config.has_credentials:
        raise ConfigError("the client credentials grant needs --client-secret or --private-key")
    fields = [("grant_type", "client_credentials"), *_scope(config), *_resources(config)]
    request = form_request(_token_url(config), fields, config, config.params_for("token"))
    return token_response((yield request), now, config.scope, note)


def refresh(
    config: ClientConfig, tokens: TokenSet, now: float, note: checks.Noter | None = None
) -> Flow[TokenSet]:
    """RFC 6749 §6; a rotated refresh token replaces the old one, otherwise the old one is kept."""
    if not tokens.refresh_token:
        raise ConfigError("this token has no refresh token; get a new one with `token get`")
    url = require(config.endpoints.refresh_url, "the refresh URL", "--refresh-url")
    fields = [("grant_type", "refresh_token"), ("refresh_token", tokens.refresh_token)]
    fields += _resources(config)
    request = form_request(url, fields, config, config.params_for("refresh"))
    new = token_response((yield request), now, tokens.scope, note)
    # OIDC Core §12.2: a refreshed ID token has no nonce to compare.
    new = yield from _checked(config, new, now, None, note=note)
    return tokens.refreshed(new)


def revoke(config: ClientConfig, token: str, hint: str) -> Flow[None]:
    """RFC 7009 §2.1."""
    url = require(config.endpoints.revocation_endpoint, "the revocation URL", "--revocation-url")
    fields = [("token", token), ("token_type_hint", hint)]
    revocation_response((yield form_request(url, fields, config)))
