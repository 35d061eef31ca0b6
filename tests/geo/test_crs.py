"""Tests for geo.crs: GCJ-02/BD-09 transforms against published vectors, and CRS edges."""

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from geo import crs

# eviltransform's published test vectors (wgs lon, wgs lat, gcj lon, gcj lat).
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]
# wandergis/coordtransform README: GCJ-02 (116.404, 39.915) and its BD-09 forward/inverse.
CT_POINT = (116.404, 39.915)
CT_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
CT_BD_TO_GCJ_CLOSED_FORM = (116.39762729119315, 39.90865673957631)
CT_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)


def haversine_m(lon1, lat1, lon2, lat2):
    r = 6371008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_crs001_wgs84_to_gcj02_matches_published_vectors(wlon, wlat, glon, glat):
    lon, lat = crs.wgs84_to_gcj02(wlon, wlat)
    assert float(lon) == pytest.approx(glon, abs=1e-9)
    assert float(lat) == pytest.approx(glat, abs=1e-9)


def test_crs002_wgs84_to_gcj02_matches_coordtransform():
    lon, lat = crs.wgs84_to_gcj02(*CT_POINT)
    assert (float(lon), float(lat)) == pytest.approx(CT_WGS_TO_GCJ, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_crs003_gcj02_to_wgs84_inverts_to_1e7_degree(wlon, wlat, glon, glat):
    lon, lat = crs.gcj02_to_wgs84(glon, glat)
    assert abs(float(lon) - wlon) < 1e-7
    assert abs(float(lat) - wlat) < 1e-7


def test_crs004_roundtrip_vectorised_over_china():
    rng = np.random.default_rng(7)
    lon = rng.uniform(74.0, 134.0, 2000)
    lat = rng.uniform(18.0, 53.0, 2000)
    back_lon, back_lat = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert back_lon.shape == lon.shape
    assert np.max(np.abs(back_lon - lon)) < 1e-7
    assert np.max(np.abs(back_lat - lat)) < 1e-7
    bd_lon, bd_lat = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert np.max(np.abs(bd_lon - lon)) < 1e-7
    assert np.max(np.abs(bd_lat - lat)) < 1e-7


def test_crs005_offset_in_fujian_is_100_to_700_m():
    # Ningde, Fuzhou, Xiamen, Quanzhou, Nanping.
    lon = np.array([119.548, 119.296, 118.089, 118.676, 118.178])
    lat = np.array([26.666, 26.074, 24.480, 24.874, 26.641])
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    metres = haversine_m(lon, lat, glon, glat)
    assert np.all(metres > 100) and np.all(metres < 700), metres


def test_crs006_gcj02_to_bd09_matches_published_vector():
    lon, lat = crs.gcj02_to_bd09(*CT_POINT)
    assert (float(lon), float(lat)) == pytest.approx(CT_GCJ_TO_BD, abs=1e-9)


def test_crs007_bd09_to_gcj02_is_exact_inverse_near_closed_form():
    lon, lat = crs.bd09_to_gcj02(*CT_POINT)
    # The published closed form is itself approximate (~0.5 m); ours refines it.
    assert (float(lon), float(lat)) == pytest.approx(CT_BD_TO_GCJ_CLOSED_FORM, abs=1e-5)
    blon, blat = crs.gcj02_to_bd09(lon, lat)
    assert abs(float(blon) - CT_POINT[0]) < 1e-7
    assert abs(float(blat) - CT_POINT[1]) < 1e-7


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(-104.9903, 39.7392), (153.0251, -27.4698), (139.6917, 35.6895), (2.3522, 48.8566)],
)
@pytest.mark.parametrize(
    "func",
    [
        crs.wgs84_to_gcj02,
        crs.gcj02_to_wgs84,
        crs.gcj02_to_bd09,
        crs.bd09_to_gcj02,
        crs.wgs84_to_bd09,
        crs.bd09_to_wgs84,
    ],
)
def test_crs008_outside_china_unchanged(func, lon, lat):
    out_lon, out_lat = func(lon, lat)
    assert float(out_lon) == lon
    assert float(out_lat) == lat


