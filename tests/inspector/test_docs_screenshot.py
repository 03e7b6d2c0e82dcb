"""The README shows the inspector: a screenshot that ``test_browser.py`` takes of a real PKCE login
(``VALETKEY_UPDATE_DOCS_SCREENSHOT=1`` writes it to ``docs/inspector.png``)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from tests.inspector.test_browser import DOCS_SCREENSHOT

ROOT = Path(__file__).parents[2]
IMAGE = re.compile(r"!\[[^\]]+\]\(([^)]+)\)")


def test_the_readme_shows_the_screenshot_the_browser_test_takes() -> None:
    shown = IMAGE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "docs/inspector.png" in shown
    assert (ROOT / "docs/inspector.png").resolve() == DOCS_SCREENSHOT.resolve()
    data = DOCS_SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1440, 1120)  # the browser test's viewport for it
