"""Text sent to another party: only the characters RFC 6749 §5.2 allows in error_description
(%x20-21 / %x23-5B / %x5D-7E), which are also safe inside a quoted challenge parameter."""

from __future__ import annotations

import re

_NOT_ALLOWED = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def public(text: str, limit: int = 300) -> str:
    """``text`` with every other character replaced by ``?``, at most ``limit`` characters."""
    return _NOT_ALLOWED.sub("?", text[:limit])
