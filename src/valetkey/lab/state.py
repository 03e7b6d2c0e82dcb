"""The lab's state: its keys, and the current attempt of each fault's issuer."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from valetkey.core import jose
from valetkey.core.events import EventSink, NullSink
from valetkey.lab.attempt import Attempt
from valetkey.lab.catalogue import BY_NAME, Fault
from valetkey.lab.events import LabEvents

# "Another server" (mix-up, a foreign iss, metadata of someone else): an issuer the lab really runs.
OTHER_SERVER = "baseline"


@dataclass(frozen=True)
class LabKeys:
    """RS256 keys: the published one, the one it is rotated to, and one never published."""

    primary: dict[str, Any]
    rotated: dict[str, Any]
    stray: dict[str, Any]

    @classmethod
    def generate(cls) -> LabKeys:
        return cls(
            jose.generate_private_jwk("RS256", kid="lab-primary"),
            jose.generate_private_jwk("RS256", kid="lab-rotated"),
            jose.generate_private_jwk("RS256", kid="lab-unpublished"),
        )

    def signing(self, attempt: Attempt) -> dict[str, Any]:
        return self.rotated if attempt.keys_rotated else self.primary

    def jwks(self, attempt: Attempt) -> dict[str, Any]:
        return jose.jwks([self.signing(attempt)])


class Lab:
    """One lab on one origin; each fault is an issuer of its own, ``{base}/f/{fault}``.

    An attempt begins when the runner says so (``begin``) or, when nobody does (``valetkey lab
    serve``), when a client fetches the metadata again after it went further than that.
    """

    def __init__(
        self,
        base_url: str,
        *,
        sink: EventSink | None = None,
        keys: LabKeys | None = None,
        hold_seconds: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.keys = keys or LabKeys.generate()
        self.hold_seconds = hold_seconds
        self.events = LabEvents(sink or NullSink())
        self._attempts: dict[str, Attempt] = {}
        self._lock = threading.Lock()

    def issuer(self, fault: str) -> str:
        return f"{self.base_url}/f/{fault}"

    def other_issuer(self) -> str:
        return self.issuer(OTHER_SERVER)

    def begin(self, fault: Fault) -> Attempt:
        with self._lock:
            old = self._attempts.get(fault.name)
            if old is not None:
                old.active = False
            attempt = Attempt(fault, old.number + 1 if old else 1)
            self._attempts[fault.name] = attempt
        self.events.begun(attempt, self.issuer(fault.name))
        return attempt

    def current(self, name: str) -> Attempt | None:
        fault = BY_NAME.get(name)
        if fault is None:
            return None
        with self._lock:
            attempt = self._attempts.get(name)
        return attempt if attempt is not None else self.begin(fault)

    def for_discovery(self, name: str) -> Attempt | None:
        """A metadata fetch after the client went further starts a new attempt (serve mode)."""
        attempt = self.current(name)
        if attempt is not None and not attempt.seen_only_discovery:
            return self.begin(attempt.fault)
        return attempt

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts.values())
