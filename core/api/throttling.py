"""Rate limits. Rates come from settings.API_THROTTLE_RATES at each request (not at import),
so the environment and tests can change them; the rate "none" switches a scope off.

Counting: a sliding window estimated from two fixed windows (the one running and the one
before it), each a single counter in the cache. A request is allowed while

    requests allowed in this window + ceil(requests allowed in the previous window × the
    share of the previous window still inside the last period)  <  the rate's number,

and only allowed requests are counted, so a client over its rate gets through again as
its earlier requests age out, as with DRF's own throttle. DRF's keeps a list of every
request's time per client and reads and writes it whole (pickled) on every request: two
round trips and up to 1,200 floats per request at the default rate. Here one atomic Redis
script reads both counters and increments the current one (one round trip, two small
integers). The estimate assumes the previous window's requests were spread evenly: a
client that sent its whole budget at the end of one window gets the next budget back only
as that window slides out (never a double burst at the boundary, as a plain fixed window
allows), and a period's count can exceed the rate only for traffic bunched like that.
"""

from __future__ import annotations

import math
import threading

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from core.security.client import client_address

# KEYS: this window's counter, the previous window's. ARGV: the limit, the share of the
# previous window still inside the last period, the counters' lifetime (two windows).
# Returns {1 if allowed, this window's count (after counting), the previous window's count}.
_SLIDING_WINDOW_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local estimate = current + math.ceil(previous * tonumber(ARGV[2]))
if estimate >= tonumber(ARGV[1]) then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return {1, current, previous}
"""

# Caches other than Redis are one process's own memory (settings.CACHES): a lock makes the
# read-and-count atomic among that process's threads, which is all such a cache is shared by.
_local_lock = threading.Lock()
_scripts: dict[int, object] = {}


def _redis_script(client):
    # One registered script per connection pool (redis-py sends it by its SHA1, EVALSHA).
    key = id(client.connection_pool)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = client.register_script(_SLIDING_WINDOW_SCRIPT)
    return script


def count_request(key: str, limit: int, period: int, now: float) -> tuple[bool, int, int, float]:
    """Count one request against ``limit`` per ``period`` seconds under ``key`` if allowed.

    Returns (allowed, this window's count, the previous window's count, seconds into this
    window); the counts are those the decision saw (this window's after counting).
    """
    window = int(now // period)
    elapsed = now - window * period
    previous_share = (period - elapsed) / period
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        current_key = cache.make_and_validate_key(f"{key}:{window}")
        previous_key = cache.make_and_validate_key(f"{key}:{window - 1}")
        # Django's Redis client (its connection pool), for the script it has no method for.
        client = cache._cache.get_client(current_key, write=True)
        allowed, current, previous = _redis_script(client)(
            keys=[current_key, previous_key], args=[limit, repr(previous_share), 2 * period]
        )
        return bool(allowed), int(current), int(previous), elapsed
    with _local_lock:
        counts = cache.get_many([f"{key}:{window}", f"{key}:{window - 1}"])
        current = counts.get(f"{key}:{window}", 0)
        previous = counts.get(f"{key}:{window - 1}", 0)
        if current + math.ceil(previous * previous_share) >= limit:
            return False, current, previous, elapsed
        current += 1
        cache.set(f"{key}:{window}", current, 2 * period)
        return True, current, previous, elapsed


def seconds_until_allowed(limit: int, period: int, current: int, previous: int, elapsed: float):
    """When the next request would be allowed if none is counted meanwhile (Retry-After)."""
    if limit < 1:
        return float(period)  # "0/minute": never; a client is told to wait a period
    if current >= limit:
        # Only the next window can allow it, once enough of this one has slid out.
        needed_share = (limit - 1) / current
        return (period - elapsed) + period * (1 - needed_share)
    if previous == 0:
        return 1.0  # not refused on these counts (another request's decision): try again soon
    # This window's count leaves room once enough of the previous one has slid out.
    needed_share = (limit - 1 - current) / previous
    return max(period * (1 - needed_share) - elapsed, 0.0)


class _SettingsRateThrottle(SimpleRateThrottle):
    # Not DRF's "throttle_%(scope)s_%(ident)s": those keys hold its pickled lists, which the
    # script's INCR must never meet in a cache that outlived an upgrade.
    cache_format = "throttle:%(scope)s:%(ident)s"

    def get_ident(self, request):
        # DRF's own reads X-Forwarded-For, which any client can set; this one trusts only the
        # configured proxies (settings.TRUSTED_PROXY_COUNT).
        return client_address(request)

    def get_rate(self):
        rate = settings.API_THROTTLE_RATES.get(self.scope)
        if rate is None or str(rate).strip().lower() in ("", "none", "off"):
            return None
        return rate

    def parse_rate(self, rate):
        if rate is None:
            return None, None
        num, period = rate.split("/")
        # Accept "minute" as well as DRF's first-letter form ("m").
        return int(num), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0]]

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        allowed, current, previous, elapsed = count_request(
            key, self.num_requests, self.duration, self.timer()
        )
        if not allowed:
            self._wait = seconds_until_allowed(
                self.num_requests, self.duration, current, previous, elapsed
            )
        return allowed

    def wait(self) -> float:
        # DRF rounds up for the Retry-After header; never 0 for a refused request.
        return max(getattr(self, "_wait", 1.0), 1.0)


class UserThrottle(_SettingsRateThrottle):
    """Per user: a user's tokens and session share one budget."""

    scope = "user"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginThrottle(_SettingsRateThrottle):
    """Password attempts from one address (token endpoint, login page)."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordReentryThrottle(_SettingsRateThrottle):
    """Password re-entry to sign a casebook, per signed-in user."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "signing", "ident": request.user.pk}


class TokenCreateThrottle(_SettingsRateThrottle):
    scope = "token_create"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
