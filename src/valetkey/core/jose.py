"""Signing and verifying JWTs: the only module that imports the JOSE library (joserfc).

Key objects are imported once and cached by ``kid``; the hot path only signs. ES256 signatures are
made on the key object joserfc imported, with cryptography (joserfc's own backend) called directly:
the per-token wrapping joserfc adds cost a fifth of the signature itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.hashes import SHA256, SHA384, SHA512, HashAlgorithm
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey, import_key
from joserfc.jws import JWSRegistry

from valetkey.core.secrets import new_token

SIGNING_ALGS = ("ES256", "RS256")
_HASHES = {"ES256": hashlib.sha256, "RS256": hashlib.sha256}


class TokenInvalid(Exception):
    """A JWT failed verification; the message says which check."""


def generate_private_jwk(alg: str = "ES256", kid: str | None = None) -> dict[str, Any]:
    """A new private JWK for one of SIGNING_ALGS (tokens) or PROOF_ALGS (a client's DPoP key)."""
    kid = kid or new_token(12)
    params: Any = {"kid": kid, "alg": alg, "use": "sig"}
    key: ECKey | RSAKey | OKPKey
    if alg in _EC_ALGS:
        key = ECKey.generate_key(_EC_ALGS[alg][0], parameters=params, private=True)
    elif alg in _RSA_ALGS:
        key = RSAKey.generate_key(2048, parameters=params, private=True)
    elif alg in _KTY:
        key = OKPKey.generate_key("Ed25519", parameters=params, private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}; use one of {PROOF_ALGS}")
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


_TO_B64URL = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    """RFC 7515 §2 base64url without padding."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_B64URL).rstrip(b"=")


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


# --- JWS with the key in the header (RFC 9449 DPoP proofs) -------------------------------------
# The asymmetric JWS algorithms a proof can be verified with (RFC 9449 §4.2, §11.6): never "none",
# never a MAC. "EdDSA" is RFC 8037's name for Ed25519 signatures, "Ed25519" RFC 9864's.
_EC_ALGS = {
    "ES256": ("P-256", ec.SECP256R1, SHA256, 32),
    "ES384": ("P-384", ec.SECP384R1, SHA384, 48),
    "ES512": ("P-521", ec.SECP521R1, SHA512, 66),
}
_RSA_ALGS = {"PS256": SHA256, "PS384": SHA384, "PS512": SHA512, "RS256": SHA256}
_KTY = {**dict.fromkeys(_EC_ALGS, "EC"), **dict.fromkeys(_RSA_ALGS, "RSA")}
_KTY |= {"Ed25519": "OKP", "EdDSA": "OKP"}
PROOF_ALGS = tuple(_KTY)
# RFC 7517 §9.2 / RFC 7518 §6 / RFC 8037 §2: the members only a private (or secret) key has.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638 §3.2 (RFC 8037 §2 for OKP): the members a thumbprint hashes, per key type.
_THUMBPRINT = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | Ed25519PublicKey


# base64url to base64: "-" and "_" become "+" and "/"; "+", "/" and "=" themselves, which
# base64url text never holds, become "!", which strict decoding refuses like any other character.
_FROM_B64URL = bytes.maketrans(b"-_+/=", b"+/!!!")


def b64url_decode(part: str) -> bytes:
    """RFC 7515 §2 base64url without padding; anything outside the alphabet is refused
    (ValueError: binascii.Error, or UnicodeEncodeError for a character beyond ASCII)."""
    raw = part.encode("ascii").translate(_FROM_B64URL)
    return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4), strict_mode=True)


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("a member name is repeated")  # RFC 7515 §5.2 step 4, RFC 7519 §4
    return members


def _no_nan(name: str) -> None:
    raise ValueError(f"{name} is not JSON (RFC 8259 §6)")


# Made once: json.loads with hooks builds a new decoder on every call, which costs as much as
# decoding a DPoP proof's claims.
_strict_json = json.JSONDecoder(object_pairs_hook=_no_repeats, parse_constant=_no_nan).decode


def _json_part(part: str) -> Any:
    """A base64url-encoded JSON value; raises ValueError (or UnicodeDecodeError)."""
    try:
        return _strict_json(b64url_decode(part).decode("utf-8"))
    except RecursionError as exc:  # nested deeper than the parser goes: malformed, not a crash
        raise ValueError("the JSON is nested too deeply") from exc


_MAX_KEPT_HEADER = 2048  # characters: an RSA 8192-bit jwk fits; longer headers are not kept


@lru_cache(maxsize=256)
def _kept_header(part: str) -> dict[str, Any] | None:
    """The header a segment decodes to, kept when it is flat: a JSON object whose members are
    scalars or objects of scalars (a DPoP proof's header with its jwk, a client assertion's). A
    client signs many JWTs with one header: it is decoded once. None for any other value."""
    value = _json_part(part)
    if not isinstance(value, dict):
        return None
    for member in value.values():
        inner = member.values() if isinstance(member, dict) else (member,)
        if any(isinstance(v, dict | list) for v in inner):
            return None
    return value


def _header_part(part: str) -> Any:
    """The decoded header segment; a kept one is copied (its objects too), so that a caller
    changing what it got changes nothing for the next JWT with the same header."""
    kept = _kept_header(part) if len(part) <= _MAX_KEPT_HEADER else None
    if kept is None:
        return _json_part(part)
    return {k: dict(v) if isinstance(v, dict) else v for k, v in kept.items()}


def decode_compact(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS, nothing verified; raises
    TokenInvalid saying what is malformed (RFC 7515 §7.1, §5.2)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenInvalid(f"a JWT has 3 dot-separated parts; this value has {len(parts)}")
    try:
        header, claims = _header_part(parts[0]), _json_part(parts[1])
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
        raise TokenInvalid(f"a part is not base64url-encoded JSON ({exc})") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenInvalid("the header and the claims must be JSON objects")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


class Malformed(ValueError):
    """A JWT a server was sent (a DPoP proof, a client assertion) that cannot be read: the
    description names what, for the refusal; ``detail`` is for events only."""

    def __init__(self, description: str, detail: str = "") -> None:
        super().__init__(description)
        self.description, self.detail = description, detail


def read_sent_jws(
    token: str, max_length: int, what: str
) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """:func:`decode_compact` for a JWS someone sent, with the checks every such token gets
    first: at most ``max_length`` characters (RFC 8725 §3.1), and no ``crit`` header, since no
    extension is understood here (RFC 7515 §4.1.11). ``what`` names it in the refusal
    ("the DPoP proof"); raises :class:`Malformed`."""
    if len(token) > max_length:
        raise Malformed(f"{what} is longer than {max_length} characters")
    try:
        parts = decode_compact(token)
    except TokenInvalid as exc:
        raise Malformed(f"{what} is not a well-formed signed JWT", str(exc)) from exc
    if "crit" in parts[0]:
        raise Malformed(f"{what}'s crit header names extensions this server does not support")
    return parts


def _int(jwk: Mapping[str, Any], name: str, size: int | None = None) -> int:
    raw = b64url_decode(jwk[name]) if isinstance(jwk.get(name), str) else b""
    if not raw or (size is not None and len(raw) != size):
        raise ValueError(
            f"{name!r} must be a base64url string" + (f" of {size} bytes" if size else "")
        )
    return int.from_bytes(raw, "big")


def _import_public(jwk: Mapping[str, Any], alg: str) -> PublicKey:
    """Raises ValueError for parameters that do not make a key (off-curve point, short RSA)."""
    if alg in _EC_ALGS:
        crv, curve, _hash, size = _EC_ALGS[alg]
        if jwk.get("crv") != crv:
            raise ValueError(f"{alg} needs a key on curve {crv}")
        return ec.EllipticCurvePublicNumbers(
            _int(jwk, "x", size), _int(jwk, "y", size), curve()
        ).public_key()
    if alg in _RSA_ALGS:
        e, n = _int(jwk, "e"), _int(jwk, "n")
        if not 2048 <= n.bit_length() <= 8192 or e.bit_length() > 32:
            # RFC 7518 §3.3, §3.5: 2048 bits at least; a bound above keeps a proof cheap to check.
            raise ValueError("an RSA key needs 2048 to 8192 bits and a public exponent below 2^32")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if jwk.get("crv") != "Ed25519":
        raise ValueError(f"{alg} needs an OKP key on curve Ed25519")
    return Ed25519PublicKey.from_public_bytes(_int(jwk, "x", 32).to_bytes(32, "big"))


_public_keys: dict[tuple[str, ...], PublicKey] = {}


def proof_public_key(jwk: Any, alg: str) -> PublicKey:
    """The public key in a JWS header's ``jwk``, checked to be public only and to fit ``alg``
    (RFC 9449 §4.3 points 5 and 7); imported once per key. Raises TokenInvalid saying why not."""
    if alg not in _KTY:
        raise TokenInvalid(f"alg {alg!r} is not an asymmetric signature algorithm known here")
    if not isinstance(jwk, Mapping):
        raise TokenInvalid("the jwk header parameter must be a JSON object")
    private = sorted(PRIVATE_MEMBERS.intersection(jwk))
    if private:
        raise TokenInvalid(f"the jwk holds private key members ({', '.join(private)})")
    if jwk.get("kty") != _KTY[alg]:
        raise TokenInvalid(f"{alg} needs a jwk with kty {_KTY[alg]}, not {str(jwk.get('kty'))[:9]}")
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", alg) != alg:
        raise TokenInvalid("the jwk's use or alg member does not allow this signature")
    ident = (alg, *(str(jwk.get(m)) for m in _THUMBPRINT[_KTY[alg]]))
    key = _public_keys.get(ident)
    if key is None:
        try:
            key = _import_public(jwk, alg)
        except ValueError as exc:
            raise TokenInvalid(f"the jwk is not a valid public key: {exc}") from exc
        if len(_public_keys) >= 1024:
            _public_keys.clear()
        _public_keys[ident] = key
    return key


# The algorithm objects a verification needs, made once (they hold no state).
_HASH: dict[str, HashAlgorithm] = {"256": SHA256(), "384": SHA384(), "512": SHA512()}
_ECDSA = {alg: ECDSA(_HASH[alg[2:]]) for alg in _EC_ALGS}
_RSA_PADDING: dict[str, padding.AsymmetricPadding] = {
    alg: padding.PKCS1v15()
    if alg.startswith("RS")
    else padding.PSS(padding.MGF1(_HASH[alg[2:]]), padding.PSS.DIGEST_LENGTH)
    for alg in _RSA_ALGS
}


Verifier = Callable[[bytes, bytes], bool]


def signature_verifier(key: PublicKey, alg: str) -> Verifier:
    """``verify(signing_input, signature)``: does ``signature`` sign ``signing_input`` with ``key``
    under ``alg`` (RFC 7518 §3.3-3.5, RFC 8037 §3.1). What depends on the key and the algorithm is
    chosen here, once; each call verifies one signature. ``key`` must fit ``alg``
    (:func:`proof_public_key` checks that)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        size, ecdsa, ec_verify = _EC_ALGS[alg][3], _ECDSA[alg], key.verify

        def verify_ecdsa(signing_input: bytes, signature: bytes) -> bool:
            if len(signature) != 2 * size:  # RFC 7518 §3.4: R || S, each of the curve's size
                return False
            r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            try:
                ec_verify(encode_dss_signature(r, s), signing_input, ecdsa)
            except InvalidSignature:
                return False
            return True

        return verify_ecdsa
    if isinstance(key, rsa.RSAPublicKey):
        pad, digest, rsa_verify = _RSA_PADDING[alg], _HASH[alg[2:]], key.verify

        def verify_rsa(signing_input: bytes, signature: bytes) -> bool:
            try:
                rsa_verify(signature, signing_input, pad, digest)
            except InvalidSignature:
                return False
            return True

        return verify_rsa
    ed_verify = key.verify

    def verify_eddsa(signing_input: bytes, signature: bytes) -> bool:
        try:
            ed_verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True

    return verify_eddsa


def verify_signature(key: PublicKey, alg: str, signing_input: bytes, signature: bytes) -> bool:
    """RFC 7518 §3.3-3.5, RFC 8037 §3.1: does ``signature`` sign ``signing_input`` with ``key``."""
    return signature_verifier(key, alg)(signing_input, signature)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3: BASE64URL(SHA-256(the required members, sorted, without whitespace))."""
    members = _THUMBPRINT.get(str(jwk.get("kty")), ())
    if not members or any(not isinstance(jwk.get(m), str) for m in members):
        raise ValueError("a thumbprint needs an EC, RSA or OKP JWK with all its public members")
    return _thumbprint(tuple((m, jwk[m]) for m in members))


@lru_cache(maxsize=1024)
def _thumbprint(members: tuple[tuple[str, str], ...]) -> str:
    canonical = _COMPACT(dict(members)).encode("utf-8")
    return _b64(hashlib.sha256(canonical).digest()).decode("ascii")


def public_members(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """Only the members a thumbprint hashes: the public key and nothing else (RFC 7638 §3.2)."""
    jwk_thumbprint(jwk)  # refuses a JWK that lacks some
    return {m: jwk[m] for m in _THUMBPRINT[str(jwk["kty"])]}


def access_token_hash(access_token: str) -> str:
    """RFC 9449 §4.2 ath: BASE64URL(SHA-256(the ASCII access token)), all 32 bytes."""
    return _b64(hashlib.sha256(access_token.encode("ascii")).digest()).decode("ascii")


def sign_jws(
    header: Mapping[str, Any], claims: Mapping[str, Any], private_jwk: Mapping[str, Any]
) -> str:
    """A compact JWS with exactly ``header`` (naming the key's alg), signed with ``private_jwk``
    (which needs a ``kid``: the key is imported once per kid, as for :func:`sign`)."""
    if header.get("alg") != private_jwk.get("alg") or header.get("alg") not in _KTY:
        raise ValueError("the header's alg must be the private key's, one of PROOF_ALGS")
    _head, signer = _signer(private_jwk, str(header.get("typ", "JWT")))
    signing_input = (
        _b64(_COMPACT(dict(header)).encode("ascii"))
        + b"."
        + _b64(_COMPACT(dict(claims)).encode("ascii"))
    )
    return (signing_input + b"." + _b64(signer(signing_input))).decode("ascii")


# --- MACs for client_secret_jwt (RFC 7518 §3.2; OIDC Core §9, §16.19) --------------------------
MAC_ALGS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def mac_key_problem(key: bytes, alg: str) -> str | None:
    """Why ``key`` cannot be an ``alg`` key, or None. RFC 7518 §3.2: a key at least as long as the
    hash output (32, 48 or 64 bytes) MUST be used."""
    if alg not in MAC_ALGS:
        return f"{alg!r} is not one of {', '.join(MAC_ALGS)}"
    size = MAC_ALGS[alg]().digest_size
    return None if len(key) >= size else f"{alg} needs a key of at least {size} bytes"


def _mac(key: bytes, alg: str, signing_input: bytes) -> bytes:
    problem = mac_key_problem(key, alg)
    if problem:
        raise ValueError(problem)
    return hmac.new(key, signing_input, MAC_ALGS[alg]).digest()


def verify_mac(key: bytes, alg: str, signing_input: bytes, signature: bytes) -> bool:
    """RFC 7518 §3.2: the MAC recomputed and compared in constant time."""
    return hmac.compare_digest(_mac(key, alg, signing_input), signature)


def sign_mac_jws(header: Mapping[str, Any], claims: Mapping[str, Any], key: bytes) -> str:
    """A compact JWS with exactly ``header`` (whose alg is one of MAC_ALGS), MACed with ``key``."""
    signing_input = (
        _b64(_COMPACT(dict(header)).encode("ascii"))
        + b"."
        + _b64(_COMPACT(dict(claims)).encode("ascii"))
    )
    signature = _mac(key, str(header.get("alg")), signing_input)
    return (signing_input + b"." + _b64(signature)).decode("ascii")


# --- A client's own signing key, read from a file (private_key_jwt) -----------------------------
# The algorithm a key signs with when none is named: RS256 is OIDC's default and every server's.
_DEFAULT_ALG = {"RSA": "RS256", "P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_DEFAULT_ALG["Ed25519"] = "Ed25519"


def private_jwk_from_file_bytes(data: bytes, alg: str | None = None) -> dict[str, Any]:
    """A private JWK (with ``alg`` and a ``kid``) from a PEM private key (PKCS#8, PKCS#1 or SEC1)
    or a JSON JWK; RSA, EC (P-256, P-384, P-521) or Ed25519. Raises ValueError saying why not."""
    text = data.decode("utf-8", "replace").strip()
    try:
        if text.startswith("{"):
            key: Any = import_key(json.loads(text))
        elif "ENCRYPTED" in text.split("\n", 1)[0]:
            raise ValueError("the PEM key is encrypted: decrypt it first (openssl pkey -in KEY)")
        else:
            key = _import_pem(data)
    except (JoseError, json.JSONDecodeError, TypeError, KeyError) as exc:
        raise ValueError(f"not a usable private key ({type(exc).__name__})") from exc
    try:
        jwk = dict(key.as_dict(private=True))
    except ValueError:
        jwk = {}
    if "d" not in jwk:
        raise ValueError("this is a public key; the client signs with its private key")
    named = _DEFAULT_ALG.get(str(jwk.get("crv", jwk["kty"])))
    jwk["alg"] = alg or jwk.get("alg") or named
    if jwk["alg"] not in _KTY or _KTY[jwk["alg"]] != jwk["kty"]:
        raise ValueError(f"a {jwk['kty']} key cannot sign with {jwk['alg']!r}")
    if jwk["alg"] in _EC_ALGS and _EC_ALGS[jwk["alg"]][0] != jwk.get("crv"):
        raise ValueError(f"{jwk['alg']} needs a key on {_EC_ALGS[jwk['alg']][0]}")
    jwk.setdefault("kid", jwk_thumbprint(jwk))  # RFC 7638: a stable kid for the key
    return jwk


def _import_pem(data: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        loaded = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a PEM private key (PKCS#8, PKCS#1 or SEC1) nor a JSON JWK") from exc
    if isinstance(loaded, rsa.RSAPrivateKey):
        return RSAKey.import_key(loaded)
    if isinstance(loaded, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(loaded)
    if isinstance(loaded, Ed25519PrivateKey):
        return OKPKey.import_key(loaded)
    raise ValueError("only RSA, EC (P-256, P-384, P-521) and Ed25519 keys can sign assertions")


def key_type(alg: str) -> str | None:
    """The JWK ``kty`` that signs with asymmetric ``alg`` (RFC 7518 §6.1), or None."""
    return _KTY.get(alg)


# --- A client_secret_jwt secret at rest: AES-256-GCM (NIST SP 800-38D), the client_id bound -----
SEALED_PREFIX = "A256GCM."
SEALING_KEY_BYTES = 32


def sealing_key(text: str) -> bytes:
    """The 32-byte key from its base64url text (43 characters, ``secrets.token_urlsafe(32)``);
    ValueError saying why not."""
    try:
        key = b64url_decode(text.strip())
    except ValueError as exc:
        raise ValueError("must be base64url text (43 characters for 32 random bytes)") from exc
    if len(key) != SEALING_KEY_BYTES:
        raise ValueError(f"must decode to {SEALING_KEY_BYTES} bytes, not {len(key)}")
    return key


def seal_secret(key: bytes, client_id: str, secret: str) -> str:
    """``secret`` encrypted under ``key`` with a random 96-bit nonce; the client_id is the
    associated data, so a sealed value moved to another client does not open."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode("utf-8"), client_id.encode("utf-8"))
    return SEALED_PREFIX + _b64(nonce + sealed).decode("ascii")


def unseal_secret(key: bytes, client_id: str, sealed: str) -> str:
    """The secret :func:`seal_secret` sealed for ``client_id``; ValueError for another key, another
    client or a changed value (the GCM tag does not match)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not sealed.startswith(SEALED_PREFIX):
        raise ValueError("not a sealed secret")
    raw = b64url_decode(sealed[len(SEALED_PREFIX) :])
    try:
        opened = AESGCM(key).decrypt(raw[:12], raw[12:], client_id.encode("utf-8"))
    except (InvalidTag, ValueError) as exc:
        raise ValueError("the sealed secret does not open with this key for this client") from exc
    return opened.decode("utf-8")
