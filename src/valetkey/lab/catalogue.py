"""The lab's faults as data: what the lab does wrong, what a correct client does instead, the rule
it applies and where the spec says so, and how the lab tells from the client's next move.

The behaviour of each fault lives where the lab answers (``callback.py``, ``token.py``,
``forge.py``); a test keeps the two lists equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Expect = Literal["refuse", "survive"]
Stage = Literal["control", "discovery", "callback", "token", "id_token", "refresh"]

# How the lab tells a client that accepted a fault, by stage.
ACCEPTED_IF: dict[str, str] = {
    "discovery": "it goes to the endpoints of that metadata (/authorize or /token)",
    "callback": "it sends the callback's code to /token",
    "token": "it uses the access or refresh token of that response",
    "id_token": "it uses the access or refresh token that came with that ID token",
}


@dataclass(frozen=True)
class Fault:
    name: str
    stage: Stage
    does: str  # what the lab does wrong
    should: str  # what a correct client does
    rule: str  # the rule the client applies (a check name)
    spec: str
    expect: Expect = "refuse"
    accepted_if: str = ""  # when the stage's usual test does not say it

    @property
    def judged_by(self) -> str:
        finish = "it passes only by finishing the flow"
        if self.expect == "survive":
            return f"accepted if {self.accepted_if}; {finish}" if self.accepted_if else finish
        return "accepted if " + (self.accepted_if or ACCEPTED_IF[self.stage])

    @property
    def control(self) -> bool:
        return self.stage == "control"


ID = "OIDC Core §3.1.3.7"
STOP = "stop with the error it reports; no token is used and nothing crashes"

FAULTS: tuple[Fault, ...] = (
    Fault("baseline", "control", "behaves: an honest flow, the control every other result rests on",
       "finish the flow: code with PKCE, userinfo, two refreshes", "complete_flow",
       "RFC 6749 §4.1, RFC 7636", expect="survive"),
    Fault("discovery-issuer", "discovery", "serves metadata whose issuer is another URL",
       "refuse the metadata and go nowhere", "check_metadata_issuer",
       "RFC 8414 §3.3, OIDC Discovery §4.3"),
    Fault("state-altered", "callback", "returns a state that is not the one the client sent",
       "refuse the callback before exchanging its code", "check_state",
       "RFC 6749 §10.12, RFC 9700 §4.7.1"),
    Fault("state-missing", "callback", "returns the callback without state",
       "refuse the callback before exchanging its code", "check_state",
       "RFC 6749 §10.12, RFC 9700 §4.7.1"),
    Fault("iss-missing", "callback",
       "leaves iss out of the callback although its metadata says it sends one",
       "refuse the callback", "check_iss", "RFC 9207 §2.4"),
    Fault("iss-wrong", "callback", "returns an iss that differs from the issuer (a trailing slash)",
       "refuse the callback (issuers are compared exactly)", "check_iss", "RFC 9207 §2.4"),
    Fault("iss-mixup", "callback", "returns the iss of another authorization server the lab runs",
       "refuse the callback: it came from another server (mix-up)", "check_iss",
       "RFC 9207 §2.4, RFC 9700 §4.4"),
    Fault("error-without-state", "callback",
       "answers with an error (access_denied) that carries no state",
       "refuse it as unsolicited (state missing) rather than report the server's error",
       "check_state", "RFC 6749 §4.1.2.1, §10.12",
       accepted_if="its output repeats the error's description (it took the forged error as "
       "the server's answer)"),
    Fault("code-reused", "token", "refuses the code as already used (invalid_grant)", STOP,
       "handle_token_error", "RFC 6749 §4.1.2, §5.2",
       accepted_if="it retries the refused code"),
    Fault("code-expired", "token", "refuses the code as expired (invalid_grant)", STOP,
       "handle_token_error", "RFC 6749 §4.1.2, §5.2",
       accepted_if="it retries the refused code"),
    Fault("token-slow", "token", "holds the token request without answering",
       "give up after a timeout of its own and say so", "bound_the_wait",
       "robustness (no spec section)",
       accepted_if="never: a client that waits until the time limit is counted as crashed"),
    Fault("token-503", "token", "answers 503 Service Unavailable with a plain-text body", STOP,
       "handle_token_error", "RFC 6749 §5.1-5.2",
       accepted_if="never: nothing usable is issued"),
    Fault("token-html", "token", "answers 502 with an HTML error page", STOP,
       "handle_token_error", "RFC 6749 §5.1-5.2",
       accepted_if="never: nothing usable is issued"),
    Fault("token-invalid-json", "token", "answers 200 with truncated JSON", STOP,
       "handle_token_error", "RFC 6749 §5.1, RFC 8259",
       accepted_if="never: nothing usable is issued"),
    Fault("token-type", "token", "issues a token whose token_type is not Bearer (\"mac\")",
       "not use a token of a type it does not understand", "check_token_type",
       "RFC 6749 §7.1"),
    Fault("no-expires-in", "token", "leaves expires_in out of every token response",
       "use the token anyway, its lifetime unknown", "tolerate_missing_expires_in",
       "RFC 6749 §5.1", expect="survive"),
    Fault("scope-wider", "token", "grants a scope wider than asked (adds \"admin\")",
       "not use a grant wider than it asked for", "check_granted_scope",
       "RFC 6749 §3.3, RFC 9700 §2.3"),
    Fault("id-token-aud", "id_token", "issues an ID token for another audience",
       "refuse the ID token", "check_id_token_audience", ID + " step 3"),
    Fault("id-token-iss", "id_token", "issues an ID token whose iss is another issuer",
       "refuse the ID token", "check_id_token_issuer", ID + " step 2"),
    Fault("id-token-nonce", "id_token", "issues an ID token with another nonce",
       "refuse the ID token", "check_id_token_nonce", ID + " step 11"),
    Fault("id-token-at-hash", "id_token", "issues an ID token whose at_hash is not the access token's",
       "refuse the ID token", "check_at_hash", "OIDC Core §3.1.3.8 (a MAY in the code flow)"),
    Fault("id-token-alg-none", "id_token", "issues an unsigned ID token (alg none)",
       "refuse the ID token", "check_id_token_signature", ID + " steps 6-7, RFC 8725 §3.1"),
    Fault("id-token-hs256-pubkey", "id_token",
       "signs the ID token with HS256, the server's RSA public key (PEM) as the HMAC secret",
       "refuse the ID token (only the expected asymmetric algorithm)", "check_id_token_signature",
       ID + " step 6, RFC 8725 §2.1, §3.1"),
    Fault("id-token-expired", "id_token", "issues an ID token that expired an hour ago",
       "refuse the ID token", "check_id_token_expiry", ID + " step 9"),
    Fault("id-token-iat-future", "id_token", "issues an ID token issued an hour in the future",
       "refuse the ID token", "check_id_token_iat", ID + " step 10"),
    Fault("id-token-kid-unknown", "id_token",
       "signs the ID token with a key whose kid is not in its JWKS",
       "fetch the JWKS again once, then refuse the ID token", "check_id_token_signature",
       ID + " step 6, OIDC Core §10.1.1"),
    Fault("jwks-rotated", "refresh",
       "rotates its keys at the first refresh: the new ID token's key replaces the old in the JWKS",
       "fetch the JWKS again for the new kid and carry on", "refetch_jwks_on_new_kid",
       "OIDC Core §10.1.1", expect="survive"),
    Fault("refresh-reuse", "refresh",
       "rotates the refresh token at every refresh and treats the old one as stolen",
       "use the new refresh token and forget the old one", "use_rotated_refresh_token",
       "RFC 9700 §4.14.2, RFC 6749 §6", expect="survive",
       accepted_if="it presents a refresh token the lab rotated away"),
)  # fmt: skip

BY_NAME: dict[str, Fault] = {f.name: f for f in FAULTS}


def select(names: list[str] | tuple[str, ...] | None) -> tuple[Fault, ...]:
    """The faults named (in catalogue order), or all; an unknown name raises ``KeyError``."""
    if not names:
        return FAULTS
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(", ".join(unknown))
    return tuple(f for f in FAULTS if f.name in names)
