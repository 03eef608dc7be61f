import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ImproperEnvironment, env_bool, env_int, env_list


def test_env_bool_rejects_unknown_word_naming_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperEnvironment, match="DEBUG='maybe'"):
        env_bool("DEBUG", False)


def test_env_bool_accepts_yes_and_off(monkeypatch):
    monkeypatch.setenv("A", "yes")
    monkeypatch.setenv("B", "off")
    assert env_bool("A", False) is True
    assert env_bool("B", True) is False


def test_env_int_rejects_text_and_below_minimum(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ImproperEnvironment, match="N='ten'"):
        env_int("N", 1)
    monkeypatch.setenv("N", "-1")
    with pytest.raises(ImproperEnvironment, match="at least 0"):
        env_int("N", 1, minimum=0)


def test_env_list_rejects_empty_list(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " , ")
    with pytest.raises(ImproperEnvironment, match="ALLOWED_HOSTS"):
        env_list("ALLOWED_HOSTS", ["x"])


def _database_settings(**env: str) -> subprocess.CompletedProcess:
    """The default database's settings as a fresh process reads them from ``env``."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": "postgres://registry@db.example:6432/registry",
        **env,
    }
    code = (
        "import json; from django.conf import settings; d = settings.DATABASES['default']; "
        "print(json.dumps([d.get('DISABLE_SERVER_SIDE_CURSORS', False), d['CONN_MAX_AGE']]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_behind_pgbouncer_server_side_cursors_are_off():
    result = _database_settings(DATABASE_POOLER="pgbouncer", DB_CONN_MAX_AGE="60")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, 60]


def test_without_a_pooler_server_side_cursors_stay_on():
    result = _database_settings(DATABASE_POOLER="", DB_CONN_MAX_AGE="0")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, 0]


def test_unknown_pooler_is_refused_naming_the_variable():
    result = _database_settings(DATABASE_POOLER="pgpool")
    assert result.returncode != 0
    assert "DATABASE_POOLER='pgpool'" in result.stderr
