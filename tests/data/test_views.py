"""View models (data.views) on the tiny demo city, checked against hand sums of the roll-ups."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from data import schema, views

D = dt.date


def _case_sum(repo, code: str, stream: str, measure: str, start: dt.date, end: dt.date) -> float:
    """Straight SQL over case_rollup: the reference the views must agree with."""
    cr = schema.case_rollup
    query = sa.select(sa.func.coalesce(sa.func.sum(cr.c[measure]), 0)).where(
        cr.c.unit_code == code, cr.c.stream == stream, cr.c.day.between(start, end)
    )
    with repo.engine.connect() as conn:
        return float(conn.execute(query).scalar())


def _patrol_sum(repo, code: str, measure: str, start: dt.date, end: dt.date) -> float:
    pr = schema.patrol_rollup
    query = sa.select(sa.func.coalesce(sa.func.sum(pr.c[measure]), 0)).where(
        pr.c.unit_code == code, pr.c.day.between(start, end)
    )
    with repo.engine.connect() as conn:
        return float(conn.execute(query).scalar())


def _risk_open(repo, code: str, day: dt.date) -> float:
    rr = schema.risk_rollup
    query = sa.select(sa.func.coalesce(sa.func.sum(rr.c.open_end), 0)).where(
        rr.c.unit_code == code, rr.c.day == day
    )
    with repo.engine.connect() as conn:
        return float(conn.execute(query).scalar())


@pytest.fixture(scope="module")
def state(tiny_repo):
    return views.resolve_state(tiny_repo, {"period": "30d"})


def _kpi(groups, key):
    return next(k for g in groups for k in g.items if k.key == key)


def test_vw001_default_state_is_root_and_30_days(tiny_repo, state) -> None:
    assert state.unit.code == tiny_repo.root().code
    assert state.messages == ()
    assert (state.period.start, state.period.end) == (D(2026, 10, 2), D(2026, 10, 31))
    # 环比: the 30 days before; 同比: the same dates one year earlier.
    assert (state.mom.start, state.mom.end) == (D(2026, 9, 2), D(2026, 10, 1))
    assert (state.yoy.start, state.yoy.end) == (D(2025, 10, 2), D(2025, 10, 31))


def test_vw002_kpis_equal_hand_sums(tiny_repo, state) -> None:
    groups = views.kpis(tiny_repo, state)
    code, p = state.unit.code, state.period
    received = _case_sum(tiny_repo, code, "dispute", "received", p.start, p.end)
    assert _kpi(groups, "dispute_received").value == received
    ok = _case_sum(tiny_repo, code, "dispute", "mediated_ok", p.start, p.end)
    assert _kpi(groups, "dispute_mediation_rate").value == pytest.approx(ok / received * 100)
    closed = _case_sum(tiny_repo, code, "petition", "closed", p.start, p.end)
    on_time = _case_sum(tiny_repo, code, "petition", "closed_on_time", p.start, p.end)
    assert _kpi(groups, "petition_on_time_rate").value == pytest.approx(on_time / closed * 100)
    days = _case_sum(tiny_repo, code, "petition", "handling_days", p.start, p.end)
    assert _kpi(groups, "petition_avg_days").value == pytest.approx(days / closed)
    assert _kpi(groups, "event_overdue").value == _case_sum(
        tiny_repo, code, "grid_event", "overdue", p.start, p.end
    )
    dispatches = _patrol_sum(tiny_repo, code, "dispatches", p.start, p.end)
    arrived = _patrol_sum(tiny_repo, code, "arrived_3min", p.start, p.end)
    assert _kpi(groups, "patrol_arrive_3").value == pytest.approx(arrived / dispatches * 100)
    assert _kpi(groups, "risk_open_total").value == _risk_open(tiny_repo, code, p.end)


def test_vw003_mom_and_yoy_use_the_right_dates(tiny_repo, state) -> None:
    groups = views.kpis(tiny_repo, state)
    code, p = state.unit.code, state.period
    cur = _case_sum(tiny_repo, code, "dispute", "received", p.start, p.end)
    mom = _case_sum(tiny_repo, code, "dispute", "received", D(2026, 9, 2), D(2026, 10, 1))
    yoy = _case_sum(tiny_repo, code, "dispute", "received", D(2025, 10, 2), D(2025, 10, 31))
    k = _kpi(groups, "dispute_received")
    assert k.mom.kind == "pct" and k.mom.value == pytest.approx((cur - mom) / mom * 100)
    assert k.yoy.value == pytest.approx((cur - yoy) / yoy * 100)
    # Rates compare in percentage points.
    rate = _kpi(groups, "dispute_resolution_rate")
    res_prev = _case_sum(tiny_repo, code, "dispute", "resolved", D(2026, 9, 2), D(2026, 10, 1))
    assert rate.mom.kind == "pp"
    assert rate.mom.value == pytest.approx(rate.value - res_prev / mom * 100)


def test_vw004_month_period_compares_with_previous_month(tiny_repo) -> None:
    st = views.resolve_state(tiny_repo, {"period": "month"})
    assert (st.period.start, st.period.end) == (D(2026, 10, 1), D(2026, 10, 31))
    assert (st.mom.start, st.mom.end) == (D(2026, 9, 1), D(2026, 9, 30))
    assert (st.yoy.start, st.yoy.end) == (D(2025, 10, 1), D(2025, 10, 31))


@pytest.mark.parametrize("metric", ["dispute_received", "petition_received", "patrol_groups"])
def test_vw005_children_counts_sum_to_parent(tiny_repo, metric) -> None:
    st = views.resolve_state(tiny_repo, {"metric": metric})
    table = views.children_table(tiny_repo, st)
    assert len(table) == st.unit.child_count > 0
    parent = _kpi(views.kpis(tiny_repo, st), metric).value
    assert table["value"].sum() == pytest.approx(parent)
    assert list(table.columns[: len(views.CHILD_COLUMNS)]) == views.CHILD_COLUMNS
    assert table.sort_values("value", ascending=False)["rank"].iloc[0] == 1


def test_vw006_unknown_unit_falls_back_to_root(tiny_repo) -> None:
    st = views.resolve_state(tiny_repo, {"unit": "999999999"})
    assert st.unit.code == tiny_repo.root().code
    assert any("未找到单位代码" in m for m in st.messages)
    junk = views.resolve_state(tiny_repo, {"unit": "<script>"})
    assert junk.unit.code == tiny_repo.root().code and junk.messages


def test_vw007_reversed_range_gives_message(tiny_repo) -> None:
    st = views.resolve_state(
        tiny_repo, {"period": "custom", "start": "2026-10-20", "end": "2026-10-01"}
    )
    assert any("晚于结束日期" in m for m in st.messages)
    assert st.period.key == views.DEFAULT_PERIOD
    assert not any("(" in m and "start" in m for m in st.messages)  # Chinese only


def test_vw008_empty_period_and_bad_metric(tiny_repo) -> None:
    st = views.resolve_state(
        tiny_repo, {"period": "custom", "start": "2015-01-01", "end": "2015-01-31", "metric": "x"}
    )
    assert any("没有数据" in m for m in st.messages)
    assert any("未知的地图指标" in m for m in st.messages)
    assert st.metric == views.DEFAULT_METRIC
    after = views.resolve_state(
        tiny_repo, {"period": "custom", "start": "2027-01-01", "end": "2027-02-01"}
    )
    assert after.messages and after.period.key == views.DEFAULT_PERIOD


def test_vw009_query_round_trip(tiny_repo) -> None:
    child = tiny_repo.children(tiny_repo.root().code)["code"].iloc[0]
    query = {
        "unit": child,
        "period": "custom",
        "start": "2026-08-01",
        "end": "2026-09-15",
        "metric": "dispute_received@per10k",
        "hot": "1",
    }
    st = views.resolve_state(tiny_repo, query)
    assert st.messages == ()
    again = views.resolve_state(tiny_repo, views.parse_search(st.search()))
    assert again == st
    assert [u.code for u in st.lineage][-1] == child
    assert st.lineage[0].code == tiny_repo.root().code


def test_vw010_trend_sums_and_last_year_alignment(tiny_repo, state) -> None:
    td = views.trend(tiny_repo, state, "dispute")
    assert td.freq == "D"
    assert td.frame.index[0] == pd.Timestamp(state.period.start)
    assert td.frame.index[-1] == pd.Timestamp(state.period.end)
    code = state.unit.code
    assert td.frame["current"].sum() == _case_sum(
        tiny_repo, code, "dispute", "received", state.period.start, state.period.end
    )
    assert td.frame["last_year"].sum() == _case_sum(
        tiny_repo, code, "dispute", "received", state.yoy.start, state.yoy.end
    )
    # Day-by-day: 2026-10-05 carries the count of 2025-10-05.
    day = _case_sum(tiny_repo, code, "dispute", "received", D(2025, 10, 5), D(2025, 10, 5))
    assert td.frame.loc[pd.Timestamp("2026-10-05"), "last_year"] == day
    assert td.frame["anomaly"].dtype == bool


def test_vw011_weekly_and_monthly_trends(tiny_repo) -> None:
    quarter = views.resolve_state(
        tiny_repo, {"period": "custom", "start": "2026-05-01", "end": "2026-10-31"}
    )
    td = views.trend(tiny_repo, quarter, "petition")
    assert td.freq == "W"
    assert (td.frame.index.day_of_week == 0).all()  # weeks labelled by their Monday
    assert not td.frame["complete"].iloc[0]  # 2026-05-01 is a Friday: partial first week
    total = _case_sum(
        tiny_repo, quarter.unit.code, "petition", "received", D(2026, 5, 1), D(2026, 10, 31)
    )
    assert td.frame["current"].sum() == total
    year = views.resolve_state(tiny_repo, {"period": "year"})
    ty = views.trend(tiny_repo, year, "dispute")
    assert ty.freq == "M" and len(ty.frame) == 10


def test_vw013_last_year_folds_29_february_and_months_are_complete_by_their_length(
    tiny_repo,
) -> None:
    days = views.resolve_state(
        tiny_repo, {"period": "custom", "start": "2025-02-20", "end": "2025-03-10"}
    )
    code = days.unit.code
    td = views.trend(tiny_repo, days, "dispute")
    assert td.freq == "D" and days.yoy.start == D(2024, 2, 20)
    # 2024 had a 29 February: it is shown on 28 February 2025, with the 28th's own count.
    leap_day = _case_sum(tiny_repo, code, "dispute", "received", D(2024, 2, 29), D(2024, 2, 29))
    assert leap_day > 0  # otherwise the fold below proves nothing
    both = _case_sum(tiny_repo, code, "dispute", "received", D(2024, 2, 28), D(2024, 2, 29))
    assert td.frame.loc[pd.Timestamp("2025-02-28"), "last_year"] == both
    assert td.frame.loc[pd.Timestamp("2025-03-01"), "last_year"] == _case_sum(
        tiny_repo, code, "dispute", "received", D(2024, 3, 1), D(2024, 3, 1)
    )
    assert td.frame["last_year"].sum() == _case_sum(
        tiny_repo, code, "dispute", "received", D(2024, 2, 20), D(2024, 3, 10)
    )
    months = views.resolve_state(
        tiny_repo, {"period": "custom", "start": "2024-01-15", "end": "2024-12-31"}
    )
    tm = views.trend(tiny_repo, months, "petition")
    assert tm.freq == "M"
    assert list(tm.frame.index.strftime("%Y-%m-%d"))[:3] == [
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
    ]
    # Only January is partial (from the 15th); February 2024 has its 29 days.
    assert tm.frame["complete"].tolist() == [False] + [True] * 11
    assert tm.frame.loc[pd.Timestamp("2024-02-01"), "current"] == _case_sum(
        tiny_repo, code, "petition", "received", D(2024, 2, 1), D(2024, 2, 29)
    )


def test_vw012_breakdown_risk_patrol_summary(tiny_repo, state) -> None:
    parts = views.breakdown(tiny_repo, state)
    assert parts["received"].sum() == _kpi(views.kpis(tiny_repo, state), "dispute_received").value
    assert parts["share"].sum() == pytest.approx(1.0)
    risk = views.risk_panel(tiny_repo, state)
    assert len(risk.matrix) == 20
    assert sum(o for o, _ in risk.by_level.values()) == _risk_open(
        tiny_repo, state.unit.code, state.period.end
    )
    patrol = views.patrol_panel(tiny_repo, state)
    assert patrol.series["groups"].sum() == _patrol_sum(
        tiny_repo, state.unit.code, "groups", state.period.start, state.period.end
    )
    assert [k.key for k in patrol.rates] == [
        "patrol_arrive_1",
        "patrol_arrive_3",
        "patrol_arrive_5",
    ]
    summary = views.summary(tiny_repo, state)
    assert state.unit.name in summary["sentence"] and "环比" in summary["sentence"]


def test_vw013_category_filter_narrows_only_its_stream(tiny_repo) -> None:
    cats = views.category_options(tiny_repo, "dispute")[:2]
    full = views.resolve_state(tiny_repo, {})
    narrow = views.resolve_state(tiny_repo, {"cat": ",".join(cats)})
    assert narrow.categories == tuple(cats)
    a, b = views.kpis(tiny_repo, full), views.kpis(tiny_repo, narrow)
    assert _kpi(b, "dispute_received").value < _kpi(a, "dispute_received").value
    assert _kpi(b, "petition_received").value == _kpi(a, "petition_received").value


def test_vw014_lowest_level_shows_siblings(tiny_repo) -> None:
    grids = tiny_repo.units_at_level("grid")
    code = grids["code"].iloc[0]
    st = views.resolve_state(tiny_repo, {"unit": code})
    assert st.is_lowest
    mv = views.map_view(tiny_repo, st)
    assert mv.siblings and mv.selected_code == code
    assert code in set(mv.table["code"])
    assert views.children_table(tiny_repo, st).empty


def test_vw015_hotspots_message_when_too_few_children(tiny_repo) -> None:
    st = views.resolve_state(tiny_repo, {"hot": "1"})
    mv = views.map_view(tiny_repo, st)
    if len(mv.table) < 5:
        assert "少于" in mv.hotspot_message
    else:
        assert "hotspot" in mv.table or mv.hotspot_message


def test_vw016_hotspots_run_with_enough_children(tiny_repo) -> None:
    from geo.hotspots import HOTSPOT_LABELS

    children = tiny_repo.children(tiny_repo.root().code)
    towns = pd.concat([tiny_repo.children(c) for c in children["code"]])
    big = towns.loc[[tiny_repo.unit(c).child_count >= 5 for c in towns["code"]], "code"].iloc[0]
    st = views.resolve_state(
        tiny_repo, {"unit": big, "hot": "1", "metric": "event_received@per10k"}
    )
    mv = views.map_view(tiny_repo, st)
    assert mv.hotspot_message == ""
    assert set(mv.table["hotspot"]) <= set(HOTSPOT_LABELS)
    assert set(mv.hotspot_counts) == {"hot", "cold"}
