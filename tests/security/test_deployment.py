"""A deployment with DEBUG off is locked down by default: HTTPS only (redirect, HSTS, Secure
cookies), a Content Security Policy without inline script or style, ``check --deploy`` clean,
and an export secret of its own that no default or SECRET_KEY can stand in for."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from exchange import deid
from tests.factories import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def production_env(**changes) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EXPORT_", "SECURE_", "REQUIRE_2FA", "DEBUG"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        EXPORT_PSEUDONYM_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="registry.example.org",
    )
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (None, "must be set"),
        ("demo-only-export-pseudonym-key-not-a-secret", "must be set"),
        ("short", "at least 32"),
    ],
)
def test_production_refuses_a_missing_or_demo_export_key(key, why):
    result = manage("check", env=production_env(EXPORT_PSEUDONYM_KEY=key))
    assert result.returncode != 0
    assert "EXPORT_PSEUDONYM_KEY" in result.stderr and why in result.stderr


def test_production_refuses_the_session_key_as_export_key():
    key = secrets.token_urlsafe(50)
    result = manage("check", env=production_env(SECRET_KEY=key, EXPORT_PSEUDONYM_KEY=key))
    assert result.returncode != 0
    assert "EXPORT_PSEUDONYM_KEY: must differ from SECRET_KEY" in result.stderr


def test_rotating_secret_key_does_not_move_shifted_dates():
    with override_settings(SECRET_KEY="first-session-key-" + "x" * 40):
        before = [deid.shift_days(f"AAA-{n:04d}") for n in range(50)]
    with override_settings(SECRET_KEY="rotated-session-key-" + "y" * 40):
        after = [deid.shift_days(f"AAA-{n:04d}") for n in range(50)]
    assert before == after
    # …while the export key is what they follow.
    with override_settings(EXPORT_PSEUDONYM_KEY="another-export-key-" + "z" * 40):
        moved = [deid.shift_days(f"AAA-{n:04d}") for n in range(50)]
    assert moved != before


# -- HTTPS ---------------------------------------------------------------------------------


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_to_https(client):
    response = client.get("/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/"


def test_https_answers_carry_hsts(client):
    response = client.get("/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_session_and_csrf_cookies_are_secure_and_session_cookie_http_only(client, coordinator_a):
    page = client.get("/login/", secure=True)
    assert page.cookies["csrftoken"]["secure"]
    response = client.post("/login/", {"username": "alice", "password": TEST_PASSWORD}, secure=True)
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"]
    assert response.cookies["sessionid"]["httponly"]


# -- Content Security Policy --------------------------------------------------------------


def _directives(header: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


@pytest.mark.parametrize("url", ["/login/", "/", "/admin/", "/account/password/"])
def test_pages_send_a_csp_without_unsafe_inline(client, coordinator_a, url):
    client.force_login(coordinator_a)
    response = client.get(url)
    directives = _directives(response["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script element without src
    re.compile(r"\sstyle=\"", re.I),  # a style attribute
    re.compile(r"<style\b", re.I),  # a style element
    re.compile(r"\son[a-z]+=\"", re.I),  # an event handler attribute (onclick=…)
]


def test_no_template_has_inline_script_or_style():
    offenders = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern in INLINE:
            offenders += [
                f"{template.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)
            ]
    assert offenders == []
