"""One Postman OAuth 2.0 auth block -> the settings of a valetkey profile.

Every key of the block is either mapped to a profile key or reported as a :class:`Finding` that
names the key, its value (masked when secret) and what valetkey does instead. Nothing is dropped
without a word: Bruno's importer turns an implicit grant into client credentials and loses PKCE
and custom parameters, silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valetkey.client.config import CustomParam, Target, check_url
from valetkey.client.errors import ConfigError
from valetkey.client.loopback import parse_redirect
from valetkey.client.postman_block import (
    CLIENT_AUTH,
    GRANTS,
    PARAMS,
    SEND_AS,
    SIMPLE,
    URLS,
    USES,
    Block,
    Mapped,
)
from valetkey.client.postman_vars import VAR, as_text, is_dynamic
from valetkey.client.resource_fold import fold_resources
from valetkey.core.pkce import is_valid_verifier


def map_block(attrs: Mapping[str, Any], scope: Mapping[str, str]) -> Mapped:
    """Map one block's attributes (``{key: value}``) with variables from ``scope``."""
    block = Block(attrs, scope)
    grant = _grant(block)
    if grant is None:
        block.out.ok = False
        return block.out
    pkce = block.out.values.get("pkce") is True
    for key, raw in attrs.items():
        if key == "grant_type" or (raw in (None, "", []) and key != "headerPrefix"):
            continue
        handler = HANDLERS.get(key)
        if handler is None:
            block.out.report(key, as_text(raw), "not an OAuth 2.0 setting valetkey knows",
                             "not imported", "warning")  # fmt: skip
        elif key not in USES[grant] or (
            key in ("challengeAlgorithm", "code_verifier") and not pkce
        ):
            block.out.ignored.append(key)
            block.out.report(key, as_text(raw), f"set, but the {grant} grant does not use it "
                             "(Postman keeps every grant's fields)", "not imported", "info")  # fmt: skip
        else:
            handler(block, key, raw)
    _finish(block, grant)
    return block.out


def _grant(block: Block) -> str | None:
    raw = block.text("grant_type") or ""
    if not raw:
        block.out.report("grant_type", "", "no grant type given",
                         "Postman's default: Authorization Code (without PKCE)", "info")  # fmt: skip
        raw = "authorization_code"
    if raw not in GRANTS:
        block.out.report("grant_type", raw, "not a grant type Postman or valetkey runs",
                         "no profile is made from this block", "error")  # fmt: skip
        return None
    grant, pkce = GRANTS[raw]
    block.set("grant", grant)
    if pkce is not None:
        block.set("pkce", pkce)
        if pkce:
            block.set("pkce_method", "S256")  # Postman's default Code Challenge Method
    return grant


def _simple(block: Block, key: str, raw: Any) -> None:
    value = block.text(key)
    if not value:
        return
    if key in URLS and not VAR.search(value):
        try:
            check_url(value, key)
        except ConfigError as exc:
            block.out.report(key, value, str(exc), "not imported", "error")
            return
    block.set(SIMPLE[key], value)


def _password(block: Block, key: str, raw: Any) -> None:
    block.out.report(key, as_text(raw), "a user's password is never saved in a profile",
                     "asked for on each run (or --password, VALETKEY_PASSWORD)", "info")  # fmt: skip


def _state(block: Block, key: str, raw: Any) -> None:
    value = as_text(raw).strip()
    match = VAR.fullmatch(value)
    if match and is_dynamic(match.group(1).strip()):
        return  # {{$randomUUID}}: a fresh value per request, which is what valetkey does
    value = block.text(key) or ""
    if value:
        block.out.state = "fixed"
        block.out.report(key, value, "a fixed state is not saved",
                         "a fresh random state on every run, checked on the callback "
                         "(--state VALUE forces one)", "warning")  # fmt: skip


