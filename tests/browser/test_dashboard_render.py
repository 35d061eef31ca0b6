"""The dashboard redraws without rebuilding: a drill keeps every graph's SVG and the MapLibre map,
the camera button still saves a PNG named after what the graph shows, and the ranking table and
KPI cards (one ``StaticTree`` component each) keep their ids, links and client-side navigation;
a drill asks for the new view at once, without waiting for the server's sync.
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

# Tag the current SVG roots and MapLibre map; a rebuilt graph loses its tag.
TAG = """() => {
  document.querySelectorAll('.js-plotly-plot .main-svg').forEach((s) => { s.__tag = 1; });
  const gd = document.querySelector('#MAP_ID .js-plotly-plot');
  gd._fullLayout.map._subplot.map.__tag = 1;
}""".replace("MAP_ID", Ids.MAP)

TAGGED = """() => {
  const out = {};
  document.querySelectorAll('.dash-graph').forEach((g) => {
    const svg = g.querySelector('.js-plotly-plot .main-svg');
    if (svg && g.offsetParent !== null) out[g.id] = !!svg.__tag;
  });
  const gd = document.querySelector('#MAP_ID .js-plotly-plot');
  out.maplibre = !!gd._fullLayout.map._subplot.map.__tag;
  return out;
}""".replace("MAP_ID", Ids.MAP)

TREND_SUM = (
    """() => {
  const gd = document.querySelector('#GRAPH_ID .js-plotly-plot');
  return gd.data[0].y.reduce((a, b) => a + (b || 0), 0);
}"""
).replace("GRAPH_ID", Ids.TREND_DISPUTE)


@pytest.fixture
def dashboard_page(page_factory, live_server):
    recorder = page_factory(1920, 1080)
    yield recorder, live_server.url
    assert recorder.console_errors == [], recorder.console_errors + recorder.failed_requests
    assert recorder.external_requests == []


def _open(recorder, base: str, search: str = "") -> None:
    page = recorder.page
    page.goto(base + "/" + search)
    page.wait_for_function(MAP_READY, timeout=30_000)


def _download_name(page, graph_id: str) -> str:
    graph = page.locator(f"#{graph_id} .js-plotly-plot")
    graph.hover()
    with page.expect_download() as info:
        page.locator(f"#{graph_id} .modebar-btn[data-title*='Download']").click()
    return info.value.suggested_filename


def _kpi(page, key: str):
    ident = json.dumps({"key": key, "type": "dash-kpi"}, separators=(",", ":"))
    return page.locator(f"[id='{ident}']")


def test_dr001_drill_keeps_graphs_and_names_downloads(dashboard_page, tiny_repo) -> None:
    recorder, base = dashboard_page
    page = recorder.page
    root = tiny_repo.root()
    district = tiny_repo.children(root.code).iloc[0]
    _open(recorder, base, "?" + urlencode({"period": "month"}))
    expect(page.locator(f"#{Ids.BREADCRUMB}")).to_have_text(root.name)
    page.wait_for_function(
        f"() => document.querySelector('#{Ids.TREND_DISPUTE} .main-svg') !== null"
    )
    assert _download_name(page, Ids.TREND_DISPUTE) == f"{root.name}-矛盾纠纷受理趋势-2026年10月.png"
    page.evaluate(TAG)

    # Drill through the ranking row (a StaticTree link: a history entry, no page load).
    page.evaluate("() => { window.__sameDocument = true; }")
    page.locator(f"#{Ids.RANKING} a", has_text=district["name"]).first.click()
    expect(page).to_have_url(f"{base}/?unit={district.code}&period=month&metric=dispute_received")
    expect(page.locator(f"#{Ids.BREADCRUMB}")).to_contain_text(district["name"])
    state = views.resolve_state(tiny_repo, {"unit": district.code, "period": "month"})
    expected = next(
        k.text for g in views.kpis(tiny_repo, state) for k in g.items if k.key == "dispute_received"
    )
    expect(_kpi(page, "dispute_received")).to_have_text(expected)
    page.wait_for_function(
        f"() => ({TREND_SUM})() == {float(expected.replace(',', ''))}", timeout=15_000
    )
    page.wait_for_function(MAP_READY, timeout=30_000)
    assert page.evaluate("() => window.__sameDocument") is True  # no page load
    tagged = page.evaluate(TAGGED)
    assert tagged and all(tagged.values()), tagged  # nothing rebuilt: diffed Plotly.react only

    # The camera now names the district, on the trend and on the map.
    assert (
        _download_name(page, Ids.TREND_DISPUTE)
        == f"{district['name']}-矛盾纠纷受理趋势-2026年10月.png"
    )
    assert _download_name(page, Ids.MAP).startswith(f"{district['name']}-地图-")
    assert page.evaluate(TAGGED)["maplibre"]  # the click did not rebuild the map either

    # Back returns to the city, and its names.
    page.go_back()
    expect(page.locator(f"#{Ids.BREADCRUMB}")).to_have_text(root.name)
    page.wait_for_function(MAP_READY, timeout=30_000)
    expect(_kpi(page, "dispute_received")).not_to_be_empty()
    page.wait_for_timeout(300)  # the names' store arrives with the other outputs
    assert _download_name(page, Ids.TREND_DISPUTE) == f"{root.name}-矛盾纠纷受理趋势-2026年10月.png"


def test_dr002_ranking_and_kpis_keep_their_markup(dashboard_page, tiny_repo) -> None:
    recorder, base = dashboard_page
    page = recorder.page
    root = tiny_repo.root()
    _open(recorder, base)
    kids = tiny_repo.children(root.code)
    rows = page.locator(f"#{Ids.RANKING} table.rank-table tbody tr.rank-row")
    expect(rows).to_have_count(len(kids))
    first = kids.iloc[0]
    row_id = json.dumps({"code": first.code, "type": "dash-rank-row"}, separators=(",", ":"))
    link = page.locator(f"[id='{row_id}'] a.rank-link")
    expect(link).to_have_attribute("href", f"?unit={first.code}&period=30d&metric=dispute_received")
    cards = page.locator(f"#{Ids.KPIS} .kpi-row.row > .col-12.col-md-6.col-lg-4.col-xl > .kpi-card")
    expect(cards).to_have_count(5)
    # A modified click keeps the browser's own behaviour (a new tab), the page stays.
    url = page.url
    with page.context.expect_page() as new_tab:
        link.click(modifiers=["Control"])
    new_tab.value.close()
    assert page.url == url


def test_dr004_a_drill_asks_for_the_view_at_once(dashboard_page, tiny_repo) -> None:
    recorder, base = dashboard_page
    page = recorder.page
    root = tiny_repo.root()
    district = tiny_repo.children(root.code).iloc[0]
    _open(recorder, base)
    expect(_kpi(page, "dispute_received")).not_to_be_empty()
    page.wait_for_timeout(500)  # the page load's own callbacks are done
    posts: list = []
    page.on("requestfinished", lambda r: posts.append(r) if "_dash-update" in r.url else None)

    page.locator(f"#{Ids.RANKING} a", has_text=district["name"]).first.click()
    expect(page.locator(f"#{Ids.BREADCRUMB}")).to_contain_text(district["name"])
    page.wait_for_function(MAP_READY, timeout=30_000)
    page.wait_for_timeout(500)  # a second round of renders would have started by now

    # One request: the view, asked for at once (no server round trip before it), which also
    # audits it and sets the controls (none changes on a drill, so nothing else starts).
    inputs = [{i["id"] for i in json.loads(r.post_data)["inputs"]} for r in posts]
    assert inputs == [{Ids.STATE}], [r.post_data[:200] for r in posts]

    # A click on the map or on the ranked chart (assets/navigation.js) gives the canonical
    # query of the clicked unit; the shown unit, an empty click or the same URL give nothing.
    results = page.evaluate(
        """() => {
          const go = window.shiyu.drillSearch;
          const target = {unit: "R", rest: "period=month&metric=petition_received"};
          return [go("C1", target, "?unit=R"), go("R", target, "?unit=R"), go(null, target, ""),
                  go("M1", {unit: "R", rest: ""}, ""), go("M1", {unit: "R", rest: ""}, "?unit=M1")];
        }"""
    )
    assert results == [
        "?unit=C1&period=month&metric=petition_received",
        None,
        None,
        "?unit=M1",
        None,
    ]

    # An answer that a newer URL overtook sets no control (it would move the URL back) …
    url = page.url
    show = "(search) => window.shiyu.relays.showControls({search: search, "
    show += "controls: [['dash-period', 'value', 'year']]})"
    page.evaluate(show, "?unit=elsewhere")
    page.wait_for_timeout(500)
    expect(page.locator(f"#{Ids.PERIOD}")).not_to_contain_text("本年")
    assert page.url == url
    # … the answer for the URL shown does.
    page.evaluate(show, page.evaluate("() => window.location.search"))
    expect(page.locator(f"#{Ids.PERIOD}")).to_contain_text("本年")


#: Counts the callback requests that reach the network (installed before the page's scripts,
#: so navigation.js sends through it).
SENT = """(() => {
  window.__sent = [];
  const send = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : (input && input.url) || '';
    if (url.indexOf('_dash-update-component') >= 0) window.__sent.push((init && init.body) || '');
    return send.apply(this, arguments);
  };
})();"""

#: Clicks an element; the searches of the view requests sent while its click was handled.
CLICK = """(el) => {
  const before = window.__sent.length;
  el.click();
  return window.__sent.slice(before).map((b) => JSON.parse(b).inputs[0].value.search);
}"""

NAVIGATE = """(search) => {
  const before = window.__sent.length;
  if (search === null) { history.back(); return null; }
  // What a link does (static_tree.js, dcc.Link): a history entry and Dash's location event.
  history.pushState({}, '', search);
  window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));
  return window.__sent.slice(before).map((b) => JSON.parse(b).inputs[0].value.search);
}"""


def _open_counting(dashboard_page, tiny_repo):
    """The page, with SENT installed and its load's callbacks done: (page, base, a district)."""
    recorder, base = dashboard_page
    page = recorder.page
    page.add_init_script(SENT)
    district = tiny_repo.children(tiny_repo.root().code).iloc[0]
    _open(recorder, base)
    expect(_kpi(page, "dispute_received")).not_to_be_empty()
    page.wait_for_timeout(500)
    return page, base, district


