"""The interaction step of a valid authorization request (OIDC Core §3.1.2.1-§3.1.2.6) as a rule table.

``decide_interaction`` takes what the server loaded (the browser's login session, the scopes the user
already approved for this client), the time, and whether the user has just signed in for this very
request, and returns the next step: show the sign-in page, show the consent page, or issue the
response. With ``prompt=none`` no page may be shown, so a step that needs the user becomes the
``login_required`` or ``consent_required`` error (OIDC Core §3.1.2.6), sent to the redirect URI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from valetkey.core import redirect
from valetkey.core.authorize import AuthorizationRequest
from valetkey.core.checks import Rejected, Rule, Stop, run_rules
from valetkey.core.errors import ConsentRequired, LoginRequired, OAuthError
from valetkey.core.events import Check
from valetkey.core.models import LoginSession
from valetkey.core.records import fast_init

Step = Literal["sign_in", "consent", "issue"]
PROMPT_NONE_SPEC = "OIDC Core §3.1.2.6"


@fast_init
@fast_init
@dataclass(frozen=True)
class InteractionContext:
    request: AuthorizationRequest
    session: LoginSession | None
    granted: tuple[
        str, ...
    ]  # the scopes this user approved for this client (none without a session)
    now: float
    fresh_login: bool = False  # signed in for this very request: satisfies prompt=login and max_age
    public_client: bool = False  # no client authentication: its identity rests on its redirect URI


@fast_init
@dataclass(frozen=True)
class Interaction:
    step: Step
    checks: tuple[Check, ...]  # the rules that passed (and, for an error, the one that failed)
    error: OAuthError | None = None  # set with prompt=none when the user would have to act
    rule: str = ""  # the rule that chose a page, its spec section and why (for the page's event)
    spec: str = ""
    reason: str = ""

    def why(self) -> dict[str, str]:
        """What a page's event shows about the choice: the deciding rule, its spec and the reason."""
        return {"rule": self.rule, "spec": self.spec, "reason": self.reason} if self.rule else {}


class NeedsUser(Stop):
    def __init__(self, step: Step, reason: str) -> None:
        super().__init__(reason)
        self.step: Step = step


def _session(ctx: InteractionContext) -> LoginSession:
    assert ctx.session is not None  # check_signed_in ran first
    return ctx.session


def _ask(ctx: InteractionContext, step: Step, reason: str) -> None:
    """Ask the user, or, when prompt=none forbids it, fail with the matching error."""
    if "none" not in ctx.request.prompt:
        raise NeedsUser(step, reason)
    if step == "sign_in":
        raise LoginRequired(
            "the user is not signed in and prompt=none forbids asking",
            spec=PROMPT_NONE_SPEC,
            detail=reason,
        )
    raise ConsentRequired(
        "the user has not approved these scopes and prompt=none forbids asking",
        spec=PROMPT_NONE_SPEC,
        detail=reason,
    )


def check_signed_in(ctx: InteractionContext) -> None:
    if ctx.session is None:
        _ask(ctx, "sign_in", "no sign-in session in this browser")


def check_prompt_login(ctx: InteractionContext) -> None:
    if "login" in ctx.request.prompt and not ctx.fresh_login:
        _ask(ctx, "sign_in", "prompt=login: the user must sign in again")


def check_max_age(ctx: InteractionContext) -> None:
    max_age = ctx.request.max_age
    if max_age is None or ctx.fresh_login:
        return
    age = ctx.now - _session(ctx).auth_time
    if age > max_age:
        _ask(ctx, "sign_in", f"signed in {age:.0f}s ago, more than max_age={max_age}")


def check_prompt_consent(ctx: InteractionContext) -> None:
    if "consent" in ctx.request.prompt:
        _ask(ctx, "consent", "prompt=consent: the user must approve again")


def check_client_identity(ctx: InteractionContext) -> None:
    # RFC 8252 §8.6: remembered consent is not applied where the client's identity is unproven.
    if ctx.public_client and redirect.claimable_by_any_local_app(ctx.request.redirect_uri):
        _ask(
            ctx,
            "consent",
            "a public client redirecting to a loopback or private-use URI cannot prove which app "
            "it is: the user approves each request",
        )


def check_scopes_approved(ctx: InteractionContext) -> None:
    missing = [s for s in ctx.request.scope if s not in ctx.granted]
    if missing:
        _ask(ctx, "consent", "not yet approved: " + " ".join(missing)[:200])


INTERACTION_RULES: tuple[Rule[InteractionContext], ...] = (
    Rule("check_signed_in", "OIDC Core §3.1.2.3", check_signed_in),
    Rule("check_prompt_login", "OIDC Core §3.1.2.1 (prompt=login)", check_prompt_login),
    Rule("check_max_age", "OIDC Core §3.1.2.1 (max_age)", check_max_age),
    Rule("check_prompt_consent", "OIDC Core §3.1.2.1 (prompt=consent)", check_prompt_consent),
    Rule("check_client_identity", "RFC 8252 §8.6, RFC 6749 §10.2", check_client_identity),
    Rule("check_scopes_approved", "OIDC Core §3.1.2.4, RFC 6749 §4.1.1", check_scopes_approved),
)


def decide_interaction(ctx: InteractionContext) -> Interaction:
    try:
        return Interaction("issue", run_rules(INTERACTION_RULES, ctx))
    except NeedsUser as need:
        return Interaction(need.step, need.checks, None, need.rule, need.spec, need.reason)
    except Rejected as rejected:
        exc = rejected.error
        step: Step = "sign_in" if isinstance(exc, LoginRequired) else "consent"
        return Interaction(step, rejected.checks, exc, exc.rule, exc.spec, exc.detail)
