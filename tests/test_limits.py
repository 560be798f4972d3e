"""The per-client token bucket: bursts, refills, isolation, threads, bounded memory."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.limits import (
    COST_CHARS,
    InFlightLimiter,
    OverBudget,
    TokenBucketLimiter,
    check_deadline,
    client_key,
    parse_proxies,
    text_cost,
    within,
)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(rate: float = 10, per: float = 60, burst: int = 5, **kw) -> tuple[TokenBucketLimiter, FakeClock]:
    clock = FakeClock()
    return TokenBucketLimiter(rate, per, burst, clock=clock, **kw), clock


def test_a_burst_then_refusal_with_the_wait_and_a_chinese_message():
    lim, _ = limiter()
    assert [lim.allow("a") for _ in range(5)] == [True] * 5
    refused = lim.check("a")
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after == pytest.approx(6.0)  # 10 per minute: one every 6 s
    assert refused.message == "请求太频繁，请在6秒后再试。"
    assert lim.check("b").message == ""


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst():
    lim, clock = limiter()
    for _ in range(5):
        lim.allow("a")
    clock.now += 5.9
    assert not lim.allow("a")
    clock.now += 0.1
    assert lim.allow("a") and not lim.allow("a")
    clock.now += 3600  # an hour idle refills to the burst, not to 600
    assert sum(lim.allow("a") for _ in range(10)) == 5


def test_clients_are_independent_and_refusals_cost_nothing():
    lim, clock = limiter(burst=2)
    assert lim.allow("a") and lim.allow("a") and not lim.allow("a")
    assert lim.allow("b") and lim.allow("b")
    for _ in range(100):
        lim.allow("a")  # hammering while refused does not push the wait further out
    clock.now += 6
    assert lim.allow("a")


def test_a_clock_that_steps_back_refills_nothing():
    lim, clock = limiter(burst=1)
    assert lim.allow("a")
    clock.now -= 100
    assert not lim.allow("a")


def test_reset_forgets_one_client_or_all():
    lim, _ = limiter(burst=1)
    lim.allow("a"), lim.allow("b")
    lim.reset("a")
    assert lim.allow("a") and not lim.allow("b")
    lim.reset()
    assert len(lim) == 0 and lim.allow("b")


def test_memory_is_bounded_by_max_clients():
    lim, _ = limiter(max_clients=100)
    for k in range(10_000):
        lim.allow(f"client-{k}")
    assert len(lim) == 100
    assert lim.check("client-9999").remaining == 3  # recent: kept, with its earlier request counted
    assert lim.check("client-0").remaining == 4  # least recently used: forgotten, a fresh bucket


@pytest.mark.parametrize("kwargs", [dict(rate=0), dict(rate=-1), dict(per=0), dict(burst=0), dict(max_clients=0)])
def test_bad_settings_are_refused(kwargs):
    args = {"rate": 10, "per": 60, "burst": 5, **kwargs}
    with pytest.raises(ValueError):
        TokenBucketLimiter(**args)


@pytest.mark.parametrize("cost", [0, -1, 6])
def test_a_cost_outside_the_bucket_is_refused(cost):
    lim, _ = limiter(burst=5)
    with pytest.raises(ValueError):
        lim.check("a", cost)


def test_threads_sharing_a_limiter_get_exactly_the_burst():
    lim, _ = limiter(rate=1, per=3600, burst=50)  # the fake clock stands still: no refill
    allowed: list[bool] = []
    guard = threading.Lock()
    barrier = threading.Barrier(16)

    def hammer() -> None:
        barrier.wait()
        mine = [lim.allow("shared") for _ in range(100)]
        with guard:
            allowed.extend(mine)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50 and len(allowed) == 1600


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 20), st.sampled_from("abc")), max_size=200),
       st.integers(1, 5), st.floats(0.5, 30))
def test_no_client_ever_exceeds_burst_plus_rate_times_time(requests, burst, rate):
    """In any window of t seconds a client gets at most burst + rate * t / per requests."""
    lim, clock = limiter(rate=rate, per=60, burst=burst)
    times: dict[str, list[float]] = {}
    for dt, client in requests:
        clock.now += dt
        if lim.allow(client):
            times.setdefault(client, []).append(clock.now)
    for stamps in times.values():
        for i, first in enumerate(stamps):
            for j in range(i, len(stamps)):
                assert j - i + 1 <= burst + (stamps[j] - first) * rate / 60 + 1e-9


# ---- keys, costs, slots and deadlines ----------------------------------------------------------


def test_a_client_is_its_address_and_an_ipv6_host_its_64():
    assert client_key("10.0.0.7") == "10.0.0.7"
    assert client_key("::ffff:10.0.0.7") == "10.0.0.7"
    # one host's /64 is one client: a fresh address in it is no fresh bucket
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key(None) == client_key("") == "?"
    assert client_key("testclient") == "testclient"


def test_trusted_proxies_are_addresses_or_networks():
    assert parse_proxies("") == [] and parse_proxies(" , ") == []
    assert parse_proxies("127.0.0.1, 10.1.0.0/16 ,::1") == ["127.0.0.1", "10.1.0.0/16", "::1"]
    with pytest.raises(ValueError, match="nginx"):
        parse_proxies("127.0.0.1, nginx")


def test_long_texts_cost_more_tokens_up_to_the_burst():
    assert text_cost(0, 10) == text_cost(20, 10) == text_cost(COST_CHARS, 10) == 1
    assert text_cost(COST_CHARS + 1, 10) == 2
    assert text_cost(1990 + 1000, 10) == 6  # a long question and the history a replay may use
    assert text_cost(100_000, 10) == 10 and text_cost(100_000, 3) == 3  # never beyond what a bucket holds
    lim, _ = limiter(burst=10)
    assert lim.allow("a", text_cost(2990, lim.capacity)) and not lim.allow("a", text_cost(2990, lim.capacity))
    assert lim.allow("a")  # the 4 tokens left still pay for short questions


def test_in_flight_counts_each_clients_running_requests():
    slots = InFlightLimiter(1)
    assert slots.enter("a") and not slots.enter("a") and slots.enter("b")
    slots.leave("a")
    assert slots.running("a") == 0 and slots.enter("a")
    slots.leave("x")  # leaving what never entered changes nothing
    assert slots.running("x") == 0
    with pytest.raises(ValueError):
        InFlightLimiter(0)


def test_a_deadline_stops_the_steps_after_it_with_a_chinese_message():
    clock = FakeClock()
    check_deadline()  # no deadline: nothing to check
    with within(2.0, clock=clock) as deadline:
        check_deadline()
        clock.now += 1.9
        check_deadline()
        with within(60.0, clock=clock) as inner:  # a nested step keeps the request's deadline
            assert inner is deadline
        clock.now += 0.1
        with pytest.raises(OverBudget, match="超过了2秒的上限"):
            check_deadline()
    check_deadline()  # the request is over: its deadline is gone
    with within(0, clock=clock) as none:  # 0 = no budget
        clock.now += 1e6
        check_deadline()
        assert none is None


def test_deadlines_belong_to_their_own_thread():
    clock = FakeClock()
    seen: list[bool] = []

    def other() -> None:
        try:
            check_deadline()
            seen.append(True)
        except OverBudget:
            seen.append(False)

    with within(1.0, clock=clock):
        clock.now += 5
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        with pytest.raises(OverBudget):
            check_deadline()
    assert seen == [True]
