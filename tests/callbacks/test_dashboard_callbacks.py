"""Dashboard callback logic, called directly with a Services over the tiny demo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from dash import no_update
from plotly.io.json import to_json_plotly

from callbacks import dashboard as cb
from callbacks.services import Services
from data import db, views
from data.auth import Principal, ScopeRefused
from data.repository import Repository
from layouts import dashboard as layout
from layouts.dashboard import Ids


def _as(scope_code: str):
    return lambda: Principal("tester", "leader", scope_code)


@pytest.fixture(scope="module")
def services(tiny_repo) -> Services:
    return Services(
        repo=tiny_repo,
        title="测试指挥中心",
        data_source="测试来源",
        is_demo=True,
        current_user=_as(tiny_repo.root().code),
    )


def slot_text(node: object) -> str:
    """All the text a slot's content shows (layouts.dashboard.content: a string, a tree or a
    list of them)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return " ".join(slot_text(n) for n in node)
    assert isinstance(node, dict), node
    return " ".join(slot_text(c) for c in node["c"])


def _controls(state: views.ViewState) -> tuple:
    return cb.control_values(state)


def test_cb001_page_load_sets_controls_from_url(services) -> None:
    search = "?period=month&metric=petition_received&hot=1"
    *answer, shown = cb.show_view(services, search)
    # The view itself, in the same answer (components compare as their JSON) …
    assert to_json_plotly(answer) == to_json_plotly(list(cb.render_view(services, search)))
    # … and the controls showing it, for the URL it answers (assets/navigation.js).
    assert shown["search"] == search
    assert [(cid, prop) for cid, prop, _ in shown["controls"]] == list(cb.CONTROLS)
    controls = tuple(value for *_, value in shown["controls"])
    period, start, end, metric, stream, cats, hot, view = controls
    assert (period, start, end) == ("month", "2026-10-01", "2026-10-31")
    assert (metric, hot, view, cats) == ("petition_received", True, "choropleth", [])
    # A control set from the URL moves nothing: only a person's choice writes the URL.
    for trigger in (Ids.PERIOD, Ids.DATES, Ids.METRIC, Ids.STREAM, Ids.HOTSPOT):
        assert cb.navigate(services, trigger, search, controls)[0] is no_update
    # An answer for 本年 set the pickers after Back had already moved the URL to 本月: a
    # display, not a choice (the month's answer sets the controls next). Other dates are.
    overtaken = ("year", "2026-01-01", "2026-10-31", *controls[3:])
    assert cb.navigate(services, Ids.DATES, search, overtaken)[0] is no_update
    picked = ("year", "2026-02-01", "2026-10-31", *controls[3:])
    new_search, period_shown, *_ = cb.navigate(services, Ids.DATES, search, picked)
    assert "period=custom" in new_search and "start=2026-02-01" in new_search
    assert period_shown == "custom"


def test_cb002_map_click_target_is_the_canonical_child_url(services, tiny_repo) -> None:
    # assets/navigation.js writes "?unit=<clicked>&<rest>" from the map callback's last output.
    state = views.resolve_state(tiny_repo, {"period": "month", "hot": "1"})
    *_, target = cb.render_map(services, {"search": "?hot=1&period=month"})
    assert target["unit"] == state.unit.code
    child = tiny_repo.children(state.unit.code)["code"].iloc[1]
    assert f"?unit={child}&{target['rest']}" == state.search(unit=child)
    assert target == cb.drill_target(state)


def test_cb003_controls_write_the_url(services, tiny_repo) -> None:
    state = views.resolve_state(tiny_repo, {"period": "month"})
    controls = list(_controls(state))
    controls[0] = "custom"
    url, *out = cb.navigate(services, Ids.PERIOD, "?period=month", tuple(controls))
    q = views.parse_search(url)
    assert (q["period"], q["start"], q["end"]) == ("custom", "2026-10-01", "2026-10-31")

    controls = list(_controls(state))
    controls[1], controls[2] = "2026-09-01", "2026-09-20"
    url, *out = cb.navigate(services, Ids.DATES, "?period=month", tuple(controls))
    assert views.parse_search(url)["start"] == "2026-09-01"
    assert out[0] == "custom"  # the period selector follows the picked dates

    controls = list(_controls(state))
    controls[4] = "petition"
    url, *out = cb.navigate(services, Ids.STREAM, "?cat=邻里纠纷", tuple(controls))
    assert views.parse_search(url)["stream"] == "petition" and "cat" not in views.parse_search(url)
    assert out[5] == []


