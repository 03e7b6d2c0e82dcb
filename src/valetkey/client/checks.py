"""The client's security rules as recorded checks, and the one way to skip a rule.

Every rule the client applies to a response leaves a :class:`~valetkey.core.events.Check` (pass,
fail or skip) that an app may show or log. A rule is skipped only when the caller names it in a
:class:`Skip` with a reason: no parameter defaults to skipping, and a skip is recorded like any
other outcome, so it can never pass silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from valetkey.client.errors import ConfigError, SecurityCheckFailed
from valetkey.core import jose
from valetkey.core.events import Check

SkippableRule = Literal["pkce", "state"]
# Each rule the client records: (check name, spec section).
RULES: Mapping[str, tuple[str, str]] = {
    "pkce": ("use_pkce", "RFC 7636 §4.1, RFC 9700 §2.1.1"),
    "state": ("check_state", "RFC 6749 §10.12, RFC 9700 §4.7"),
    "iss": ("check_iss", "RFC 9207 §2.4"),
    "id_token": ("check_id_token", "OIDC Core §3.1.3.7"),
    "token_type": ("check_token_type", "RFC 6749 §7.1"),
    "scope": ("check_scope_not_wider", "RFC 6749 §3.3, RFC 9700 §2.3"),
    "device_response": ("check_device_authorization_response", "RFC 8628 §3.2"),
    "verification_uri": ("check_verification_uri", "RFC 8628 §3.2, RFC 6749 §3.1"),
}
SKIPPABLE: frozenset[str] = frozenset({"pkce", "state"})
ID_TOKEN = "OIDC Core §3.1.3.7"
# Where a group of checks ran: the callback (state, iss), the token response (token type, scope),
# the ID token, or a device authorization response (RFC 8628 §3.2). A :data:`Noter` hears of each group, passed or failed; without one (the
# default) nothing is built or called.
Stage = Literal["callback", "token", "id_token", "device_authorization"]
Noter = Callable[[Stage, tuple[Check, ...]], None]


@dataclass(frozen=True)
class Skip:
    """A rule the caller deliberately does not apply, e.g. to demonstrate the attack it stops.

    ``Skip("state", "login CSRF demo")``: the skipped rule is recorded as a ``skip`` check with
    this reason wherever the rule would have run.
    """

    rule: SkippableRule
    reason: str

    def __post_init__(self) -> None:
        if self.rule not in SKIPPABLE:
            raise ConfigError(
                f"{self.rule!r} cannot be skipped; the rules that can: {', '.join(sorted(SKIPPABLE))}"
            )
        if not self.reason.strip():
            raise ConfigError(
                f"skipping {self.rule!r} needs a reason: it is recorded with the skip"
            )

    @property
    def check(self) -> Check:
        name, spec = RULES[self.rule]
        return Check(name, "skip", spec, self.reason)


def skips(given: Iterable[Skip], where: str, applies: Iterable[str]) -> dict[str, Skip]:
    """The skips by rule; a bare rule name, or a rule that ``where`` does not apply, is refused."""
    found: dict[str, Skip] = {}
    for item in given:
        if not isinstance(item, Skip):
            raise ConfigError(f"name a skipped rule with Skip(rule, reason), not {item!r}")
        if item.rule not in applies:
            raise ConfigError(f"{where} does not apply {item.rule!r}: there is nothing to skip")
        found[item.rule] = item
    return found


def passed(rule: str, detail: str) -> Check:
    name, spec = RULES[rule]
    return Check(name, "pass", spec, detail)


def failed(rule: str, exc: SecurityCheckFailed, before: Iterable[Check] = ()) -> Check:
    """Record ``exc`` as the failure of ``rule``, after the checks that passed ``before`` it."""
    name, spec = RULES[rule]
    check = Check(name, "fail", exc.spec or spec, str(exc))
    exc.checks = (*before, check)
    return check


def run(
    stage: Stage,
    rules: Iterable[tuple[str, Callable[[], str]]],
    note: Noter | None = None,
    skipped: Mapping[str, Skip] | None = None,
) -> tuple[Check, ...]:
    """Apply ``rules`` in order (each returns what it found, or raises ``SecurityCheckFailed``);
    return their record. The first failure raises with ``checks`` set; a rule in ``skipped`` is
    recorded as skipped. ``note`` hears of the record, passed or failed."""
    done: list[Check] = []
    for rule, apply in rules:
        if skipped and rule in skipped:
            done.append(skipped[rule].check)
            continue
        try:
            done.append(passed(rule, apply()))
        except SecurityCheckFailed as exc:
            failed(rule, exc, done)
            if note is not None:
                note(stage, exc.checks)
            raise
    if note is not None:
        note(stage, tuple(done))
    return tuple(done)


def id_token_record(
    id_token: str, claims: Mapping[str, Any], nonce: str | None, access_token: str | None
) -> tuple[Check, ...]:
    """The rules a valid ID token passed in ``client.idtoken.validate``, one check each."""
    header, _claims = jose.unverified_parts(id_token)  # verified already: safe to read
    aud, azp = claims.get("aud"), claims.get("azp")
    record = [
        Check(
            "check_id_token_signature",
            "pass",
            ID_TOKEN + " step 6",
            f"{header.get('alg')} kid={header.get('kid')}, verified with the issuer's JWK Set",
        ),
        Check("check_id_token_issuer", "pass", ID_TOKEN + " step 2", f"iss={claims.get('iss')}"),
        Check(
            "check_id_token_audience",
            "pass",
            ID_TOKEN + " steps 3-5",
            f"aud={aud}" + (f", azp={azp}" if azp is not None else ""),
        ),
        Check(
            "check_id_token_expiry",
            "pass",
            ID_TOKEN + " step 9",
            f"exp={claims.get('exp')} is not past (clock skew allowed)",
        ),
    ]
    if nonce is not None:
        record.append(
            Check(
                "check_id_token_nonce",
                "pass",
                ID_TOKEN + " step 11",
                "nonce matches the one this client sent (compared in constant time)",
            )
        )
    if "at_hash" in claims and access_token is not None:
        record.append(
            Check(
                "check_at_hash",
                "pass",
                "OIDC Core §3.1.3.8",
                "at_hash binds the ID token to this access token",
            )
        )
    return tuple(record)
