"""Roll-ups, the closure table and `check_database` on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from data import check, facts, repository, rollup, schema, units
from data.repository import Repository, UnknownUnit

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)


def small_city() -> gpd.GeoDataFrame:
    """City → one district → two towns; a second town sits directly under the city."""
    rows = [
        ("359800", "测试市", "city", None, shapely.box(0, 0, 4, 2)),
        ("359802", "甲区", "district", "359800", shapely.box(0, 0, 2, 2)),
        ("359802001", "一街道", "town", "359802", shapely.box(0, 0, 1, 2)),
        ("359802002", "二街道", "town", "359802", shapely.box(1, 0, 2, 2)),
        ("359800101", "直辖镇", "town", "359800", None),
    ]
    frame = gpd.GeoDataFrame(
        [
            {
                "code": c,
                "name": n,
                "level": lv,
                "parent_code": p,
                "population": 1000,
                "households": 400,
                "urban_rural": None,
                "grid_type": None,
                "sort_key": i,
                "geometry": g,
            }
            for i, (c, n, lv, p, g) in enumerate(rows)
        ],
        geometry="geometry",
        crs=4326,
    )
    return frame


def case_rows(rows: list[tuple[str, dt.date, str, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["unit_code", "day", "stream", "received", "resolved"])
    frame["category"] = "邻里"
    frame["channel"] = "主动调解"
    for m in schema.CASE_MEASURES:
        if m not in frame:
            frame[m] = 0
    return frame


@pytest.fixture
def loaded(engine: sa.Engine) -> sa.Engine:
    cases = case_rows(
        [
            ("359802001", D1, "dispute", 3, 2),
            ("359802002", D1, "dispute", 4, 4),
            ("359802002", D2, "dispute", 1, 1),
            ("359802", D2, "petition", 5, 0),  # recorded at district level: no town known
            ("359800101", D1, "dispute", 7, 6),
        ]
    )
    with engine.begin() as conn:
        units.replace_units(conn, small_city(), vintage=2026)
        facts.insert_frame(conn, schema.case_daily, cases)
        rollup.refresh(conn)
    return engine


def test_closure_lists_every_ancestor_pair() -> None:
    rows = rollup.closure_rows({"a": None, "b": "a", "c": "b"})
    pairs = {(r["ancestor_code"], r["descendant_code"], r["depth"]) for r in rows}
    assert pairs == {
        ("a", "a", 0),
        ("b", "b", 0),
        ("c", "c", 0),
        ("a", "b", 1),
        ("b", "c", 1),
        ("a", "c", 2),
    }


def test_closure_rejects_cycles_and_missing_parents() -> None:
    with pytest.raises(rollup.HierarchyError, match="cycle"):
        rollup.closure_rows({"a": "b", "b": "a"})
    with pytest.raises(rollup.HierarchyError, match="not found"):
        rollup.closure_rows({"a": None, "b": "zz"})


def test_rollup_adds_own_records_and_descendants(loaded: sa.Engine) -> None:
    repo = Repository(loaded)
    totals = repo.totals(["359800", "359802", "359802001", "359800101"], D1, D2)
    assert totals.loc["359802001", "dispute.received"] == 3
    assert totals.loc["359802", "dispute.received"] == 3 + 4 + 1
    assert totals.loc["359802", "petition.received"] == 5
    assert totals.loc["359800", "dispute.received"] == 3 + 4 + 1 + 7
    assert totals.loc["359800", "dispute.resolved"] == 2 + 4 + 1 + 6
    only_d1 = repo.totals(["359800"], D1, D1)
    assert only_d1.loc["359800", "dispute.received"] == 3 + 4 + 7


def test_refresh_of_a_day_range_leaves_other_days(loaded: sa.Engine) -> None:
    with loaded.begin() as conn:
        conn.execute(
            sa.update(schema.case_daily)
            .where(schema.case_daily.c.unit_code == "359802002", schema.case_daily.c.day == D2)
            .values(received=10)
        )
        rollup.refresh(conn, ["cases"], start=D2, end=D2)
    totals = Repository(loaded).totals(["359800"], D1, D2)
    assert totals.loc["359800", "dispute.received"] == 3 + 4 + 10 + 7


def test_check_passes_on_consistent_data(loaded: sa.Engine) -> None:
    report = check.check_database(loaded)
    assert report.ok, report.format()
    assert report.facts["units"] == 5


def test_check_reports_a_stale_rollup(loaded: sa.Engine) -> None:
    with loaded.begin() as conn:
        conn.execute(
            sa.update(schema.case_daily)
            .where(schema.case_daily.c.unit_code == "359802001")
            .values(received=99)
        )
    report = check.check_database(loaded)
    assert not report.ok
    assert any("359802001" in p and "received" in p for p in report.problems)


def test_check_reports_a_missing_parent(loaded: sa.Engine) -> None:
    with loaded.begin() as conn:
        conn.execute(
            sa.update(schema.units)
            .where(schema.units.c.code == "359802002")
            .values(parent_code="359899")
        )
    report = check.check_database(loaded)
    assert any("359899" in p for p in report.problems)


def test_repository_lineage_skips_missing_levels(loaded: sa.Engine) -> None:
    repo = Repository(loaded)
    assert [u.code for u in repo.lineage("359802001")] == ["359800", "359802", "359802001"]
    assert [u.code for u in repo.lineage("359800101")] == ["359800", "359800101"]
    assert repo.is_within("359802001", "359802")
    assert not repo.is_within("359800101", "359802")
    with pytest.raises(UnknownUnit):
        repo.unit("000000")


def test_children_features_only_units_with_polygons(loaded: sa.Engine) -> None:
    repo = Repository(loaded)
    fc = repo.children_features("359800")
    assert fc is not None
    assert [f["id"] for f in fc["features"]] == ["359802"]
    assert repo.children_features("359802001") is None
    kids = repo.children("359800")
    assert list(kids["code"]) == ["359802", "359800101"]
    assert list(kids["has_geometry"]) == [True, False]


def test_children_features_round_a_polygon_once_and_see_a_new_one(
    loaded: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rounded GeoJSON is kept per polygon across reads (and data versions); a polygon
    written anew is read anew."""
    repository._display_shape.cache_clear()  # other tests read the same polygons
    repo = Repository(loaded)
    first = repo.children_features("359800")
    rounded: list[object] = []
    set_precision = shapely.set_precision
    monkeypatch.setattr(
        shapely, "set_precision", lambda g, *a, **k: rounded.append(g) or set_precision(g, *a, **k)
    )
    assert repo.children_features("359800") == first
    assert rounded == []

    moved = shapely.Polygon([(119.1, 26.1), (119.2, 26.1), (119.2, 26.2), (119.1, 26.1)])
    with loaded.begin() as conn:
        conn.execute(
            sa.update(schema.units)
            .where(schema.units.c.code == "359802")
            .values(geometry_display=shapely.to_wkb(moved))
        )
    again = repo.children_features("359800")
    assert again is not None and len(rounded) == 1
    assert shapely.from_geojson(json.dumps(again["features"][0]["geometry"])).equals(moved)
    assert again["bbox"] == [119.1, 26.1, 119.2, 26.2]
