"""Password hashing as users meet it: OWASP's Argon2id parameters by default, a hash made with
other parameters upgraded at the next successful sign-in (form and password grant) and only then,
and a sign-in that finds every hashing slot busy answered 503 with Retry-After."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest
from argon2 import PasswordHasher, extract_parameters

from tests.conftest import BASE_CONFIG, InProcess, make_in_process
from tests.support.flows import authorize_url, run_code_flow
from tests.support.forms import the_form
from valetkey.core.models import User
from valetkey.server.hashing_gate import HashingGate
from valetkey.server.passwords import HashParams, Passwords

OLD = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=2)  # not the configured ones
PASSWORD = "correct horse battery"
PW_SECRET = "pw-secret-0123456789abcdefghijklmnopqrstuvwxyz"
CONFIG = (
    BASE_CONFIG
    + f"""
[[clients]]
client_id = "pw-app"
client_secret = "{PW_SECRET}"
grant_types = ["password"]
scope = "openid read:profile"
"""
)


@pytest.fixture
def env(http_path: str) -> Iterator[InProcess]:
    server = make_in_process(CONFIG, allow_deprecated_grants=True, http_path=http_path)
    server.store.upsert_user(User("sub-carol", "carol", OLD.hash(PASSWORD), {"name": "Carol"}))
    with server.http:
        yield server
    server.store.close()


def stored_hash(env: InProcess) -> str:
    user = env.store.get_user_by_username("carol")
    assert user is not None and user.password_hash is not None
    return user.password_hash


def params_of(password_hash: str) -> tuple[int, int, int]:
    p = extract_parameters(password_hash)
    return p.memory_cost, p.time_cost, p.parallelism


def sign_in(env: InProcess, password: str) -> httpx.Response:
    url = authorize_url(
        env.base,
        response_type="code",
        client_id="cli",
        redirect_uri="http://127.0.0.1/callback",
        scope="read:profile",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
    )
    page = env.http.get(url)
    form = the_form(page.text, str(page.url))
    return env.http.post(
        form.action, data={**form.fields, "username": "carol", "password": password}
    )


def password_grant(env: InProcess, password: str) -> httpx.Response:
    return env.http.post(
        "/token",
        data={"grant_type": "password", "username": "carol", "password": password},
        auth=("pw-app", PW_SECRET),
    )


def test_the_defaults_are_owasps_argon2id_and_the_dummy_uses_them_too(env: InProcess) -> None:
    assert HashParams() == HashParams(7168, 5, 1)
    assert env.state.passwords.params == HashParams(7168, 5, 1)
    alice = env.store.get_user_by_username("alice")
    assert alice is not None and alice.password_hash is not None
    assert alice.password_hash.startswith("$argon2id$")
    assert params_of(alice.password_hash) == (7168, 5, 1)
    assert params_of(env.state.passwords.dummy) == (7168, 5, 1)  # an unknown user costs the same
    short = env.store.get_client("legacy-web")  # a short client secret: Argon2id as well
    assert short is not None and short.secret_digest is not None
    assert params_of(short.secret_digest) == (7168, 5, 1)


def test_configured_parameters_apply_to_new_hashes_and_to_the_dummy() -> None:
    passwords = Passwords(HashParams(memory_kib=8192, iterations=3, parallelism=2))
    made = passwords.hash("pw")
    assert params_of(made) == params_of(passwords.dummy) == (8192, 3, 2)
    assert params_of(passwords.digest_client_secret("short")) == (8192, 3, 2)
    assert passwords.check("pw", made).upgraded is None  # already current: nothing to redo


@pytest.mark.parametrize(
    ("t", "m", "p", "salt", "length"),
    [
        (1, 64, 1, 16, 32),  # the current parameters: no rehash
        (2, 64, 1, 16, 32),
        (1, 72, 1, 16, 32),
        (1, 64, 2, 16, 32),
        (1, 64, 1, 8, 32),
        (1, 64, 1, 17, 32),
        (1, 64, 1, 16, 16),
        (1, 64, 1, 16, 33),
        (1, 64, 1, 15, 33),  # the same total length, split elsewhere
    ],
)
def test_needs_rehash_says_what_argon2_cffi_says(
    t: int, m: int, p: int, salt: int, length: int
) -> None:
    """The common case (a hash made with the current parameters) is read from the string's
    shape; every other hash still gets argon2-cffi's answer."""
    checker = Passwords(HashParams(memory_kib=64, iterations=1, parallelism=1))
    made = PasswordHasher(
        time_cost=t, memory_cost=m, parallelism=p, salt_len=salt, hash_len=length
    ).hash(PASSWORD)
    reference = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    assert checker.needs_rehash(made) is reference.check_needs_rehash(made)
    assert checker.needs_rehash(made) is not ((t, m, p, salt, length) == (1, 64, 1, 16, 32))
    argon2i = made.replace("$argon2id$", "$argon2i$")
    assert checker.needs_rehash(argon2i) is reference.check_needs_rehash(argon2i) is True


