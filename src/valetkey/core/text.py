"""Protocol strings that may carry what a client sent: kept within the characters the specs allow.

RFC 6749 §5.2 limits ``error_description`` (and RFC 6750 §3 every quoted challenge attribute) to
%x20-21 / %x23-5B / %x5D-7E: printable ASCII without ``"`` and ``\\``. Whatever a client sent
(non-ASCII, control bytes, quotes) is shown with each other character replaced by ``?``.
"""

from __future__ import annotations

import re

# RFC 6749 §5.2 / RFC 6750 §3: the characters allowed in error_description and quoted attributes.
_NOT_ALLOWED = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
_ALLOWED = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
REPLACEMENT = "?"


def safe(value: str) -> str:
    """``value`` with every character RFC 6749 §5.2 does not allow replaced by ``?``."""
    if _ALLOWED.fullmatch(value):
        return value
    return _NOT_ALLOWED.sub(REPLACEMENT, value)


def public(description: str) -> str:
    """A description the server wrote, as it may be sent: "§" spelled "section", then ``safe``."""
    return safe(description.replace("§", "section "))


def is_safe(value: str) -> bool:
    return _ALLOWED.fullmatch(value) is not None


def shown(value: object, limit: int = 40) -> str:
    """A client-sent value for a description: cut to ``limit`` characters, made safe, in quotes
    (``'value'``, ``'long...'``); what ``{value[:limit]!r}`` meant, within the allowed characters."""
    text = str(value)
    cut = text[:limit] + ("..." if len(text) > limit else "")
    return f"'{safe(cut)}'"
