"""The throttle's counts (core/throttle.py) in Redis, when ``throttle_redis_url`` is set: the same
three methods as the SQL store's (``sql_throttle``), atomic across instances by Lua scripts.

Each key is a hash (``f``: failures, ``u``: the end of their window) that Redis deletes by itself
once its failures are forgotten. The URL may end in ``?prefix=...`` (default
``valetkey:throttle:``): the prefix of every key, so that several deployments, or tests, share one
Redis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from valetkey.core.errors import StorageUnavailable
from valetkey.core.throttle import Count

DEFAULT_PREFIX = "valetkey:throttle:"
TIMEOUT_SECONDS = 2.0

# KEYS[1]; ARGV: now, stale. Failures whose window ended at or before ``stale`` start again at 1.
_COUNT = """
local f = tonumber(redis.call('HGET', KEYS[1], 'f'))
local u = tonumber(redis.call('HGET', KEYS[1], 'u'))
if (not f) or (not u) or u <= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'f', 1, 'u', ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], 'f', f + 1)
return f + 1
"""
# KEYS[1]; ARGV: window end, seconds to live. A later window set meanwhile is kept. The time to
# live is relative: the server's clock decides, whatever Redis's says.
_WINDOW = """
local u = tonumber(redis.call('HGET', KEYS[1], 'u')) or 0
redis.call('HSET', KEYS[1], 'u', tostring(math.max(u, tonumber(ARGV[1]))))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


def split_prefix(url: str) -> tuple[str, str]:
    """(the URL for the Redis client, the key prefix) from ``throttle_redis_url``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class RedisThrottle:
    def __init__(self, url: str) -> None:
        import redis

        client_url, self.prefix = split_prefix(url)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.redis: Any = redis.Redis.from_url(
            client_url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self._closed = False
        self._count = self.redis.register_script(_COUNT)
        self._window = self.redis.register_script(_WINDOW)

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except self._errors as exc:
            raise StorageUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc

    def get_throttle(self, first: str, second: str) -> tuple[Count | None, Count | None]:
        def read() -> list[Any]:
            pipe = self.redis.pipeline(transaction=False)
            for key in (first, second):
                pipe.hmget(self.prefix + key, "f", "u")
            return list(pipe.execute())

        a, b = self._call(read)
        return _count(a), _count(b)

    def count_throttle_failure(
        self, key: str, now: float, forget: float, window_end: Callable[[int], float]
    ) -> Count:
        name = self.prefix + key
        failures = int(self._call(lambda: self._count(keys=[name], args=[repr(now), now - forget])))
        ends = window_end(failures)
        ttl = max(1, math.ceil(ends + forget - now))
        self._call(lambda: self._window(keys=[name], args=[repr(ends), ttl]))
        return Count(failures, ends)

    def clear_throttle(self, key: str) -> None:
        self._call(lambda: self.redis.delete(self.prefix + key))

    def close(self) -> None:
        """Close the connection pool's connections (the server's shutdown); again: nothing."""
        if not self._closed:
            self._closed = True
            self.redis.close()  # from_url's client owns its pool: this disconnects it


def _count(values: list[Any]) -> Count | None:
    failures, until = values
    if failures is None or until is None:
        return None
    return Count(int(failures), float(until))
