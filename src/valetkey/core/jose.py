"""Signing and verifying JWTs: the only module that imports the JOSE library (joserfc).

Key objects are imported once and cached by ``kid``; the hot path only signs. ES256 signatures are
made on the key object joserfc imported, with cryptography (joserfc's own backend) called directly:
the per-token wrapping joserfc adds cost a fifth of the signature itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key
from joserfc.jws import JWSRegistry

from valetkey.core.secrets import new_token

SIGNING_ALGS = ("ES256", "RS256")
_HASHES = {"ES256": hashlib.sha256, "RS256": hashlib.sha256}


class TokenInvalid(Exception):
    """A JWT failed verification; the message says which check."""


def generate_private_jwk(alg: str = "ES256", kid: str | None = None) -> dict[str, Any]:
    kid = kid or new_token(12)
    params: Any = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "ES256":
        key: ECKey | RSAKey = ECKey.generate_key("P-256", parameters=params, private=True)
    elif alg == "RS256":
        key = RSAKey.generate_key(2048, parameters=params, private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}; use one of {SIGNING_ALGS}")
    return dict(key.as_dict(private=True))


@lru_cache(maxsize=64)
def _key_from_json(serialized: str) -> Any:
    return import_key(json.loads(serialized))


def _key(private_jwk: Mapping[str, Any]) -> Any:
    return _key_from_json(json.dumps(dict(private_jwk), sort_keys=True))


def public_jwk(private_jwk: Mapping[str, Any]) -> dict[str, Any]:
    return dict(_key(private_jwk).as_dict(private=False))


def jwks(private_jwks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"keys": [public_jwk(k) for k in private_jwks]}


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode
Signer = Callable[[bytes], bytes]
# (kid, typ) -> (the private JWK it was built from, encoded header, signing function)
_signers: dict[tuple[str, str], tuple[dict[str, Any], bytes, Signer]] = {}


def _es256_signer(key: ECKey) -> Signer:
    """RFC 7518 §3.4: ECDSA P-256 SHA-256, the signature as R || S, 32 bytes each. The key object
    and the algorithm object are made once; per token only the signature itself is computed."""
    op_key = key.get_op_key("sign")
    ecdsa = ECDSA(SHA256())

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(op_key.sign(data, ecdsa))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def _signer(private_jwk: Mapping[str, Any], typ: str) -> tuple[bytes, Signer]:
    """The header encoded once and the key imported once per (kid, typ); checked against the
    whole JWK on every use, so a different key under a reused kid is never signed with."""
    cache_key = (str(private_jwk["kid"]), typ)
    hit = _signers.get(cache_key)
    if hit is not None and hit[0] == private_jwk:
        return hit[1], hit[2]
    header = {"alg": private_jwk["alg"], "kid": private_jwk["kid"], "typ": typ}
    alg = JWSRegistry.algorithms[str(private_jwk["alg"])]
    key = _key(private_jwk)
    alg.check_key(key)  # the key fits the algorithm (type, curve, size)
    signer = _es256_signer(key) if alg.name == "ES256" else partial(alg.sign, key=key)
    if len(_signers) >= 64:
        _signers.clear()
    _signers[cache_key] = (dict(private_jwk), _b64(_COMPACT(header).encode("ascii")), signer)
    return _signers[cache_key][1], signer


def sign(claims: Mapping[str, Any], private_jwk: Mapping[str, Any], typ: str = "JWT") -> str:
    """RFC 7515 §7.1 compact JWS: BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)."""
    head, signer = _signer(private_jwk, typ)
    signing_input = head + b"." + _b64(_COMPACT(dict(claims)).encode("ascii"))
    return (signing_input + b"." + _b64(signer(signing_input))).decode("ascii")


def token_hash(token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: left half of the hash of the ASCII token, BASE64URL."""
    digest = _HASHES[alg](token.encode("ascii")).digest()
    half = digest[: len(digest) // 2]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decode header and claims without checking anything (for display only)."""
    try:
        head_b64, body_b64, _sig = token.split(".")
        return _b64json(head_b64), _b64json(body_b64)
    except (ValueError, json.JSONDecodeError) as exc:
        raise TokenInvalid("not a JWS compact serialization") from exc


def _b64json(part: str) -> dict[str, Any]:
    padded = part + "=" * (-len(part) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise json.JSONDecodeError("not an object", part, 0)
    return value


class VerifyKeys:
    """A public JWK Set imported once into key objects, for verifying many tokens.

    A token that verified is remembered (bounded), so presenting the same bytes again skips the
    signature math: the answer cannot differ, since a key change builds a new ``VerifyKeys``.
    Claims are never validated here; callers still check ``exp`` and the rest on every use.
    """

    __slots__ = ("_verified", "jwks", "keyset")
    MAX_REMEMBERED = 4096

    def __init__(self, public_jwks: Mapping[str, Any]) -> None:
        self.jwks = dict(public_jwks)
        self._verified: dict[
            tuple[str, tuple[str, ...]], tuple[dict[str, Any], dict[str, Any]]
        ] = {}
        try:
            self.keyset: KeySet | None = KeySet.import_key_set(self.jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            self.keyset = None  # verify() then refuses every token, as with the raw set

    def remembered(
        self, token: str, algorithms: tuple[str, ...]
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        hit = self._verified.get((token, algorithms))
        return (dict(hit[0]), dict(hit[1])) if hit else None

    def remember(
        self, token: str, algorithms: tuple[str, ...], parts: tuple[dict[str, Any], dict[str, Any]]
    ) -> None:
        if len(self._verified) >= self.MAX_REMEMBERED:
            self._verified.clear()
        self._verified[(token, algorithms)] = (dict(parts[0]), dict(parts[1]))


def verify(
    token: str,
    public_jwks: Mapping[str, Any] | VerifyKeys,
    *,
    algorithms: Sequence[str] = SIGNING_ALGS,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify the signature against a JWK Set and return (header, claims). Claims are not validated."""
    bad = [a for a in algorithms if a == "none" or a.startswith("HS")]
    if bad:
        raise ValueError(f"refusing to verify with {bad}: only asymmetric algorithms are allowed")
    prepared = public_jwks if isinstance(public_jwks, VerifyKeys) else None
    algs = tuple(algorithms)
    if prepared is not None and (hit := prepared.remembered(token, algs)) is not None:
        return hit
    try:
        if prepared is not None:
            if prepared.keyset is None:
                raise TokenInvalid("signature verification failed: no usable keys")
            keyset = prepared.keyset
        else:
            keyset = KeySet.import_key_set(dict(public_jwks))  # type: ignore[arg-type]
        decoded = jwt.decode(token, keyset, algorithms=list(algorithms))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise TokenInvalid(f"signature verification failed: {type(exc).__name__}") from exc
    parts = dict(decoded.header), dict(decoded.claims)
    if prepared is not None:
        prepared.remember(token, algs, parts)
    return parts