def test_dr005_the_view_is_asked_for_at_the_input_event_once(dashboard_page, tiny_repo) -> None:
    page, _base, district = _open_counting(dashboard_page, tiny_repo)
    # The map's labels do not fade in: while they faded, MapLibre redrew every frame.
    fade = f"() => document.querySelector('#{Ids.MAP} .js-plotly-plot')"
    fade += "._fullLayout.map._subplot.map._fadeDuration"
    assert page.evaluate(fade) == 0
    start = page.evaluate("() => window.location.search")
    posts: list = []  # requests sent (an answer nobody reads never finishes)
    page.on("request", lambda r: posts.append(r) if "_dash-update" in r.url else None)

    # The view's request has left while the link's event was handled, before Dash's renderer
    # saw the new URL …
    search = f"?unit={district['code']}"
    assert page.evaluate(NAVIGATE, search) == [search]
    expect(page.locator(f"#{Ids.BREADCRUMB}")).to_contain_text(district["name"])
    page.wait_for_function(MAP_READY, timeout=30_000)
    page.wait_for_timeout(500)
    # … and the renderer was handed its answer: one request for the view.
    bodies = [json.loads(r.post_data) for r in posts]
    assert [b["inputs"][0]["value"]["search"] for b in bodies] == [search]

    # Back, the same way.
    page.evaluate(NAVIGATE, None)
    expect(page.locator(f"#{Ids.BREADCRUMB}")).not_to_contain_text(district["name"])
    page.wait_for_timeout(500)
    bodies = [json.loads(r.post_data) for r in posts]
    assert [b["inputs"][0]["value"]["search"] for b in bodies] == [search, start]

    # The hotspot switch, at its change event too (the URL came with the view), once.
    expect(page.locator(f"#{Ids.BREADCRUMB}")).not_to_contain_text(district["name"])
    page.wait_for_timeout(500)
    sent = page.locator(f"#{Ids.HOTSPOT}").evaluate(CLICK)
    assert len(sent) == 1 and "hot=1" in sent[0], sent
    expect(page).to_have_url(re.compile(r"hot=1"))
    expect(page.locator(f"#{Ids.MAP_NOTE}")).to_contain_text("热点分析")
    page.wait_for_timeout(500)
    bodies = [json.loads(r.post_data) for r in posts]
    assert [b["inputs"][0]["value"]["search"] for b in bodies][2:] == sent

    # An option of a dropdown (outside the dropdown's element), at its click, once.
    page.locator(f"#{Ids.METRIC}").click()
    chosen = page.get_by_role("option", name="信访件次", exact=True).first.evaluate(CLICK)
    assert len(chosen) == 1 and "metric=petition_received" in chosen[0], chosen
    expect(page).to_have_url(re.compile(r"metric=petition_received"))
    expect(page.locator(f"#{Ids.MAP_TITLE}")).to_contain_text("信访件次")
    page.wait_for_timeout(500)
    bodies = [json.loads(r.post_data) for r in posts]
    assert [b["inputs"][0]["value"]["search"] for b in bodies][3:] == chosen


