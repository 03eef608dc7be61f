"""Screenshots of the pages for the README, taken from a running registry.

Usage (with the demo served on :8000):
    .venv/bin/python scripts/screenshots.py --base-url http://127.0.0.1:8000 \
        --username <coordinator> --password <password> --patient <study id>

Writes docs/screenshots/{patient-list,casebook,form-error}.png. The form-error shot
submits an adverse event dated 2000-01-01 (before any 2L start), which the registry
refuses, so nothing is saved.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--patient", required=True, help="study id of the casebook to show")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-GB")
        page.goto(f"{base}/login/")
        page.fill("#id_username", args.username)
        page.fill("#id_password", args.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.screenshot(path=str(OUT / "patient-list.png"))
        page.goto(f"{base}/patients/{args.patient}/")
        page.screenshot(path=str(OUT / "casebook.png"), full_page=True)
        page.goto(f"{base}/patients/{args.patient}/adverse-events/add/")
        page.select_option('[name="term"]', "Pneumonitis")
        page.fill('[name="grade"]', "2")
        page.fill('[name="onset_date"]', "2000-01-01")
        page.check('input[name="serious"][value="False"]')
        page.select_option('[name="attribution"]', "probable")
        page.select_option('[name="action_taken"]', "interrupted")
        page.select_option('[name="outcome"]', "recovering")
        page.get_by_role("button", name="Save", exact=True).click()
        page.locator("#field-onset_date .field-error").wait_for()
        page.screenshot(path=str(OUT / "form-error.png"))
        browser.close()
    for name in ("patient-list", "casebook", "form-error"):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