@pytest.mark.parametrize(
    "search", ["", "?period=month&metric=petition_received&hot=1", "?stream=petition&cat=其他"]
)
def test_cb012_control_links_are_what_navigate_writes(services, search: str) -> None:
    """The URLs that come with a view (navigation.js follows them when a person picks a
    period, metric, stream, hotspots or map view) are the ones navigate answers."""
    state = cb.resolve(services, search)
    shown = cb.control_values(state)
    links = cb.controls_showing(search, state)["next"]
    assert set(links) == {str(cid) for cid, _ in cb.LINKED_CONTROLS} | {Ids.DATES}
    for cid, choices in cb.LINKED_CONTROLS:
        assert len(links[cid]) == len(choices)
        slot = [c for c, _ in cb.CONTROLS].index(cid)
        for value in choices:
            controls = list(shown)
            controls[slot] = value
            written = cb.navigate(services, cid, search, tuple(controls))[0]
            assert links[cid][json.dumps(value)] == (None if written is no_update else written)
    # Dates: the URL with the picked dates filled in; the spans the pickers show anyway.
    dates = links[Ids.DATES]
    controls = list(shown)
    controls[1:3] = ["2026-09-03", "2026-09-20"]
    written = cb.navigate(services, Ids.DATES, search, tuple(controls))[0]
    picked = dates["custom"].replace(dates["slots"][0], "2026-09-03")
    assert picked.replace(dates["slots"][1], "2026-09-20") == written
    assert dates["shown"] == [state.period.start.isoformat(), state.period.end.isoformat()]
    for key, span in dates["spans"].items():
        controls = list(shown)
        controls[0:3] = [key, *span]
        assert cb.navigate(services, Ids.DATES, search, tuple(controls))[0] is no_update
    # The value shown leads nowhere; another one to its view.
    assert links[Ids.PERIOD][json.dumps(state.period.key)] is None
    assert views.parse_search(links[Ids.METRIC]['"patrol_groups"'])["metric"] == "patrol_groups"


def test_cb004_render_header_breadcrumb_and_alerts(services, tiny_repo) -> None:
    root = tiny_repo.root()
    child = tiny_repo.children(root.code)["code"].iloc[0]
    title, fresh, alerts, crumbs, period_label, kpis, footer = cb.render_header(
        services, {"search": f"?unit={child}"}
    )
    assert title == "测试指挥中心" and "2026年10月31日" in fresh
    assert alerts == []
    assert crumbs["t"] == "ol"
    items = crumbs["c"]
    assert len(items) == 2
    (link,) = items[0]["c"]
    assert link["t"] == "link" and views.parse_search(link["p"]["href"])["unit"] == root.code
    (here,) = items[1]["c"]
    assert here["t"] == "span" and here["c"] == [tiny_repo.unit(child).name]
    assert "环比" in period_label
    assert len(kpis["c"]) == 5
    assert "示例数据" in slot_text(footer)

    _, _, alerts, crumbs, *_ = cb.render_header(services, {"search": "?unit=000"})
    assert alerts and "未找到单位代码" in alerts[0].children
    assert len(crumbs["c"]) == 1


def test_cb005_render_map_root_and_lowest(services, tiny_repo) -> None:
    fig, map_style, chart, chart_style, title, notes, rtitle, ranking, _target = cb.render_map(
        services, {"search": ""}
    )
    assert map_style == {} and chart_style == {"display": "none"}
    types = [t["type"] for t in fig["data"]]
    assert "choroplethmap" in types
    assert "各区县" in title
    grid = tiny_repo.units_at_level("grid")["code"].iloc[0]
    fig, *_rest = cb.render_map(services, {"search": f"?unit={grid}&hot=1"})
    assert "已到最低一级" in slot_text(_rest[4])


def test_cb006_density_and_hotspot_views(services, tiny_repo) -> None:
    fig, *_ = cb.render_map(services, {"search": "?view=density"})
    assert fig["data"][0]["type"] == "densitymap"
    _fig, _s, _c, _cs, _t, notes, *_ = cb.render_map(services, {"search": "?hot=1"})
    assert "热点分析未进行" in slot_text(notes)  # the tiny city has two districts


def test_cb007_no_polygons_gives_ranked_chart(services, tiny_demo_url, tmp_path: Path) -> None:
    path = tmp_path / "nogeo.sqlite"
    shutil.copy(tiny_demo_url.removeprefix("sqlite:///"), path)
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE units SET geometry = NULL, geometry_display = NULL WHERE level = 'district'"
            )
        )
    repo = Repository(engine)
    nogeo = Services(
        repo=repo, title="t", data_source="s", is_demo=False, current_user=_as(repo.root().code)
    )
    _fig, map_style, chart, chart_style, _t, notes, _rt, _r, target = cb.render_map(
        nogeo, {"search": ""}
    )
    assert map_style == {"display": "none"} and chart_style == {}
    assert chart["data"][0]["type"] == "bar" and chart["data"][0]["customdata"]
    code = chart["data"][0]["customdata"][0]
    assert repo.unit(code).parent_code == target["unit"]  # a click on a bar drills into it
    engine.dispose()


