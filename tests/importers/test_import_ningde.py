"""The real Ningde data (read from ../shared, never copied): 2,482 units and 9 GCJ-02 districts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from _importer_support import NINGDE, snapshot

from data import schema
from data.importers import import_boundaries, import_units

pytestmark = pytest.mark.skipif(NINGDE is None, reason="shared/realdata/ningde not available")


@pytest.fixture
def ningde(engine):
    report = import_units(engine, NINGDE / "units_ningde.csv", vintage=2020)
    assert report.inserted == 2482 and not report.errors
    return engine


def test_units(ningde):
    with ningde.connect() as conn:
        levels = dict(
            conn.execute(
                sa.select(schema.units.c.level, sa.func.count()).group_by(schema.units.c.level)
            ).all()
        )
        root = conn.execute(
            sa.select(schema.units.c.code).where(schema.units.c.parent_code.is_(None))
        ).all()
        codes = (
            conn.execute(sa.select(schema.units.c.code).where(schema.units.c.code.like("3509%")))
            .scalars()
            .all()
        )
    assert levels == {"city": 1, "district": 10, "town": 130, "village": 2341}
    assert root == [("3509",)]
    assert {len(c) for c in codes} == {4, 6, 9, 12}  # codes stay strings of their own length
    again = import_units(ningde, NINGDE / "units_ningde.csv", vintage=2020)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2482)


def test_gcj02_district_boundaries(ningde):
    from geo.crs import gcj02_to_wgs84

    path = NINGDE / "boundaries_ningde_districts.geojson"
    report = import_boundaries(ningde, path, crs="gcj02", dissolve_missing_parents=True)
    assert report.counts["read"] == 9 and not report.errors
    assert report.updated == 10  # 9 districts + the dissolved city outline
    u = schema.units
    with ningde.connect() as conn:
        rows = {
            r.code: r
            for r in conn.execute(
                sa.select(u.c.code, u.c.geometry, u.c.level, u.c.area_km2).where(
                    u.c.geometry.is_not(None)
                )
            )
        }
    assert set(rows) == {
        "3509",
        *{f["properties"]["adcode"].__str__() for f in json.loads(path.read_text())["features"]},
    }
    assert "350901" not in rows  # 市辖区: no polygon, accepted
    for feature in json.loads(path.read_text())["features"]:
        code = str(feature["properties"]["adcode"])  # an int in the file
        geom = shapely.from_wkb(rows[code].geometry)
        assert all(p.exterior.is_ccw for p in geom.geoms)  # the file's rings run clockwise
        # The source's GCJ-02 centroid, moved to WGS-84, matches the stored polygon's centroid
        # (to ~50 m: the offset varies across a county), and is far from the raw GCJ-02 one.
        gcj = feature["properties"]["centroid"]
        lon, lat = gcj02_to_wgs84(*gcj)
        largest = max(geom.geoms, key=lambda p: p.area).centroid
        assert np.hypot(largest.x - lon, largest.y - lat) < 5e-4
        assert np.hypot(largest.x - gcj[0], largest.y - gcj[1]) > 2e-3
    total = sum(r.area_km2 for c, r in rows.items() if c != "3509")
    assert 13_000 < total < 14_000  # 宁德市 is about 13,450 km²
    assert rows["3509"].area_km2 == pytest.approx(total, rel=1e-3)

    before = snapshot(ningde)
    again = import_boundaries(ningde, path, crs="gcj02", dissolve_missing_parents=True)
    assert again.updated == 0
    assert snapshot(ningde) == before


def test_name_join_matches_the_same_districts(ningde):
    path = NINGDE / "boundaries_ningde_districts.geojson"
    report = import_boundaries(ningde, path, crs="gcj02", join="name", dry_run=True)
    assert report.updated == 9 and not report.errors
