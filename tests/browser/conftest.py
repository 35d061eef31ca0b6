"""Browser fixtures: a live Shiyu server on 127.0.0.1 and Playwright pages on Debian Chromium.

Each page records console errors and every request that leaves 127.0.0.1, so tests can assert
a clean console and no internet use.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SHIYU_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``shiyu serve`` in a subprocess, so a test can stop and restart it."""

    def __init__(self, db_url: str, port: int, env: dict[str, str] | None = None) -> None:
        self.db_url = db_url
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        # The server's log goes to a file: a pipe nobody reads fills up after some hundreds
        # of logged requests and the server then blocks writing its next line (a page left
        # "loading" mid-session).
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the garbage collector

    def start(self, timeout: float = 60) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dashboard",
                "serve",
                "--db",
                self.db_url,
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                out = self.log.read().decode(errors="replace")
                raise RuntimeError(f"server exited early:\n{out}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("server did not answer in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it")
    return CHROMIUM


@pytest.fixture(scope="session")
def live_server(tiny_demo_url: str) -> Iterator[LiveServer]:
    server = LiveServer(tiny_demo_url, free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


class PageRecorder:
    def __init__(self, page) -> None:  # noqa: ANN001 - playwright Page
        self.page = page
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []
        self.failed_requests: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))
        page.on("request", self._on_request)
        page.on("requestfailed", lambda r: self.failed_requests.append(f"{r.url} {r.failure}"))

    def _on_console(self, msg) -> None:  # noqa: ANN001
        if msg.type == "error":
            self.console_errors.append(msg.text)

    def _on_request(self, request) -> None:  # noqa: ANN001
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        host = url.split("://", 1)[-1].split("/", 1)[0].split(":")[0]
        if host not in ("127.0.0.1", "localhost"):
            self.external_requests.append(url)


def sign_in_context(context, base_url: str, username: str = "demo", password: str = "demo") -> None:  # noqa: ANN001
    """Sign a browser context in by posting the sign-in form (cookies land in the context)."""
    page = context.request.get(base_url + "/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text())
    assert match, f"no sign-in form at {base_url}/login"
    response = context.request.post(
        base_url + "/login",
        form={"username": username, "password": password, "csrf_token": match.group(1)},
        max_redirects=0,
    )
    assert response.status == 302, f"sign-in as {username} failed: HTTP {response.status}"


@pytest.fixture
def page_factory(browser, request: pytest.FixtureRequest):
    """New pages in fresh contexts, signed in as the demo user on ``live_server``.

    ``base_url`` signs in on another server instead; ``sign_in=False`` leaves the page signed
    out (for tests of the sign-in page itself).
    """
    contexts = []

    def make(
        width: int = 1920,
        height: int = 1080,
        *,
        base_url: str | None = None,
        sign_in: bool = True,
    ) -> PageRecorder:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        if sign_in:
            url = base_url or request.getfixturevalue("live_server").url
            sign_in_context(context, url)
        return PageRecorder(context.new_page())

    yield make
    for context in contexts:
        context.close()