def test_cb008_trends_and_panels(services) -> None:
    t1, f1, t2, f2, breakdown, btitle, note = cb.render_trends(
        services, {"search": "?period=custom&start=2026-05-01&end=2026-10-31"}
    )
    assert "按周" in t1 and "信访" in t2
    assert f1["data"][0]["type"] == "bar"
    assert "类别构成" in btitle
    patrol, rates, risk, tiles = cb.render_panels(services, {"search": ""})
    assert patrol["data"][0]["name"] == "巡逻组次"
    assert risk["data"][0]["type"] == "heatmap"
    assert len(rates["c"]) == 3 and len(tiles["c"]) == 4


def test_cb009_category_options(services) -> None:
    opts = cb.category_options(services, "petition")
    assert opts and all(set(o) == {"label", "value"} for o in opts)
    # Read only once needed: the filter opened, or categories named by the URL.
    assert cb.categories_shown(services, Ids.STREAM, "petition", False, []) == []
    assert cb.categories_shown(services, Ids.CATEGORIES_WANTED, "petition", True, []) == opts
    named = cb.categories_shown(services, Ids.CATEGORIES, "petition", False, [opts[0]["value"]])
    assert named == opts
    assert cb.categories_shown(services, Ids.CATEGORIES, "petition", True, ["x"]) is no_update
    assert cb.categories_shown(services, Ids.STREAM, "dispute", True, []) == cb.category_options(
        services, "dispute"
    )


def test_cb010_app_factory_registers(tiny_demo_url, tmp_path) -> None:
    from dashboard.app import create_app
    from dashboard.settings import Settings

    path = tmp_path / "app.sqlite"
    shutil.copy(tiny_demo_url.removeprefix("sqlite:///"), path)
    app = create_app(Settings(instance_path=tmp_path / "inst", database_url=f"sqlite:///{path}"))
    outputs = " ".join(app.callback_map)
    assert Ids.KPIS in outputs and Ids.URL in outputs and Ids.MAP in outputs


def test_cb014_no_callback_waits_on_the_url(tiny_demo_url, tmp_path) -> None:
    # A drill or a choice writes the URL itself: a callback on it would cost every such
    # interaction a renderer cycle that does nothing. Links, Back and navigate's URL are
    # followed by assets/navigation.js (follow), the page load by the dash-follow relay.
    from dashboard.app import create_app
    from dashboard.settings import Settings

    path = tmp_path / "app.sqlite"
    shutil.copy(tiny_demo_url.removeprefix("sqlite:///"), path)
    app = create_app(Settings(instance_path=tmp_path / "inst", database_url=f"sqlite:///{path}"))
    inputs = {(i["id"], i["property"]) for cb in app.callback_map.values() for i in cb["inputs"]}
    assert (str(Ids.STATE), "data") in inputs
    assert not {i for i in inputs if i[0] == Ids.URL}, inputs
    # Nor on the switch and buttons whose change event navigation.js follows.
    assert not {i for i in inputs if i[0] in cb.EVENT_CONTROLS}, inputs
    assert {(str(Ids.PERIOD), "value"), (str(Ids.METRIC), "value")} <= inputs
    page = app.layout() if callable(app.layout) else app.layout
    (follow,) = [n for n in page._traverse() if getattr(n, "id", None) == Ids.FOLLOW]
    assert isinstance(follow, layout.Relay) and follow.handler == "followUrl"
    (url,) = [n for n in page._traverse() if getattr(n, "id", None) == Ids.URL]
    assert url.refresh == "callback-nav"  # navigate's URL is announced as a link's


def test_cb013_the_view_writes_its_slots_content_not_children(tiny_demo_url, tmp_path) -> None:
    # A new `children` costs Dash's renderer two store actions more than any other prop (the
    # layout's paths, the replaced components' state), each running every component's
    # selector: the view writes `tree` of StaticTree slots; only the alerts (dismissable
    # dbc.Alert components) are children.
    from dashboard.app import create_app
    from dashboard.settings import Settings

    path = tmp_path / "app.sqlite"
    shutil.copy(tiny_demo_url.removeprefix("sqlite:///"), path)
    app = create_app(Settings(instance_path=tmp_path / "inst", database_url=f"sqlite:///{path}"))
    (key,) = [k for k in app.callback_map if f"{Ids.MAP}.figure" in k]
    outputs = key.strip(".").split("...")
    assert len(outputs) == 30
    assert [o for o in outputs if o.endswith(".children")] == [f"{Ids.ALERTS}.children"]
    slots = {o.removesuffix(".tree") for o in outputs if o.endswith(".tree")}
    assert {Ids.TITLE, Ids.BREADCRUMB, Ids.KPIS, Ids.RANKING, Ids.FOOTER} <= slots
    page = app.layout() if callable(app.layout) else app.layout
    found = {
        node.id: node
        for node in page._traverse()
        if isinstance(node, layout.StaticTree) and node.id in slots
    }
    assert set(found) == slots and all(n.wrap and "c" not in n.wrap for n in found.values())


