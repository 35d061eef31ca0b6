"""Boundary import: GeoJSON/Shapefile/GeoPackage, every CRS, joins, repairs and checks."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
import sqlalchemy as sa
from _importer_support import snapshot
from shapely.geometry import MultiPolygon, Polygon, box

from data import db, schema
from data.importers import ImportFailed, import_boundaries

#: WGS-84 truth for the fixture city of conftest.UNITS (near Ningde, inside China).
BOXES = {
    "359800": box(119.0, 26.0, 119.2, 26.1),
    "359802": box(119.0, 26.0, 119.1, 26.1),
    "359803": box(119.1, 26.0, 119.2, 26.1),
    "359802001": box(119.0, 26.0, 119.05, 26.1),
    "359802100": box(119.05, 26.0, 119.1, 26.1),
    "359803100": box(119.1, 26.0, 119.2, 26.1),
}
NAMES = {"359802001": "东街街道", "359802100": "万安镇", "359803100": "万安镇"}
PARENT_NAMES = {"359802001": "东区", "359802100": "东区", "359803100": "西区"}


def _frame(codes, crs=4326, **extra) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"adcode": [int(c) for c in codes], **extra},
        geometry=[BOXES[c] for c in codes],
        crs=crs,
    )


def _stored(engine) -> dict[str, dict]:
    u = schema.units
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                u.c.code,
                u.c.geometry,
                u.c.geometry_display,
                u.c.label_lon,
                u.c.label_lat,
                u.c.area_km2,
            )
        ).mappings()
        return {
            r["code"]: {
                **r,
                "geom": shapely.from_wkb(bytes(r["geometry"]))
                if r["geometry"] is not None
                else None,
            }
            for r in rows
        }


def _geodesic_km2(geom) -> float:
    return abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6


def _close(a, b, tol) -> bool:
    return shapely.hausdorff_distance(a, b) < tol


def test_geojson_with_integer_codes(seeded, tmp_path):
    path = tmp_path / "districts.geojson"
    _frame(["359802", "359803"]).to_file(path, driver="GeoJSON")
    assert '"adcode": 359802' in path.read_text()  # the code really is an int in the file
    with seeded.connect() as conn:
        version = int(db.get_meta(conn, "data_version"))
    report = import_boundaries(seeded, path)
    assert report.updated == 2 and not report.errors
    stored = _stored(seeded)
    east = stored["359802"]
    assert isinstance(east["geom"], MultiPolygon)
    assert _close(east["geom"], BOXES["359802"], 1e-9)
    assert east["geom"].contains(shapely.Point(east["label_lon"], east["label_lat"]))
    assert east["area_km2"] == pytest.approx(_geodesic_km2(BOXES["359802"]), rel=5e-3)
    assert east["geometry_display"] is not None
    assert stored["359800"]["geom"] is None  # a parent without polygon is fine
    with seeded.connect() as conn:
        assert int(db.get_meta(conn, "data_version")) == version + 1

    before = snapshot(seeded)
    again = import_boundaries(seeded, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot(seeded) == before


def test_shapefile_gbk_without_cpg_joined_by_name_within_parent(seeded, tmp_path):
    codes = ["359802001", "359802100", "359803100"]
    frame = gpd.GeoDataFrame(
        {"名称": [NAMES[c] for c in codes], "所属区县": [PARENT_NAMES[c] for c in codes]},
        geometry=[BOXES[c] for c in codes],
        crs=4326,
    )
    path = tmp_path / "towns.shp"
    frame.to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink()
    raw = path.with_suffix(".dbf").read_bytes()
    assert "万安镇".encode("gbk") in raw and "万安镇".encode() not in raw

    report = import_boundaries(seeded, path, join="name")
    assert report.updated == 3, report.format()
    stored = _stored(seeded)
    # The two 万安镇 got their own polygons, not each other's.
    assert _close(stored["359802100"]["geom"], BOXES["359802100"], 1e-9)
    assert _close(stored["359803100"]["geom"], BOXES["359803100"], 1e-9)


def test_name_join_without_parent_is_ambiguous(seeded, tmp_path):
    frame = gpd.GeoDataFrame({"name": ["万安镇"]}, geometry=[BOXES["359802100"]], crs=4326)
    path = tmp_path / "t.geojson"
    frame.to_file(path, driver="GeoJSON")
    before = snapshot(seeded)
    with pytest.raises(ImportFailed) as exc:
        import_boundaries(seeded, path, join="name")
    (err,) = exc.value.report.errors
    assert "ambiguous name" in err.reason_en and err.row == 1 and err.value == "万安镇"
    assert snapshot(seeded) == before


def test_geopackage_in_cgcs2000(seeded, tmp_path):
    path = tmp_path / "d.gpkg"
    _frame(["359802", "359803"], crs=4490).to_file(path, driver="GPKG")
    report = import_boundaries(seeded, path)
    assert report.updated == 2
    assert _close(_stored(seeded)["359803"]["geom"], BOXES["359803"], 1e-6)


@pytest.mark.parametrize("source", ["gcj02", "bd09"])
def test_gcj02_and_bd09_return_to_wgs84(seeded, tmp_path, source):
    crs = pytest.importorskip("geo.crs")
    forward = {"gcj02": crs.wgs84_to_gcj02, "bd09": crs.wgs84_to_bd09}[source]
    codes = ["359802", "359803"]
    truth = [shapely.segmentize(BOXES[c], 0.01) for c in codes]
    shifted = crs.transform_geometry(np.array(truth, dtype=object), forward)
    assert shapely.hausdorff_distance(shifted[0], truth[0]) > 1e-3  # hundreds of metres
    path = tmp_path / f"{source}.geojson"
    gpd.GeoDataFrame({"adcode": [int(c) for c in codes]}, geometry=list(shifted), crs=4326).to_file(
        path
    )
    import_boundaries(seeded, path, crs=source)
    stored = _stored(seeded)
    for code, geom in zip(codes, truth, strict=True):
        assert _close(stored[code]["geom"], geom, 1e-5)


def test_clockwise_rings_are_oriented_and_bowtie_repaired(seeded, tmp_path):
    clockwise = Polygon(list(BOXES["359802"].exterior.coords)[::-1])
    assert not clockwise.exterior.is_ccw
    bowtie = Polygon([(119.1, 26.0), (119.2, 26.1), (119.2, 26.0), (119.1, 26.1), (119.1, 26.0)])
    assert not bowtie.is_valid
    path = tmp_path / "d.geojson"
    gpd.GeoDataFrame({"adcode": [359802, 359803]}, geometry=[clockwise, bowtie], crs=4326).to_file(
        path
    )
    report = import_boundaries(seeded, path)
    assert any("repaired" in w.message_en and "359803" in w.units for w in report.warnings)
    stored = _stored(seeded)
    assert all(p.exterior.is_ccw for p in stored["359802"]["geom"].geoms)
    west = stored["359803"]["geom"]
    assert west.is_valid and len(west.geoms) == 2
    assert west.area == pytest.approx(0.005)


def test_unrepairable_geometry_is_refused(seeded, tmp_path):
    flat = Polygon([(119.0, 26.0), (119.1, 26.1), (119.2, 26.2), (119.0, 26.0)])
    path = tmp_path / "d.geojson"
    gpd.GeoDataFrame(
        {"adcode": [359802, 359803]}, geometry=[BOXES["359802"], flat], crs=4326
    ).to_file(path)
    before = snapshot(seeded)
    with pytest.raises(ImportFailed) as exc:
        import_boundaries(seeded, path)
    (err,) = exc.value.report.errors
    assert err.row == 2 and err.column == "geometry" and "cannot be repaired" in err.reason_en
    assert snapshot(seeded) == before


def test_unknown_code_refused_or_skipped(seeded, tmp_path):
    frame = _frame(["359802", "359803"])
    frame.loc[1, "adcode"] = 359899
    path = tmp_path / "d.geojson"
    frame.to_file(path)
    before = snapshot(seeded)
    with pytest.raises(ImportFailed) as exc:
        import_boundaries(seeded, path)
    (err,) = exc.value.report.errors
    assert (err.row, err.column, err.value, err.reason_en) == (
        2,
        "adcode",
        "359899",
        "unknown unit code",
    )
    assert snapshot(seeded) == before

    rejects = tmp_path / "rej.csv"
    report = import_boundaries(seeded, path, skip_bad=True, rejects=rejects)
    assert report.updated == 1 and report.counts["rejected"] == 1
    assert "359899" in rejects.read_text(encoding="utf-8-sig")


def test_hierarchy_warnings_with_km2(seeded, tmp_path):
    # City outline given; the east district pokes 0.01° out of it and overlaps the west one;
    # the west one leaves a strip of the city uncovered.
    geoms = {
        "359800": BOXES["359800"],
        "359802": box(118.99, 26.0, 119.12, 26.1),
        "359803": box(119.11, 26.0, 119.19, 26.1),
    }
    path = tmp_path / "d.geojson"
    gpd.GeoDataFrame(
        {"adcode": [int(c) for c in geoms]}, geometry=list(geoms.values()), crs=4326
    ).to_file(path)
    report = import_boundaries(seeded, path)
    outside = next(w for w in report.warnings if "outside" in w.message_en)
    overlap = next(w for w in report.warnings if "overlap" in w.message_en)
    gap = next(w for w in report.warnings if "gap" in w.message_en)
    strip = _geodesic_km2(box(118.99, 26.0, 119.0, 26.1))
    assert outside.units == ("359802", "359800") and outside.area_km2 == pytest.approx(
        strip, rel=0.01
    )
    assert overlap.area_km2 == pytest.approx(strip, rel=0.01)
    assert gap.area_km2 == pytest.approx(strip, rel=0.01)
    assert "km²" in report.format()


def test_dissolve_missing_parents(seeded, tmp_path):
    path = tmp_path / "d.geojson"
    _frame(["359802", "359803"]).to_file(path)
    report = import_boundaries(seeded, path, dissolve_missing_parents=True)
    assert report.updated == 3
    city = _stored(seeded)["359800"]
    assert city["geom"].area == pytest.approx(BOXES["359800"].area)


def test_projected_coordinates_without_crs(seeded, tmp_path):
    path = tmp_path / "metres.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"adcode": 359802},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [500000, 2900000],
                                    [510000, 2900000],
                                    [510000, 2910000],
                                    [500000, 2900000],
                                ]
                            ],
                        },
                    }
                ],
            }
        )
    )
    with pytest.raises(ImportFailed) as exc:
        import_boundaries(seeded, path)
    assert "out of lon/lat range" in exc.value.report.errors[0].reason_en


def test_truncated_geojson(seeded, tmp_path):
    path = tmp_path / "d.geojson"
    _frame(["359802", "359803"]).to_file(path)
    text = path.read_text()
    path.write_text(text[: len(text) * 2 // 3])
    before = snapshot(seeded)
    with pytest.raises(ImportFailed) as exc:
        import_boundaries(seeded, path)
    assert "cannot read the geographic file" in exc.value.report.errors[0].reason_en
    assert snapshot(seeded) == before


def test_no_units_yet(engine, tmp_path):
    path = tmp_path / "d.geojson"
    _frame(["359802"]).to_file(path)
    with pytest.raises(ImportFailed) as exc:
        import_boundaries(engine, path)
    assert "import units first" in exc.value.report.errors[0].reason_en
