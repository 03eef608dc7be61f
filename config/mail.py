"""Email settings from the environment, checked strictly (a bad value names its variable).

Either ``EMAIL_URL`` — ``smtp://user:password@host:port`` (add ``?tls=1`` for STARTTLS),
``smtps://…`` (implicit TLS), or ``console://`` — or the separate ``EMAIL_HOST``,
``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``, ``EMAIL_USE_TLS``,
``EMAIL_USE_SSL``. With neither, emails are printed on the console (the demo).
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from config.env import ImproperEnvironment, env_bool, env_int, env_str

SMTP = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"
_TRUE = {"1", "true", "yes", "on"}


def _from_url(url: str) -> dict:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ImproperEnvironment(f"EMAIL_URL: {exc}") from None
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": CONSOLE}
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ImproperEnvironment(
            "EMAIL_URL: expected smtp://[user:password@]host[:port][?tls=1], "
            "smtps://… or console://"
        )
    options = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - {"tls"})
    if unknown:
        raise ImproperEnvironment(f"EMAIL_URL: unknown option {unknown[0]!r} (only tls)")
    ssl = parts.scheme == "smtps"
    tls = options.get("tls", "") in _TRUE
    if ssl and tls:
        raise ImproperEnvironment("EMAIL_URL: smtps is implicit TLS; leave out tls=1")
    return {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if ssl else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
    }


def _from_parts() -> dict:
    host = env_str("EMAIL_HOST", "")
    if not host:
        return {"EMAIL_BACKEND": CONSOLE}
    port = env_int("EMAIL_PORT", 25, minimum=1)
    if port > 65535:
        raise ImproperEnvironment(f"EMAIL_PORT={port!r}: must be at most 65535")
    tls = env_bool("EMAIL_USE_TLS", False)
    ssl = env_bool("EMAIL_USE_SSL", False)
    if tls and ssl:
        raise ImproperEnvironment("EMAIL_USE_TLS and EMAIL_USE_SSL: set at most one")
    return {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": host,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": env_str("EMAIL_HOST_USER", ""),
        "EMAIL_HOST_PASSWORD": env_str("EMAIL_HOST_PASSWORD", ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
    }


def email_settings() -> dict:
    """The Django email settings, the sender and the base of links in emails."""
    url = env_str("EMAIL_URL", "")
    if url and env_str("EMAIL_HOST", ""):
        raise ImproperEnvironment("EMAIL_URL and EMAIL_HOST: set one of them, not both")
    found = _from_url(url) if url else _from_parts()
    sender = env_str("DEFAULT_FROM_EMAIL", "registry@localhost")
    if "@" not in sender or "\n" in sender:
        raise ImproperEnvironment(f"DEFAULT_FROM_EMAIL={sender!r}: expected an email address")
    base = env_str("REGISTRY_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        raise ImproperEnvironment(
            f"REGISTRY_BASE_URL={base!r}: expected the registry's address, e.g. https://host"
        )
    found.update(
        {
            "DEFAULT_FROM_EMAIL": sender,
            "SERVER_EMAIL": sender,
            "REGISTRY_BASE_URL": base,
            "EMAIL_TIMEOUT": env_int("EMAIL_TIMEOUT", 10, minimum=1),
        }
    )
    return found


def digest_hour() -> int:
    hour = env_int("NOTIFICATION_DIGEST_HOUR", 6, minimum=0)
    if hour > 23:
        raise ImproperEnvironment(f"NOTIFICATION_DIGEST_HOUR={hour!r}: must be 0 to 23")
    return hour
