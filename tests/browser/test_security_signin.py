"""Signing in through the real sign-in page in Chromium, with the Content-Security-Policy on.

The CSP allows only the app's own origin and one hashed inline script; a directive that
Dash, plotly.js or MapLibre needed and did not get would show up as a console error here.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from layouts.dashboard import Ids

#: True once the MapLibre map inside the graph with the given id has loaded.
MAP_READY = """(graphId) => {
  const gd = document.querySelector('#' + graphId + ' .js-plotly-plot');
  return !!(gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot
            && gd._fullLayout.map._subplot.map.loaded());
}"""


def test_secb001_sign_in_page_to_dashboard_with_csp_and_clean_console(
    page_factory, live_server
) -> None:
    recorder = page_factory(1920, 1080, sign_in=False)
    page = recorder.page
    first = page.goto(live_server.url + "/?view=density")
    assert first is not None
    assert re.search(r"/login\?next=", page.url)
    assert "default-src 'self'" in first.headers["content-security-policy"]
    expect(page.locator("#login-demo-hint")).to_contain_text("demo")

    page.fill("#login-username", "demo")
    page.fill("#login-password", "wrong")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")

    page.fill("#login-password", "demo")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.status == 302):
        page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url, timeout=15_000)
    assert page.url.endswith("/?view=density")  # back where the visitor wanted to go
    # MapLibre's blob: workers and images must run under the CSP for the map to load.
    page.wait_for_function(MAP_READY, arg=str(Ids.MAP), timeout=30_000)
    expect(page.locator(f"#{Ids.TITLE}")).not_to_be_empty()
    page.wait_for_load_state("networkidle")

    assert recorder.console_errors == []
    assert recorder.external_requests == []
    assert recorder.failed_requests == []
