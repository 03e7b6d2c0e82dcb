"""The JOSE pieces client assertions add to core.jose: MACs (RFC 7518 §3.2) and a client's own
signing key read from a PEM or JWK file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from valetkey.core import jose

NONE = ser.NoEncryption()


def pem(key: Any, fmt: ser.PrivateFormat = ser.PrivateFormat.PKCS8) -> bytes:
    return bytes(key.private_bytes(ser.Encoding.PEM, fmt, NONE))


@pytest.mark.parametrize(
    ("key", "fmt", "kty", "alg"),
    [
        (rsa.generate_private_key(65537, 2048), ser.PrivateFormat.PKCS8, "RSA", "RS256"),
        (rsa.generate_private_key(65537, 2048), ser.PrivateFormat.TraditionalOpenSSL, "RSA", "RS256"),
        (ec.generate_private_key(ec.SECP256R1()), ser.PrivateFormat.TraditionalOpenSSL, "EC", "ES256"),
        (ec.generate_private_key(ec.SECP384R1()), ser.PrivateFormat.PKCS8, "EC", "ES384"),
        (ec.generate_private_key(ec.SECP521R1()), ser.PrivateFormat.PKCS8, "EC", "ES512"),
        (ed25519.Ed25519PrivateKey.generate(), ser.PrivateFormat.PKCS8, "OKP", "Ed25519"),
    ],
    ids=["rsa-pkcs8", "rsa-pkcs1", "p256-sec1", "p384", "p521", "ed25519"],
)  # fmt: skip
def test_pem_keys_become_private_jwks_that_sign(
    key: Any, fmt: ser.PrivateFormat, kty: str, alg: str
) -> None:
    jwk = jose.private_jwk_from_file_bytes(pem(key, fmt))
    assert (jwk["kty"], jwk["alg"]) == (kty, alg) and "d" in jwk
    public = jose.public_jwk(jwk)
    assert jwk["kid"] == jose.jwk_thumbprint(public)  # RFC 7638: a stable kid
    token = jose.sign_jws({"alg": alg, "kid": jwk["kid"]}, {"sub": "c"}, jwk)
    _h, _c, signing_input, signature = jose.decode_compact(token)
    verifier = jose.proof_public_key(public, alg)
    assert jose.verify_signature(verifier, alg, signing_input, signature)


def test_a_jwk_file_keeps_its_kid_and_alg_and_an_alg_can_be_chosen() -> None:
    jwk = jose.generate_private_jwk("PS256", kid="mine")
    loaded = jose.private_jwk_from_file_bytes(json.dumps(jwk).encode())
    assert (loaded["kid"], loaded["alg"]) == ("mine", "PS256")
    rsa_pem = pem(rsa.generate_private_key(65537, 2048))
    assert jose.private_jwk_from_file_bytes(rsa_pem, "PS384")["alg"] == "PS384"


@pytest.mark.parametrize(
    ("data", "alg", "message"),
    [
        (b"hello", None, "not a PEM private key"),
        (b"{not json", None, "not a usable private key"),
        (json.dumps(jose.public_jwk(jose.generate_private_jwk("ES256"))).encode(), None, "public key"),
        (pem(ec.generate_private_key(ec.SECP256R1())), "RS256", "cannot sign with"),
        (pem(ec.generate_private_key(ec.SECP256R1())), "ES384", "needs a key on P-384"),
        (pem(ec.generate_private_key(ec.SECP256R1())), "HS256", "cannot sign with"),
        (
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.BestAvailableEncryption(b"pw")
            ),
            None,
            "encrypted",
        ),
    ],
    ids=["garbage", "bad json", "public jwk", "ec as rs256", "p256 as es384", "hmac", "encrypted"],
)  # fmt: skip
def test_unusable_key_files_say_why(data: bytes, alg: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        jose.private_jwk_from_file_bytes(data, alg)


def test_mac_keys_must_be_as_long_as_the_hash_rfc7518_3_2() -> None:
    assert jose.mac_key_problem(b"k" * 32, "HS256") is None
    assert jose.mac_key_problem(b"k" * 31, "HS256") == "HS256 needs a key of at least 32 bytes"
    assert jose.mac_key_problem(b"k" * 47, "HS384") is not None
    assert jose.mac_key_problem(b"k" * 64, "HS512") is None
    assert jose.mac_key_problem(b"k" * 64, "RS256") is not None
    with pytest.raises(ValueError):
        jose.sign_mac_jws({"alg": "HS256"}, {}, b"short")


def test_mac_jws_round_trip_and_tamper() -> None:
    key = b"k" * 48
    token = jose.sign_mac_jws({"alg": "HS384", "typ": "JWT"}, {"sub": "c"}, key)
    header, claims, signing_input, signature = jose.decode_compact(token)
    assert header == {"alg": "HS384", "typ": "JWT"} and claims == {"sub": "c"}
    assert jose.verify_mac(key, "HS384", signing_input, signature)
    assert not jose.verify_mac(key, "HS384", signing_input + b"x", signature)
    assert not jose.verify_mac(b"j" * 48, "HS384", signing_input, signature)
