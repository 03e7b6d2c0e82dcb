"""A stand-in for the system browser (set as $BROWSER): signs in through the real forms, no JS."""

from __future__ import annotations

import sys

import httpx

from tests.client.clirun import sign_in_via_forms

if __name__ == "__main__":
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        page = sign_in_via_forms(browser, sys.argv[1])
        sys.exit(0 if "Signed in" in page.text else 1)
