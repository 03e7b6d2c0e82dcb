"""Named tokens saved on disk: one JSON file in the XDG data directory, mode 0600."""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

from valetkey.client.config import ClientConfig
from valetkey.client.errors import ConfigError
from valetkey.client.tokens import TokenSet

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "valetkey"


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "valetkey"


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ConfigError(
            f"token name {name!r}: use 1-64 letters, digits, '.', '_' or '-' (starting with a "
            "letter or digit)"
        )
    return name


@dataclass(frozen=True)
class SavedToken:
    name: str
    tokens: TokenSet
    config: ClientConfig
    grant: str
    saved_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens.to_dict(),
            "config": self.config.to_dict(),
            "grant": self.grant,
            "saved_at": self.saved_at,
        }

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> SavedToken:
        return cls(
            name,
            TokenSet.from_dict(data["tokens"]),
            ClientConfig.from_dict(data["config"]),
            str(data.get("grant") or ""),
            float(data.get("saved_at") or 0),
        )


def write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 (the file holds tokens and client secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class TokenStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "tokens.json"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Serialize read-refresh-write across processes: two refreshes of one rotating refresh
        token would look like token theft to the server (RFC 9700 §4.14.2) and revoke the grant."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as f:
            if fcntl is not None:
                fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(f, fcntl.LOCK_UN)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the token store {self.path}: {exc}") from exc
        return data if isinstance(data, dict) else {}

    def names(self) -> list[str]:
        return sorted(self._load())

    def all(self) -> list[SavedToken]:
        return [self._entry(n, d) for n, d in sorted(self._load().items())]

    def get(self, name: str) -> SavedToken:
        data = self._load().get(name)
        if data is None:
            known = ", ".join(self.names()) or "none saved yet"
            raise ConfigError(f"no token named {name!r} (known: {known})")
        return self._entry(name, data)

    def _entry(self, name: str, data: Any) -> SavedToken:
        try:
            return SavedToken.from_dict(name, data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"the saved token {name!r} in {self.path} is damaged ({type(exc).__name__}: "
                f"{exc}); delete it with `valetkey token delete {name}`"
            ) from exc

    def put(self, name: str, tokens: TokenSet, config: ClientConfig, grant: str) -> SavedToken:
        saved = SavedToken(check_name(name), tokens, config, grant, time.time())
        data = self._load()
        data[name] = saved.to_dict()
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True))
        return saved

    def update_tokens(self, name: str, tokens: TokenSet) -> None:
        saved = self.get(name)
        self.put(name, tokens, saved.config, saved.grant)

    def delete(self, name: str) -> None:
        data = self._load()  # raw: a damaged entry can still be deleted
        if data.pop(name, None) is None:
            raise ConfigError(f"no token named {name!r}")
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True))
