"""Metadata (RFC 8414 section 2) that says what the server actually does."""

from __future__ import annotations

from valetkey.audit.experiments import attempt, baseline
from valetkey.audit.model import Result, failed, passed
from valetkey.audit.target import Target


def consistent(t: Target) -> Result:
    meta = t.metadata
    notes: list[str] = []
    bad: list[str] = []
    methods = meta.get("code_challenge_methods_supported")
    if not isinstance(methods, list):
        bad.append("code_challenge_methods_supported is not published (RFC 9700 section 2.1.1)")
        methods = []
    elif "S256" not in methods:
        bad.append(f"code_challenge_methods_supported {methods} lacks S256")
    plain = attempt(t, "plain")
    plain_works = plain.redeemed is not None and plain.redeemed.status_code == 200
    (bad if plain_works != ("plain" in methods) else notes).append(
        f"plain {'accepted' if plain_works else 'refused'}, "
        f"{'listed' if 'plain' in methods else 'not listed'} in code_challenge_methods_supported"
    )
    sent = "iss" in baseline(t).grant.landing.params
    says = meta.get("authorization_response_iss_parameter_supported") is True
    (bad if sent != says else notes).append(
        f"iss {'sent' if sent else 'not sent'}, authorization_response_iss_parameter_supported "
        f"{meta.get('authorization_response_iss_parameter_supported')!r}"
    )
    return failed("; ".join(bad + notes)) if bad else passed("; ".join(notes))