UPDATES = re.compile(r"/_dash-update-component(\?|$)")


def test_dr013_the_address_bar_moves_once_the_view_is_drawn(dashboard_page, tiny_repo) -> None:
    """A history entry costs the click ~10 ms of the page's main thread and as much of the
    browser's, beside the answer's computing: the URL a choice or a drill leads to is written
    once its view is drawn. A link followed meanwhile wins; a view that will not be drawn
    moves the address bar anyway."""
    page, base, district = _open_counting(dashboard_page, tiny_repo)
    start = page.evaluate("() => window.location.search")
    here = "() => window.location.search"
    held: list = []
    page.route(UPDATES, lambda route: held.append(route))

    # The switch's view is on its way: the address bar still shows the view drawn.
    sent = page.locator(f"#{Ids.HOTSPOT}").evaluate(CLICK)
    assert len(sent) == 1 and "hot=1" in sent[0], sent
    page.wait_for_timeout(300)
    assert len(held) == 1 and page.evaluate(here) == start
    held.pop().continue_()
    expect(page.locator(f"#{Ids.MAP_NOTE}")).to_contain_text("热点分析")
    expect(page).to_have_url(re.compile(r"hot=1"))
    switched = page.evaluate(here)

    # A link followed while the switch's view is on its way: its URL stays, and its view.
    page.wait_for_timeout(500)
    sent = page.locator(f"#{Ids.HOTSPOT}").evaluate(CLICK)
    assert len(sent) == 1 and "hot=1" not in sent[0], sent
    link = f"?unit={district['code']}"
    assert page.evaluate(NAVIGATE, link) == [link]
    page.wait_for_timeout(300)
    assert len(held) == 2, [r.request.post_data[:80] for r in held]
    for route in held:
        route.continue_()
    held.clear()
    expect(page.locator(f"#{Ids.BREADCRUMB}")).to_contain_text(district["name"])
    page.wait_for_function(MAP_READY, timeout=30_000)
    page.wait_for_timeout(2500)  # longer than an answered view waits for the address bar
    assert page.evaluate(here) == link
    page.go_back()
    expect(page).to_have_url(base + "/" + switched)

    # An answer that updates nothing (as for a view the server would not draw).
    page.unroute(UPDATES)
    expect(page.locator(f"#{Ids.BREADCRUMB}")).not_to_contain_text(district["name"])
    page.wait_for_timeout(500)
    page.route(UPDATES, lambda route: route.fulfill(status=204))
    page.locator(f"#{Ids.METRIC}").click()
    page.get_by_role("option", name="信访件次", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"metric=petition_received"))


