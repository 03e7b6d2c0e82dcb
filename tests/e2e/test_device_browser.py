"""In Chromium, against a real ``valetkey serve``: the link a device shows
(verification_uri_complete) opens /device with the code filled in, the person confirms it, signs
in and allows, with no Content-Security-Policy complaint; the device's next poll gets tokens."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.chromium import Watch, launched_chromium
from tests.support.device import DEVICE_CONFIG
from tests.support.servers import auth_server
from valetkey.core.device import DEVICE_CODE_GRANT

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_a_person_allows_a_device_in_chromium(tmp_path: Path) -> None:
    with (
        auth_server(DEVICE_CONFIG, tmp_path) as base,
        httpx.Client(base_url=base, timeout=10) as device,
        launched_chromium() as browser,
    ):
        started = device.post(
            "/device_authorization", data={"client_id": "tv", "scope": "read:files"}
        )
        body = started.json()
        poll = {
            "grant_type": DEVICE_CODE_GRANT,
            "device_code": body["device_code"],
            "client_id": "tv",
        }
        context = browser.new_context()
        watch = Watch(context)
        page = watch.new_page()
        page.goto(body["verification_uri_complete"])
        assert page.input_value("#user_code") == body["user_code"]
        page.click("button[type=submit]")  # the person confirms the code (RFC 8628 §5.4)
        page.fill("#username", "alice")
        page.fill("#password", "wonderland")
        page.click("button[type=submit]")
        assert body["user_code"] in page.inner_text(".user-code")
        assert "Living-room TV" in page.inner_text("main")
        assert device.post("/token", data=poll).json()["error"] == "authorization_pending"
        page.click("button[value=approve]")
        assert page.inner_text("h1") == "Device connected"
        watch.assert_quiet()
        context.close()
        tokens = device.post("/token", data=poll)
        assert tokens.status_code == 200 and tokens.json()["scope"] == "read:files"
