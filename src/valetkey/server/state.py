"""Everything an endpoint needs, built once per app: settings, store, keys, clock, event sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from valetkey.core import scopes
from valetkey.core.client_assertion import AssertionPolicy
from valetkey.core.client_id_document import names_document
from valetkey.core.clock import Clock
from valetkey.core.dpop import DPoPNonces, DPoPPolicy
from valetkey.core.events import (
    Emitter,
    EventSink,
)
from valetkey.core.flows import new_flow_id
from valetkey.core.jose import sealing_key
from valetkey.core.models import Client, Resource
from valetkey.core.registration import Mode, RegistrationPolicy
from valetkey.core.secrets import new_token
from valetkey.core.settings import Settings
from valetkey.server.client_documents import ClientDocuments
from valetkey.server.client_keys import ClientKeys
from valetkey.server.cookies import Signer, signing_keys
from valetkey.server.hashing_gate import HashingGate
from valetkey.server.keys import KeyRing, retire_after
from valetkey.server.outbound import OutboundPolicy
from valetkey.server.passwords import Passwords, default_passwords, passwords_for
from valetkey.server.throttle import Throttle, counts_for
from valetkey.store.protocol import Store

CLIENT_CACHE_SECONDS = 5.0


@dataclass
class ServerState:
    settings: Settings
    store: Store
    sink: EventSink
    clock: Clock
    keys: KeyRing
    signer: Signer
    issuer: str
    resources: tuple[Resource, ...] = ()
    known_scopes: frozenset[str] = frozenset()
    passwords: Passwords = field(default_factory=default_passwords)
    gate: HashingGate = field(default_factory=HashingGate)
    dpop_policy: DPoPPolicy = field(default_factory=DPoPPolicy)
    dpop_nonces: DPoPNonces | None = None  # set when settings.dpop_nonce_required
    _clients: dict[str, tuple[float, Client | None]] = field(default_factory=dict)
    _throttle: Throttle | None = None
    # Clients named by a metadata document URL (None: client_id_metadata_documents is off).
    documents: ClientDocuments | None = None
    # private_key_jwt and client_secret_jwt (server.client_assertions)
    client_keys: ClientKeys = field(default_factory=ClientKeys)
    assertion_policy: AssertionPolicy = field(default_factory=AssertionPolicy)
    sealing_key: bytes | None = field(default=None, repr=False)  # settings.client_secret_key
    emit: Emitter = field(init=False)

    def __post_init__(self) -> None:
        self.emit = Emitter(self.sink, self.clock)

    @classmethod
    def build(cls, settings: Settings, store: Store, sink: EventSink, clock: Clock) -> ServerState:
        assert settings.issuer, "the issuer must be set before the app is built"
        keys = KeyRing(
            store,
            retire_after=retire_after(settings),
            reload_seconds=settings.key_reload_seconds,
        )
        keys.ensure(
            tuple(dict.fromkeys((settings.access_token_alg, settings.id_token_alg))), clock.now()
        )
        signer = Signer(
            signing_keys(
                settings.cookie_keys,
                lambda: store.get_or_create_secret("cookie_signing", lambda: new_token(32)),
            )
        )
        state = cls(
            settings,
            store,
            sink,
            clock,
            keys,
            signer,
            settings.issuer,
            passwords=passwords_for(settings),
            gate=HashingGate(
                settings.password_hash_concurrency,
                settings.password_hash_queue,
                settings.password_hash_max_wait,
            ),
        )
        state.dpop_policy = DPoPPolicy(max_age=float(settings.dpop_proof_max_age))
        if settings.dpop_nonce_required:  # RFC 9449 §8: one secret, shared by every instance
            secret = store.get_or_create_secret("dpop_nonce", lambda: new_token(32))
            state.dpop_nonces = DPoPNonces(secret, context=settings.issuer)
        loopback = settings.development_allow_loopback_fetch
        if settings.client_id_metadata_documents:
            state.documents = ClientDocuments(OutboundPolicy(allow_loopback=loopback))
        state.client_keys = ClientKeys(OutboundPolicy(allow_loopback=loopback))
        if settings.client_secret_key:
            state.sealing_key = sealing_key(settings.client_secret_key)
        state.reload_resources()
        _ = state.throttle  # its key is read (or made) now, not on a first request's hot path
        return state

    def registration_policy(self) -> RegistrationPolicy:
        """Who may register clients (``core.registration``), as the settings say."""
        s = self.settings
        return RegistrationPolicy.build(cast(Mode, s.registration), s.registration_tokens)

    def reload_resources(self) -> None:
        self.resources = tuple(self.store.list_resources())
        self.known_scopes = scopes.known_scopes(self.resources)

    def client(self, client_id: str) -> Client | None:
        """Clients are read through a short cache: admin changes apply within seconds everywhere
        (on the server's clock, so tests move time instead of reaching into the cache)."""
        now = self.clock.now()
        hit = self._clients.get(client_id)
        if hit and 0 <= now - hit[0] < CLIENT_CACHE_SECONDS:
            return hit[1]
        client = self.store.get_client(client_id)
        if len(self._clients) > 10_000:
            self._clients.clear()
        self._clients[client_id] = (now, client)
        if client is None and self.documents is not None and names_document(client_id):
            return self.documents.known(client_id)
        return client

    async def load_client(self, client_id: str, flow_id: str | None = None) -> Client | None:
        """``client`` for the endpoints that start a flow (/authorize, its forms, /token): a
        client_id that is an https URL and no configured client is fetched as its metadata
        document (from the HTTP cache while fresh). Raises InvalidClient when it is refused."""
        client = self.client(client_id)
        if self.documents is None or not names_document(client_id):
            return client
        if self.store_client(client_id) is not None:
            return client
        return await self.documents.load(
            client_id, self.clock.now(), self.emit, flow_id or new_flow_id()
        )

    def has_client(self, client_id: str) -> bool:
        """Whether the tokens of ``client_id`` still stand: its client is configured or registered,
        or it is a metadata document client (its document was accepted when they were issued;
        another worker, or this one after a restart, may not have read it yet). A document that
        goes bad stops the client at its next /authorize or /token; its tokens then run out."""
        if self.client(client_id) is not None:
            return True
        return self.documents is not None and names_document(client_id)

    def store_client(self, client_id: str) -> Client | None:
        hit = self._clients.get(client_id)
        return hit[1] if hit else self.store.get_client(client_id)

    @property
    def throttle(self) -> Throttle:
        """The guessing defences (server/throttle.py), built on first use."""
        if self._throttle is None:
            salt = self.store.get_or_create_secret("throttle_key", lambda: new_token(32))
            counts = counts_for(self.settings, self.store)
            self._throttle = Throttle(self.settings, counts, self.clock, salt)
        return self._throttle

    def close_throttle(self) -> None:
        """At the app's shutdown (``create_app``; every worker of ``serve --workers N`` builds its
        own app and throttle): close the throttle's Redis connections, if it opened any. Once:
        a later call, or a throttle never used, does nothing."""
        throttle, self._throttle = self._throttle, None
        if throttle is not None:
            throttle.close(self.store)

    @property
    def observed(self) -> bool:
        """False when nobody hears of events (a NullSink, no metrics tap): endpoints then skip
        building them. With only a tap, ``exchange`` still skips the HTTP parts (``detailed``)."""
        return self.emit.observed
