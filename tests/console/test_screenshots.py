"""`make screenshots`: the README's pictures of each console page, taken over `make demo`'s data and registry.

Runs only when `RETAIN_SCREENSHOTS` names the folder to write (the Makefile sets `docs/screenshots`), and skips,
saying so, until `make demo` has scored the demo data. It signs in with a key of its own, in a keys file of its
own: the demo's keys are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import ROOT, Tab, console_available, sign_in
from tests.serving.conftest import running_server

SHOTS = ("login", "work-list", "customer", "overview")
MAX_HEIGHT = 1600  # a long page (50 rows, a year of contacts) is cut here: the README shows its top


def shoot(page: Page, path: Path) -> None:
    """The page from the top, as tall as its content up to `MAX_HEIGHT` pixels."""
    height = min(int(page.evaluate("() => document.documentElement.scrollHeight")), MAX_HEIGHT)
    width = int(page.evaluate("() => document.documentElement.clientWidth"))
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})


def test_screenshots_of_every_page_on_the_demo_data(open_tab: Callable[..., Tab], tmp_path: Path) -> None:
    target = os.environ.get("RETAIN_SCREENSHOTS")
    if not target:
        pytest.skip("screenshots are taken by `make screenshots` (RETAIN_SCREENSHOTS names their folder)")
    from retain.settings import Settings
    from serving.auth import add_key

    settings = Settings(_env_file=None, home=ROOT, api_keys_file=tmp_path / "api_keys.json")  # type: ignore[call-arg]
    if not (settings.data_dir / "scores" / "CURRENT.json").is_file():
        pytest.skip(f"no scored demo data in {settings.data_dir}: run `make demo` first")
    key = add_key(tmp_path / "api_keys.json", "reader")
    out = ROOT / target
    out.mkdir(parents=True, exist_ok=True)

    with running_server(settings) as url:
        console_available(url)
        page = open_tab().page
        page.goto(url + "/app/login")
        expect(page.locator("form#login")).to_be_visible()
        shoot(page, out / "login.png")

        sign_in(page, url, key)
        expect(page.locator("#work-list tbody tr").first).to_be_visible()
        shoot(page, out / "work-list.png")

        page.locator("#work-list tbody tr").first.locator("a").first.click()
        expect(page.locator("figure#purchase-chart svg")).to_be_visible()
        shoot(page, out / "customer.png")

        page.goto(url + "/app/overview")
        expect(page.locator("figure#probability-distribution svg")).to_be_visible()
        shoot(page, out / "overview.png")
    assert all((out / f"{name}.png").stat().st_size > 0 for name in SHOTS)
