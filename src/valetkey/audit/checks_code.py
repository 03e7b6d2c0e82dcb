"""Authorization codes used once and briefly (RFC 6749 section 4.1.2, OAuth 2.1 section 4.1.3), and
refresh tokens rotated with reuse detection (RFC 9700 section 4.14.2, OAuth 2.1 section 4.3.1)."""

from __future__ import annotations

import time

import httpx

from valetkey.audit.experiments import replay, rotation
from valetkey.audit.model import Result, failed, passed, skipped
from valetkey.audit.target import Target, body, summary


def single_use(t: Target) -> Result:
    r = replay(t)
    if r.second.status_code == 200:
        return failed(f"the same code was redeemed twice: second exchange {summary(r.second)}")
    return passed(f"second exchange of the same code: {summary(r.second)}")


def replay_revokes(t: Target) -> Result:
    r = replay(t)
    if r.second.status_code == 200:
        return skipped("the replay itself was accepted (see code.single_use)")
    tokens = body(r.first)
    if isinstance(tokens.get("refresh_token"), str):
        after = t.refresh(tokens["refresh_token"])
        what = "the refresh token of the first exchange"
    elif isinstance(tokens.get("access_token"), str) and t.metadata.get("userinfo_endpoint"):
        after = t.http.get(
            str(t.metadata["userinfo_endpoint"]),
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        what = "the access token of the first exchange, at the userinfo endpoint"
    else:
        return skipped("no refresh token and no userinfo endpoint to observe a revocation with")
    if after.status_code == 200:
        return failed(f"after the code was replayed, {what} still works: {summary(after)}")
    return passed(f"after the code was replayed, {what} is refused: {summary(after)}")


def lifetime(t: Target) -> Result:
    wait = t.config.code_wait
    if wait <= 0:
        return skipped("not run: give --code-wait SECONDS, longer than the server's code lifetime")
    grant = t.code()
    time.sleep(wait)
    response = t.exchange(grant)
    if response.status_code == 200:
        return failed(f"a code redeemed {wait:g} s after it was issued was accepted")
    return passed(f"a code redeemed {wait:g} s after it was issued: {summary(response)}")


def _works(response: httpx.Response | None) -> bool:
    return response is not None and response.status_code == 200


def refresh_rotation(t: Target) -> Result:
    r = rotation(t)
    if r.new is not None:
        return passed("the refresh response carries a new refresh token")
    if not t.config.public:
        return skipped("no rotation, which RFC 9700 section 4.14.2 requires of public clients "
                       "only; this client is confidential")  # fmt: skip
    return failed("a public client's refresh token is not rotated: a stolen one works until "
                  "it expires")  # fmt: skip


def refresh_reuse_refused(t: Target) -> Result:
    r = rotation(t)
    if r.new is None:
        return skipped("no rotation (see refresh.rotation)")
    if _works(r.reuse):
        return failed("the rotated-out refresh token was accepted again: "
                      f"{summary(r.reuse) if r.reuse else ''}")  # fmt: skip
    return passed(f"the rotated-out refresh token: {summary(r.reuse) if r.reuse else ''}")


def refresh_reuse_revokes(t: Target) -> Result:
    r = rotation(t)
    if r.new is None or _works(r.reuse):
        return skipped("no reuse to detect (see refresh.rotation and refresh.reuse_refused)")
    if _works(r.after):
        return failed("after the old refresh token was replayed, the newest one still works: "
                      "the server does not treat the reuse as a breach")  # fmt: skip
    return passed(f"after the replay, the newest refresh token: "
                  f"{summary(r.after) if r.after else ''}")  # fmt: skip
