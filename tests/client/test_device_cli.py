"""`valetkey token get --grant device_code` in process: the QR code, when it is shown, the
progress line, and the exit code when the code expires (the full flow runs against oidc-provider
in tests/interop/test_device_cli.py)."""

from __future__ import annotations

import io
import threading
from typing import Any

import httpx
import pytest
import segno

from tests.client.clirun import cli
from valetkey.cli.client_errors import EXIT_TIMEOUT
from valetkey.cli.device_grant import Progress, progress_line, qr_text, wants_qr
from valetkey.client.device_polling import PollStatus

BLOCKS = {"\u2588": (1, 1), "\u2580": (1, 0), "\u2584": (0, 1), " ": (0, 0)}  # (top, bottom) light


def test_the_qr_code_is_the_links_matrix_drawn_light_on_dark_with_a_margin() -> None:
    link = "http://127.0.0.1:9000/device?user_code=WDJB-MJHT"
    text = qr_text(link)
    assert set(text) <= set(BLOCKS) | {"\n"}  # half blocks only: no colours, no escapes
    rows: list[list[int]] = []
    for line in text.splitlines():
        rows += [[BLOCKS[c][0] for c in line], [BLOCKS[c][1] for c in line]]
    expected = [[1 - m for m in row] for row in segno.make(link, error="m").matrix]  # 1 = light
    size = len(expected)
    drawn = rows[: size + 4]  # an odd last row is padded with a half row of nothing
    margin = drawn[:2] + drawn[-2:] + [r[:2] + r[-2:] for r in drawn]
    assert all(all(r) for r in margin)  # a light quiet zone two modules wide all round
    assert [r[2:-2] for r in drawn[2:-2]] == [list(r) for r in expected]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_qr_code_goes_to_a_terminal_unless_told_otherwise() -> None:
    assert wants_qr(None, Tty()) and not wants_qr(None, io.StringIO())
    assert wants_qr(True, io.StringIO()) and not wants_qr(False, Tty())


def test_the_progress_line_counts_polls_and_time_left() -> None:
    status = PollStatus(polls=3, interval=10, answer="slow_down", expires_at=1000)
    line = progress_line(status, 10, 4.4, now=820, expires_at=1000)
    assert "3 polls, next in 4 s (every 10 s), code expires in 3 minutes" in line
    assert "0 polls" in progress_line(None, 5, 5, now=0, expires_at=600)


class Spinner:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def update(self, text: str) -> None:
        self.lines.append(text)


def test_slow_down_and_timeouts_are_said_and_change_the_shown_interval(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spinner = Spinner()
    progress = Progress(spinner, expires_at=10**10, interval=5)  # type: ignore[arg-type]
    progress.report(PollStatus(1, 10, "slow_down", 10**10))
    progress.report(PollStatus(2, 20, "timeout", 10**10))
    progress.sleep(0.01)
    err = capsys.readouterr().err
    assert "the server asked to slow down: polling every 10 s now" in err
    assert "did not answer in time: next poll in 20 s" in err
    assert spinner.lines and "2 polls" in spinner.lines[-1] and "every 20 s" in spinner.lines[-1]


def fake_server(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/device_authorization":
        body: dict[str, Any] = {
            "device_code": "dc",
            "user_code": "WDJB-MJHT",
            "verification_uri": "https://as.example/device",
            "verification_uri_complete": "https://as.example/device?user_code=WDJB-MJHT",
            "expires_in": 1,  # gone before the first poll is due
            "interval": 5,
        }
        return httpx.Response(200, json=body)
    raise AssertionError(f"unexpected request {request.url}")


def test_a_code_that_expires_before_approval_exits_with_the_timeout_code(
    monkeypatch: pytest.MonkeyPatch, xdg: dict[str, str]
) -> None:
    client = httpx.Client(transport=httpx.MockTransport(fake_server))
    monkeypatch.setattr("valetkey.cli.token_get.http_client", lambda: client)
    opened: list[str] = []
    done = threading.Event()
    monkeypatch.setattr("webbrowser.open", lambda url: (opened.append(url), done.set()))
    result = cli(
        "token", "get", "--grant", "device", "--client-id", "tv", "--qr", "--browser",
        "--token-url", "https://as.example/token",
        "--device-authorization-url", "https://as.example/device_authorization",
    )  # fmt: skip
    assert done.wait(5) and opened == ["https://as.example/device?user_code=WDJB-MJHT"]
    assert result.exit_code == EXIT_TIMEOUT, result.stderr
    assert "https://as.example/device\n" in result.stderr
    assert "and enter the code  WDJB-MJHT" in result.stderr
    assert qr_text("https://as.example/device?user_code=WDJB-MJHT") in result.stderr
    assert "not approved in time" in result.stderr and "run the command again" in result.stderr


def test_without_an_endpoint_the_cli_says_which_flag_is_missing(xdg: dict[str, str]) -> None:
    result = cli("token", "get", "--grant", "device_code", "--client-id", "tv",
                 "--token-url", "https://as.example/token")  # fmt: skip
    assert result.exit_code == 2
    assert "--device-authorization-url" in result.stderr
