"""The leaders' dashboard in headless Chromium: drill on the map, breadcrumb, Back, deep links.

Clicks go where a person would click: a district is hit by projecting its label point through
the live MapLibre map to pixels and clicking the mouse there. Every test ends with a clean
console and no request leaving 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from data import views
from layouts.dashboard import Ids

MAP_READY = (
    """() => {
  const gd = document.querySelector('#GRAPH_ID .js-plotly-plot');
  return !!(gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot
            && gd._fullLayout.map._subplot.map.loaded());
}"""
).replace("GRAPH_ID", Ids.MAP)

PROJECT = (
    """([lon, lat]) => {
  const gd = document.querySelector('#GRAPH_ID .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const p = map.project([lon, lat]);
  const box = map.getContainer().getBoundingClientRect();
  return {x: box.left + p.x, y: box.top + p.y};
}"""
).replace("GRAPH_ID", Ids.MAP)

TREND_SUM = (
    """() => {
  const gd = document.querySelector('#GRAPH_ID .js-plotly-plot');
  return gd.data[0].y.reduce((a, b) => a + (b || 0), 0);
}"""
).replace("GRAPH_ID", Ids.TREND_DISPUTE)


def _sign_in(page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#login-username", "demo")
    page.fill("#login-password", "demo")
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url, timeout=15_000)


def _open(recorder, base: str, search: str = "") -> None:
    page = recorder.page
    _sign_in(page, base)
    page.goto(base + "/" + search)
    _wait_map(page)


def _wait_map(page) -> None:
    page.wait_for_function(MAP_READY, timeout=30_000)


def _kpi_selector(key: str) -> str:
    # Dash writes dict ids as JSON with sorted keys.
    ident = json.dumps({"key": key, "type": "dash-kpi"}, separators=(",", ":"))
    return f"[id='{ident}']"


def _expected_kpi(repo, query: dict, key: str) -> str:
    state = views.resolve_state(repo, query)
    return next(k.text for g in views.kpis(repo, state) for k in g.items if k.key == key)


def _clean(recorder) -> None:
    assert recorder.console_errors == [], recorder.console_errors + recorder.failed_requests
    assert recorder.external_requests == []


@pytest.fixture
def dashboard(page_factory, live_server):
    recorder = page_factory(1920, 1080)
    yield recorder, live_server.url
    _clean(recorder)


def test_db001_map_drill_breadcrumb_and_back(dashboard, tiny_repo) -> None:
    recorder, base = dashboard
    page = recorder.page
    _open(recorder, base)
    root = tiny_repo.root()
    crumbs = page.locator(f"#{Ids.BREADCRUMB}")
    expect(crumbs).to_have_text(root.name)
    expect(page.locator(_kpi_selector("dispute_received"))).to_have_text(
        _expected_kpi(tiny_repo, {}, "dispute_received")
    )

    # Click the first district on the map, at its label point.
    district = tiny_repo.children(root.code).iloc[0]
    point = page.evaluate(PROJECT, [float(district.label_lon), float(district.label_lat)])
    page.mouse.click(point["x"], point["y"])
    expect(crumbs).to_contain_text(district["name"])
    expect(page).to_have_url(f"{base}/?unit={district.code}&period=30d&metric=dispute_received")
    expected = _expected_kpi(tiny_repo, {"unit": district.code}, "dispute_received")
    expect(page.locator(_kpi_selector("dispute_received"))).to_have_text(expected)
    expect(page.locator(f"#{Ids.RANKING_TITLE}")).to_contain_text(district["name"])
    page.wait_for_function(
        f"() => ({TREND_SUM})() == {float(expected.replace(',', ''))}", timeout=15_000
    )
    _wait_map(page)

    # Down to a grid through the ranking rows (each a link into the unit).
    names = [root.name, district["name"]]
    code = district.code
    while tiny_repo.unit(code).child_count:
        child = tiny_repo.children(code).iloc[0]
        page.locator(f"#{Ids.RANKING} a", has_text=child["name"]).first.click()
        expect(crumbs).to_contain_text(child["name"])
        names.append(child["name"])
        code = child.code
    assert tiny_repo.unit(code).level == "grid"
    expect(page.locator(f"#{Ids.MAP_NOTE}")).to_contain_text("已到最低一级")
    expect(page.locator(_kpi_selector("event_received"))).to_have_text(
        _expected_kpi(tiny_repo, {"unit": code}, "event_received")
    )

    # Up with the breadcrumb to the district …
    crumbs.get_by_role("link", name=district["name"]).click()
    expect(crumbs).to_have_text("".join(names[:2]))
    # … then browser Back returns to the grid, and Back again to the grid's village.
    page.go_back()
    expect(crumbs).to_contain_text(names[-1])
    page.go_back()
    expect(crumbs).to_contain_text(names[-2])
    expect(crumbs).not_to_contain_text(names[-1])


def test_db002_deep_link_opens_the_same_view(dashboard, tiny_repo) -> None:
    recorder, base = dashboard
    page = recorder.page
    root = tiny_repo.root()
    district = tiny_repo.children(root.code).iloc[0]
    town = tiny_repo.children(district.code).iloc[0]
    query = {"unit": town.code, "period": "month", "metric": "petition_received@per10k"}
    _open(recorder, base, "?" + urlencode(query))
    crumbs = page.locator(f"#{Ids.BREADCRUMB}")
    expect(crumbs).to_have_text(root.name + district["name"] + town["name"])
    expect(page.locator(f"#{Ids.PERIOD}")).to_contain_text("本月")
    expect(page.locator(f"#{Ids.METRIC}")).to_contain_text("信访件次(每万人)")
    expect(page.locator(f"#{Ids.MAP_TITLE}")).to_contain_text("信访件次(件次/万人)")
    expect(page.locator(f"#{Ids.PERIOD_LABEL}")).to_contain_text("2026年10月")
    expect(page.locator(_kpi_selector("petition_received"))).to_have_text(
        _expected_kpi(tiny_repo, query, "petition_received")
    )
    # A person's choice moves the URL; Back moves the view and the control back with it.
    page.locator(f"#{Ids.PERIOD}").click()
    page.get_by_role("option", name="本年", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"period=year"))
    expect(page.locator(f"#{Ids.PERIOD_LABEL}")).to_contain_text("2026年1—10月")
    page.go_back()
    expect(page.locator(f"#{Ids.PERIOD}")).to_contain_text("本月")
    expect(page.locator(f"#{Ids.PERIOD_LABEL}")).to_contain_text("2026年10月")
    expect(page).to_have_url(re.compile(r"period=month"))


def test_db003_bad_links_show_a_message(dashboard) -> None:
    recorder, base = dashboard
    page = recorder.page
    _open(recorder, base, "?unit=123456789012&period=custom&start=2026-10-20&end=2026-10-01")
    alerts = page.locator(f"#{Ids.ALERTS}")
    expect(alerts).to_contain_text("未找到单位代码")
    expect(alerts).to_contain_text("晚于结束日期")
    expect(page.locator(_kpi_selector("dispute_received"))).not_to_be_empty()


def test_db004_laptop_width_has_no_horizontal_scroll(page_factory, live_server) -> None:
    recorder = page_factory(1366, 768)
    _open(recorder, live_server.url)
    page = recorder.page
    expect(page.locator(f"#{Ids.FOOTER}")).to_contain_text("示例数据")
    page.wait_for_function(
        f"() => document.querySelector('#{Ids.RISK} .js-plotly-plot') !== null", timeout=15_000
    )
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    _clean(recorder)
