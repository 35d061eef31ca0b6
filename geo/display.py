"""Display geometry: polygons simplified per sibling group so the map stays a clean coverage.

A map always shows the children of one unit, so simplifying each sibling group together with
``shapely.coverage_simplify`` keeps shared edges shared: no slivers or gaps between neighbours.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

#: Tolerance in degrees (~ metres / 111,000) by the level of the units being drawn.
DISPLAY_TOLERANCE_DEG = {
    "city": 0.004,
    "district": 0.002,
    "town": 0.0008,
    "village": 0.0003,
    "grid": 0.0001,
}


def display_geometries(units: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Simplified copies of ``units.geometry`` for drawing, aligned with ``units.index``.

    Parameters
    ----------
    units : GeoDataFrame
        Columns ``parent_code``, ``level`` and ``geometry`` in EPSG:4326; missing geometry allowed.

    Returns
    -------
    GeoSeries
        Same index and CRS; ``None`` where the unit has no geometry.
    """
    if units.crs is None or units.crs.to_epsg() != 4326:
        raise ValueError(f"display_geometries expects EPSG:4326, got {units.crs}")
    out = np.empty(len(units), dtype=object)
    out[:] = None
    has_geom = units.geometry.notna() & ~units.geometry.is_empty
    parents = units["parent_code"].fillna("").to_numpy()
    levels = units["level"].to_numpy()
    positions = np.flatnonzero(has_geom.to_numpy())
    groups: dict[tuple[str, str], list[int]] = {}
    for pos in positions:
        groups.setdefault((parents[pos], levels[pos]), []).append(int(pos))
    geoms = units.geometry.to_numpy()
    for (_, level), members in groups.items():
        tol = DISPLAY_TOLERANCE_DEG.get(str(level), 0.0002)
        parts = geoms[members]
        try:
            simplified = shapely.coverage_simplify(parts, tol)
        except shapely.errors.GEOSException:
            # Not a valid coverage (imported data with overlaps): simplify one by one.
            simplified = shapely.simplify(parts, tol, preserve_topology=True)
        out[members] = simplified
    return gpd.GeoSeries(out, index=units.index, crs=units.crs)
