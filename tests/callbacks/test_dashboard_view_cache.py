"""Rendered views are shared through the cache, per data version and never across scopes."""

from __future__ import annotations

import json
import pickle
import uuid
from typing import Any

import orjson
import pytest
from dash._utils import to_json
from dash.development.base_component import Component

from callbacks import dashboard as cb
from callbacks.services import Services
from data.auth import Principal
from data.cache import CachedRepository, LocalStore
from data.repository import Repository

RENDERS = {
    "header": cb.render_header,
    "map": cb.render_map,
    "trends": cb.render_trends,
    "panels": cb.render_panels,
}


def _as(scope_code: str):
    return lambda: Principal("view-cache-tester", "leader", scope_code)


@pytest.fixture
def cached(tiny_repo: Repository) -> CachedRepository:
    return CachedRepository(tiny_repo.engine, LocalStore(), prefix=f"t{uuid.uuid4().hex[:8]}")


def _counting(render: cb.Render, calls: list[str]) -> cb.Render:
    def counted(services: Services, store: dict | None) -> tuple[Any, ...]:
        calls.append(str((store or {}).get("search")))
        return render(services, store)

    return counted


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_cb201_a_remembered_view_equals_the_rendered_one_and_is_computed_once(
    cached: CachedRepository, tiny_repo: Repository, name: str
) -> None:
    root = cached.root().code
    services = Services(
        repo=cached, title="t", data_source="s", is_demo=True, current_user=_as(root)
    )
    plain = Services(**{**services.__dict__, "repo": tiny_repo})
    store = {"search": "?period=month&metric=petition_received"}
    calls: list[str] = []
    render = _counting(RENDERS[name], calls)

    first = cb.remembered(services, name, render, store)
    second = cb.remembered(services, name, render, store)

    assert len(calls) == 1
    assert to_json(list(first)) == to_json(list(second))
    assert to_json(list(first)) == to_json(list(RENDERS[name](plain, store)))


