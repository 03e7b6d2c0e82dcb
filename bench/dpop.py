"""DPoP proofs for wrk (W5, W6): a fresh proof for every request, made outside the measured server.

wrk cannot sign, and a proof is accepted once (its ``jti``) and only for a while after its ``iat``
(60 s at valetkey, 5 min at oidc-provider). So before each wrk run (the warm-up and every 1-s slice)
:class:`ProofFeed` signs as many proofs as the run will use, with valetkey's own client
(``valetkey.client.dpop.DPoPKey``, ES256), and writes them to a file that ``lua/dpop.lua`` reads, one
proof per request. The signing happens between the slices, in the benchmark's process: the CPU
measured is the server's, over the wrk run only, so the proofs' cost is not in it.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from valetkey.client.dpop import DPoPKey

RESERVE = 64  # proofs kept back for the requests under way when wrk stops (lua/dpop.lua)
MARGIN = 1.5  # proofs made per request of the fastest run so far, in the same time


class ProofFeed:
    """Proofs of one key for one request shape (method, URL and, at a resource, the token)."""

    def __init__(
        self,
        key: DPoPKey,
        method: str,
        url: str,
        path: Path,
        access_token: str | None = None,
        rate: float = 2000.0,
    ) -> None:
        self.key, self.method, self.url, self.path = key, method, url, path
        self.access_token = access_token
        self.rate = rate  # requests per second to prepare for: the fastest run's so far
        self.exhausted = 0  # runs that used every proof made for them (wrk stopped early)
        self.made = 0  # proofs in the last batch

    def batch(self, seconds: float) -> Path:
        """Write proofs for ``seconds`` of load at the expected rate, all with iat = now."""
        count = int(self.rate * seconds * MARGIN) + 2 * RESERVE
        now = time.time()
        proofs = [
            self.key.proof(self.method, self.url, now=now, access_token=self.access_token)
            for _ in range(count)
        ]
        self.path.write_text("\n".join(proofs) + "\n")
        self.made = count
        return self.path

    def ran(self, requests: int, seconds: float) -> None:
        """Learn the rate from a finished run (wrk's count and duration)."""
        if requests + 2 * RESERVE >= self.made:
            self.exhausted += 1
        if seconds > 0:  # never lowered: a slow moment must not leave the next run short
            self.rate = max(self.rate, requests / seconds)


def token_endpoint(base: str) -> str:
    """The token endpoint a server publishes (the proofs' ``htu``), from its metadata."""
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        r = httpx.get(base + path, timeout=10)
        if r.status_code == 200:
            return str(r.json()["token_endpoint"])
    raise RuntimeError(f"{base} publishes no authorization server metadata")


def bound_token(key: DPoPKey, base: str, auth: str, body: dict[str, str]) -> str:
    """A client-credentials access token bound to ``key`` (token_type DPoP)."""
    url = token_endpoint(base)
    r = httpx.post(
        url,
        data=body,
        headers={"Authorization": auth, "DPoP": key.proof("POST", url, now=time.time())},
        timeout=30,
    )
    r.raise_for_status()
    answer = r.json()
    if answer.get("token_type", "").lower() != "dpop":
        raise RuntimeError(f"{base} answered token_type {answer.get('token_type')!r}, not DPoP")
    return str(answer["access_token"])