def test_dr010_nothing_on_the_page_fades(dashboard_page) -> None:
    """Without a GPU each frame of a fade is drawn in software beside the view being drawn:
    the dropdowns' chevrons, the buttons, the switch and plotly's modebar change at once."""
    recorder, base = dashboard_page
    page = recorder.page
    _open(recorder, base)
    page.wait_for_function(MAP_READY, timeout=30_000)
    page.locator(f"#{Ids.MAP}").hover()  # plotly shows the modebar on hover
    durations = page.evaluate(
        """() => ['.dash-dropdown-trigger-icon', '.btn', '.form-switch .form-check-input',
                  '.modebar-group', '.modebar'].map((sel) => {
            const el = document.querySelector(sel);
            return [sel, el ? getComputedStyle(el).transitionDuration : null]; })"""
    )
    assert durations and all(d is not None for _, d in durations), durations
    assert all(set(d.split(", ")) == {"0s"} for _, d in durations), durations


def test_dr011_no_rule_restyles_the_whole_page_when_a_popover_opens(dashboard_page) -> None:
    """A rule whose subject is any element after a sibling (Bootstrap's ``legend + *``) makes
    Chromium restyle everything under <body> when a child of <body> comes or goes, as the
    dropdowns' focus guards do at every opening and closing (15 ms of a choice, traced)."""
    recorder, base = dashboard_page
    page = recorder.page
    _open(recorder, base)
    page.wait_for_function(MAP_READY, timeout=30_000)
    found = page.evaluate(
        """() => {
            const out = []; let n = 0;
            const walk = (rules) => { for (const r of rules) {
                if (r.selectorText) { n += 1;
                    r.selectorText.split(',').forEach((s) => {
                        if (/[+~]\\s*\\*\\s*$/.test(s)) out.push(s.trim()); }); }
                if (r.cssRules) walk(r.cssRules); } };
            for (const sheet of document.styleSheets) walk(sheet.cssRules);
            return [n, out]; }"""
    )
    rules, universal = found
    assert rules > 1000, rules  # Bootstrap, Dash's and our own sheets were read
    assert universal == [], universal


