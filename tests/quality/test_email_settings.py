"""Email settings from the environment (config.mail): SMTP by URL or by parts, the console
in the demo, and a bad value refused at start-up with the variable's name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ImproperEnvironment
from config.mail import CONSOLE, SMTP, digest_hour, email_settings

NAMES = (
    "EMAIL_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "DEFAULT_FROM_EMAIL",
    "REGISTRY_BASE_URL",
    "NOTIFICATION_DIGEST_HOUR",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_without_configuration_emails_go_to_the_console():
    found = email_settings()
    assert found["EMAIL_BACKEND"] == CONSOLE
    assert found["DEFAULT_FROM_EMAIL"] == "registry@localhost"


def test_email_url_with_starttls(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp://mailer:p%40ss@smtp.hospital.example:587?tls=1")
    found = email_settings()
    assert found["EMAIL_BACKEND"] == SMTP
    assert (found["EMAIL_HOST"], found["EMAIL_PORT"]) == ("smtp.hospital.example", 587)
    assert (found["EMAIL_HOST_USER"], found["EMAIL_HOST_PASSWORD"]) == ("mailer", "p@ss")
    assert (found["EMAIL_USE_TLS"], found["EMAIL_USE_SSL"]) == (True, False)


def test_smtps_url_is_implicit_tls_on_465(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtps://smtp.hospital.example")
    found = email_settings()
    assert (found["EMAIL_PORT"], found["EMAIL_USE_SSL"], found["EMAIL_USE_TLS"]) == (
        465,
        True,
        False,
    )


def test_email_by_parts(monkeypatch):
    monkeypatch.setenv("EMAIL_HOST", "smtp.hospital.example")
    monkeypatch.setenv("EMAIL_PORT", "2525")
    monkeypatch.setenv("EMAIL_USE_TLS", "yes")
    monkeypatch.setenv("DEFAULT_FROM_EMAIL", "registry@hospital.example")
    found = email_settings()
    assert (found["EMAIL_BACKEND"], found["EMAIL_PORT"], found["EMAIL_USE_TLS"]) == (
        SMTP,
        2525,
        True,
    )
    assert found["DEFAULT_FROM_EMAIL"] == "registry@hospital.example"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"EMAIL_URL": "ftp://mail.example"}, "EMAIL_URL"),
        ({"EMAIL_URL": "smtp://mail.example:notaport"}, "EMAIL_URL"),
        ({"EMAIL_URL": "smtp://mail.example?ssl=1"}, "EMAIL_URL"),
        ({"EMAIL_URL": "smtps://mail.example?tls=1"}, "EMAIL_URL"),
        ({"EMAIL_URL": "smtp://a.example", "EMAIL_HOST": "b.example"}, "EMAIL_URL and EMAIL_HOST"),
        ({"EMAIL_HOST": "a.example", "EMAIL_PORT": "99999"}, "EMAIL_PORT"),
        ({"EMAIL_HOST": "a.example", "EMAIL_PORT": "x"}, "EMAIL_PORT"),
        ({"EMAIL_HOST": "a.example", "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_TLS"),
        ({"EMAIL_HOST": "a.example", "EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS"),
        ({"DEFAULT_FROM_EMAIL": "registry"}, "DEFAULT_FROM_EMAIL"),
        ({"REGISTRY_BASE_URL": "registry.example"}, "REGISTRY_BASE_URL"),
    ],
)
def test_bad_value_is_refused_naming_the_variable(monkeypatch, env, named):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperEnvironment, match=named):
        email_settings()


def test_digest_hour_is_an_hour_of_the_day(monkeypatch):
    monkeypatch.setenv("NOTIFICATION_DIGEST_HOUR", "24")
    with pytest.raises(ImproperEnvironment, match="NOTIFICATION_DIGEST_HOUR"):
        digest_hour()
    monkeypatch.setenv("NOTIFICATION_DIGEST_HOUR", "23")
    assert digest_hour() == 23


def test_start_up_stops_on_a_bad_email_url(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "REGISTRY_VAR_DIR": str(tmp_path),
        "EMAIL_URL": "ftp://mail.example",
    }
    env.pop("EMAIL_HOST", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr
