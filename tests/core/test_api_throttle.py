"""The throttle's sliding window (core/api/throttling.py) on a clock the test moves: it
refuses over the rate, says when to come back, counts only what it lets through, and gives
no second burst at a window's boundary. On Redis (the production cache: one script per
request) and on a process's own memory (the embedded default)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings

from core.api import throttling
from tests.conftest import service_missing

# Four requests a minute; the clock starts at a minute's boundary (windows are aligned to it).
RATES = {"user": "4/minute", "login": "none", "token_create": "none"}
START = 60.0 * 29_000_000
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(params=["redis", "memory"])
def backend(request):
    if request.param == "redis":
        if not isinstance(caches["default"], RedisCache):
            service_missing("Redis as the cache (CACHE_URL)")
        with override_settings(API_THROTTLE_RATES=RATES):
            yield request.param
    else:
        with override_settings(API_THROTTLE_RATES=RATES, CACHES=LOCAL_CACHE):
            caches["default"].clear()
            yield request.param
            caches["default"].clear()


@pytest.fixture
def clock(monkeypatch):
    now = [START]
    monkeypatch.setattr(throttling._SettingsRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def _get(client):
    response = client.get("/api/v1/me/")
    return response.status_code, response.get("Retry-After")


def test_over_the_rate_is_refused_with_the_time_to_wait(backend, clock, api_a):
    clock[0] = START + 50
    assert [_get(api_a)[0] for _ in range(4)] == [200] * 4
    # Four counted at 0:50: the next is allowed once three quarters of the four slid out
    # of the last minute, i.e. at 1:15 (10 s to the window's end + 15 s).
    assert _get(api_a) == (429, "25")
    clock[0] = START + 60 + 14
    assert _get(api_a) == (429, "1")
    clock[0] = START + 60 + 15
    assert _get(api_a) == (200, None)


def test_no_second_burst_at_the_boundary_and_refusals_are_not_counted(backend, clock, api_a):
    clock[0] = START + 59
    assert [_get(api_a)[0] for _ in range(4)] == [200] * 4
    clock[0] = START + 61
    # A plain fixed window would allow four more now: the sliding one allows none.
    assert [_get(api_a)[0] for _ in range(10)] == [429] * 10
    # Half the minute later half the earlier four have slid out: two more, the refusals
    # above took nothing from them.
    clock[0] = START + 90
    assert [_get(api_a)[0] for _ in range(3)] == [200, 200, 429]


def test_each_user_has_a_budget_of_their_own(backend, clock, api_a, api_b):
    assert [_get(api_a)[0] for _ in range(5)] == [200] * 4 + [429]
    assert _get(api_b)[0] == 200


@override_settings(API_THROTTLE_RATES={**RATES, "user": "1200/minute"})
def test_the_counter_is_one_small_number(clock, api_a, coordinator_a):
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        service_missing("Redis as the cache (CACHE_URL)")
    for _ in range(3):
        assert _get(api_a)[0] == 200
    key = f"throttle:user:user:{coordinator_a.pk}:{int(START // 60)}"
    assert cache.get(key) == 3
