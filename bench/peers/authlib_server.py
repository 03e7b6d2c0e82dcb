"""Authlib's authorization server configured like valetkey's benchmark setup.

Flask + Authlib (RFC 6749 grants, RFC 7636 PKCE required, RFC 9068 ES256 JWT access tokens,
RFC 7662 introspection backed by the token table), SQLAlchemy on SQLite in WAL mode, Argon2id
passwords at valetkey's default cost (OWASP's: 19 MiB, t=2, p=1), a login page, a consent page
whose decision is remembered per user and client. Served by gunicorn (see bench/servers.py):

    BENCH_DB=... BENCH_ISSUER=... gunicorn -w 2 'authlib_server:create_app()'
"""

from __future__ import annotations

import hmac
import html
import json
import os
import secrets
import time
from urllib.parse import urlencode

from argon2 import PasswordHasher
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.sqla_oauth2 import (
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    create_query_client_func,
    create_save_token_func,
)
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Flask, redirect, request, session
from joserfc.jwk import ECKey
from sqlalchemy import Column, Integer, String, Text, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker

RESOURCE = "https://api.bench.test"
REDIRECT = "https://client.bench.test/callback"
hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)  # as valetkey


class Base(DeclarativeBase):
    pass


class Client(Base, OAuth2ClientMixin):
    __tablename__ = "clients"
    id = Column(Integer, primary_key=True)


class AuthorizationCode(Base, OAuth2AuthorizationCodeMixin):
    __tablename__ = "codes"
    id = Column(Integer, primary_key=True)
    user_id = Column(String(64), nullable=False)


class Token(Base, OAuth2TokenMixin):
    __tablename__ = "tokens"
    id = Column(Integer, primary_key=True)
    user_id = Column(String(64))
    access_token = Column(Text, unique=True, nullable=False)


class User(Base):
    __tablename__ = "users"
    id = Column(String(64), primary_key=True)
    username = Column(String(64), unique=True, nullable=False)
    password_hash = Column(Text, nullable=False)

    def get_user_id(self) -> str:
        return self.id


class Consent(Base):
    __tablename__ = "consents"
    user_id = Column(String(64), primary_key=True)
    client_id = Column(String(64), primary_key=True)
    scope = Column(Text, nullable=False)


def _engine(url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=5000")

    return engine


def seed(db_url: str, secrets_env: dict[str, str]) -> None:
    """Create the tables, the three clients and the user (run once, before the workers start)."""
    engine = _engine(db_url)
    Base.metadata.create_all(engine)
    db = sessionmaker(engine)()
    for cid, secret, meta in (
        ("bench-web", secrets_env["web"], _code_client("client_secret_basic")),
        ("bench-native", "", _code_client("none")),
        (
            "bench-service",
            secrets_env["service"],
            {
                "grant_types": ["client_credentials"],
                "response_types": [],
                "token_endpoint_auth_method": "client_secret_basic",
                "scope": "read write",
            },
        ),
    ):
        client = Client(client_id=cid, client_secret=secret, client_id_issued_at=int(time.time()))
        client.set_client_metadata(meta)
        db.add(client)
    db.add(User(id="u-bench", username="bench", password_hash=hasher.hash(secrets_env["password"])))
    db.commit()


def _code_client(method: str) -> dict[str, object]:
    return {
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        "scope": "read write offline_access",
    }


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none"]

    def save_authorization_code(self, code, request):  # type: ignore[no-untyped-def]
        data = request.payload
        db.add(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=data.redirect_uri,
                scope=data.scope,
                user_id=request.user.id,
                code_challenge=data.data.get("code_challenge"),
                code_challenge_method=data.data.get("code_challenge_method"),
            )
        )
        db.commit()

    def query_authorization_code(self, code, client):  # type: ignore[no-untyped-def]
        return db.scalars(
            select(AuthorizationCode).filter_by(code=code, client_id=client.client_id)
        ).first()

    def delete_authorization_code(self, authorization_code):  # type: ignore[no-untyped-def]
        db.delete(authorization_code)
        db.commit()

    def authenticate_user(self, authorization_code):  # type: ignore[no-untyped-def]
        return db.get(User, authorization_code.user_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation, like valetkey

    def authenticate_refresh_token(self, refresh_token):  # type: ignore[no-untyped-def]
        token = db.scalars(select(Token).filter_by(refresh_token=refresh_token)).first()
        if token and not token.is_revoked() and not token.is_expired():
            return token
        return None

    def authenticate_user(self, refresh_token):  # type: ignore[no-untyped-def]
        return db.get(User, refresh_token.user_id)

    def revoke_old_credential(self, refresh_token):  # type: ignore[no-untyped-def]
        refresh_token.refresh_token_revoked_at = int(time.time())
        db.commit()


class Introspection(IntrospectionEndpoint):
    def query_token(self, token_string, token_type_hint):  # type: ignore[no-untyped-def]
        column = Token.refresh_token if token_type_hint == "refresh_token" else Token.access_token
        return db.scalars(select(Token).where(column == token_string)).first()

    def introspect_token(self, token):  # type: ignore[no-untyped-def]
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": token.token_type,
            "scope": token.get_scope(),
            "sub": token.user_id or token.client_id,
            "aud": RESOURCE,
            "iss": ISSUER,
            "exp": token.issued_at + token.expires_in,
            "iat": token.issued_at,
        }

    def check_permission(self, token, client, request):  # type: ignore[no-untyped-def]
        return client.token_endpoint_auth_method != "none"


