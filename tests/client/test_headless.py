"""Browser grants from a real CLI process: --no-browser with an HTTP form driver, and $BROWSER."""

from __future__ import annotations

import signal
import sys
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.client.clirun import cli, deliver, sign_in_via_forms, waiting_cli
from tests.client.proxy import recording_proxy
from tests.support.flows import login_and_consent
from tests.support.servers import free_port
from valetkey.client.tokenstore import TokenStore
from valetkey.core import jose

pytestmark = pytest.mark.e2e


def test_no_browser_code_pkce_openid_with_custom_params(
    issuer: str, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    with recording_proxy(issuer) as proxy:
        args = [
            "token",
            "get",
            "--no-browser",
            "--issuer",
            issuer,
            "--client-id",
            "cli",
            "--auth-url",
            f"{proxy.base}/authorize",
            "--token-url",
            f"{proxy.base}/token",
            "--scope",
            "openid profile read:profile offline_access",
            "--name",
            "mine",
            "--auth-param",
            "login_hint=alice",
            "--token-param",
            "header:X-Tag=t1",
            "--token-param",
            "query:tenant=blue",
            "--token-param",
            "body:extra=1",
            "--timeout",
            "60",
        ]
        with waiting_cli(args, xdg) as waiting:
            query = parse_qs(urlsplit(waiting.url).query)
            assert query["code_challenge_method"] == ["S256"] and query["state"][0]
            assert query["nonce"][0] and query["redirect_uri"][0].startswith("http://127.0.0.1:")
            page = sign_in_via_forms(browser_session, waiting.url)
            code, _out, err = waiting.finish()
        assert code == 0, err
        assert "Signed in" in page.text and "mine" in page.text
        token_request = proxy.to("/token")[0]
        assert token_request.header_values("X-Tag") == ["t1"]
        assert ("tenant", "blue") in token_request.query and ("extra", "1") in token_request.form
        assert ("login_hint", "alice") in proxy.to("/authorize")[0].query
    saved = TokenStore().get("mine").tokens
    assert saved.id_token and saved.refresh_token
    printed = cli("token", "print", "mine", "--id-token")
    assert jose.unverified_parts(printed.stdout.strip())[1]["aud"] == "cli"


def test_no_browser_auth_params_in_the_body(
    issuer: str, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    with recording_proxy(issuer) as proxy:
        args = [
            "token",
            "get",
            "--no-browser",
            "--issuer",
            issuer,
            "--client-id",
            "cli",
            "--auth-url",
            f"{proxy.base}/authorize",
            "--scope",
            "read:profile",
            "--auth-param",
            "body:login_hint=alice",
            "--auth-param",
            "body:acr_values=a",
            "--auth-param",
            "body:acr_values=b",
        ]
        with waiting_cli(args, xdg) as waiting:
            assert "/start/" in waiting.url and waiting.url.startswith("http://127.0.0.1:")
            page = sign_in_via_forms(browser_session, waiting.url)
            code, _out, err = waiting.finish()
        assert code == 0, err
        assert "Signed in" in page.text
        posted = proxy.to("/authorize")[0]
        assert posted.method == "POST" and ("login_hint", "alice") in posted.form
        assert [v for k, v in posted.form if k == "acr_values"] == ["a", "b"]


def test_no_browser_plain_pkce_with_custom_verifier(
    issuer: str, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    verifier = "plain-verifier-" + "x" * 40
    args = [
        "token",
        "get",
        "--no-browser",
        "--issuer",
        issuer,
        "--client-id",
        "plain-cli",
        "--pkce-method",
        "plain",
        "--code-verifier",
        verifier,
        "--scope",
        "read:profile",
    ]
    with waiting_cli(args, xdg) as waiting:
        assert parse_qs(urlsplit(waiting.url).query)["code_challenge"] == [verifier]
        sign_in_via_forms(browser_session, waiting.url)
        code, _out, err = waiting.finish()
    assert code == 0, err


def test_no_browser_implicit_posts_the_fragment_back(
    issuer: str, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    args = [
        "token",
        "get",
        "--no-browser",
        "--grant",
        "implicit",
        "--issuer",
        issuer,
        "--client-id",
        "spa-implicit",
        "--scope",
        "openid read:profile",
        "--name",
        "imp",
    ]
    with waiting_cli(args, xdg) as waiting:
        assert "response_type=token" in waiting.url
        page = sign_in_via_forms(browser_session, waiting.url)
        code, _out, err = waiting.finish()
    assert code == 0, err
    assert "Signed in" in page.text
    assert TokenStore().get("imp").tokens.id_token


def test_cli_state_mismatch_aborts_before_the_token_request(
    issuer: str, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    with recording_proxy(issuer) as proxy:
        args = [
            "token",
            "get",
            "--no-browser",
            "--issuer",
            issuer,
            "--client-id",
            "cli",
            "--token-url",
            f"{proxy.base}/token",
            "--scope",
            "read:profile",
        ]
        with waiting_cli(args, xdg) as waiting:
            location = login_and_consent(browser_session, waiting.url).headers["location"]
            state = parse_qs(urlsplit(location).query)["state"][0]
            page = deliver(browser_session, location.replace(state, "forged-state"))
            code, _out, err = waiting.finish()
        assert code == 4 and "state" in err
        assert "Authorization failed" in page.text
        assert proxy.to("/token") == []


def test_denied_in_the_browser_is_a_user_cancel(
    issuer: str, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    args = [
        "token",
        "get",
        "--no-browser",
        "--issuer",
        issuer,
        "--client-id",
        "deny-cli",
        "--scope",
        "read:profile",
    ]
    with waiting_cli(args, xdg) as waiting:
        page = sign_in_via_forms(browser_session, waiting.url, decision="deny")
        code, _out, err = waiting.finish()
    assert code == 130 and "access_denied" in err
    assert "access_denied" in page.text


def test_no_callback_times_out(issuer: str, xdg: dict[str, str]) -> None:
    args = [
        "token",
        "get",
        "--no-browser",
        "--issuer",
        issuer,
        "--client-id",
        "cli",
        "--timeout",
        "1",
    ]
    with waiting_cli(args, xdg) as waiting:
        code, _out, err = waiting.finish()
    assert code == 6 and "no callback" in err


def test_default_path_opens_the_system_browser(issuer: str, xdg: dict[str, str]) -> None:
    env = {**xdg, "BROWSER": f"{sys.executable} -m tests.client.form_browser %s"}
    chosen = f"http://127.0.0.1:{free_port()}/callback"
    args = [
        "token",
        "get",
        "--issuer",
        issuer,
        "--client-id",
        "cli",
        "--scope",
        "read:profile",
        "--name",
        "opened",
        "--redirect-uri",
        chosen,
        "--timeout",
        "30",
    ]
    with waiting_cli(args, env) as waiting:
        assert parse_qs(urlsplit(waiting.url).query).get("redirect_uri") == [chosen], (
            waiting.before_url
        )
        code, _out, err = waiting.finish()
    assert code == 0, err
    assert "Opening your browser" in "".join(waiting.before_url)
    assert TokenStore().get("opened").tokens.access_token


def test_ctrl_c_while_waiting_is_a_user_cancel(issuer: str, xdg: dict[str, str]) -> None:
    args = ["token", "get", "--no-browser", "--issuer", issuer, "--client-id", "cli"]
    with waiting_cli(args, xdg) as waiting:
        waiting.proc.send_signal(signal.SIGINT)
        code, _out, err = waiting.finish()
    assert code == 130 and "cancelled" in err
