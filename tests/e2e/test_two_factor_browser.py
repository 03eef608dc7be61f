"""Two-factor sign-in in real headless Chromium: a coordinator signs in with a password, is
sent to enrol, scans (reads) the key, types the TOTP code, keeps the backup codes and reaches
the patient list; the next sign-in asks for a code again."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def current_code(device: TOTPDevice, drift: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, digits=device.digits, drift=drift):06d}"


def sign_in_with_password(page, base: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/account/two-factor/**")


def test_coordinator_signs_in_with_a_totp_code(page, live_server, coordinator_a, settings):
    settings.REQUIRE_2FA = True
    base = live_server.url

    sign_in_with_password(page, base)
    assert page.get_by_role("heading", name="Set up two-factor sign-in").is_visible()
    qr = page.get_by_role("img", name="QR code of your authenticator key")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert qr.evaluate("img => img.naturalWidth") > 0  # the CSP let the image render
    device = TOTPDevice.objects.get(user=coordinator_a, confirmed=False)
    page.fill("#id_token", current_code(device))
    page.click("button[type=submit]")
    assert page.get_by_test_id("backup-codes").locator("li").count() == 10
    page.get_by_role("link", name="Continue").click()
    # Where every sign-in lands (LOGIN_REDIRECT_URL): a coordinator's task lists.
    page.wait_for_url(f"{base}/quality/my-work/")
    assert page.get_by_role("heading", name="My work").is_visible()

    # Next time: password, then the code of the next 30-second step (this one was used).
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/login/")
    sign_in_with_password(page, base)
    assert page.get_by_role("heading", name="Enter your code").is_visible()
    device.refresh_from_db()
    page.fill("#id_token", current_code(device, drift=1))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/quality/my-work/")
