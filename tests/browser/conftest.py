"""Browser test fixtures: Debian's chromium through Playwright, and the app served on a loopback port.

One browser and one app (over one small synthetic store) serve the whole session; each test gets a fresh
page whose console errors fail the test.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from werkzeug.serving import make_server

from tests.browser.support import small_demo_store

if TYPE_CHECKING:
    from dash import Dash

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: Generous for a loaded 2-core machine, where a download waits for the server's whole render (the
#: first one also starts kaleido's chromium); a passing test never waits this long.
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Use the system chromium; Playwright's own download is neither needed nor reachable."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}, "accept_downloads": True}


@contextmanager
def served(app: Dash) -> Iterator[str]:
    """`app` served by threaded werkzeug on 127.0.0.1:<free port> while the block runs; yields its base URL.

    The one way browser tests start an app, so each test module can serve its own store."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns failure output
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def checked_page(context: BrowserContext) -> Iterator[Page]:
    """A fresh page of `context` that fails the test on any console error or uncaught page exception."""
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page
    finally:
        page.close()
    assert errors == [], f"browser console errors: {errors}"


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard over a small synthetic store, served on a loopback port."""
    from app import create_app

    with served(create_app(small_demo_store(tmp_path_factory.mktemp("browser-store")))) as url:
        yield url


@pytest.fixture(scope="session")
def base_url(live_app: str) -> str:
    """pytest-playwright resolves `page.goto("/path")` against this."""
    return live_app


@pytest.fixture(scope="session")
def shared_context(browser: Browser, browser_context_args: dict) -> Iterator[BrowserContext]:
    """One context for the session, so Dash's and plotly's 6 MB of JavaScript load from cache after the
    first page (the app keeps no cookies or storage that could leak from one test into the next)."""
    context = browser.new_context(**browser_context_args)
    yield context
    context.close()


@pytest.fixture
def app_page(shared_context: BrowserContext) -> Iterator[Page]:
    """A fresh page on the live app that fails the test on any console error or uncaught page exception."""
    with checked_page(shared_context) as page:
        yield page


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
