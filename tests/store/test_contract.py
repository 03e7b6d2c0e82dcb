"""One contract for every backend: the same tests run on SQLite and PostgreSQL (fixture ``store_url``)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

from valetkey.core.checks import Rejected
from valetkey.core.errors import InvalidGrant
from valetkey.core.models import (
    AccessTokenRecord,
    AuthorizationCode,
    Client,
    Grant,
    Issuance,
    LoginSession,
    NewCode,
    RefreshToken,
    Resource,
    SigningKey,
    User,
)
from valetkey.core.revocation import Refused, Replay, Reuse, Revocation
from valetkey.store.protocol import RefreshDecision
from valetkey.store.sql import SQLStore, open_store


def grant(grant_id: str = "g1") -> Grant:
    return Grant(
        grant_id,
        "cli",
        "sub-1",
        ("read:files",),
        ("https://api",),
        100.0,
        flow_id="f1",
        auth_time=90.0,
    )


def code(digest: str = "c1", grant_id: str = "g1") -> AuthorizationCode:
    return AuthorizationCode(
        code_digest=digest,
        client_id="cli",
        redirect_uri="http://127.0.0.1/cb",
        sub="sub-1",
        scope=("read:files",),
        audience=("https://api",),
        code_challenge="x" * 43,
        code_challenge_method="S256",
        grant_id=grant_id,
        flow_id="f1",
        issued_at=100.0,
        expires_at=160.0,
        auth_time=90.0,
        nonce="n",
    )


def tokens(grant_id: str = "g1", jti: str = "j1", refresh: str = "r1") -> Issuance:
    return Issuance(
        access=AccessTokenRecord(
            jti, grant_id, "cli", "sub-1", ("read:files",), ("https://api",), 101.0, 701.0
        ),
        refresh=RefreshToken(refresh, grant_id, "cli", ("read:files",), 101.0, 10_000.0),
    )


def test_migrations_are_idempotent(store_url: str) -> None:
    open_store(store_url).close()
    open_store(store_url).close()


def test_a_migrated_database_reports_the_head_revision(store: SQLStore) -> None:
    from valetkey.store.migrate import HEAD

    assert store.schema_revision() == HEAD
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    assert store.schema_revision() == "0001"  # read afresh, never cached: readiness relies on it


def test_clients_round_trip_and_upsert(store: SQLStore) -> None:
    c = Client(
        "cli",
        "CLI",
        None,
        ("http://127.0.0.1/cb",),
        ("authorization_code", "refresh_token"),
        ("code",),
        "none",
        ("a", "b"),
        True,
        ("S256", "plain"),
    )
    store.upsert_client(c)
    assert store.get_client("cli") == c
    changed = Client(
        "cli", "Renamed", None, ("http://127.0.0.1/cb",), token_endpoint_auth_method="none"
    )
    store.upsert_client(changed)
    assert store.get_client("cli") == changed
    assert store.add_client(c) is False  # duplicate id: refused, nothing changed
    assert store.get_client("cli") == changed
    assert [x.client_id for x in store.list_clients()] == ["cli"]
    assert store.delete_client("cli") and store.get_client("cli") is None
    assert store.get_client("nope") is None


def test_jwt_clients_keep_their_keys_and_sealed_secret(store: SQLStore) -> None:
    jwks = {"keys": [{"kty": "EC", "crv": "P-256", "x": "x" * 43, "y": "y" * 43, "kid": "k1"}]}
    by_key = Client(
        "svc",
        grant_types=("client_credentials",),
        token_endpoint_auth_method="private_key_jwt",
        jwks=jwks,
        token_endpoint_auth_signing_alg="ES256",
    )
    by_uri = Client("svc2", token_endpoint_auth_method="private_key_jwt", jwks_uri="https://a/j")
    by_mac = Client("mac", token_endpoint_auth_method="client_secret_jwt", secret_sealed="A256GCM.x")
    for c in (by_key, by_uri):
        assert store.add_client(c) is True
    store.upsert_client(by_mac)
    assert store.get_client("svc") == by_key
    assert store.get_client("svc2") == by_uri
    loaded = store.get_client("mac")
    assert loaded == by_mac and loaded.secret_sealed == "A256GCM.x"
    assert {c.client_id: c for c in store.list_clients()}["svc"].jwks == jwks
    store.register_client(Client("dyn", token_endpoint_auth_method="client_secret_jwt",
                                 secret_sealed="A256GCM.y"), "digest")
    found = store.get_registration("dyn")
    assert found is not None and found[0].secret_sealed == "A256GCM.y"


def test_users_keep_their_sub_on_upsert(store: SQLStore) -> None:
    first = store.upsert_user(User("sub-1", "alice", "$argon2id$h1", {"name": "Alice"}))
    again = store.upsert_user(User("sub-OTHER", "alice", "$argon2id$h2", {"name": "Alice L."}))
    assert first.sub == again.sub == "sub-1"
    loaded = store.get_user_by_username("alice")
    assert (
        loaded is not None
        and loaded.password_hash == "$argon2id$h2"
        and loaded.claims == {"name": "Alice L."}
    )
    assert store.get_user("sub-1") == loaded
    assert store.delete_user("alice") and store.get_user("sub-1") is None


def test_a_password_hash_is_replaced_only_while_it_is_the_one_checked(store: SQLStore) -> None:
    store.upsert_user(User("sub-1", "alice", "$argon2id$old", {"name": "Alice"}))
    assert not store.update_password_hash("sub-1", "$argon2id$other", "$argon2id$new")
    assert store.get_user("sub-1").password_hash == "$argon2id$old"  # type: ignore[union-attr]
    assert store.update_password_hash("sub-1", "$argon2id$old", "$argon2id$new")
    user = store.get_user_by_username("alice")
    assert user is not None and user.password_hash == "$argon2id$new"
    assert user.claims == {"name": "Alice"} and user.sub == "sub-1"
    assert not store.update_password_hash("sub-1", "$argon2id$old", "$argon2id$newer")
    assert not store.update_password_hash("nobody", "$argon2id$new", "$argon2id$newer")
    assert not store.update_password_hash("sub-1\x00", "$argon2id$new", "$argon2id$newer")


def test_resources_keys_secrets(store: SQLStore) -> None:
    store.upsert_resource(Resource("https://api", ("a", "b"), "API"))
    store.upsert_resource(Resource("https://api", ("a", "b", "c"), "API"))
    assert store.list_resources() == [Resource("https://api", ("a", "b", "c"), "API")]
    store.add_signing_key(SigningKey("k1", "ES256", {"kid": "k1"}, 1.0))
    store.add_signing_key(
        SigningKey("k2", "ES256", {"kid": "k2"}, 2.0), deactivate_others_of_alg=True
    )
    keys = {k.kid: k for k in store.list_signing_keys()}
    assert keys["k1"].active is False and keys["k1"].retired_at == 2.0 and keys["k2"].active
    assert store.get_or_create_secret("s", lambda: "first") == "first"
    assert store.get_or_create_secret("s", lambda: "second") == "first"


def test_sessions_and_consent(store: SQLStore) -> None:
    store.create_session("d1", LoginSession("d1", "sub-1", 5.0, 50.0))
    assert store.get_session("d1") == LoginSession("d1", "sub-1", 5.0, 50.0)
    store.end_session("d1")
    assert store.get_session("d1") is None
    assert store.get_consent("sub-1", "cli") == ()
    store.save_consent("sub-1", "cli", ("a",), 1.0)
    store.save_consent("sub-1", "cli", ("b", "a"), 2.0)
    assert store.get_consent("sub-1", "cli") == ("a", "b")  # merged, first approval first


def test_session_and_consent_in_one_read(store: SQLStore) -> None:
    assert store.get_session_and_consent("nope", "cli") == (None, ())
    store.create_session("d2", LoginSession("d2", "sub-2", 5.0, 50.0))
    assert store.get_session_and_consent("d2", "cli") == (
        LoginSession("d2", "sub-2", 5.0, 50.0),
        (),
    )
    store.save_consent("sub-2", "cli", ("a", "b"), 1.0)
    store.save_consent("sub-2", "other", ("c",), 1.0)
    store.save_consent("sub-3", "cli", ("d",), 1.0)  # another user's consent is not this session's
    session, granted = store.get_session_and_consent("d2", "cli")
    assert session is not None and session.sub == "sub-2" and set(granted) == {"a", "b"}
    assert store.get_session_and_consent("d2", "other")[1] == ("c",)
    store.end_session("d2")
    assert store.get_session_and_consent("d2", "cli") == (None, ())


def refusal() -> Rejected:
    return Rejected(InvalidGrant("no"), ())


def accept(code_record: AuthorizationCode | None, replayed: bool) -> Issuance:
    """As the core decides: a replay is refused with the grant to revoke, unknown codes plainly."""
    if code_record is None:
        raise refusal()
    if replayed:
        raise Refused(refusal(), Replay(code_record.grant_id))
    return tokens(code_record.grant_id)


def test_code_is_consumed_once_and_replay_revokes_the_grant(store: SQLStore) -> None:
    store.save_all([NewCode(code(), grant())])
    issued = store.redeem_code("c1", 110.0, accept)
    assert issued.access is not None and store.get_access_token("j1") is not None
    seen: list[tuple[bool, bool]] = []

    def record(c: AuthorizationCode | None, replayed: bool) -> Issuance:
        seen.append((c is not None, replayed))
        return accept(c, replayed)

    with pytest.raises(Rejected):
        store.redeem_code("c1", 120.0, record)
    assert seen == [(True, True)]
    g = store.get_grant("g1")
    assert (
        g is not None
        and g.revoked_at == 120.0
        and g.revoked_reason == "authorization code replayed"
    )
    access = store.get_access_token("j1")
    refresh = store.get_refresh_token("r1")
    assert access is not None and access.revoked_at == 120.0
    assert refresh is not None and refresh.revoked_at == 120.0


def test_the_store_revokes_what_the_decision_names_and_nothing_else(store: SQLStore) -> None:
    store.save_all([NewCode(code(), grant())])
    store.redeem_code("c1", 110.0, accept)

    def plain(c: AuthorizationCode | None, replayed: bool) -> Issuance:
        raise refusal()  # refused, but the decision names nothing to revoke

    with pytest.raises(Rejected):
        store.redeem_code("c1", 115.0, plain)
    g = store.get_grant("g1")
    assert g is not None and g.revoked_at is None

    def other(c: AuthorizationCode | None, replayed: bool) -> Issuance:
        raise Refused(refusal(), Revocation("g1", "any reason at all", "spec"))

    with pytest.raises(Refused):  # applied whatever its kind: the grant and its tokens
        store.redeem_code("c1", 120.0, other)
    g, access = store.get_grant("g1"), store.get_access_token("j1")
    assert g is not None and g.revoked_reason == "any reason at all" and g.revoked_at == 120.0
    assert access is not None and access.revoked_at == 120.0


def test_a_refused_redemption_writes_nothing_and_leaves_the_code_usable(store: SQLStore) -> None:
    store.save_all([NewCode(code(), grant())])

    def refuse(c: AuthorizationCode | None, replayed: bool) -> Issuance:
        raise Rejected(InvalidGrant("wrong verifier"), ())

    with pytest.raises(Rejected):
        store.redeem_code("c1", 110.0, refuse)
    assert store.get_access_token("j1") is None
    assert store.redeem_code("c1", 111.0, accept).access is not None


def test_unknown_code_is_not_a_replay(store: SQLStore) -> None:
    seen: list[tuple[bool, bool]] = []

    def record(c: AuthorizationCode | None, replayed: bool) -> Issuance:
        seen.append((c is not None, replayed))
        raise Rejected(InvalidGrant("no"), ())

    with pytest.raises(Rejected):
        store.redeem_code("missing", 1.0, record)
    assert seen == [(False, False)]


def rotate_ok(new: str) -> RefreshDecision[Issuance]:
    def decide(t: RefreshToken | None, g: Grant | None, reused: bool) -> Issuance:
        if t is not None and reused:
            raise Refused(refusal(), Reuse(t.grant_id))
        if t is None or g is None or g.revoked_at is not None:
            raise refusal()
        return tokens(g.grant_id, jti="j-" + new, refresh=new)

    return decide


def test_refresh_rotation_and_reuse_revokes_the_family(store: SQLStore) -> None:
    store.save_all([NewCode(code(), grant())])
    store.redeem_code("c1", 110.0, accept)
    store.rotate_refresh("r1", 200.0, rotate_ok("r2"))
    old = store.get_refresh_token("r1")
    assert old is not None and old.used_at == 200.0
    with pytest.raises(Rejected):
        store.rotate_refresh("r1", 300.0, rotate_ok("r3"))  # reuse of the rotated token
    g = store.get_grant("g1")
    assert g is not None and g.revoked_reason == "refresh token reused"
    newest = store.get_refresh_token("r2")
    assert newest is not None and newest.revoked_at == 300.0
    with pytest.raises(Rejected):
        store.rotate_refresh("r2", 301.0, rotate_ok("r4"))
    assert store.get_refresh_token("r3") is None and store.get_refresh_token("r4") is None


def test_list_and_revoke_grants(store: SQLStore) -> None:
    store.save_all([NewCode(code("c1", "g1"), grant("g1"))])
    store.save_all([NewCode(code("c2", "g2"), grant("g2"))])
    assert {g.grant_id for g in store.list_grants(client_id="cli")} == {"g1", "g2"}
    assert store.revoke_grant("g1", 5.0, "admin") is True
    assert store.revoke_grant("g1", 6.0, "admin") is False
    assert [g.grant_id for g in store.list_grants(sub="sub-1")] == ["g2"]
    assert len(store.list_grants(active_only=False)) == 2


def test_save_all_writes_codes_grants_and_tokens_in_one_transaction(store: SQLStore) -> None:
    cc = Issuance(
        access=AccessTokenRecord("jcc", None, "svc", None, ("read",), ("https://api",), 1.0, 2.0)
    )
    with_grant = Issuance(access=tokens("g2", "j2", "r2").access, grant=grant("g2"))
    store.save_all([NewCode(code("c1", "g1"), grant("g1")), cc, with_grant])
    assert store.get_grant("g1") is not None and store.get_grant("g2") is not None
    assert store.get_access_token("jcc") is not None and store.get_access_token("j2") is not None
    assert store.redeem_code("c1", 110.0, accept).access is not None  # the code is usable


def test_save_all_is_all_or_nothing(store: SQLStore) -> None:
    store.save_all([NewCode(code("c1", "g1"), grant("g1"))])
    fresh = Issuance(access=tokens("g9", "j9").access, grant=grant("g9"))
    # sqlite3's, SQLAlchemy's (SQLite with URL options), psycopg's (PostgreSQL)
    with pytest.raises((sqlite3.IntegrityError, sa.exc.IntegrityError, psycopg.IntegrityError)):
        store.save_all([fresh, NewCode(code("c1", "g1"), grant("g1"))])  # c1/g1 exist already
    assert store.get_grant("g9") is None and store.get_access_token("j9") is None
    assert store.get_grant("g1") is not None
