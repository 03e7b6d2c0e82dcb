import json
from pathlib import Path

import pytest

from valetkey.core import pkce

VECTOR = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "rfc7636_appendix_b.json").read_text()
)


def test_rfc7636_appendix_b_vector() -> None:
    assert pkce.s256(VECTOR["code_verifier"]) == VECTOR["code_challenge"]
    assert pkce.verify(VECTOR["code_verifier"], VECTOR["code_challenge"], "S256")


def test_s256_rejects_a_different_verifier() -> None:
    other = VECTOR["code_verifier"][:-1] + ("A" if VECTOR["code_verifier"][-1] != "A" else "B")
    assert not pkce.verify(other, VECTOR["code_challenge"], "S256")


def test_plain_compares_verbatim() -> None:
    v = "a" * 43
    assert pkce.verify(v, v, "plain")
    assert not pkce.verify(v, "b" * 43, "plain")


@pytest.mark.parametrize(
    ("verifier", "valid"),
    [
        ("a" * 42, False),
        ("a" * 43, True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("a" * 42 + "~", True),
        ("a" * 42 + "+", False),
        ("a" * 42 + "=", False),
    ],
)
def test_verifier_syntax_rfc7636_section_4_1(verifier: str, valid: bool) -> None:
    assert pkce.is_valid_verifier(verifier) is valid
    # A malformed verifier never verifies, even against its own plain challenge.
    assert pkce.verify(verifier, verifier, "plain") is valid


def test_generated_verifiers_are_valid_and_distinct() -> None:
    values = {pkce.new_verifier() for _ in range(50)}
    assert len(values) == 50
    assert all(pkce.is_valid_verifier(v) for v in values)
