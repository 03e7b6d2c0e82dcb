"""core.claims: the OpenID standard claims and what each scope releases (OIDC Core §5.1, §5.4)."""

from __future__ import annotations

from valetkey.core.claims import SCOPE_CLAIMS, STANDARD_CLAIMS, claims_for_scopes
from valetkey.core.models import User

ALICE = User(
    "sub-1",
    "alice",
    "hash",
    {"name": "Alice", "email": "a@example.test", "email_verified": True, "phone_number": "1"},
)


def test_the_standard_claims_are_exactly_the_ones_scopes_release() -> None:
    assert len(STANDARD_CLAIMS) == len(set(STANDARD_CLAIMS)) == 19
    assert set(STANDARD_CLAIMS) == {c for names in SCOPE_CLAIMS.values() for c in names}
    assert "sub" not in STANDARD_CLAIMS


def test_claims_follow_the_scopes() -> None:
    assert claims_for_scopes(ALICE, ("openid",)) == {"sub": "sub-1"}
    assert claims_for_scopes(ALICE, ("openid", "email")) == {
        "sub": "sub-1",
        "email": "a@example.test",
        "email_verified": True,
    }
    # profile names the user's username when no preferred_username was configured
    assert claims_for_scopes(ALICE, ("profile",)) == {
        "sub": "sub-1",
        "name": "Alice",
        "preferred_username": "alice",
    }
    assert claims_for_scopes(ALICE, ("phone", "read:files")) == {
        "sub": "sub-1",
        "phone_number": "1",
    }
