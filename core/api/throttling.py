"""Rate limits. Rates come from settings.API_THROTTLE_RATES at each request (not at import),
so the environment and tests can change them; the rate "none" switches a scope off."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from core.security.client import client_address


class _SettingsRateThrottle(SimpleRateThrottle):
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