def test_cb202_another_period_or_a_new_data_version_is_computed_again(
    cached: CachedRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = cached.root().code
    services = Services(
        repo=cached, title="t", data_source="s", is_demo=True, current_user=_as(root)
    )
    calls: list[str] = []
    render = _counting(cb.render_header, calls)
    cb.remembered(services, "header", render, {"search": "?period=month"})
    cb.remembered(services, "header", render, {"search": "?period=year"})
    cb.remembered(services, "header", render, {"search": "?period=month"})
    assert len(calls) == 2
    # Another writer bumped meta.data_version: the old entry is not answered any more.
    monkeypatch.setattr(cached, "data_version", lambda: "another-version")
    cb.remembered(services, "header", render, {"search": "?period=month"})
    assert len(calls) == 3


def test_cb203_a_view_remembered_for_the_city_is_never_shown_to_a_district_user(
    cached: CachedRepository,
) -> None:
    root = cached.root().code
    mine, other = cached.children(root)["code"].tolist()[:2]
    city = Services(repo=cached, title="t", data_source="s", is_demo=True, current_user=_as(root))
    district = Services(**{**city.__dict__, "current_user": _as(mine)})
    store = {"search": f"?unit={other}"}
    calls: list[str] = []
    render = _counting(cb.render_header, calls)

    _t, _f, _a, city_crumbs, *_ = cb.remembered(city, "header", render, store)
    _t, _f, alerts, crumbs, *_ = cb.remembered(district, "header", render, store)

    assert len(calls) == 2  # the district user's request was computed, not taken from the city's
    # Remembered outputs come as the JSON they are sent as (orjson fragments).
    city_crumbs, crumbs = (json.loads(to_json(c)) for c in (city_crumbs, crumbs))
    assert len(city_crumbs["c"]) == 2 and len(crumbs["c"]) == 1
    assert "无权查看" in str(alerts)


def test_cb204_a_metric_or_hotspot_change_recomputes_only_the_parts_that_show_it(
    cached: CachedRepository, tiny_repo: Repository
) -> None:
    """The trends and panels are keyed by what they show; the header and map hold links to
    the whole query, so they follow every change."""
    root = cached.root().code
    services = Services(
        repo=cached, title="t", data_source="s", is_demo=True, current_user=_as(root)
    )
    plain = Services(**{**services.__dict__, "repo": tiny_repo})
    depends = {"header": None, "map": None, "trends": cb.TREND_FIELDS, "panels": cb.PANEL_FIELDS}
    calls: dict[str, list[str]] = {name: [] for name in RENDERS}
    searches = ["?period=month", "?period=month&metric=petition_received", "?period=month&hot=1"]
    for search in searches:
        for name, render in RENDERS.items():
            got = cb.remembered(
                services, name, _counting(render, calls[name]), {"search": search}, depends[name]
            )
            # Whatever was reused is what this view would draw.
            assert to_json(list(got)) == to_json(list(render(plain, {"search": search})))
    assert {name: len(c) for name, c in calls.items()} == {
        "header": 3,
        "map": 3,
        "trends": 1,
        "panels": 1,
    }
    # A new period or stream is computed again.
    cb.remembered(
        services,
        "trends",
        _counting(cb.render_trends, calls["trends"]),
        {"search": "?period=year"},
        cb.TREND_FIELDS,
    )
    cb.remembered(
        services,
        "trends",
        _counting(cb.render_trends, calls["trends"]),
        {"search": "?period=month&stream=petition"},
        cb.TREND_FIELDS,
    )
    assert len(calls["trends"]) == 3


def test_cb205_a_resolved_view_is_rendered_without_another_scope_check(
    tiny_repo: Repository,
) -> None:
    """The view callback checks the scope once and hands the parts a Resolved view."""
    root = tiny_repo.root().code
    checks: list[str] = []

    def who() -> Principal:
        checks.append("asked")
        return Principal("view-cache-tester", "leader", root)

    services = Services(repo=tiny_repo, title="t", data_source="s", is_demo=True, current_user=who)
    search = "?period=month"
    resolved = cb.Resolved(search, cb.resolve(services, search))
    expected = [render(services, {"search": search}) for render in RENDERS.values()]
    asked = len(checks)
    got = [render(services, resolved) for render in RENDERS.values()]
    assert len(checks) == asked  # no part asked for the principal again
    assert to_json(got) == to_json(expected)
    href, _names = cb.download_names(services, resolved)
    assert href == cb.download_names(services, {"search": search})[0]


def test_cb206_a_remembered_part_is_kept_as_the_json_it_is_sent_as(
    cached: CachedRepository, tiny_repo: Repository
) -> None:
    """The shared entry holds each output's JSON (not figures to unpickle and encode again on
    every request); Dash components, which orjson cannot encode, stay objects."""
    root = cached.root().code
    mine, other = cached.children(root)["code"].tolist()[:2]
    services = Services(
        repo=cached, title="t", data_source="s", is_demo=True, current_user=_as(mine)
    )
    plain = Services(**{**services.__dict__, "repo": tiny_repo})
    store = {"search": f"?unit={other}"}  # outside the scope: the header carries an alert

    kept_as_objects = []
    for name in ("header", "map"):
        cb.remembered(services, name, RENDERS[name], store)
        got = cb.remembered(services, name, RENDERS[name], store)  # read back
        # The entry as the shared store holds it, under the key the part is remembered by.
        entry_name, arguments, _compute = cb._entry(services, (name, RENDERS[name], None), store)
        raw = cached.store.get(cached.key(f"view:{entry_name}", arguments))
        assert raw is not None
        entry = pickle.loads(raw)
        rendered = RENDERS[name](plain, store)
        assert len(entry) == len(got) == len(rendered)
        for kept, sent, value in zip(entry, got, rendered, strict=True):
            if any(
                isinstance(v, Component) for v in (value if isinstance(value, list) else [value])
            ):
                assert to_json(kept) == to_json(sent) == to_json(value)
                kept_as_objects.append(name)
            else:
                assert isinstance(kept, cb.Encoded) and isinstance(sent, orjson.Fragment)
                assert json.loads(kept) == json.loads(to_json(value))
    assert kept_as_objects == ["header"]  # the alert
