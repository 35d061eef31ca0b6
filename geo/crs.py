"""Coordinate conversions between WGS-84, CGCS2000, GCJ-02 and BD-09.

Shiyu stores every coordinate in WGS-84 (EPSG:4326); CGCS2000 (EPSG:4490) differs from it
only at centimetre level. Two Chinese obfuscated systems also turn up at the edges:

* **GCJ-02** ("Mars coordinates"), used by AutoNavi/高德 and Tencent tiles and by many
  DataV-derived boundary files that are mislabelled as WGS-84;
* **BD-09**, Baidu's second offset applied on top of GCJ-02.

The GCJ-02 forward transform below is the standard published algorithm (Krasovsky ellipsoid
constants ``a = 6378245``, ``ee = 0.00669342162296594323``), the same one implemented by
``eviltransform``, ``prcoords`` and ``coordtransform``. Its inverse has no closed form and is
solved by fixed-point iteration to better than 1e-7 degrees (about 1 cm). Points outside the
rough rectangle of mainland China used by those libraries are returned unchanged by every
transform here, because commercial Chinese maps do not offset them either.

All point transforms are vectorised over NumPy arrays and accept scalars as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

__all__ = [
    "SOURCES",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "transform_geojson",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

PointTransform = Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0  # Baidu's constant for the BD-09 rotation
_TOLERANCE_DEG = 1e-9  # iteration stops well below the 1e-7 degree target
_MAX_ITER = 30

#: Source coordinate systems accepted by :func:`to_wgs84`.
SOURCES = ("wgs84", "cgcs2000", "epsg:4490", "gcj02", "bd09")


def out_of_china(lon: Any, lat: Any) -> np.ndarray:
    """Tell which points lie outside the rectangle in which GCJ-02 applies an offset.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees.

    Returns
    -------
    numpy.ndarray of bool
        True where the point is outside (72.004–137.8347 E, 0.8293–55.8271 N).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _delta_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS-84 points; zero outside China."""
    dlat = _delta_lat(lon - 105.0, lat - 35.0)
    dlon = _delta_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _as_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.copy(), lat_a.copy()


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 coordinates to GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitudes and latitudes in degrees (scalars or arrays of one shape).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)``; points outside China are returned unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _gcj_offset(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 coordinates to WGS-84 by fixed-point iteration.

    Each step moves the estimate by the difference between its forward transform and the
    target; the offset field is smooth, so this converges to well under 1e-7 degrees in a
    handful of steps.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 ``(lon, lat)``; points outside China are returned unchanged.
    """
    lon_t, lat_t = _as_arrays(lon, lat)
    dlon, dlat = _gcj_offset(lon_t, lat_t)
    wlon, wlat = lon_t - dlon, lat_t - dlat
    for _ in range(_MAX_ITER):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon_t, glat - lat_t
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < _TOLERANCE_DEG) and np.all(np.abs(elat) < _TOLERANCE_DEG):
            break
    outside = out_of_china(lon_t, lat_t)
    return np.where(outside, lon_t, wlon), np.where(outside, lat_t, wlat)