def _callback(block: Block, key: str, raw: Any) -> None:
    value = block.text(key)
    if not value:
        return
    block.out.callback = value
    try:
        parse_redirect(value)
    except ConfigError:
        block.out.report(key, value, "valetkey receives the callback on a loopback listener "
                         "(RFC 8252 §7.3), not at this URL",
                         "http://127.0.0.1:<free port>/callback: register "
                         "http://127.0.0.1/callback at the server", "warning")  # fmt: skip
        return
    block.set("redirect_uri", value)


def _browser(block: Block, key: str, raw: Any) -> None:
    if as_text(raw).lower() == "true":
        block.set("browser", True)
    else:
        block.out.report(key, as_text(raw), "Postman's own sign-in window: valetkey has none",
                         "opens the system browser (--no-browser prints the URL)", "info")  # fmt: skip


def _challenge(block: Block, key: str, raw: Any) -> None:
    value = block.text(key) or ""
    method = {"s256": "S256", "sha-256": "S256", "sha256": "S256", "plain": "plain"}
    if value.lower() in method:
        block.set("pkce_method", method[value.lower()])
    else:
        block.out.report(key, value, "not a PKCE method (RFC 7636 §4.2: S256 or plain)",
                         "S256", "warning")  # fmt: skip


def _verifier(block: Block, key: str, raw: Any) -> None:
    value = block.text(key)
    if value and is_valid_verifier(value):
        block.set("code_verifier", value)
    elif value:
        block.out.report(key, value, "not a code verifier: 43-128 characters of A-Z a-z 0-9 "
                         "- . _ ~ (RFC 7636 §4.1)", "a fresh verifier on every run", "error")  # fmt: skip


def _params(block: Block, key: str, raw: Any) -> None:
    target, profile_key = PARAMS[key]
    if not isinstance(raw, list):
        block.out.report(key, as_text(raw), "custom parameters must be a list of "
                         "{key, value, send_as}", "not imported", "error")  # fmt: skip
        return
    for entry in raw:
        _param(block, key, target, profile_key, entry)


def _param(block: Block, key: str, target: Target, profile_key: str, entry: Any) -> None:
    if not isinstance(entry, Mapping):
        block.out.report(key, as_text(entry), "not a {key, value} entry", "not imported", "error")
        return
    name, value = block.text(key, entry.get("key")), block.text(key, entry.get("value"))
    where = f"{key}[{as_text(entry.get('key'))}]"
    if name is None or value is None:
        return
    if entry.get("enabled") is False:
        block.out.report(where, value, "switched off in Postman", "not imported", "info")
        return
    default = "request_url" if target == "auth" else "request_body"
    send_as = as_text(entry.get("send_as")) or default
    add_param(block.out, where, target, profile_key, name, value, SEND_AS.get(send_as, send_as))


def add_param(
    out: Mapped, where: str, target: Target, profile_key: str, name: str, value: str, place: str
) -> None:
    """Append ``place:name=value`` if valetkey can send it (CustomParam's rules decide)."""
    text = f"{place}:{name}={value}"
    try:
        if "=" in name:
            raise ConfigError(
                f"a parameter name with '=' ({name!r}) cannot be sent as a form field"
            )
        parsed = CustomParam.parse(target, text)
        if parsed.placement != place:
            raise ConfigError(f"{place!r} is not a placement: use request_body, request_url or "
                              "request_header")  # fmt: skip
    except ConfigError as exc:
        out.report(where, value, str(exc), "not sent", "warning")
        return
    out.values.setdefault(profile_key, []).append(text)


def _legacy(block: Block, key: str, raw: Any) -> None:
    """The Audience and Resource tab of older Postman versions: ``{id: uri}``."""
    items = raw.values() if isinstance(raw, Mapping) else raw if isinstance(raw, list) else [raw]
    implicit = block.out.values.get("grant") == "implicit"
    target: Target = "auth" if implicit else "token"
    for item in items:
        value = block.text(key, item)
        if value:
            add_param(block.out, key, target, f"{target}_params", key, value,
                      "query" if implicit else "body")  # fmt: skip
    block.out.report(key, as_text(raw), "Postman's former Audience and Resource setting",
                     f"sent as Postman sends it: {key}=... in the "
                     f"{'authorization request' if implicit else 'token request body'}", "info")  # fmt: skip


