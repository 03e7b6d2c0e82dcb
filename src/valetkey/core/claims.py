"""OpenID Connect user claims: the standard names (OIDC Core §5.1) and what each scope releases (§5.4).

Settings accept only these names for a user; the server releases them in ID tokens and at
/userinfo, and lists them in its metadata (``claims_supported``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from valetkey.core.models import User

# OIDC Core §5.4: the claims each scope value requests.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}

# OIDC Core §5.1: the standard claims a user record may carry (sub is the user's own identifier).
STANDARD_CLAIMS: tuple[str, ...] = tuple(name for names in SCOPE_CLAIMS.values() for name in names)


def claims_for_scopes(user: User, scope: Sequence[str]) -> dict[str, Any]:
    """``sub`` and the user's claims that the granted scopes release (OIDC Core §5.4)."""
    out: dict[str, Any] = {"sub": user.sub}
    for s in scope:
        for name in SCOPE_CLAIMS.get(s, ()):
            if name in user.claims:
                out[name] = user.claims[name]
    if "profile" in scope and "preferred_username" not in out:
        out["preferred_username"] = user.username
    return out