def test_cb011_scope_limits_units_and_breadcrumb(tiny_repo) -> None:
    districts = tiny_repo.children(tiny_repo.root().code)["code"].tolist()
    mine, other = districts[0], districts[1]
    scoped = Services(
        repo=tiny_repo, title="t", data_source="s", is_demo=True, current_user=_as(mine)
    )
    state = cb.resolve(scoped, "")
    assert state.unit.code == mine and [u.code for u in state.lineage] == [mine]
    refused = cb.resolve(scoped, f"?unit={other}")
    assert refused.unit.code == mine
    assert any("无权查看" in m for m in refused.messages)
    _t, _f, _alerts, crumbs, *_ = cb.render_header(
        scoped, {"search": f"?unit={tiny_repo.root().code}"}
    )
    assert len(crumbs["c"]) == 1  # the city is above this user's jurisdiction
    nobody = Services(repo=tiny_repo, title="t", data_source="s", is_demo=True)
    with pytest.raises(ScopeRefused):
        cb.render_map(nobody, {"search": ""})


def test_cb020_downloads_are_named_after_unit_what_and_period(services, tiny_repo) -> None:
    child = tiny_repo.children(tiny_repo.root().code).iloc[0]
    search = f"?unit={child['code']}&period=month&metric=dispute_received"
    href, map_cfg, chart_cfg, dispute_cfg, *_ = cb.render_downloads(services, {"search": search})
    assert href == f"/_shiyu/export/briefing.zip{search}"
    opts = map_cfg["toImageButtonOptions"]
    assert opts["format"] == "png" and opts["scale"] == 2
    assert opts["filename"].startswith(f"{child['name']}-地图-")
    assert "2026年10月" in opts["filename"]
    assert dispute_cfg["toImageButtonOptions"]["filename"] == (
        f"{child['name']}-矛盾纠纷受理趋势-2026年10月"
    )
    assert map_cfg["scrollZoom"] is True  # the map keeps its own base config
    assert "scrollZoom" not in chart_cfg


def _slots(services: Services, search: str) -> dict[str, int]:
    """Where each output of :data:`cb.VIEW_PARTS` (``"<part>.<output>"``) sits in the answer."""
    out: dict[str, int] = {}
    for name, render, _depends in cb.VIEW_PARTS:
        for i, _output in enumerate(cb.remembered(services, name, render, {"search": search})):
            out[f"{name}.{i}"] = len(out)
    return out


def test_cb021_an_answer_leaves_what_the_page_shows_as_it_is(services) -> None:
    """The page names the outputs it shows by the tags of the answers it applied
    (assets/navigation.js); an output the new view would send unchanged is left alone."""
    month = "?period=month"
    *first, shown = cb.show_view(services, month)
    slots = _slots(services, month)
    assert shown["kept"] == [] and no_update not in first
    assert set(shown["tags"]) <= set(slots) and {"map.0", "trends.1", "panels.0"} <= set(
        shown["tags"]
    )

    # A metric choice changes the map and its titles, not the trends or the panels.
    metric = "?period=month&metric=petition_received"
    *answer, shown2 = cb.show_view(services, metric, shown["tags"])
    kept = set(shown2["kept"])
    trends_panels = {k for k in slots if k.startswith(("trends.", "panels."))}
    assert trends_panels <= kept and not {"map.0", "map.4", "map.7"} & kept
    assert all(shown2["tags"][k] == shown["tags"][k] for k in kept)
    full = list(cb.render_view(services, metric))
    for slot, at in slots.items():
        if slot in kept:
            assert answer[at] is no_update, slot
        else:
            assert to_json_plotly(answer[at]) == to_json_plotly(full[at]), slot
    assert shown2["tags"]["map.0"] != shown["tags"]["map.0"]

    # A period changes every chart; a tag the page made up matches nothing.
    *_a, shown3 = cb.show_view(services, "?period=year", shown2["tags"])
    assert not {"map.0", "trends.1", "trends.3", "panels.0", "panels.2"} & set(shown3["kept"])
    made_up = {slot: "0" * 24 for slot in shown["tags"]}
    *again, shown4 = cb.show_view(services, month, made_up)
    assert shown4["kept"] == [] and no_update not in again
