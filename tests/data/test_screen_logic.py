"""The big screen's pure logic: URL options, tour playlists, the alert list, the view model."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from data import screen, views
from data.screen import ScreenDefaults, parse_options, parse_tour


# ---- options -------------------------------------------------------------------------------
def test_scr001_defaults_come_from_settings() -> None:
    defaults = ScreenDefaults(canvas="wide", tour="top3", interval_s=30, refresh_s=90, idle_s=45)
    opts = parse_options({}, defaults)
    assert (opts.canvas, opts.tour, opts.interval_s, opts.refresh_s, opts.idle_s) == (
        "wide",
        "top3",
        30,
        90,
        45,
    )
    assert opts.size == (3840, 1080)
    assert not opts.kiosk and not opts.messages


def test_scr002_url_overrides_and_clamps() -> None:
    opts = parse_options(
        {"kiosk": "1", "canvas": "3840x1080", "interval": "1", "refresh": "999999", "idle": "60"}
    )
    assert opts.kiosk and opts.canvas == "wide"
    assert opts.interval_s == screen.INTERVAL_RANGE[0]  # a wall never flips faster than 3 s
    assert opts.refresh_s == screen.REFRESH_RANGE[1]
    assert opts.idle_s == 60
    assert len(opts.messages) == 2


@pytest.mark.parametrize(
    ("query", "field", "expected"),
    [
        ({"canvas": "8k"}, "canvas", "std"),
        ({"interval": "abc"}, "interval_s", 20),
        ({"metric": "nope"}, "metric", views.DEFAULT_METRIC),
        ({"period": "custom"}, "period", views.DEFAULT_PERIOD),
        ({"tour": "top0"}, "tour", "districts"),
        ({"unit": "'; drop table"}, "unit", ""),
    ],
)
def test_scr003_bad_values_fall_back_with_a_message(query, field, expected) -> None:  # noqa: ANN001
    opts = parse_options(query)
    assert getattr(opts, field) == expected
    assert opts.messages


def test_scr004_options_as_store_dict_is_json_friendly() -> None:
    import json

    data = parse_options({"canvas": "wide", "tour": "off"}).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["width"] == 3840 and data["tour"] == "off"


# ---- tour ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "kind", "text"),
    [
        ("districts", "children", "districts"),
        ("children", "children", "districts"),
        ("off", "off", "off"),
        ("", "off", "off"),
        ("top5", "top", "top5"),
        ("TOP3:petition_received", "top", "top3:petition_received"),
        ("top2:dispute_received@per10k", "top", "top2:dispute_received@per10k"),
        ("359802, 359821,359802", "codes", "359802,359821"),
    ],
)
def test_scr005_parse_tour(spec: str, kind: str, text: str) -> None:
    parsed = parse_tour(spec)
    assert parsed.kind == kind
    assert parsed.text == text
    assert parse_tour(parsed.text) == parsed  # canonical text reads back the same


@pytest.mark.parametrize("spec", ["top0", "top5:unknown_metric", "every district!", "a b"])
def test_scr006_parse_tour_rejects_nonsense(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_tour(spec)


def test_scr007_districts_tour_is_root_then_children(tiny_repo) -> None:  # noqa: ANN001
    state = views.resolve_state(tiny_repo, {})
    stops = screen.tour_playlist(tiny_repo, state, parse_tour("districts"))
    children = tiny_repo.children(state.unit.code)["code"].tolist()
    assert [s.code for s in stops] == [state.unit.code, *children]
    assert stops[0].name == state.unit.name


def test_scr008_top_tour_ranks_children_by_metric(tiny_repo) -> None:  # noqa: ANN001
    state = views.resolve_state(tiny_repo, {})
    table = views.children_table(
        tiny_repo, views.with_query(state, metric="petition_received")
    ).sort_values("value", ascending=False)
    stops = screen.tour_playlist(tiny_repo, state, parse_tour("top1:petition_received"))
    assert [s.code for s in stops] == [state.unit.code, table["code"].iloc[0]]


def test_scr009_code_tour_drops_unknown_and_foreign_codes(tiny_repo) -> None:  # noqa: ANN001
    state = views.resolve_state(tiny_repo, {})
    a, b = tiny_repo.children(state.unit.code)["code"].tolist()[:2]
    spec = parse_tour(f"{a},999999,{b}")
    stops = screen.tour_playlist(tiny_repo, state, spec, allowed=lambda code: code != b)
    assert [s.code for s in stops] == [a]
    # Nothing left: the tour stays on its root rather than showing nothing.
    none = screen.tour_playlist(tiny_repo, state, parse_tour("999999"))
    assert [s.code for s in none] == [state.unit.code]


def test_scr010_off_tour_and_next_index(tiny_repo) -> None:  # noqa: ANN001
    state = views.resolve_state(tiny_repo, {})
    assert len(screen.tour_playlist(tiny_repo, state, parse_tour("off"))) == 1
    assert screen.next_index(0, 3) == 1
    assert screen.next_index(2, 3) == 0
    assert screen.next_index(0, 3, step=-1) == 2
    assert screen.next_index(None, 3) == 0
    assert screen.next_index(7, 3) == 0
    assert screen.next_index(0, 0) == 0


# ---- alerts --------------------------------------------------------------------------------
def test_scr011_alerts_are_recent_sorted_and_capped(tiny_repo) -> None:  # noqa: ANN001
    state = views.resolve_state(tiny_repo, {})
    frame = screen.alerts(tiny_repo, state, days=14, limit=12)
    assert list(frame.columns) == screen.ALERT_COLUMNS
    assert 0 < len(frame) <= 12
    first = state.anchor - dt.timedelta(days=13)
    assert all(first <= d <= state.anchor for d in frame["day"])
    assert frame["day"].is_monotonic_decreasing
    assert set(frame["level"]) <= {"red", "orange", "spike"}
    children = set(tiny_repo.children(state.unit.code)["code"])
    assert set(frame["code"]) <= children


def test_scr012_alert_counts_are_suppressed_on_request(tiny_repo) -> None:  # noqa: ANN001
    state = views.resolve_state(tiny_repo, {})
    plain = screen.alerts(tiny_repo, state, days=14, limit=200)
    risky = plain[plain["kind"] == "risk"]
    assert not risky.empty
    small = risky[risky["detail"] == "1项"]
    assert not small.empty, "the tiny demo has single new risks"
    hidden = screen.alerts(tiny_repo, state, days=14, limit=200, threshold=3)
    assert "1项" not in set(hidden["detail"])
    assert "<3项" in set(hidden["detail"])


def test_scr013_alerts_at_the_lowest_level_watch_the_unit_itself(tiny_repo) -> None:  # noqa: ANN001
    grid = tiny_repo.units_at_level("grid")["code"].iloc[0]
    state = views.resolve_state(tiny_repo, {"unit": grid})
    frame = screen.alerts(tiny_repo, state, days=30, limit=50)
    assert set(frame["code"]) <= {grid}


def test_scr014_recent_alerts_are_cached_per_data_version(tiny_repo) -> None:  # noqa: ANN001
    state = views.resolve_state(tiny_repo, {})
    first = screen.recent_alerts(tiny_repo, state, "v-test")
    before = screen._cached_alerts.cache_info().hits
    second = screen.recent_alerts(tiny_repo, state, "v-test")
    assert screen._cached_alerts.cache_info().hits == before + 1
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, screen.alerts(tiny_repo, state))
    second.loc[:, "unit"] = "changed"  # callers get copies: the cache is read-only
    assert screen.recent_alerts(tiny_repo, state, "v-test")["unit"].ne("changed").all()


def test_scr015_count_text() -> None:
    assert screen.count_text(12345.0) == "12,345"
    assert screen.count_text(2.0, 3) == "<3"
    assert screen.count_text(0.0, 3) == "0"
    assert screen.count_text(3.0, 3) == "3"


# ---- view model ----------------------------------------------------------------------------
def test_scr016_screen_view_std_and_wide(tiny_repo) -> None:  # noqa: ANN001
    root = tiny_repo.root().code
    std = screen.screen_view(tiny_repo, parse_options({}), root)
    assert [k.key for k in std.kpis] == list(screen.SCREEN_KPIS)
    assert len(std.trends) == 2 and std.map2 is None and std.breakdown is None
    assert std.map.has_polygons
    assert std.version == tiny_repo.data_version()
    wide = screen.screen_view(tiny_repo, parse_options({"canvas": "wide"}), root)
    assert len(wide.trends) == 3
    assert wide.map2 is not None and wide.map2.metric_label.startswith("风险在册总数")
    assert wide.breakdown is not None and not wide.breakdown.empty
