"""What the browser tests share: where Chromium is, how it starts, how a user signs in."""

from __future__ import annotations

from pathlib import Path

from tests.factories import TEST_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The last screen of each run lands here (gitignored) to see what the browser saw.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def log_in(page, base: str, username: str) -> None:
    # next=/ keeps every browser test starting on the patient list, whatever the role's
    # landing page (site staff and data managers otherwise land on "my work").
    page.goto(f"{base}/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def log_out(page, base: str) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/login/")
