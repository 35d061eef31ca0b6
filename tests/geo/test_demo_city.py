"""Tests for the fictional demo city generator (geo.demo_city) and geo.coverage helpers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from data.levels import LEVEL_ORDER, LEVEL_RANK, Level
from geo.coverage import is_valid_coverage, reading_order, union_by_group
from geo.demo_city import COLUMNS, PRESETS, build_city

CODE_LENGTH = {"city": 6, "district": 6, "town": 9, "village": 12, "grid": 15}
# Tolerances in square degrees (1e-9 deg² ≈ 0.01 m²): anything above is a real gap or overlap.
AREA_TOL = 1e-9


@pytest.fixture(scope="module")
def tiny():
    return build_city("tiny", seed=7)


@pytest.fixture(scope="module")
def demo():
    return build_city("demo", seed=7)


def _by_level(units, level):
    return units[units["level"] == level]


def test_dc001_columns_crs_and_counts(tiny):
    assert tuple(tiny.columns) == COLUMNS
    assert tiny.crs.to_epsg() == 4326
    counts = tiny["level"].value_counts()
    assert counts["city"] == 1
    assert counts["district"] == 2
    assert 5 <= counts["town"] <= 8
    assert 30 <= counts["village"] <= 60
    assert 100 <= counts["grid"] <= 250
    # Rows come level by level, top down.
    ranks = tiny["level"].map({lvl.value: r for lvl, r in LEVEL_RANK.items()})
    assert ranks.is_monotonic_increasing
    assert set(tiny["level"]) == {lvl.value for lvl in LEVEL_ORDER}


def test_dc002_codes_unique_lengths_and_prefixes(tiny):
    assert tiny["code"].is_unique
    assert tiny["code"].str.fullmatch(r"\d+").all()
    assert (tiny["code"].str.len() == tiny["level"].map(CODE_LENGTH)).all()
    city = _by_level(tiny, "city")
    assert city["code"].item() == "359800"
    assert city["parent_code"].isna().all()
    # GB/T 2260: a district extends the city's 4-digit prefix (3598xx under 359800); every
    # lower code extends its parent's full code.
    districts = _by_level(tiny, "district")
    assert (districts["code"].str[:4] == districts["parent_code"].str[:4]).all()
    assert (districts["code"].str[4:] != "00").all()
    lower = tiny[tiny["level"].isin(["town", "village", "grid"])]
    starts = [c.startswith(p) for c, p in zip(lower["code"], lower["parent_code"], strict=True)]
    assert all(starts)


def test_dc003_code_ranges_match_unit_class(tiny):
    districts = _by_level(tiny, "district")
    digits = districts["code"].str[4:6].astype(int)
    suffix = districts["name"].str[-1]
    assert digits[suffix == "区"].between(1, 18).all()
    assert digits[suffix == "县"].between(21, 80).all()
    assert digits[suffix == "市"].between(81, 99).all()

    towns = _by_level(tiny, "town")
    seq = towns["code"].str[-3:].astype(int)
    assert seq[towns["name"].str.endswith("街道")].between(1, 99).all()
    assert seq[towns["name"].str.endswith("镇")].between(100, 199).all()
    assert seq[towns["name"].str.endswith("乡")].between(200, 399).all()
    assert towns["name"].str.contains("街道$|镇$|乡$").all()

    villages = _by_level(tiny, "village")
    seq = villages["code"].str[-3:].astype(int)
    is_community = villages["name"].str.endswith("社区")
    assert (is_community | villages["name"].str.endswith("村")).all()
    assert seq[is_community].between(1, 199).all()
    assert seq[~is_community].between(200, 399).all()


def test_dc004_grid_sequence_is_consecutive_and_in_reading_order(tiny):
    grids = _by_level(tiny, "grid")
    seq = grids["code"].str[-3:].astype(int)
    for _, group in seq.groupby(grids["parent_code"]):
        assert sorted(group) == list(range(1, len(group) + 1))
    # West→east, north→south inside each village: recomputing the order must give code order.
    centroids = shapely.centroid(grids.geometry.values)
    checked = 0
    for _, g in grids.assign(x=shapely.get_x(centroids), y=shapely.get_y(centroids)).groupby(
        "parent_code"
    ):
        if len(g) < 3:
            continue
        by_code = g.sort_values("code")
        order = reading_order(by_code["x"].to_numpy(), by_code["y"].to_numpy())
        assert list(order) == list(range(len(g)))
        checked += 1
    assert checked >= 10


def test_dc005_parents_exist_one_level_up(tiny):
    level_of = dict(zip(tiny["code"], tiny["level"], strict=True))
    for code, level, parent in zip(tiny["code"], tiny["level"], tiny["parent_code"], strict=True):
        if level == "city":
            continue
        assert parent in level_of, code
        assert LEVEL_RANK[Level(level_of[parent])] == LEVEL_RANK[Level(level)] - 1


def test_dc006_children_inside_parent(tiny):
    geom_of = dict(zip(tiny["code"], tiny.geometry, strict=True))
    below = tiny[tiny["level"] != "city"]
    parents = np.array([geom_of[p] for p in below["parent_code"]], dtype=object)
    outside = shapely.area(shapely.difference(below.geometry.values, parents))
    assert outside.max() < AREA_TOL


def test_dc007_levels_are_valid_coverages_and_children_tile_parent(tiny):
    assert shapely.is_valid(tiny.geometry.values).all()
    assert tiny.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    # Contiguity: MultiPolygons may occur but must be rare.
    assert (tiny.geom_type == "MultiPolygon").mean() < 0.02
    for level in ("district", "town", "village", "grid"):
        assert is_valid_coverage(_by_level(tiny, level).geometry.values), level
    geom_of = dict(zip(tiny["code"], tiny.geometry, strict=True))
    below = tiny[tiny["level"] != "city"]
    for parent, kids in below.groupby("parent_code").geometry:
        union = shapely.coverage_union_all(kids.values)
        assert shapely.area(shapely.symmetric_difference(union, geom_of[parent])) < AREA_TOL
        # Siblings do not overlap: their areas add up to the parent's.
        assert abs(shapely.area(kids.values).sum() - geom_of[parent].area) < AREA_TOL


def test_dc008_populations_sum_exactly(tiny):
    for col in ("population", "households"):
        assert pd.api.types.is_integer_dtype(tiny[col])
        assert (tiny[col] > 0).all()
        below = tiny[tiny["level"] != "city"]
        sums = below.groupby("parent_code")[col].sum()
        own = tiny.set_index("code")[col]
        parents = tiny[tiny["level"] != "grid"]
        assert len(sums) == len(parents)
        assert (sums == own.loc[sums.index]).all()


def test_dc009_grid_population_bands(tiny):
    grids = _by_level(tiny, "grid")
    general = grids[grids["grid_type"] == "综合"]
    urban = general["urban_rural"].isin(["111", "112", "121"])
    assert general.loc[urban, "population"].between(1200, 2500).all()
    assert general.loc[~urban, "population"].between(400, 1000).all()
    ratio = grids["population"] / grids["households"]
    assert ratio.between(2.2, 3.6).all()


def test_dc010_urban_rural_and_grid_type(tiny):
    upper = tiny[tiny["level"].isin(["city", "district", "town"])]
    assert upper["urban_rural"].isna().all()
    lower = tiny[tiny["level"].isin(["village", "grid"])]
    assert lower["urban_rural"].isin(["111", "112", "121", "122", "123", "210", "220"]).all()
    villages = _by_level(tiny, "village").set_index("code")
    grids = _by_level(tiny, "grid")
    inherited = villages.loc[grids["parent_code"], "urban_rural"].to_numpy()
    assert (grids["urban_rural"].to_numpy() == inherited).all()
    assert tiny.loc[tiny["level"] != "grid", "grid_type"].isna().all()
    assert grids["grid_type"].isin(["综合", "专属"]).all()
    assert (grids["grid_type"] == "综合").mean() > 0.8


def test_dc011_names_unique_within_parent_and_well_formed(tiny):
    assert not tiny.duplicated(["parent_code", "name"]).any()
    grids = _by_level(tiny, "grid")
    assert grids["name"].str.endswith("网格").all()
    villages = _by_level(tiny, "village").set_index("code")["name"]
    starts = [
        n.startswith(villages[p]) for n, p in zip(grids["name"], grids["parent_code"], strict=True)
    ]
    assert all(starts)
    assert _by_level(tiny, "district")["name"].str.contains("[区县市]$").all()


def test_dc012_sort_key_orders_siblings_by_code(tiny):
    for _, g in tiny.groupby(tiny["parent_code"].fillna("-")):
        assert list(g.sort_values("code")["sort_key"]) == list(range(1, len(g) + 1))


def test_dc013_urban_grids_smaller_than_rural(tiny):
    grids = _by_level(tiny, "grid").to_crs(32650)
    area = grids.area
    assert (
        area[grids["urban_rural"] == "111"].median()
        < 0.5 * area[grids["urban_rural"] == "220"].median()
    )


def test_dc014_deterministic_by_seed():
    first = build_city("tiny", seed=3)
    again = build_city("tiny", seed=3)
    assert_geodataframe_equal(first, again)
    other = build_city("tiny", seed=4)
    same_shape = len(other) == len(first) and (other["code"].values == first["code"].values).all()
    assert not same_shape or not other.geometry.geom_equals(first.geometry).all()
    assert not first["name"].equals(other["name"]) or not first["population"].equals(
        other["population"]
    )


def test_dc015_custom_preset_and_unknown_name():
    custom = dataclasses.replace(PRESETS["tiny"], key="custom", n_county=2, city_name="青屿市")
    units = build_city(custom, seed=1)
    assert units.loc[units["level"] == "city", "name"].item() == "青屿市"
    assert (units["level"] == "district").sum() == 3
    with pytest.raises(KeyError):
        build_city("no-such-preset")


def test_dc016_demo_city_sizes_and_tiling(demo):
    counts = demo["level"].value_counts()
    assert 6 <= counts["district"] <= 9
    assert 110 <= counts["town"] <= 150
    assert 1700 <= counts["village"] <= 2400
    assert 5000 <= counts["grid"] <= 7000
    city = _by_level(demo, "city")
    assert 3_000_000 <= city["population"].item() <= 4_000_000
    area_km2 = city.to_crs(32650).area.item() / 1e6
    assert 8_000 <= area_km2 <= 12_000
    minx, miny, maxx, maxy = demo.total_bounds
    assert minx >= 116.5 and maxx <= 118.0
    assert miny >= 25.0 and maxy <= 26.5
    grids = _by_level(demo, "grid")
    assert is_valid_coverage(grids.geometry.values)
    union = shapely.coverage_union_all(grids.geometry.values)
    assert shapely.area(shapely.symmetric_difference(union, city.geometry.item())) < AREA_TOL
    assert (demo.geom_type == "MultiPolygon").mean() < 0.01
    districts = _by_level(demo, "district")
    urban = districts["name"].str.endswith("区")
    areas = districts.to_crs(32650).area
    assert areas[urban].max() < areas[~urban].min()


def test_dc017_union_by_group_and_reading_order():
    boxes = np.array([shapely.box(i, j, i + 1, j + 1) for j in range(2) for i in range(3)])
    merged = union_by_group(boxes, np.array([0, 0, 1, 0, 0, 1]), 2)
    assert merged[0].equals(shapely.box(0, 0, 2, 2))
    assert merged[1].equals(shapely.box(2, 0, 3, 2))
    with pytest.raises(ValueError):
        union_by_group(boxes, np.zeros(6, dtype=int), 2)
    # Two rows of two: north-west, north-east, south-west, south-east.
    x = np.array([1.0, 0.0, 1.1, 0.1])
    y = np.array([0.0, 0.1, 1.0, 1.1])
    assert list(reading_order(x, y)) == [3, 2, 1, 0]
    assert not is_valid_coverage([shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)])
