"""What the responses look like: the baseline flow, iss (RFC 9207), state, no-store (RFC 6749 section
5.1), framing of the sign-in page (RFC 9700 section 4.16), the implicit grant (RFC 9700 section
2.1.2)."""

from __future__ import annotations

import re

import httpx

from valetkey.audit.experiments import ODD_STATE, baseline, error_redirect
from valetkey.audit.model import Result, Unavailable, failed, passed, skipped
from valetkey.audit.navigate import Landing, origin
from valetkey.audit.target import Target
from valetkey.core import pkce


def code_flow(t: Target) -> Result:
    try:
        e = baseline(t)
    except Unavailable as exc:
        return failed(f"an S256 code flow did not complete: {exc}")
    tokens = e.tokens
    return passed(
        f"code issued ({' -> '.join(e.grant.landing.trail[-3:])}); exchange: 200, token_type="
        f"{tokens.get('token_type')}, refresh_token: {'yes' if 'refresh_token' in tokens else 'no'}"
    )


def _iss(landing: Landing, issuer: str, what: str) -> tuple[bool, str]:
    iss = landing.params.get("iss")
    if iss == issuer:
        return True, f"{what}: iss={iss}"
    return False, f"{what}: iss {'missing' if iss is None else repr(iss)}, expected {issuer}"


def iss(t: Target) -> Result:
    results = [_iss(baseline(t).grant.landing, t.config.issuer, "success response")]
    err = error_redirect(t)
    if err.location is not None and "error" in err.params:
        results.append(_iss(err, t.config.issuer, "error response"))
    text = "; ".join(r[1] for r in results)
    return passed(text) if all(r[0] for r in results) else failed(text)


def state(t: Target) -> Result:
    got = [("success response", baseline(t).grant.landing.params.get("state"))]
    err = error_redirect(t)
    if err.location is not None and "error" in err.params:
        got.append(("error response", err.params.get("state")))
    bad = [f"{what}: {value!r}" for what, value in got if value != ODD_STATE]
    if bad:
        return failed(f"sent state {ODD_STATE!r}, got back " + "; ".join(bad))
    return passed(
        f"{ODD_STATE!r} came back byte for byte on the " + " and ".join(w for w, _ in got)
    )


def no_store(t: Target) -> Result:
    headers = baseline(t).response.headers
    cache = headers.get("cache-control", "")
    if "no-store" in cache.lower():
        return passed(f"Cache-Control: {cache}")
    return failed(f"the token response has Cache-Control {cache!r}: tokens may be cached")


def not_framable(t: Target) -> Result:
    challenge = pkce.challenge_for(pkce.new_verifier(), "S256")
    url = t.auth_url(code_challenge=challenge, code_challenge_method="S256")
    with httpx.Client(timeout=t.http.timeout) as fresh:
        response = fresh.get(url)
        for _ in range(8):
            target = str(response.url.join(response.headers.get("location", "")))
            if not response.is_redirect or origin(target) != origin(url):
                break
            response = fresh.get(target)
    if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
        return skipped(f"no sign-in page reached: {response.status_code} at {response.url}")
    xfo = response.headers.get("x-frame-options", "")
    csp = response.headers.get("content-security-policy", "")
    ancestors = re.search(r"frame-ancestors\s+([^;]*)", csp, re.I)
    where = f"the page at {response.url.path}"
    if xfo.strip().upper() in ("DENY", "SAMEORIGIN"):
        return passed(f"{where}: X-Frame-Options: {xfo}")
    if ancestors and "*" not in ancestors.group(1):
        return passed(f"{where}: CSP frame-ancestors {ancestors.group(1).strip()}")
    return failed(f"{where} sends neither X-Frame-Options nor CSP frame-ancestors: "
                  "any site can frame it (clickjacking)")  # fmt: skip


def implicit_refused(t: Target) -> Result:
    landing = t.authorize(response_type="token")
    if "access_token" in landing.params:
        return failed("response_type=token returned an access token in the redirect")
    return passed(f"response_type=token: {landing.describe()}")