def _header_prefix(block: Block, key: str, raw: Any) -> None:
    value = (block.text(key) or "").strip()
    if value.lower() != "bearer":  # postman-runtime: absent means Bearer, empty means no prefix
        block.out.report(key, value, "a profile holds how to get a token, not how to send it",
                         f"valetkey call --header-prefix '{value}'", "info")  # fmt: skip


def _add_token_to(block: Block, key: str, raw: Any) -> None:
    value = block.text(key) or ""
    if value in ("queryParams", "url", "query"):
        block.out.add_token_to = "query"
        block.out.report(key, value, "a profile holds how to get a token, not how to send it",
                         "valetkey call --in query (the header is safer)", "info")  # fmt: skip
    elif value != "header":
        block.out.report(key, value, "not a place Postman puts a token",
                         "the Authorization header", "warning")  # fmt: skip


def _token_type(block: Block, key: str, raw: Any) -> None:
    value = (block.text(key) or "").strip()
    if value.lower() in ("bearer", "access_token"):
        return
    if value.lower() in ("id_token", "id token"):
        block.out.report(key, value, "send the ID token instead of the access token",
                         "valetkey call --token-type id", "info")  # fmt: skip
    else:
        block.out.report(key, value, "valetkey uses Bearer tokens only (RFC 6750)",
                         "the token is sent as a Bearer token", "warning")  # fmt: skip


def _token_name(block: Block, key: str, raw: Any) -> None:
    block.out.report(key, as_text(raw), "Postman's name for the token",
                     "saved under the profile's name (or token get --name)", "info")  # fmt: skip


def _access_token(block: Block, key: str, raw: Any) -> None:
    block.out.report(key, as_text(raw), "a token is not a setting; this file holds a live token: "
                     "keep it as secret as a password", "not imported: token get fetches a fresh "
                     "one", "warning")  # fmt: skip


def _client_auth(block: Block, key: str, raw: Any) -> None:
    pass  # decided in _finish, once the secret is known


def _finish(block: Block, grant: str) -> None:
    if grant in ("authorization_code", "implicit"):
        if not block.attrs.get("state"):
            block.out.state = "none"  # Postman sends none; valetkey always does
        block.out.report("issuer", "", "Postman has no issuer field; valetkey checks the "
                         "callback's iss (RFC 9207) and ID tokens against the issuer",
                         'token get --issuer URL, or issuer = "URL" in the profile: a callback '
                         "that carries iss is refused without it", "info")  # fmt: skip
    if grant != "implicit":
        _decide_client_auth(block)
    fold_resources(block.out.values)


def _decide_client_auth(block: Block) -> None:
    given = "client_authentication" in block.attrs and block.attrs["client_authentication"]
    how = (block.text("client_authentication") if given else None) or "header"
    if block.out.values.get("client_secret"):
        if how not in CLIENT_AUTH:
            block.out.report("client_authentication", how, "not Postman's header or body",
                             "basic: the client secret in an Authorization header", "warning")  # fmt: skip
        block.set("client_auth", CLIENT_AUTH.get(how, CLIENT_AUTH["header"]))
    elif given and how == "header":
        block.out.report("client_authentication", how, "with no client secret Postman sends an "
                         "empty-password Basic header", "client_id in the body, as a public "
                         "client does (RFC 6749 §3.2.1)", "info")  # fmt: skip


HANDLERS = {
    **{key: _simple for key in SIMPLE},
    "password": _password,
    "state": _state,
    "redirect_uri": _callback,
    "useBrowser": _browser,
    "client_authentication": _client_auth,
    "challengeAlgorithm": _challenge,
    "code_verifier": _verifier,
    **{key: _params for key in PARAMS},
    "audience": _legacy,
    "resource": _legacy,
    "headerPrefix": _header_prefix,
    "addTokenTo": _add_token_to,
    "tokenType": _token_type,
    "tokenName": _token_name,
    "accessToken": _access_token,
}
