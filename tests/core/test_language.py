"""The header's language switcher, the language saved on the account, and the middleware that
applies it (core/language.py, docs/translation.md)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

SWITCH = reverse("language-switch")
LOGIN = reverse("login")
PATIENTS = reverse("registry:patient_list")
BAD_LANGUAGE = "Language: choose one of the registry&#x27;s languages."
ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def test_anonymous_switch_sets_the_cookie_and_the_login_page_is_chinese(client, db):
    response = client.post(SWITCH, {"language": "zh-hans", "next": LOGIN}, **ENGLISH_BROWSER)
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"

    page = client.get(LOGIN, **ENGLISH_BROWSER).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "<h1>登录</h1>" in page
    assert "用户名" in page
    # The English of the page is gone; the switcher now offers English, written in English.
    assert "Log in" not in page
    assert "Username" not in page
    assert '<button class="link who-link" name="language" value="en-gb" lang="en-gb"' in page


def test_login_page_follows_the_browser_before_any_choice(client, db):
    chinese = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    english = client.get(LOGIN, **ENGLISH_BROWSER).content.decode()
    assert "<h1>登录</h1>" in chinese
    assert "<h1>Log in</h1>" in english


def test_signed_in_switch_saves_the_language_on_the_account(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(SWITCH, {"language": "zh-hans", "next": PATIENTS}, **ENGLISH_BROWSER)
    assert response.status_code == 302
    assert response["Location"] == PATIENTS
    coordinator_a.refresh_from_db()
    assert coordinator_a.language == "zh-hans"

    # Without the cookie and with an English browser (another device), the account decides.
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    page = client.get(PATIENTS, **ENGLISH_BROWSER).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "<h1>患者</h1>" in page
    assert "<h1>Patients</h1>" not in page
    assert ">Register patient<" not in page


def test_switching_back_to_english_is_saved_too(client, coordinator_a):
    coordinator_a.language = "zh-hans"
    coordinator_a.save(update_fields=["language"])
    client.force_login(coordinator_a)
    client.post(SWITCH, {"language": "en-gb", "next": PATIENTS})
    coordinator_a.refresh_from_db()
    assert coordinator_a.language == "en-gb"
    page = client.get(PATIENTS, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "<h1>Patients</h1>" in page


def test_saved_language_wins_over_a_chinese_cookie(client, coordinator_a):
    coordinator_a.language = "en-gb"
    coordinator_a.save(update_fields=["language"])
    client.force_login(coordinator_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(PATIENTS, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en-gb">' in page
    assert "<h1>Patients</h1>" in page


@pytest.mark.parametrize("language", ["fr", "", "zh", "en-gb<script>"])
def test_bad_language_changes_nothing_and_says_so(client, coordinator_a, language):
    client.force_login(coordinator_a)
    response = client.post(SWITCH, {"language": language, "next": PATIENTS})
    assert response.status_code == 302
    assert response["Location"] == PATIENTS
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    coordinator_a.refresh_from_db()
    assert coordinator_a.language == ""
    page = client.get(PATIENTS, **ENGLISH_BROWSER).content.decode()
    assert BAD_LANGUAGE in page
    assert "<h1>Patients</h1>" in page


def test_bad_language_before_signing_in_says_so_on_the_login_page(client, db):
    response = client.post(SWITCH, {"language": "de", "next": LOGIN}, follow=True)
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
    assert BAD_LANGUAGE in response.content.decode()


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
        "",
    ],
)
def test_unsafe_next_goes_nowhere_outside(client, db, next_url):
    response = client.post(SWITCH, {"language": "zh-hans", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    # The choice itself is still made.
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_unsafe_next_when_signed_in_goes_home(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(SWITCH, {"language": "zh-hans", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_switch_answers_only_post(client, db):
    assert client.get(SWITCH, {"language": "zh-hans"}).status_code == 405


def test_header_switcher_returns_to_the_same_page(client, coordinator_a):
    client.force_login(coordinator_a)
    page = client.get(PATIENTS + "?status=enrolled").content.decode()
    assert f'<form method="post" action="{SWITCH}"' in page
    assert '<input type="hidden" name="next" value="/?status=enrolled">' in page
    # One button: the other language, written in that language.
    assert 'value="zh-hans" lang="zh-hans" title="Language">简体中文</button>' in page
    assert 'value="en-gb" lang="en-gb"' not in page


def test_saved_language_is_remembered_on_the_device_for_the_login_page(client, coordinator_a):
    coordinator_a.language = "zh-hans"
    coordinator_a.save(update_fields=["language"])
    client.force_login(coordinator_a)
    response = client.get(PATIENTS, **ENGLISH_BROWSER)
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    client.post(reverse("logout"))
    page = client.get(LOGIN, **ENGLISH_BROWSER).content.decode()
    assert "<h1>登录</h1>" in page


def test_switching_away_from_the_saved_language_is_not_undone_by_it(client, coordinator_a):
    coordinator_a.language = "zh-hans"
    coordinator_a.save(update_fields=["language"])
    client.force_login(coordinator_a)
    response = client.post(SWITCH, {"language": "en-gb", "next": PATIENTS})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en-gb"
    assert "<h1>Patients</h1>" in client.get(PATIENTS).content.decode()
