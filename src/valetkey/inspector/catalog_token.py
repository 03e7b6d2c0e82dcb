"""The stolen access token attack (RFC 9449 §1, §7): the same theft against a Bearer token (it
works: the missing defence) and against a DPoP-bound one (refused at the resource server)."""

from __future__ import annotations

from dataclasses import replace

from valetkey.inspector.catalog_attacks import attack_spec, outcome, victim_logs_in
from valetkey.inspector.catalog_shared import RESOURCE_REQUEST, RESOURCE_WORK
from valetkey.inspector.spec import Step

AS_ATTACKER = {"client": "attacker"}  # the API's answers go to the attacker's machine


def _answer(
    title: str, explain: str, off_title: str = "", off_explain: str = "", when: str = ""
) -> Step:
    """The API's answer to the request one step back, as the attacker receives it."""
    return Step(
        title,
        "resource_server",
        "attacker",
        "back",
        explain,
        answers=1,
        subs=("api.responded",),
        roles=AS_ATTACKER,
        when=when,
        off_title=off_title,
        off_explain=off_explain,
    )


def _replay(
    title: str, explain: str, off_title: str = "", off_explain: str = "", when: str = ""
) -> Step:
    """A request from the attacker's machine with the stolen token."""
    return Step(
        title,
        "attacker",
        "resource_server",
        "back",
        explain,
        events=RESOURCE_REQUEST,
        when=when,
        off_title=off_title,
        off_explain=off_explain,
    )


STOLEN_TOKEN = attack_spec(
    "stolen_token",
    "Stolen access token replayed from another machine",
    "DPoP",
    "An attacker copies the access token the client uses and calls the API with it from their own "
    "machine. A Bearer token works for whoever holds it; does a DPoP-bound one?",
    replace(
        victim_logs_in(),
        title="The victim logs in; the token is bound to the client's key",
        explain="An ordinary Authorization Code + PKCE login by the victim (its steps are nested "
        "here), with one addition: the client made a key pair, and its token request carries a "
        "`DPoP` proof signed with the private key (RFC 9449 §4, §5). The server binds the access "
        "token to that key: `token_type` is `DPoP`, and the token holds the key's thumbprint as "
        "`cnf.jkt` (§6).",
        off_title="The victim logs in; the client gets a Bearer token",
        off_explain="An ordinary Authorization Code + PKCE login by the victim (its steps are "
        "nested here). The client ends up with a Bearer token (`token_type: Bearer`): like cash, "
        "whoever holds it can spend it (RFC 6750 §1.2).",
    ),
    Step(
        "API call with the token and a DPoP proof",
        "client",
        "resource_server",
        "back",
        "`Authorization: DPoP <token>` and a `DPoP` header: a fresh JWT signed by the client's "
        "private key, naming this request (`htm`, `htu`), its time (`iat`), a unique `jti` and "
        "the hash of the token (`ath`). The resource server checks the signature with the public "
        "key inside the proof, and that this key's thumbprint is the token's `cnf.jkt` (RFC 9449 "
        "§7.1). Then it answers with the victim's profile.",
        events=RESOURCE_REQUEST,
        subs=("api.responded", *RESOURCE_WORK),
        off_title="API call with the Bearer token",
        off_explain="`Authorization: Bearer <token>` and nothing else (RFC 6750 §2.1). The "
        "resource server checks the token's signature, issuer, audience, expiry and scope, and "
        "answers with the victim's profile. Nothing in the request says who sent it.",
    ),
    Step(
        "The attacker copies the access token",
        "client",
        "attacker",
        "local",
        "Access tokens leak: a log line, a debugging proxy, a HAR file attached to a bug report, "
        "a script injected into the client's page. Here the attacker copies the token the client "
        "just used and takes it to their own machine. The client's private key is in none of "
        "those places: it is never sent anywhere (in a browser it can be a non-extractable "
        "WebCrypto key, RFC 9449 §2).",
        events=("access_token.stolen",),
        off_explain="Access tokens leak: a log line, a debugging proxy, a HAR file attached to a "
        "bug report, a script injected into the client's page. Here the attacker copies the token "
        "the client just used and takes it to their own machine.",
    ),
    _replay(
        "Replays the token as Bearer",
        "From another machine the attacker calls the API with `Authorization: Bearer <stolen "
        "token>`, as with any token. The token itself is valid: its signature, issuer, audience, "
        "expiry and scope all pass.",
        off_title="Replays the token from another machine",
        off_explain="The attacker calls the API from their own machine with `Authorization: "
        "Bearer <stolen token>`. The token is valid, and nothing else is asked for.",
    ),
    _answer(
        "Refuses: the token is bound to a DPoP key",
        "The token carries `cnf.jkt`, so it is accepted only with a proof signed by that key. Sent "
        "as Bearer it is refused: 401 `invalid_token`, and `WWW-Authenticate` offers the DPoP "
        "scheme with the algorithms it accepts (RFC 9449 §7.1, §7.2). Were it accepted, a bound "
        "token would be no better than a Bearer one.",
        off_title="Answers with the victim's data",
        off_explain="200 and the victim's profile. A Bearer token proves nothing about who "
        "presents it, so the resource server cannot tell the attacker from the client (RFC 6750 "
        "§5.1, RFC 9449 §1).",
    ),
    _replay(
        "Tries again with a proof of their own key",
        "The attacker makes a key pair of their own and signs a well-formed proof for this "
        "request: the right `htm` and `htu`, a fresh `iat` and `jti`, even the `ath` of the "
        "stolen token. A real signature, by the wrong key.",
        when="on",
    ),
    _answer(
        "Refuses: the proof's key is not the token's",
        "The thumbprint of the proof's key is not the token's `cnf.jkt`: 401 `invalid_token` "
        "(RFC 9449 §4.3 check 12, §7.1). Only the holder of the client's private key can use "
        "this token, and that key never left the client.",
        when="on",
    ),
    outcome(
        "DPoP",
        "Away from the client the stolen token was useless: the resource server asks for a proof "
        "that only the client's private key can sign (RFC 9449 §1, §7).",
        "The token was all the attacker needed. A sender-constrained token (DPoP, RFC 9449; or "
        "mutual TLS, RFC 8705) is bound to a key the client holds, so a copy of the token alone "
        "is worthless.",
    ),
)
