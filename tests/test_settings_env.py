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
