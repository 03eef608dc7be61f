"""The client's network address, which a client cannot choose.

``REMOTE_ADDR`` is the peer of the TCP connection. ``X-Forwarded-For`` is written by the
client and then appended to by each proxy; only the entries the trusted proxies appended are
true, so with ``TRUSTED_PROXY_COUNT = n`` the client is the n-th entry from the right, and
without trusted proxies the header is ignored.
"""

from __future__ import annotations

from django.conf import settings


def client_address(request) -> str | None:
    """None when there is no peer address (a request built in a test or a shell)."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        # Fewer entries than proxies: the request did not come through all of them.
        return remote
    return forwarded[-proxies]
