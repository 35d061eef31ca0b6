"""Writing the unit hierarchy (with geometry) into ``units`` and keeping the closure current."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

from data import rollup, schema
from geo.display import display_geometries

UNIT_COLUMNS = (
    "code",
    "name",
    "level",
    "parent_code",
    "population",
    "households",
    "urban_rural",
    "grid_type",
    "sort_key",
)


def unit_records(units: gpd.GeoDataFrame, vintage: int) -> list[dict[str, object]]:
    """Rows for the ``units`` table: WKB geometry, display geometry, label point and area.

    Parameters
    ----------
    units : GeoDataFrame
        The units frame of ``docs/architecture.md`` in EPSG:4326.
    vintage : int
        Year of the code set.
    """
    geoms = units.geometry.to_numpy()
    has = np.array([g is not None and not g.is_empty for g in geoms])
    display = display_geometries(units).to_numpy()
    labels = np.full(len(units), None, dtype=object)
    labels[has] = shapely.point_on_surface(geoms[has])
    # Asia North Albers equal-area conic: areas in km² within a fraction of a percent over China.
    area = np.full(len(units), np.nan)
    if has.any():
        area[has] = gpd.GeoSeries(geoms[has], crs=4326).to_crs("ESRI:102025").area.to_numpy() / 1e6
    records = []
    frame = units.reset_index(drop=True)
    for i, row in enumerate(frame[list(UNIT_COLUMNS)].itertuples(index=False)):
        rec = {col: _clean(val) for col, val in zip(UNIT_COLUMNS, row, strict=True)}
        rec["code"] = str(rec["code"])
        rec["sort_key"] = int(rec["sort_key"] or 0)  # type: ignore[call-overload]
        rec["vintage"] = int(vintage)
        rec["geometry"] = shapely.to_wkb(geoms[i]) if has[i] else None
        rec["geometry_display"] = shapely.to_wkb(display[i]) if display[i] is not None else None
        rec["label_lon"] = float(labels[i].x) if has[i] else None
        rec["label_lat"] = float(labels[i].y) if has[i] else None
        rec["area_km2"] = float(area[i]) if has[i] else None
        records.append(rec)
    return records


def _clean(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def replace_units(conn: sa.Connection, units: gpd.GeoDataFrame, vintage: int) -> int:
    """Replace the whole hierarchy with ``units`` and rebuild the closure (one transaction)."""
    records = unit_records(units, vintage)
    conn.execute(sa.delete(schema.units))
    conn.execute(sa.insert(schema.units), records)
    rollup.rebuild_closure(conn)
    return len(records)
