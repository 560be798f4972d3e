"""Per-client limits and per-request budgets, safe to share between threads. Pure (no I/O).

A client may make `burst` requests at once, then one every `per / rate` seconds: with
rate=10, per=60, burst=5 a client asks 5 questions straight away, then one every 6 seconds.
The app keys clients by something they do not choose (`client_key`: the peer address), charges
long texts more than one token (`text_cost`), and lets one client hold only some of the answering
slots at once (`InFlightLimiter`). A request runs `within(seconds)`; the steps of answering call
`check_deadline()` between them, so a request past its budget stops with a clear message.
"""

from __future__ import annotations

import contextvars
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from assistant.errors import InputError

# Characters of text one token pays for: a question of up to 500 characters costs 1, one of 1,990
# characters with the most history a replay takes (1,000 characters) costs 6 (never more than the
# burst). A request's work grows with its text (embedding, retrieval, the quote alignment, each
# replayed turn), not with the number of requests; charging by measured time instead would charge
# people for the load others put on the machine, and could only be charged once the work was done.
COST_CHARS = 500


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


def text_cost(chars: int, capacity: float) -> float:
    """Tokens a request over `chars` characters of text costs: 1 per COST_CHARS started, at most the burst."""
    return float(min(max(1, math.ceil(max(0, chars) / COST_CHARS)), max(1, int(capacity))))


def client_key(host: str | None) -> str:
    """The rate-limit key of a peer address: the address itself, or its /64 for IPv6.

    One IPv6 host is usually given a whole /64, so keying by the full address would let it take a
    fresh address, and a fresh bucket, for every request.
    """
    if not host:
        return "?"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address (a unix socket, a test client): keyed as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # "::ffff:10.0.0.1" is 10.0.0.1
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def parse_proxies(raw: str) -> list[str]:
    """Addresses and networks from "10.0.0.1, 10.1.0.0/16"; ValueError naming an entry that is neither."""
    out = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            parsed = ipaddress.ip_network(item, strict=False) if "/" in item else ipaddress.ip_address(item)
        except ValueError:
            raise ValueError(f"ASSISTANT_TRUSTED_PROXIES: “{item}” is not an IP address or network") from None
        out.append(str(parsed))
    return out


class InFlightLimiter:
    """At most `limit` requests of one client being answered at the same time."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, client: str) -> bool:
        """Count one more running request of the client; False (and nothing counted) when it has `limit`."""
        with self._lock:
            if self._running.get(client, 0) >= self.limit:
                return False
            self._running[client] = self._running.get(client, 0) + 1
            return True

    def leave(self, client: str) -> None:
        """One of the client's requests has finished."""
        with self._lock:
            left = self._running.get(client, 0) - 1
            if left > 0:
                self._running[client] = left
            else:
                self._running.pop(client, None)

    def running(self, client: str) -> int:
        with self._lock:
            return self._running.get(client, 0)


class OverBudget(InputError):
    """A request ran past its time budget and was stopped between two steps."""


@dataclass(frozen=True)
class Deadline:
    """The moment (on `clock`) a request must be finished by."""

    seconds: float
    at: float
    clock: Callable[[], float] = time.monotonic

    def expired(self) -> bool:
        return self.clock() >= self.at

    def check(self) -> None:
        """OverBudget with a message a person understands when the deadline has passed."""
        if self.expired():
            raise OverBudget(f"这个请求的处理时间超过了{self.seconds:g}秒的上限，已停止。"
                             "请把问题或引文缩短，或开始新的对话后再试。")


_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("assistant_deadline", default=None)


@contextmanager
def within(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[Deadline | None]:
    """Run the block under a deadline `seconds` from now (0 = none); an outer deadline is kept.

    The deadline lives in a context variable, so it reaches every step of this request's thread
    (a replayed turn, the quote alignment) and no other request.
    """
    outer = _deadline.get()
    if outer is not None or seconds <= 0:
        yield outer
        return
    token = _deadline.set(Deadline(seconds, clock() + seconds, clock))
    try:
        yield _deadline.get()
    finally:
        _deadline.reset(token)


def check_deadline() -> None:
    """Raise OverBudget when the running request is past its deadline; nothing without one."""
    deadline = _deadline.get()
    if deadline is not None:
        deadline.check()
