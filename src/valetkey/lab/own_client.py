"""valetkey's own client library run through the lab: ``python -m valetkey.lab.own_client ISSUER
CLIENT_ID REDIRECT_URI`` (``valetkey lab run --client valetkey``).

The lab's client script: discovery, the code flow with PKCE (the lab's /authorize redirects at
once; the redirect is read, not followed), userinfo, then twice a refresh and userinfo with the new
token. The library's own errors are refusals, printed on one line; anything else is left uncaught.
"""

from __future__ import annotations

import sys
import time
from urllib.parse import parse_qsl, urlsplit

import httpx

from valetkey.client import (
    ClientConfig,
    ClientError,
    TokenAuth,
    TokenSet,
    UnexpectedResponse,
    discover,
    grants,
    run,
    start,
)

SCOPE = "openid profile"
TIMEOUT = 5.0


def _callback(http: httpx.Client, url: str) -> dict[str, str]:
    """What a browser would bring back: the parameters of the redirect /authorize answers."""
    answer = http.get(url)
    location = answer.headers.get("location")
    if not answer.is_redirect or not location:
        raise UnexpectedResponse(f"/authorize answered {answer.status_code} without a redirect")
    parts = urlsplit(location)
    return dict(parse_qsl(parts.query or parts.fragment, keep_blank_values=True))


def _userinfo(http: httpx.Client, url: str, tokens: TokenSet) -> None:
    answer = http.get(url, auth=TokenAuth(tokens))
    if answer.status_code != 200:
        raise UnexpectedResponse(f"userinfo answered {answer.status_code}")


def drive(issuer: str, client_id: str, redirect_uri: str) -> None:
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as http:
        endpoints = run(discover(issuer), http)
        config = ClientConfig(client_id, endpoints, scope=SCOPE, redirect_uri=redirect_uri)
        pending = start(config, redirect_uri)
        callback = _callback(http, pending.url)
        tokens = run(grants.authorization_code(config, pending, callback, time.time()), http)
        userinfo = str(endpoints.metadata.get("userinfo_endpoint") or "")
        _userinfo(http, userinfo, tokens)
        for _ in range(2):
            tokens = run(grants.refresh(config, tokens, time.time()), http)
            _userinfo(http, userinfo, tokens)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m valetkey.lab.own_client ISSUER CLIENT_ID REDIRECT_URI")
        return 2
    try:
        drive(*args)
    except (ClientError, httpx.TransportError) as exc:
        print(f"refused: {type(exc).__name__}: {exc}")
        return 1
    print("finished the flow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