def _gcj02_to_bd09_raw(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 coordinates to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)``; points outside China are returned unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    blon, blat = _gcj02_to_bd09_raw(lon_a, lat_a)
    outside = out_of_china(lon_a, lat_a)
    return np.where(outside, lon_a, blon), np.where(outside, lat_a, blat)


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 coordinates to GCJ-02.

    Starts from Baidu's published approximate inverse and refines it by iteration so that
    ``gcj02_to_bd09(bd09_to_gcj02(p)) == p`` to better than 1e-7 degrees.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)``; points outside China are returned unchanged.
    """
    lon_t, lat_t = _as_arrays(lon, lat)
    x, y = lon_t - 0.0065, lat_t - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(_MAX_ITER):
        blon, blat = _gcj02_to_bd09_raw(glon, glat)
        elon, elat = blon - lon_t, blat - lat_t
        glon, glat = glon - elon, glat - elat
        if np.all(np.abs(elon) < _TOLERANCE_DEG) and np.all(np.abs(elat) < _TOLERANCE_DEG):
            break
    outside = out_of_china(lon_t, lat_t)
    return np.where(outside, lon_t, glon), np.where(outside, lat_t, glat)


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 coordinates to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)``; points outside China are returned unchanged.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 coordinates to WGS-84 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 ``(lon, lat)``; points outside China are returned unchanged.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def transform_geometry(geom: Any, func: PointTransform) -> Any:
    """Apply a point transform to every vertex of a shapely geometry (or array of them).

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Geometries in lon/lat order; None and empty geometries are passed through.
    func : callable
        A vectorised ``func(lon, lat) -> (lon, lat)`` such as :func:`wgs84_to_gcj02`.

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        New geometries of the same types with transformed coordinates.
    """

    def _apply(coords: np.ndarray) -> np.ndarray:
        lon, lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, _apply)


def transform_geojson(obj: dict, func: PointTransform) -> dict:
    """Return a copy of a GeoJSON object with every position transformed.

    Works on a FeatureCollection, Feature or bare geometry (including GeometryCollection);
    properties, ids and other members are shallow-copied unchanged. The input is not mutated.

    Parameters
    ----------
    obj : dict
        GeoJSON object in lon/lat order.
    func : callable
        A vectorised ``func(lon, lat) -> (lon, lat)`` such as :func:`wgs84_to_gcj02`.

    Returns
    -------
    dict
        The transformed copy; coordinates are plain Python floats.
    """
    kind = obj.get("type")
    if kind == "FeatureCollection":
        return {**obj, "features": [transform_geojson(f, func) for f in obj.get("features", [])]}
    if kind == "Feature":
        geometry = obj.get("geometry")
        return {**obj, "geometry": None if geometry is None else transform_geojson(geometry, func)}
    if kind == "GeometryCollection":
        return {**obj, "geometries": [transform_geojson(g, func) for g in obj["geometries"]]}
    if "coordinates" in obj:
        return {**obj, "coordinates": _transform_positions(obj["coordinates"], func)}
    raise ValueError(f"not a GeoJSON object: type={kind!r}")


def _transform_positions(coords: Any, func: PointTransform) -> Any:
    try:
        arr = np.asarray(coords, dtype=float)
    except (TypeError, ValueError):  # ragged: rings or parts of different lengths
        return [_transform_positions(c, func) for c in coords]
    if arr.size == 0:
        return arr.tolist()
    if arr.ndim == 1:  # one position, possibly with a third (height) value
        lon, lat = func(arr[0], arr[1])
        return [float(lon), float(lat), *arr[2:].tolist()]
    flat = arr.reshape(-1, arr.shape[-1])
    lon, lat = func(flat[:, 0], flat[:, 1])
    flat = flat.copy()
    flat[:, 0], flat[:, 1] = lon, lat
    return flat.reshape(arr.shape).tolist()


def to_wgs84(gdf: Any, source: str) -> Any:
    """Convert a GeoDataFrame from a named source coordinate system to WGS-84.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Geometries in the ``source`` system.
    source : {"wgs84", "cgcs2000", "epsg:4490", "gcj02", "bd09"}
        What the coordinates really are (case-insensitive). The GeoDataFrame's own CRS is not
        trusted for GCJ-02/BD-09 data, which is routinely labelled EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with CRS EPSG:4326.

    Raises
    ------
    ValueError
        If ``source`` is not one of the names above.
    """
    key = source.strip().lower().replace("-", "").replace("_", "")
    if key in ("wgs84", "epsg:4326"):
        return gdf.set_crs(4326, allow_override=True) if gdf.crs is None else gdf.to_crs(4326)
    if key in ("cgcs2000", "epsg:4490"):
        base = gdf.set_crs(4490, allow_override=True) if gdf.crs is None else gdf
        if base.crs is not None and base.crs.to_epsg() == 4326:
            base = base.set_crs(4490, allow_override=True)
        return base.to_crs(4326)
    funcs: dict[str, PointTransform] = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
    if key not in funcs:
        raise ValueError(
            f"unknown coordinate system {source!r}; expected one of {', '.join(SOURCES)}"
        )
    out = gdf.copy()
    moved = transform_geometry(np.asarray(out.geometry.values, dtype=object), funcs[key])
    out[out.geometry.name] = gpd.GeoSeries(moved, index=out.index, crs=4326)
    return out.set_crs(4326, allow_override=True)