#: Hands showControls an answer for the URL shown whose metric and stream are `metric` and
#: `stream`, then, before the page is idle, sets the metric to `person` as a person would (if
#: given); returns what the two controls show at once and once the page has been idle.
ECHO = """async ([metric, stream, person]) => {
    const props = (id) => window.dash_component_api.getLayout(id).props;
    window.shiyu.relays.showControls({search: window.location.search, next: {}, tags: {},
        kept: [], controls: [['dash-metric', 'value', metric], ['dash-stream', 'value', stream]]});
    const before = [props('dash-metric').value, props('dash-stream').value];
    if (person) window.dash_clientside.set_props('dash-metric', {value: person});
    await new Promise((r) => setTimeout(r, 600));
    return [before, [props('dash-metric').value, props('dash-stream').value]];
}"""


def test_dr012_the_controls_echo_a_view_once_idle_and_keep_a_persons_change(
    dashboard_page,
) -> None:
    """An answer's controls are set once the page is idle (each set is a renderer cycle,
    which ran between the charts' drawing and the map's); a control a person changed
    meanwhile keeps the person's choice."""
    recorder, base = dashboard_page
    page = recorder.page
    _open(recorder, base)
    page.wait_for_function(MAP_READY, timeout=30_000)
    page.wait_for_timeout(500)
    shown = page.evaluate(
        "() => ['dash-metric', 'dash-stream'].map("
        "(id) => window.dash_component_api.getLayout(id).props.value)"
    )
    assert shown == ["dispute_received", "dispute"], shown
    before, after = page.evaluate(ECHO, ["petition_received", "petition", None])
    assert before == shown and after == ["petition_received", "petition"], (before, after)
    before, after = page.evaluate(ECHO, ["dispute_received", "dispute", "dispute_mediation_rate"])
    assert after == ["dispute_mediation_rate", "dispute"], after


