"""What a user has approved for a client (OIDC Core §3.1.2.4): remembered approvals only grow."""

from __future__ import annotations

from collections.abc import Iterable


def merge_consent(granted: Iterable[str], approved: Iterable[str]) -> tuple[str, ...]:
    """The scopes approved before, then the newly approved ones; each once, first approval first."""
    return tuple(dict.fromkeys((*granted, *approved)))
