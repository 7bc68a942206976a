"""Browser tests of the web console (`/app/...`, issue 12): headless Debian Chromium driven by Playwright.

One browser per test session (per pytest-xdist worker) and one console server per worker, over a private copy
of the serving tests' trained store (`tests/serving/conftest.py`, awkward ids, segments and texts included), so
outcomes recorded here never reach the store other tests read. Every test gets fresh browser contexts; a test
that fails leaves a full-page screenshot under `test-artifacts/`, named in its failure report.

Everything skips, with the reason, when the console is not there (`GET /app/login` is 404) or Chromium is
missing (`make browser` installs it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.serving.conftest import Keys, Store, data_copy, keys, running_server, store  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# A local server answers in well under a second; a stuck wait should fail fast rather than after Playwright's 30 s.
ACTION_TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder drives the browser: selectable with `-m browser` (or left out with `not`)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Tab:
    """A page in its own browser context, with every dialog it opened and every console error it logged."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


OPENED = pytest.StashKey[list["Tab"]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, a screenshot of the last page the test opened, its path added to the failure report."""
    report = yield
    tabs = [tab for tab in item.stash.get(OPENED, []) if not tab.page.is_closed()]
    if report.failed and report.when == "call" and tabs:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:150] + ".png")
        try:
            tabs[-1].page.screenshot(path=str(path), full_page=True)
            note = f"screenshot of the page at failure ({tabs[-1].page.url}): {path}"
        except Exception as error:  # a crashed page must not hide the test's own failure
            note = f"no screenshot: {type(error).__name__}: {error}"
        longrepr = report.longrepr
        if hasattr(longrepr, "addsection"):
            longrepr.addsection("browser", note)
        else:
            report.sections.append(("browser", note))
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (Playwright's own download cannot work here); `--no-sandbox` because tests run as root."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run `make browser` (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def console_available(base_url: str) -> None:
    """Skip, saying why, when the server has no console (the branch predates it)."""
    status = httpx.get(f"{base_url}/app/login", timeout=30).status_code
    if status == 404:
        pytest.skip("the console is not on this branch: GET /app/login answers 404")


@dataclass(frozen=True)
class Console:
    """A running server with the console: its URL, its data folder and the keys that sign in."""

    url: str
    data_dir: Path
    keys: Keys


@pytest.fixture(scope="session")
def console(browser: Browser, store: Store, keys: Keys,  # noqa: F811 (fixtures named like their imports)
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """This worker's console server, over its own copy of the store's data (outcomes recorded stay here)."""
    data_dir = Path(shutil.copytree(store.data_dir, tmp_path_factory.mktemp("console") / "data"))
    with running_server(store.settings(data_dir=data_dir, **keys.settings_changes())) as url:
        console_available(url)
        yield Console(url, data_dir, keys)


@pytest.fixture()
def start_console(browser: Browser, store: Store, keys: Keys,  # noqa: F811
                  ) -> Callable[[Path], AbstractContextManager[Console]]:
    """`with start_console(data_dir) as console:` a console server of its own on that folder (to restart it)."""
    @contextmanager
    def start(data_dir: Path) -> Iterator[Console]:
        with running_server(store.settings(data_dir=data_dir, **keys.settings_changes())) as url:
            console_available(url)
            yield Console(url, data_dir, keys)

    return start


@pytest.fixture()
def private_console(start_console: Callable[[Path], AbstractContextManager[Console]],
                    data_copy: Path) -> Iterator[Console]:  # noqa: F811
    """A console server for one test, over its own copy of the store's data (for tests whose writes others read)."""
    with start_console(data_copy) as console:
        yield console


@pytest.fixture()
def open_tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Tab]]:
    """`open_tab(storage_state=None)`: a page in a fresh context, watched for dialogs and console errors."""
    contexts: list[BrowserContext] = []
    opened = request.node.stash.setdefault(OPENED, [])

    def open_(storage_state: Any = None) -> Tab:
        context = browser.new_context(storage_state=storage_state, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        tab = Tab(context.new_page())

        def on_dialog(dialog: Dialog) -> None:
            tab.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                tab.console_errors.append(message.text)

        tab.page.on("dialog", on_dialog)
        tab.page.on("console", on_console)
        opened.append(tab)
        return tab

    yield open_
    for context in contexts:
        context.close()


def sign_in(page: Page, base_url: str, key: str, path: str = "/app/") -> None:
    """Sign in through the login form, starting from `path` (which redirects there without a session)."""
    from playwright.sync_api import expect

    page.goto(base_url + path)
    expect(page.locator("form#login")).to_be_visible()
    page.fill("#api_key", key)
    page.locator("form#login button[type=submit]").click()
    expect(page.locator("form#logout")).to_be_attached()


def expect_login(page: Page, next_path: str) -> None:
    """The page is the login form, sent there from `next_path` (kept as the `next` parameter)."""
    from urllib.parse import parse_qs, urlsplit

    from playwright.sync_api import expect

    expect(page.locator("form#login #api_key")).to_be_visible()
    assert urlsplit(page.url).path == "/app/login", page.url
    assert parse_qs(urlsplit(page.url).query).get("next") == [next_path], page.url


@pytest.fixture(scope="session")
def reader_state(browser: Browser, console: Console) -> dict[str, Any]:
    """Cookies of a reader signed in through the form once per worker, for tests about what comes after."""
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, console.url, console.keys.reader)
    state: dict[str, Any] = dict(context.storage_state())
    context.close()
    return state


@pytest.fixture()
def signed_in(open_tab: Callable[..., Tab], reader_state: dict[str, Any]) -> Tab:
    """A page whose context holds a reader's session."""
    return open_tab(storage_state=reader_state)