def test_dr006_a_control_choice_asks_for_its_view_at_once(dashboard_page) -> None:
    """Period, metric, stream, hotspots, map view: the URL a choice leads to came with the
    view (callbacks.dashboard.control_links), so the view is the only request."""
    recorder, base = dashboard_page
    page = recorder.page
    _open(recorder, base)
    expect(_kpi(page, "dispute_received")).not_to_be_empty()
    page.wait_for_timeout(500)
    posts: list = []
    page.on("request", lambda r: posts.append(r) if "_dash-update" in r.url else None)

    page.locator(f"#{Ids.METRIC}").click()
    page.get_by_role("option", name="信访件次", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"metric=petition_received(&|$)"))
    expect(page.locator(f"#{Ids.MAP_TITLE}")).to_contain_text("信访件次")
    page.wait_for_timeout(500)
    bodies = [json.loads(r.post_data) for r in posts]
    assert [b["inputs"][0]["id"] for b in bodies] == [Ids.STATE]
    assert "metric=petition_received" in bodies[0]["inputs"][0]["value"]["search"]
    # It names what the page shows; the charts beside the map are left as they are.
    assert {"map.0", "trends.1", "panels.0"} <= set(bodies[0]["inputs"][0]["value"]["drawn"])
    sent = set(posts[0].response().json()["response"])
    assert Ids.MAP in sent and not sent & {Ids.TREND_DISPUTE, Ids.PATROL, Ids.RISK}
    expect(page.locator(f"#{Ids.TREND_DISPUTE} .main-svg").first).to_be_visible()

    posts.clear()
    page.locator(f"#{Ids.HOTSPOT}").click()
    expect(page).to_have_url(re.compile(r"hot=1"))
    page.wait_for_timeout(500)
    assert [json.loads(r.post_data)["inputs"][0]["id"] for r in posts] == [Ids.STATE]

    # Back: the view and the control follow the URL, and nothing else is asked for.
    posts.clear()
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"hot=1"))
    expect(page.locator(f"#{Ids.HOTSPOT}")).not_to_be_checked()
    page.wait_for_timeout(500)
    assert [json.loads(r.post_data)["inputs"][0]["id"] for r in posts] == [Ids.STATE]

    # A period: the date pickers then show its dates, which is no choice of dates.
    posts.clear()
    page.locator(f"#{Ids.PERIOD}").click()
    page.get_by_role("option", name="本月", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"period=month"))
    expect(page.locator(".dash-datepicker-start-date")).to_have_value("2026-10-01")
    page.wait_for_timeout(500)
    assert [json.loads(r.post_data)["inputs"][0]["id"] for r in posts] == [Ids.STATE]

    # Dates a person types are a custom period, asked for at once too.
    posts.clear()
    start = page.locator(".dash-datepicker-start-date")
    start.fill("2026-10-05")
    start.press("Enter")
    expect(page).to_have_url(re.compile(r"period=custom&.*start=2026-10-05&end=2026-10-31"))
    expect(page.locator(f"#{Ids.PERIOD}")).to_contain_text("自定义")
    page.wait_for_timeout(500)
    assert [json.loads(r.post_data)["inputs"][0]["id"] for r in posts] == [Ids.STATE]

    # The map view's buttons, by mouse and by keyboard (their change event, no callback).
    posts.clear()
    page.locator(f"#{Ids.MAP_VIEW}").get_by_text("热力密度", exact=True).click()
    expect(page).to_have_url(re.compile(r"view=density"))
    expect(page.locator(f"#{Ids.MAP_TITLE}")).to_contain_text("热力密度")
    page.wait_for_timeout(500)
    assert [json.loads(r.post_data)["inputs"][0]["id"] for r in posts] == [Ids.STATE]
    page.locator(f"#{Ids.MAP_VIEW} input").nth(1).press("ArrowLeft")
    expect(page).not_to_have_url(re.compile(r"view=density"))
    expect(page.locator(f"#{Ids.MAP_TITLE}")).not_to_contain_text("热力密度")
    page.locator(f"#{Ids.HOTSPOT}").press("Space")
    expect(page).to_have_url(re.compile(r"hot=1"))
    expect(page.locator(f"#{Ids.MAP_NOTE}")).to_contain_text("热点分析")


def test_dr009_an_output_left_as_shown_but_not_shown_is_asked_for_again(dashboard_page) -> None:
    """An answer that left an output as the page showed it, while the page in fact showed
    another (an answer applied after its request left), is followed by a request for the view
    without that output's tag, whose answer sends it."""
    recorder, base = dashboard_page
    page = recorder.page
    _open(recorder, base)
    expect(_kpi(page, "dispute_received")).not_to_be_empty()
    page.wait_for_timeout(500)
    shown = page.evaluate(f"() => window.dash_component_api.getLayout('{Ids.SHOWN}').props.data")
    assert shown["kept"] == [] and {"map.0", "trends.1"} <= set(shown["tags"])
    # trends.1: the dispute trend's figure
    overtaken = {**shown, "tags": {**shown["tags"], "trends.1": "0" * 24}, "kept": ["trends.1"]}
    with page.expect_response(lambda r: "_dash-update" in r.url) as info:
        page.evaluate("(a) => window.shiyu.relays.showControls(a)", overtaken)
    request = json.loads(info.value.request.post_data)["inputs"][0]
    assert request["id"] == Ids.STATE and request["value"]["search"] == shown["search"]
    assert "trends.1" not in request["value"]["drawn"]
    assert request["value"]["drawn"]["map.0"] == shown["tags"]["map.0"]
    sent = set(info.value.json()["response"])
    assert Ids.TREND_DISPUTE in sent and not sent & {Ids.MAP, Ids.TREND_PETITION, Ids.PATROL}
    page.wait_for_timeout(300)
    assert page.evaluate(TREND_SUM) > 0


