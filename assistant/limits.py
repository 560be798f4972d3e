"""Per-client rate limits: a token bucket per client, safe to share between threads. Pure (no I/O).

A client may make `burst` requests at once, then one every `per / rate` seconds: with
rate=10, per=60, burst=5 a client asks 5 questions straight away, then one every 6 seconds.
The app keys clients by whatever identifies them (a session hash, an address).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead; if not, how long until it may."""

    allowed: bool
    retry_after: float  # seconds until this request would be allowed; 0.0 when allowed
    remaining: int  # whole requests the client may still make right now

    @property
    def message(self) -> str:
        """What a person is told when refused: "请求太频繁，请在6秒后再试。"."""
        return "" if self.allowed else f"请求太频繁，请在{max(1, math.ceil(self.retry_after))}秒后再试。"


@dataclass
class _Bucket:
    tokens: float
    stamp: float  # clock reading when `tokens` was last brought up to date


class TokenBucketLimiter:
    """At most `burst` requests at once and `rate` per `per` seconds on average, for each client."""

    def __init__(self, rate: float, per: float = 60.0, burst: int | None = None, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError("rate and per must be positive")
        self.capacity = float(burst if burst is not None else max(1, math.ceil(rate)))
        if self.capacity < 1 or max_clients < 1:
            raise ValueError("burst and max_clients must be at least 1")
        self.refill = rate / per  # tokens per second
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def check(self, client: str, cost: float = 1.0) -> Decision:
        """Take `cost` tokens from the client's bucket if it holds them; say when it will if not."""
        if not 0 < cost <= self.capacity:
            raise ValueError(f"cost must be in (0, {self.capacity:g}]")
        with self._lock:
            now = self._clock()
            bucket = self._bucket(client, now)
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return Decision(True, 0.0, int(bucket.tokens))
            return Decision(False, (cost - bucket.tokens) / self.refill, int(bucket.tokens))

    def allow(self, client: str, cost: float = 1.0) -> bool:
        """True, and the request is counted, when the client is within its limit."""
        return self.check(client, cost).allowed

    def reset(self, client: str | None = None) -> None:
        """Forget one client's history, or everyone's."""
        with self._lock:
            if client is None:
                self._buckets.clear()
            else:
                self._buckets.pop(client, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)

    def _bucket(self, client: str, now: float) -> _Bucket:
        """The client's bucket refilled up to now (a new client starts full), marked as recently used."""
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(self.capacity, now)
            self._evict()
        else:
            elapsed = max(0.0, now - bucket.stamp)  # a clock that steps back refills nothing
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.refill)
            bucket.stamp = now
            self._buckets.move_to_end(client)
        return bucket

    def _evict(self) -> None:
        """Keep at most max_clients buckets, dropping the least recently used.

        That bucket has had the longest to refill, so forgetting it is usually harmless; only when
        more than max_clients clients are busy at once does a dropped client get a fresh burst.
        """
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