def _refresh_value(*_args, **_kwargs) -> str:  # type: ignore[no-untyped-def]
    return secrets.token_urlsafe(32)


class TokenGenerator(JWTBearerTokenGenerator):
    def __init__(self, issuer: str, key: ECKey) -> None:
        super().__init__(issuer, alg="ES256", refresh_token_generator=_refresh_value)
        self._key = key

    def get_jwks(self):  # type: ignore[no-untyped-def]
        return self._key

    def get_audiences(self, client, user, scope):  # type: ignore[no-untyped-def]
        return RESOURCE


ISSUER = os.environ.get("BENCH_ISSUER", "http://127.0.0.1:9400")
db = scoped_session(sessionmaker())


def create_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ["BENCH_COOKIE_KEY"]
    db.configure(bind=_engine(os.environ["BENCH_DB"]))
    key = ECKey.import_key(json.loads(os.environ["BENCH_JWK"]))
    server = AuthorizationServer(
        app,
        query_client=create_query_client_func(db, Client),
        save_token=create_save_token_func(db, Token),
    )
    server.register_token_generator("default", TokenGenerator(ISSUER, key))
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Introspection)
    _routes(app, server)
    app.teardown_appcontext(lambda _exc: db.remove())
    return app


def _routes(app: Flask, server: AuthorizationServer) -> None:
    @app.get("/.well-known/oauth-authorization-server")
    def metadata():  # type: ignore[no-untyped-def]
        return {
            "issuer": ISSUER,
            "authorization_endpoint": ISSUER + "/authorize",
            "token_endpoint": ISSUER + "/token",
            "introspection_endpoint": ISSUER + "/introspect",
            "code_challenge_methods_supported": ["S256"],
        }

    @app.post("/token")
    def token():  # type: ignore[no-untyped-def]
        return server.create_token_response()

    @app.post("/introspect")
    def introspect():  # type: ignore[no-untyped-def]
        return server.create_endpoint_response("introspection")

    @app.route("/login", methods=["GET", "POST"])
    def login():  # type: ignore[no-untyped-def]
        nxt = request.values.get("next", "/")
        if request.method == "POST":
            user = db.scalars(select(User).filter_by(username=request.form.get("username"))).first()
            try:
                ok = user is not None and hasher.verify(
                    user.password_hash, request.form.get("password", "")
                )
            except Exception:
                ok = False
            if ok and _csrf_ok():
                session["sub"] = user.id
                return redirect(nxt if nxt.startswith("/authorize?") else "/", 303)
        return _form(
            "/login?" + urlencode({"next": nxt}),
            '<input name="username"><input type="password" name="password">',
        )

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():  # type: ignore[no-untyped-def]
        user = db.get(User, session["sub"]) if "sub" in session else None
        if user is None:
            return redirect("/login?" + urlencode({"next": request.full_path}), 303)
        grant = server.get_consent_grant(end_user=user)  # validates the request, PKCE included
        client_id, scope = grant.client.client_id, grant.request.payload.scope or ""
        remembered = db.get(Consent, (user.id, client_id))
        if request.method == "POST" and _csrf_ok():
            if request.form.get("decision") != "approve":
                return server.create_authorization_response(grant_user=None)
            db.merge(Consent(user_id=user.id, client_id=client_id, scope=scope))
            db.commit()
            return server.create_authorization_response(grant_user=user)
        forced = "consent" in request.args.get("prompt", "").split()
        if remembered and not forced and set(scope.split()) <= set(remembered.scope.split()):
            return server.create_authorization_response(grant_user=user)
        return _form(request.full_path, '<input type="hidden" name="decision" value="approve">')


def _csrf_ok() -> bool:
    return hmac.compare_digest(session.get("csrf", "-"), request.form.get("csrf", ""))


def _form(action: str, fields: str) -> str:
    session.setdefault("csrf", secrets.token_urlsafe(16))
    csrf = session["csrf"]
    return (
        f'<!doctype html><form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="csrf" value="{csrf}">{fields}<button>OK</button></form>'
    )