#: How many options of the open dropdown are wholly visible: inside every box that clips them.
SHOWN_OPTIONS = """() => {
    const options = [...document.querySelectorAll('[role=option]')];
    const clips = [];
    for (let box = options[0].parentElement; box; box = box.parentElement) {
        if (getComputedStyle(box).overflowY !== 'visible') clips.push(box.getBoundingClientRect());
    }
    return options.filter((o) => {
        const r = o.getBoundingClientRect();
        return clips.every((c) => r.top >= c.top - 1 && r.bottom <= c.bottom + 1);
    }).length;
}"""


def test_dr007_category_options_are_read_when_the_filter_is_opened(dashboard_page) -> None:
    recorder, base = dashboard_page
    page = recorder.page
    posts: list = []
    page.on("request", lambda r: posts.append(r) if "_dash-update" in r.url else None)
    _open(recorder, base)
    expect(_kpi(page, "dispute_received")).not_to_be_empty()
    page.wait_for_timeout(500)
    outputs = [json.loads(r.post_data)["output"] for r in posts]
    assert not any(f"{Ids.CATEGORIES}.options" in o for o in outputs), outputs

    page.locator(f"#{Ids.CATEGORIES}").click()
    option = page.get_by_role("option").first
    expect(option).to_be_visible()
    # The list speaks Chinese (dcc.Dropdown's own texts are English) and shows most of a
    # stream's categories at once (dcc.Dropdown's default height: three, under its search).
    expect(page.get_by_text("全选", exact=True)).to_be_visible()
    expect(page.get_by_placeholder("搜索")).to_be_visible()
    assert page.get_by_text("Select All").count() == 0
    assert page.evaluate(SHOWN_OPTIONS) >= 10
    name = option.inner_text().strip()
    option.click()
    expect(page).to_have_url(re.compile(r"cat="))
    expect(page.locator(f"#{Ids.BREAKDOWN_TITLE}")).to_contain_text(name)

    # A link naming a category shows it chosen, with its label.
    page.goto(base + "/?" + urlencode({"cat": name}))
    page.wait_for_function(MAP_READY, timeout=30_000)
    expect(page.locator(f"#{Ids.CATEGORIES}")).to_contain_text(name)


def test_dr003_static_tree_keeps_ids_classes_links_and_bootstrap_markup() -> None:
    from layouts.dashboard import content, kpi_id, slot
    from layouts.elements import col_class, h, link, progress

    cell = h("td", [link("甲", "?unit=1", className="rank-link"), None, 3, False])
    col = h("div", cell, className="extra " + col_class(xs=12, xl=True))
    tree = content(h("div", col, className="g-2 row", title=None))
    assert tree["p"] == {"className": "g-2 row"}  # a prop given as None is left out
    assert tree["c"][0]["p"]["className"] == "extra col-xl col-12"
    assert tree["c"][0]["c"][0]["c"] == [
        {"t": "link", "p": {"href": "?unit=1", "className": "rank-link"}, "c": ["甲"]},
        None,
        "3",
        None,
    ]
    assert col_class(xs=12, md=6, lg=4, xl=True) == "col-xl col-lg-4 col-md-6 col-12"
    assert col_class() == "col"
    # Dash pattern ids as Dash writes them into the page (sorted keys), readable as attributes.
    span = h("span", "x", id=kpi_id("a"))
    assert content(span)["p"]["id"] == '{"key":"a","type":"dash-kpi"}'
    assert span.id == kpi_id("a") and span.children == "x"
    # A slot: its element without children around the content, which may be text or a list.
    place = slot("s", h("nav", [h("b")], className="crumbs", **{"aria-label": "位置"}), "甲")
    assert place.wrap == {"t": "nav", "p": {"className": "crumbs", "aria-label": "位置"}}
    assert (place.id, place.tree) == ("s", "甲")
    assert content([span, "y"]) == [content(span), "y"] and content(None) is None
    with pytest.raises(AttributeError):
        _ = span.href
    # dbc.Progress(value=62.5, color="info", className="rate-bar")'s markup.
    bar = progress(62.5, color="info", class_name="rate-bar").tree()
    assert bar["p"] == {"className": "rate-bar progress"}
    inner = bar["c"][0]["p"]
    assert inner["className"] == "progress-bar bg-info" and inner["style"] == {"width": "62.5%"}
    assert (inner["aria-valuenow"], inner["aria-valuemin"], inner["aria-valuemax"]) == (
        "62.5",
        "0",
        "100",
    )
    with pytest.raises(TypeError, match="cannot draw"):
        h("div", object()).tree()