def test_the_dummy_is_made_at_the_first_check_of_any_user_not_at_start() -> None:
    """Start-up does no Argon2id work for it, and the first check makes it whether the user is
    known or not: that first check costs the same either way, like every later one."""
    params = HashParams(memory_kib=8192, iterations=1, parallelism=1)
    for stored in (None, Passwords(params).hash("pw")):
        passwords = Passwords(params)
        assert "dummy" not in vars(passwords)
        assert passwords.verify("pw", stored) is (stored is not None)
        assert params_of(vars(passwords)["dummy"]) == (8192, 1, 1)


def test_a_sign_in_upgrades_a_hash_made_with_other_parameters(env: InProcess) -> None:
    old = stored_hash(env)
    assert params_of(old) == (8192, 1, 2)
    result = run_code_flow(
        env.http,
        env.base,
        redirect_uri="http://127.0.0.1/callback",
        username="carol",
        password=PASSWORD,
    )
    assert "code" in result.params, result.response.text
    new = stored_hash(env)
    assert new != old and params_of(new) == (7168, 5, 1)
    assert PasswordHasher().verify(new, PASSWORD)
    [event] = env.sink.named("password.rehashed")
    assert event.data == {"from": "argon2id m=8192 t=1 p=2", "to": "argon2id m=7168 t=5 p=1"}
    assert PASSWORD not in repr(event) and new not in repr(event) and old not in repr(event)
    # The upgraded hash is current: the next sign-in verifies it and leaves it alone.
    assert sign_in(env, PASSWORD).status_code in (200, 302, 303)
    assert stored_hash(env) == new and len(env.sink.named("password.rehashed")) == 1


def test_a_failed_sign_in_does_not_rehash(env: InProcess) -> None:
    old = stored_hash(env)
    assert sign_in(env, "wrong password").status_code == 401
    assert password_grant(env, "wrong password").json()["error"] == "invalid_grant"
    assert stored_hash(env) == old and not env.sink.named("password.rehashed")


def test_the_password_grant_upgrades_the_hash(env: InProcess) -> None:
    old = stored_hash(env)
    response = password_grant(env, PASSWORD)
    assert response.status_code == 200, response.text
    new = stored_hash(env)
    assert params_of(new) == (7168, 5, 1) and PasswordHasher().verify(new, PASSWORD)
    [event] = env.sink.named("password.rehashed")
    assert event.channel == "back" and old not in repr(event)


def test_a_password_changed_meanwhile_is_not_overwritten(env: InProcess) -> None:
    """The upgrade replaces the hash it checked, not one an administrator set in between."""
    old = stored_hash(env)
    passwords = env.state.passwords
    verdict = passwords.check(PASSWORD, old)
    assert verdict.ok and verdict.upgraded is not None
    changed = passwords.hash("a new password")
    env.store.upsert_user(User("sub-carol", "carol", changed, {}))
    assert not env.store.update_password_hash("sub-carol", old, verdict.upgraded)
    assert stored_hash(env) == changed


class Occupied:
    """A gate with one slot and no queue, its slot held by a computation until released."""

    def __init__(self, env: InProcess) -> None:
        self.gate = HashingGate(workers=1, queue=0, max_wait=7)
        self.release = threading.Event()
        started = threading.Event()

        def hold() -> None:
            started.set()
            self.release.wait(30)

        self.thread = threading.Thread(target=lambda: asyncio.run(self.gate.run(hold)))
        self.thread.start()
        assert started.wait(10)
        env.state.gate = self.gate

    def free(self) -> None:
        self.release.set()
        self.thread.join(10)


@pytest.fixture
def busy(env: InProcess) -> Iterator[Occupied]:
    occupied = Occupied(env)
    try:
        yield occupied
    finally:
        occupied.free()


def test_a_sign_in_with_every_slot_busy_is_a_503_page_with_retry_after(
    env: InProcess, busy: Occupied
) -> None:
    old = stored_hash(env)
    response = sign_in(env, PASSWORD)
    assert response.status_code == 503 and response.headers["retry-after"] == "7"
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    [event] = env.sink.named("password.deferred")
    assert event.checks[0].rule == "hashing_capacity" and event.error == "temporarily_unavailable"
    busy.free()
    assert sign_in(env, PASSWORD).status_code in (200, 302, 303)  # the next one is served
    assert stored_hash(env) != old


def test_a_token_request_with_every_slot_busy_is_a_json_503(env: InProcess, busy: Occupied) -> None:
    grant = password_grant(env, PASSWORD)
    short_secret = env.http.post(  # a low-entropy client secret is Argon2id-checked too
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": "whatever",
            "redirect_uri": "https://legacy.example/cb",
            "client_id": "legacy-web",
            "client_secret": "short-secret",
        },
    )
    for response in (grant, short_secret):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "7"
        assert response.json()["error"] == "temporarily_unavailable"
        assert "busy" in response.json()["error_description"]