def test_crs009_transform_geometry_moves_every_vertex():
    ring = [(119.5, 26.6), (119.6, 26.6), (119.6, 26.7), (119.5, 26.6)]
    poly = Polygon(ring)
    moved = crs.transform_geometry(poly, crs.wgs84_to_gcj02)
    expected_lon, expected_lat = crs.wgs84_to_gcj02(*np.array(ring).T)
    got = np.asarray(moved.exterior.coords)
    np.testing.assert_allclose(got[:, 0], expected_lon, atol=1e-12)
    np.testing.assert_allclose(got[:, 1], expected_lat, atol=1e-12)


def test_crs010_transform_geojson_copies_and_handles_holes():
    outer = [[119.5, 26.6], [119.6, 26.6], [119.6, 26.7], [119.5, 26.7], [119.5, 26.6]]
    hole = [[119.52, 26.62], [119.53, 26.62], [119.53, 26.63], [119.52, 26.62]]
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "1",
                "properties": {"name": "甲"},
                "geometry": {"type": "Polygon", "coordinates": [outer, hole]},
            },
            {"type": "Feature", "id": "2", "properties": {}, "geometry": None},
        ],
    }
    out = crs.transform_geojson(fc, crs.wgs84_to_gcj02)
    assert fc["features"][0]["geometry"]["coordinates"][0][0] == [119.5, 26.6]  # not mutated
    moved_hole = out["features"][0]["geometry"]["coordinates"][1]
    assert len(moved_hole) == 4
    elon, elat = crs.wgs84_to_gcj02(119.52, 26.62)
    assert moved_hole[0] == pytest.approx([float(elon), float(elat)], abs=1e-12)
    assert out["features"][0]["properties"] == {"name": "甲"}
    assert out["features"][1]["geometry"] is None


def test_crs011_to_wgs84_from_gcj02_geodataframe():
    wgs = Point(119.548, 26.666)
    glon, glat = crs.wgs84_to_gcj02(wgs.x, wgs.y)
    gdf = gpd.GeoDataFrame({"code": ["a"]}, geometry=[Point(glon, glat)], crs=4326)
    out = crs.to_wgs84(gdf, "gcj02")
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].x == pytest.approx(wgs.x, abs=1e-7)
    assert out.geometry.iloc[0].y == pytest.approx(wgs.y, abs=1e-7)
    assert gdf.geometry.iloc[0].x == pytest.approx(float(glon))  # input untouched


def test_crs012_to_wgs84_from_bd09_and_cgcs2000():
    blon, blat = crs.wgs84_to_bd09(119.548, 26.666)
    gdf = gpd.GeoDataFrame(geometry=[Point(blon, blat)], crs=4326)
    out = crs.to_wgs84(gdf, "BD09")
    assert out.geometry.iloc[0].x == pytest.approx(119.548, abs=1e-7)
    cgcs = gpd.GeoDataFrame(geometry=[Point(119.548, 26.666)], crs=4490)
    out = crs.to_wgs84(cgcs, "epsg:4490")
    assert out.crs.to_epsg() == 4326
    # CGCS2000 and WGS-84 agree at centimetre level: well under 1e-6 degree here.
    assert math.isclose(out.geometry.iloc[0].x, 119.548, abs_tol=1e-6)
    assert math.isclose(out.geometry.iloc[0].y, 26.666, abs_tol=1e-6)


def test_crs013_to_wgs84_unknown_source_names_it():
    gdf = gpd.GeoDataFrame(geometry=[Point(119.5, 26.6)], crs=4326)
    with pytest.raises(ValueError, match="mars84"):
        crs.to_wgs84(gdf, "mars84")
