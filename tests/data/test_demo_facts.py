"""Invariants and realism checks of the demo fact generator (``data.demo.facts``).

The units fixture is built here (not from ``geo.demo_city``) so these tests only depend on the
generator: a city with an urban district of two 街道 (small grids, most of them too small to
hold an H3 cell centre) and a rural district of a 镇 and a 乡 (large grids spanning many cells).
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from data import schema
from data.demo import calendar as demo_calendar
from data.demo.facts import DemoFacts, generate_facts

END = dt.date(2026, 11, 22)
SEED = 20240601


def tiny_units() -> gpd.GeoDataFrame:
    """2 districts, 4 towns, 12 villages, 40 grids of square polygons (EPSG:4326)."""
    rows: list[dict] = []

    def add(code, name, level, parent, geom, pop, ur=None, grid_type=None, sort_key=0):
        rows.append(
            dict(
                code=code,
                name=name,
                level=level,
                parent_code=parent,
                population=pop,
                households=None if pop is None else int(pop / 2.8),
                urban_rural=ur,
                grid_type=grid_type,
                sort_key=sort_key,
                geometry=geom,
            )
        )

    add("510300", "示例市", "city", None, None, None)
    towns = [  # (district, town code, name, urban_rural, grid size in degrees, grids per village)
        ("510302", "510302001", "东街街道", "111", 0.006, (4, 4, 4)),
        ("510302", "510302002", "西街街道", "112", 0.006, (4, 4, 4)),
        ("510311", "510311101", "河口镇", "121", 0.03, (3, 3, 3)),
        ("510311", "510311201", "青山乡", "220", 0.03, (3, 2, 2)),
    ]
    add("510302", "城东区", "district", "510300", None, None, sort_key=1)
    add("510311", "山南县", "district", "510300", None, None, sort_key=2)
    rng = np.random.default_rng(7)
    x0 = {"510302": 104.70, "510311": 104.90}
    y_cursor = {"510302": 29.30, "510311": 29.30}
    for ti, (dist, tcode, tname, ur, size, per_village) in enumerate(towns):
        add(tcode, tname, "town", dist, None, None, ur=ur, sort_key=ti)
        for vi, n_grids in enumerate(per_village):
            vseq = (1 if ur.startswith("1") else 201) + vi
            vcode = f"{tcode}{vseq:03d}"
            add(
                vcode,
                f"{tname}{vi + 1}{'社区' if ur < '2' else '村'}",
                "village",
                tcode,
                None,
                None,
                ur=ur,
                sort_key=vi,
            )
            for gi in range(n_grids):
                x = x0[dist] + gi * size
                y = y_cursor[dist]
                pop = int(rng.integers(3000, 6000))
                add(
                    f"{vcode}{gi + 1:03d}",
                    f"第{gi + 1}网格",
                    "grid",
                    vcode,
                    shapely.box(x, y, x + size, y + size),
                    pop,
                    ur=ur,
                    grid_type="综合",
                    sort_key=gi,
                )
            y_cursor[dist] += size
    df = pd.DataFrame(rows)
    gdf = gpd.GeoDataFrame(df, geometry="geometry", crs=4326)
    # Parents: union of children, population = sum of children (bottom-up).
    for level in ("village", "town", "district", "city"):
        for i in np.flatnonzero(gdf["level"] == level):
            kids = gdf[gdf["parent_code"] == gdf.at[i, "code"]]
            gdf.at[i, "population"] = int(kids["population"].sum())
            gdf.at[i, "households"] = int(kids["households"].sum())
            gdf.loc[[i], "geometry"] = gpd.GeoSeries([kids.union_all()], crs=4326).values
    gdf["population"] = gdf["population"].astype(int)
    return gdf


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return tiny_units()


@pytest.fixture(scope="module")
def facts(units) -> DemoFacts:
    return generate_facts(units, seed=SEED, end=END)


def _grid_pop(units: gpd.GeoDataFrame) -> float:
    return float(units.loc[units["level"] == "grid", "population"].sum())


def _stream(facts: DemoFacts, stream: str) -> pd.DataFrame:
    return facts.cases[facts.cases["stream"] == stream]


def _daily(frame: pd.DataFrame, start: dt.date, end: dt.date, col: str = "received") -> pd.Series:
    days = pd.Index([start + dt.timedelta(days=i) for i in range((end - start).days + 1)])
    return frame.groupby("day")[col].sum().reindex(days, fill_value=0)


# --- shape and types ---------------------------------------------------------------------------


def test_ddf001_columns_and_types(facts):
    assert list(facts.cases.columns) == [
        "unit_code",
        "day",
        "stream",
        "category",
        "channel",
        *schema.CASE_MEASURES,
    ]
    assert list(facts.patrols.columns) == ["unit_code", "day", *schema.PATROL_MEASURES]
    assert list(facts.risks.columns) == [
        "unit_code",
        "day",
        "domain",
        "level",
        *schema.RISK_MEASURES,
    ]
    assert list(facts.hotspot_cells.columns) == ["cell_id", "lon", "lat", "unit_code"]
    assert list(facts.hotspot_daily.columns) == ["cell_id", "day", "stream", "events"]
    for m in schema.CASE_MEASURES:
        assert facts.cases[m].dtype == np.int64
    assert isinstance(facts.cases["day"].iloc[0], dt.date)
    assert facts.cases["day"].min() == dt.date(2023, 11, 23)
    assert facts.cases["day"].max() == END


def test_ddf002_counts_nonnegative_and_rows_nonzero(facts):
    for frame, measures in (
        (facts.cases, schema.CASE_MEASURES),
        (facts.patrols, schema.PATROL_MEASURES),
        (facts.risks, schema.RISK_MEASURES),
        (facts.hotspot_daily, ["events"]),
    ):
        values = frame[list(measures)].to_numpy()
        assert (values >= 0).all()
        assert values.any(axis=1).all(), "only nonzero rows are emitted"
    assert (facts.cases["received"] > 0).all()


def test_ddf003_primary_keys_unique(facts):
    assert not facts.cases.duplicated(["unit_code", "day", "stream", "category", "channel"]).any()
    assert not facts.patrols.duplicated(["unit_code", "day"]).any()
    assert not facts.risks.duplicated(["unit_code", "day", "domain", "level"]).any()
    assert not facts.hotspot_cells["cell_id"].duplicated().any()
    assert not facts.hotspot_daily.duplicated(["cell_id", "day", "stream"]).any()


def test_ddf004_recorded_levels(facts, units):
    level = units.set_index("code")["level"]
    case_levels = facts.cases.assign(level=facts.cases["unit_code"].map(level))
    assert set(case_levels.loc[case_levels["stream"] != "petition", "level"]) == {"grid"}
    pet = case_levels[case_levels["stream"] == "petition"]
    assert set(pet["level"]) == {"grid", "town"}
    town_share = pet.loc[pet["level"] == "town", "received"].sum() / pet["received"].sum()
    assert 0.05 < town_share < 0.16
    assert set(pet.loc[pet["level"] == "town", "channel"]) == {"来访"}
    assert set(facts.patrols["unit_code"].map(level)) == {"town"}
    assert set(facts.risks["unit_code"].map(level)) == {"village"}


# --- case invariants ---------------------------------------------------------------------------


def test_ddf010_case_measure_orderings(facts):
    c = facts.cases
    assert (c["mediated_ok"] <= c["resolved"]).all()
    assert (c["resolved"] <= c["closed"]).all()
    assert (c["closed"] <= c["received"]).all()
    assert (c["closed_on_time"] <= c["closed"]).all()
    assert (c["overdue"] <= c["received"]).all()
    assert (c["satisfied"] <= c["rated"]).all()
    assert (c["rated"] <= c["closed"]).all()
    assert (c["repeated"] <= c["received"]).all()
    assert (c["escalated"] <= c["received"]).all()
    pet = _stream(facts, "petition")
    assert (pet["persons"] >= pet["received"]).all()
    assert (pet["handling_days"] <= pet["closed"] * 90).all()
    other = c[c["stream"] != "dispute"]
    assert (other[["mediated_ok", "resolved"]] == 0).all().all()


def test_ddf011_rates_within_domain_ranges(facts, units):
    pop = _grid_pop(units)
    years = 3
    disputes = _stream(facts, "dispute")
    petitions = _stream(facts, "petition")
    grid_events = _stream(facts, "grid_event")
    dispute_rate = disputes["received"].sum() / pop * 1000 / years
    assert 4 <= dispute_rate <= 13
    petition_rate = petitions["received"].sum() / pop * 1000 / years
    assert 1.5 <= petition_rate < dispute_rate
    grid_rate = grid_events["received"].sum() / pop * 1000 / (years * 12)
    assert 1.3 <= grid_rate <= 2.6  # thin regime: ≈1.8 per 1,000 a month
    # Success rates over cases old enough to be closed.
    old = disputes[disputes["day"] <= END - dt.timedelta(days=90)]
    success = old["mediated_ok"].sum() / old["received"].sum()
    resolve = old["resolved"].sum() / old["received"].sum()
    assert 0.96 <= success <= 0.999
    assert success < resolve <= 1.0
    old_p = petitions[petitions["day"] <= END - dt.timedelta(days=120)]
    assert 0.97 <= old_p["closed_on_time"].sum() / old_p["closed"].sum() <= 0.99
    avg_days = old_p["handling_days"].sum() / old_p["closed"].sum()
    assert 6 <= avg_days <= 15
    rated = old_p["rated"].sum() / old_p["closed"].sum()
    assert 0.6 <= rated <= 0.8
    assert 0.95 <= old_p["satisfied"].sum() / old_p["rated"].sum() <= 0.99
    assert 0.01 <= old_p["repeated"].sum() / old_p["received"].sum() <= 0.06
    old_g = grid_events[grid_events["day"] <= END - dt.timedelta(days=60)]
    assert old_g["closed"].sum() / old_g["received"].sum() >= 0.99
    assert 0.005 <= old_g["overdue"].sum() / old_g["received"].sum() <= 0.025


def test_ddf012_closure_lags_near_the_end(facts):
    disputes = _stream(facts, "dispute")
    last_days = disputes[disputes["day"] >= END - dt.timedelta(days=3)]
    old = disputes[disputes["day"] <= END - dt.timedelta(days=90)]
    rate = lambda f: f["closed"].sum() / f["received"].sum()  # noqa: E731
    assert rate(last_days) < rate(old) - 0.2


def test_ddf013_dispute_mix_follows_urban_rural(facts, units):
    d = _stream(facts, "dispute")
    ur = units.set_index("code")["urban_rural"]
    d = d.assign(ur=d["unit_code"].map(ur))
    share = lambda f, cat: f.loc[f["category"] == cat, "received"].sum() / f["received"].sum()  # noqa: E731
    urban, rural = d[d["ur"].isin(["111", "112"])], d[d["ur"].isin(["210", "220"])]
    assert share(urban, "物业纠纷") > 5 * share(rural, "物业纠纷")
    assert share(rural, "山林土地纠纷") > 5 * share(urban, "山林土地纠纷")
    assert 0.25 < share(d, "邻里纠纷") < 0.4
    channels = d.groupby("channel")["received"].sum() / d["received"].sum()
    assert set(channels.index) == {"主动调解", "申请调解", "委托移送"}
    assert channels["主动调解"] > channels["申请调解"] > channels["委托移送"]


def test_ddf014_escalations_single_digits_per_month(facts):
    pet = _stream(facts, "petition")
    monthly = pet.groupby(pd.to_datetime(pet["day"]).dt.to_period("M"))["escalated"].sum()
    assert monthly.mean() < 10


# --- calendar ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["dispute", "petition", "grid_event"])
def test_ddf020_spring_festival_dip(facts, stream):
    # Pooled over the three festivals so that a small city's noise cannot hide the effect.
    frame = _stream(facts, stream)
    holiday, around = [], []
    for year in (2024, 2025, 2026):
        lny = demo_calendar.lunar_new_year(year)
        holiday.append(_daily(frame, lny, lny + dt.timedelta(days=5)))  # 初一–初六
        around.append(_daily(frame, lny - dt.timedelta(days=22), lny - dt.timedelta(days=8)))
        around.append(_daily(frame, lny + dt.timedelta(days=10), lny + dt.timedelta(days=24)))
    assert pd.concat(holiday).mean() < 0.6 * pd.concat(around).mean()


def test_ddf021_national_day_dip(facts):
    frame = _stream(facts, "dispute")
    holiday, around = [], []
    for year in (2024, 2025, 2026):
        holiday.append(_daily(frame, dt.date(year, 10, 1), dt.date(year, 10, 7)))
        around.append(_daily(frame, dt.date(year, 9, 10), dt.date(year, 9, 24)))
        around.append(_daily(frame, dt.date(year, 10, 13), dt.date(year, 10, 27)))
    assert pd.concat(holiday).mean() < 0.6 * pd.concat(around).mean()


@pytest.mark.parametrize("stream", ["petition", "dispute"])
def test_ddf022_weekends_lower(facts, stream):
    frame = _stream(facts, stream)
    daily = _daily(frame, dt.date(2023, 11, 23), END)
    kinds = np.array([demo_calendar.day_kind(d) for d in daily.index])
    assert (
        daily[kinds == demo_calendar.WEEKEND].mean()
        < 0.6 * daily[kinds == demo_calendar.WORKDAY].mean()
    )


def test_ddf023_wage_arrears_before_spring_festival(facts):
    labour = facts.cases[facts.cases["category"].isin(["劳动争议纠纷", "劳动和社会保障"])]
    ratios = []
    for year in (2025, 2026):
        lny = demo_calendar.lunar_new_year(year)
        pre = _daily(labour, lny - dt.timedelta(days=35), lny - dt.timedelta(days=5)).mean()
        summer = _daily(labour, dt.date(year, 6, 1), dt.date(year, 8, 31)).mean()
        ratios.append(pre / summer)
    assert np.mean(ratios) > 1.4


def test_ddf024_calendar_fallback_beyond_published_years():
    # 2030 is not (yet) in chinese_calendar; the fallback still knows 春节 and 国庆.
    assert demo_calendar.day_kind(dt.date(2030, 2, 4)) == demo_calendar.MAJOR_HOLIDAY
    assert demo_calendar.day_kind(dt.date(2030, 10, 3)) == demo_calendar.MAJOR_HOLIDAY
    assert demo_calendar.day_kind(dt.date(2030, 3, 13)) == demo_calendar.WORKDAY
    assert demo_calendar.day_kind(dt.date(2030, 3, 16)) == demo_calendar.WEEKEND
    # Official 调休: Sunday 28 September 2025 was a workday.
    assert demo_calendar.day_kind(dt.date(2025, 9, 28)) == demo_calendar.WORKDAY


# --- patrols and risks -------------------------------------------------------------------------


def test_ddf030_patrol_arrivals_cumulative(facts, units):
    p = facts.patrols
    assert (p["arrived_1min"] <= p["arrived_3min"]).all()
    assert (p["arrived_3min"] <= p["arrived_5min"]).all()
    assert (p["arrived_5min"] <= p["dispatches"]).all()
    assert (p["officers"] >= 2 * p["groups"]).all()
    assert (p["vehicles"] <= p["groups"]).all()
    towns = units[units["level"] == "town"]
    assert len(p) == len(towns) * 1096  # every town patrols every day
    per_group = p["officers"].sum() / p["groups"].sum()
    assert 2.7 < per_group < 3.3
    ur = units.set_index("code")["urban_rural"]
    t = p.assign(ur=p["unit_code"].map(ur)).groupby("ur")[["arrived_1min", "dispatches"]].sum()
    fast = t["arrived_1min"] / t["dispatches"]
    assert fast["111"] > fast["220"]


def test_ddf031_risk_stock_flow(facts):
    r = facts.risks
    days = pd.Index(sorted(r["day"].unique()))
    assert len(days) == 1096
    for (_unit, _dom, _lvl), g in r.groupby(["unit_code", "domain", "level"]):
        s = g.set_index("day")[["new", "closed", "open_end"]].reindex(days, fill_value=0)
        prev = s["open_end"].shift(1).to_numpy()
        ok = (
            s["open_end"].to_numpy()[1:]
            == (prev + s["new"].to_numpy() - s["closed"].to_numpy())[1:]
        )
        assert ok.all()
        assert (s["open_end"] >= 0).all()
    red = r[r["level"] == "red"]["new"].sum()
    blue = r[r["level"] == "blue"]["new"].sum()
    assert red < 0.02 * blue


def test_ddf032_two_sessions_raise_risks_not_petitions(facts):
    r = facts.risks
    pet = _stream(facts, "petition")
    years = (2024, 2025, 2026)
    sessions = [(dt.date(y, 3, 3), dt.date(y, 3, 12)) for y in years]
    around = [(dt.date(y, 3, 15), dt.date(y, 3, 31)) for y in years]  # no 清明, no 春节 tail

    def pooled(frame, windows, col="received", workdays_only=False):
        s = pd.concat([_daily(frame, a, b, col) for a, b in windows])
        if workdays_only:  # petitions follow office days; compare like with like
            s = s[[demo_calendar.day_kind(d) == demo_calendar.WORKDAY for d in s.index]]
        return s.mean()

    risk_ratio = pooled(r, sessions, "new") / pooled(r, around, "new")
    petition_ratio = pooled(pet, sessions, workdays_only=True) / pooled(
        pet, around, workdays_only=True
    )
    assert risk_ratio > 1.3
    assert petition_ratio < 1.35  # ≈1 expected; a small city's petitions are noisy
    assert risk_ratio > petition_ratio + 0.3


# --- hotspot cells -----------------------------------------------------------------------------


def test_ddf040_hotspot_cells_belong_to_grids(facts, units):
    import h3

    cells = facts.hotspot_cells
    assert (cells["cell_id"].map(h3.get_resolution) == 8).all()
    level = units.set_index("code")["level"]
    assert set(cells["unit_code"].map(level)) == {"grid"}
    rural = units[(units["level"] == "grid") & (units["urban_rural"] == "220")]
    assert cells["unit_code"].isin(rural["code"]).sum() > len(rural)  # big grids: many cells
    grid_geom = units.set_index("code").geometry
    own = cells[cells["unit_code"].isin(rural["code"])]
    pts = gpd.points_from_xy(own["lon"], own["lat"], crs=4326)
    assert all(grid_geom[c].contains(p) for c, p in zip(own["unit_code"], pts, strict=True))


def test_ddf041_hotspot_events_match_grid_cases(facts, units):
    grid_codes = set(units.loc[units["level"] == "grid", "code"])
    at_grid = facts.cases[facts.cases["unit_code"].isin(grid_codes)]
    expected = at_grid.groupby(["day", "stream"])["received"].sum()
    got = facts.hotspot_daily.groupby(["day", "stream"])["events"].sum()
    pd.testing.assert_series_equal(
        expected.sort_index(),
        got.reindex(expected.index, fill_value=0).sort_index(),
        check_names=False,
    )
    # Grids whose cells are theirs alone: the sum over their cells equals their cases.
    cells = facts.hotspot_cells
    rural_grids = units.loc[(units["level"] == "grid") & (units["urban_rural"] == "220"), "code"]
    hd = facts.hotspot_daily.merge(cells[["cell_id", "unit_code"]], on="cell_id")
    per_grid = hd.groupby(["unit_code", "day", "stream"])["events"].sum()
    cases = at_grid.groupby(["unit_code", "day", "stream"])["received"].sum()
    sel = cases[cases.index.get_level_values(0).isin(rural_grids)]
    pd.testing.assert_series_equal(
        sel.sort_index(), per_grid.reindex(sel.index, fill_value=0).sort_index(), check_names=False
    )


# --- incidents, determinism, regimes -----------------------------------------------------------


def test_ddf050_incidents_visible_in_data(facts, units):
    kinds = {i.kind: i for i in facts.incidents}
    assert {"dispute_cluster", "petition_surge", "property_ramp", "safety_campaign"} <= set(kinds)
    parent = units.set_index("code")["parent_code"]

    def under(codes: pd.Series, ancestor: str) -> pd.Series:
        hit = pd.Series(False, index=codes.index)
        cur = codes
        for _ in range(5):
            hit |= cur == ancestor
            cur = cur.map(parent)
        return hit

    cluster = kinds["dispute_cluster"]
    assert cluster.description and cluster.injected > 0
    d = _stream(facts, "dispute")
    town = d[under(d["unit_code"], cluster.unit_code)]
    in_window = _daily(town, cluster.start, cluster.end).mean()
    baseline = _daily(
        town, cluster.start - dt.timedelta(days=120), cluster.start - dt.timedelta(days=14)
    ).mean()
    assert in_window >= 3 * baseline
    assert (END - cluster.end).days >= 30

    surge = kinds["petition_surge"]
    assert (END - surge.start).days <= 90
    p = _stream(facts, "petition")
    dist = p[under(p["unit_code"], surge.unit_code)]
    in_window = _daily(dist, surge.start, surge.end).mean()
    baseline = _daily(
        dist, surge.start - dt.timedelta(days=120), surge.start - dt.timedelta(days=14)
    ).mean()
    assert in_window >= 2.5 * baseline

    ramp = kinds["property_ramp"]
    assert ramp.end == END
    v = d[under(d["unit_code"], ramp.unit_code) & (d["category"] == "物业纠纷")]
    assert (
        _daily(v, END - dt.timedelta(days=6), END).sum()
        > _daily(v, ramp.start, ramp.start + dt.timedelta(days=6)).sum()
    )


def test_ddf051_deterministic_by_seed(units, facts):
    again = generate_facts(units, seed=SEED, end=END)
    pd.testing.assert_frame_equal(facts.cases, again.cases)
    pd.testing.assert_frame_equal(facts.patrols, again.patrols)
    pd.testing.assert_frame_equal(facts.risks, again.risks)
    pd.testing.assert_frame_equal(facts.hotspot_cells, again.hotspot_cells)
    pd.testing.assert_frame_equal(facts.hotspot_daily, again.hotspot_daily)
    assert facts.incidents == again.incidents


def test_ddf052_different_seeds_differ(units, facts):
    other = generate_facts(units, seed=SEED + 1, end=END)
    assert len(other.cases) != len(facts.cases) or not other.cases.equals(facts.cases)
    assert not other.risks.equals(facts.risks)


def test_ddf053_dense_regime(units):
    dense = generate_facts(units, seed=SEED, end=END, years=1, grid_event_regime="dense")
    ge = _stream(dense, "grid_event")
    n_grids = int((units["level"] == "grid").sum())
    per_grid_month = ge["received"].sum() / n_grids / 12
    assert 55 <= per_grid_month <= 100
    share = ge.groupby("category")["received"].sum() / ge["received"].sum()
    assert 0.1 < share["安全隐患"] < 0.3


def test_ddf054_end_beyond_chinese_calendar(units):
    late = generate_facts(units, seed=1, end=dt.date(2028, 3, 1), years=2)
    assert late.cases["day"].max() == dt.date(2028, 3, 1)
    d = _stream(late, "dispute")
    lny = demo_calendar.lunar_new_year(2027)
    holiday = _daily(d, lny - dt.timedelta(days=1), lny + dt.timedelta(days=5)).mean()
    around = _daily(d, lny + dt.timedelta(days=10), lny + dt.timedelta(days=30)).mean()
    assert holiday < 0.6 * around


def test_ddf055_towns_directly_under_the_city(units):
    # Jiayuguan has no county level: towns hang directly under the city.
    flat = units[units["level"] != "district"].copy()
    flat.loc[flat["level"] == "town", "parent_code"] = "510300"
    facts = generate_facts(flat, seed=3, end=END, years=1)
    kinds = {i.kind: i for i in facts.incidents}
    assert kinds["petition_surge"].unit_code in set(flat.loc[flat["level"] == "town", "code"])
    assert (facts.cases["received"] > 0).all()
    assert len(facts.patrols) == 4 * 365


def test_ddf056_units_without_geometry_or_population(units):
    bare = units.copy()
    bare["geometry"] = None
    bare.loc[bare["code"].str.endswith("001001001"), "population"] = None  # a 专属 grid
    facts = generate_facts(bare, seed=4, end=END, years=1)
    assert facts.hotspot_cells.empty and facts.hotspot_daily.empty
    assert facts.cases["unit_code"].str.endswith("001001001").any()