#: Watches the map from the moment it is called: its frames, the layers plotly.js takes out
#: and adds, and when the shown areas' new polygons are handed to MapLibre.
WATCH_MAP = """(id) => {
  const gd = document.querySelector('#' + id + ' .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const w = window.__map = {frames: [], removed: [], added: [], data: [], up: null};
  map.on('render', () => w.frames.push(performance.now()));
  const remove = map.removeLayer.bind(map);
  map.removeLayer = (layer) => { w.removed.push(layer); return remove(layer); };
  const add = map.addLayer.bind(map);
  map.addLayer = (layer, before) => { w.added.push(layer.id); return add(layer, before); };
  const source = map.getSource('source-values');
  const setData = source.setData.bind(source);
  source.setData = (data, wait) => { w.data.push(performance.now()); return setData(data, wait); };
  document.addEventListener('pointerup', () => { w.up = performance.now(); }, true);
  const labels = gd.data.find((t) => t.uid === 'labels');
  return labels.text.map((name, i) => {
    const p = map.project([labels.lon[i], labels.lat[i]]);
    const box = map.getContainer().getBoundingClientRect();
    return {name: name, x: box.left + p.x, y: box.top + p.y};
  });
}"""


def test_dr008_a_map_drill_keeps_the_maps_layers_and_draws_no_frame_for_the_click(
    dashboard_page, tiny_repo
) -> None:
    recorder, base = dashboard_page
    page = recorder.page
    _open(recorder, base)
    expect(_kpi(page, "dispute_received")).not_to_be_empty()
    page.wait_for_timeout(500)
    names = set(tiny_repo.children(tiny_repo.root().code)["name"])
    label = next(p for p in page.evaluate(WATCH_MAP, Ids.MAP) if p["name"] in names)

    page.mouse.click(label["x"], label["y"])
    expect(page.locator(f"#{Ids.BREADCRUMB}")).to_contain_text(label["name"])
    page.wait_for_function(MAP_READY, timeout=30_000)
    page.wait_for_timeout(300)
    watched = page.evaluate("() => window.__map")
    # MapLibre's drag handler asks for a frame when the button goes up; the view's new
    # polygons are the first thing the map draws after the click.
    assert watched["up"] is not None and watched["data"], watched
    assert not [t for t in watched["frames"] if watched["up"] <= t < watched["data"][0]], watched
    assert watched["frames"] and watched["frames"][-1] > watched["data"][0]
    # Every trace keeps its layers: only the polygons and labels change.
    assert watched["removed"] == [] and watched["added"] == [], watched

    # A dropped frame is drawn later when no new drawing comes (the view failed).
    later = page.evaluate(
        """(id) => new Promise((resolve) => {
          const gd = document.querySelector('#' + id + ' .js-plotly-plot');
          const map = gd._fullLayout.map._subplot.map;
          map.triggerRepaint();
          window.shiyu.dropPendingFrame(gd);
          const t0 = performance.now();
          map.once('render', () => resolve(performance.now() - t0));
        })""",
        Ids.MAP,
    )
    assert 900 <= later <= 3000, later
