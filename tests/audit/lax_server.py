"""A deliberately lax authorization server (Starlette, in a thread on a loopback port): each switch
of :class:`Lax` turns one defence on, so a test can show that each audit check fails when the
defence is missing and passes when it is there."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

REDIRECT = "https://client.example/cb"
LOGIN = """<!doctype html><html><head><title>Sign in</title></head><body>
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<input name="username"><input type="password" name="password">
<button type="submit" name="go" value="sign-in">Sign in</button></form></body></html>"""


@dataclass
class Lax:
    """Every defence off by default."""

    single_use: bool = False  # a code works once
    rotate: bool = False  # a refresh gives a new refresh token
    refuse_old: bool = False  # a rotated-out refresh token is refused
    crash: bool = False  # a 500 for requests without a challenge or with another redirect_uri
    issuer: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens: dict[str, bool] = field(default_factory=dict)  # token -> still valid

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/oauth-authorization-server", self.metadata),
            Route("/authorize", self.authorize),
            Route("/login", self.login, methods=["POST"]),
            Route("/token", self.token, methods=["POST"]),
        ])  # fmt: skip

    async def metadata(self, request: Request) -> Response:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "code_challenge_methods_supported": ["S256"],  # while plain works too
            "authorization_response_iss_parameter_supported": True,  # while iss is never sent
        })  # fmt: skip

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if request.cookies.get("session") != "alice":  # no X-Frame-Options, no frame-ancestors
            return HTMLResponse(LOGIN.format(next=str(request.url).replace('"', "&quot;")))
        redirect, state = q.get("redirect_uri", REDIRECT), q.get("state", "")[:8]  # cut short
        if self.crash and (redirect != REDIRECT or "code_challenge" not in q):
            return HTMLResponse("<title>Internal error</title>", 500)
        if q.get("response_type") == "token":
            return RedirectResponse(f"{redirect}#access_token=lax&state={state}", 303)
        if q.get("response_type") != "code":
            return HTMLResponse("<title>Unsupported</title>", 400)  # not sent to the client
        code = secrets.token_urlsafe(8)
        self.codes[code] = {k: q[k] for k in ("code_challenge", "code_challenge_method") if k in q}
        sep = "&" if "?" in redirect else "?"  # any redirect_uri at all
        return RedirectResponse(f"{redirect}{sep}{urlencode({'code': code, 'state': state})}", 303)

    async def login(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        response = RedirectResponse(str(form["next"]), 303)
        if form.get("password") == "wonderland":
            response.set_cookie("session", "alice")
        return response

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if form.get("grant_type") == "authorization_code" and form.get("code") in self.codes:
            held = self.codes.pop(form["code"]) if self.single_use else self.codes[form["code"]]
            assert held is not None  # the challenge is kept, and never compared with a verifier
            return self._tokens(secrets.token_urlsafe(8))
        if form.get("grant_type") == "refresh_token" and self.refresh_tokens.get(
            form.get("refresh_token", "")
        ):
            old = form["refresh_token"]
            if not self.rotate:
                return self._tokens(old)
            self.refresh_tokens[old] = not self.refuse_old
            return self._tokens(secrets.token_urlsafe(8))
        return JSONResponse({"error": "invalid_request"}, 400)  # whatever went wrong

    def _tokens(self, refresh: str) -> Response:
        self.refresh_tokens.setdefault(refresh, True)
        body = {"access_token": secrets.token_urlsafe(8), "token_type": "Bearer",
                "refresh_token": refresh}  # fmt: skip
        return JSONResponse(body)  # no Cache-Control: no-store
