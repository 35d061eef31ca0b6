"""Map centre and zoom that fit a lon/lat bounding box into a Web-Mercator viewport.

Plotly's MapLibre subplots (``choroplethmap`` and friends) have no ``fitbounds``, so the
figure builders compute ``map.center``/``map.zoom`` themselves. MapLibre defines zoom with
512-pixel tiles: at zoom ``z`` the whole world is ``512 * 2**z`` CSS pixels wide.
"""

from __future__ import annotations

import math

__all__ = ["MAX_LATITUDE", "TILE_SIZE", "view_for_bounds"]

#: Edge length in CSS pixels of one MapLibre tile; zoom 0 shows the world in one tile.
TILE_SIZE = 512
#: Web-Mercator's latitude limit, where the projected square ends.
MAX_LATITUDE = 85.0511287798066


def _mercator_y(lat: float) -> float:
    """Latitude to the Web-Mercator y fraction: 0 at the top of the world, 1 at the bottom."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    phi = math.radians(lat)
    return (1.0 - math.log(math.tan(math.pi / 4.0 + phi / 2.0)) / math.pi) / 2.0


def _mercator_lat(y: float) -> float:
    """Inverse of :func:`_mercator_y`."""
    return math.degrees(2.0 * math.atan(math.exp(math.pi * (1.0 - 2.0 * y))) - math.pi / 2.0)


def view_for_bounds(
    minx: float,
    miny: float,
    maxx: float,
    maxy: float,
    width_px: float,
    height_px: float,
    padding: float = 0.05,
    *,
    max_zoom: float = 18.0,
) -> tuple[dict[str, float], float]:
    """Centre and zoom that show a lon/lat bounding box in a viewport of a given size.

    Parameters
    ----------
    minx, miny, maxx, maxy : float
        Bounds in degrees (west, south, east, north), WGS-84 or whatever system the map uses.
    width_px, height_px : float
        Size of the map area in CSS pixels.
    padding : float, default 0.05
        Fraction of the viewport left empty on *each* side (0.05 keeps 90 % for the data).
    max_zoom : float, default 18.0
        Upper limit, reached for a single point or a tiny box.

    Returns
    -------
    center : dict
        ``{"lon": ..., "lat": ...}``: the midpoint in projected (Mercator) space, so the box
        sits visually centred rather than at its mid-latitude.
    zoom : float
        The largest zoom at which the whole box fits, capped at ``max_zoom``; may be negative
        for boxes wider than the world at zoom 0.

    Raises
    ------
    ValueError
        If the bounds are inverted or not finite, the viewport has no usable area, or the
        padding is outside [0, 0.5).
    """
    values = (minx, miny, maxx, maxy, width_px, height_px, padding)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"bounds and sizes must be finite: {values}")
    if maxx < minx or maxy < miny:
        raise ValueError(f"inverted bounds: ({minx}, {miny}, {maxx}, {maxy})")
    if not 0.0 <= padding < 0.5:
        raise ValueError(f"padding must be in [0, 0.5), got {padding}")
    usable_w = width_px * (1.0 - 2.0 * padding)
    usable_h = height_px * (1.0 - 2.0 * padding)
    if usable_w <= 0 or usable_h <= 0:
        raise ValueError(f"viewport has no area: {width_px}x{height_px}")

    x0, x1 = (minx + 180.0) / 360.0, (maxx + 180.0) / 360.0
    y_top, y_bottom = _mercator_y(maxy), _mercator_y(miny)
    span_x, span_y = x1 - x0, y_bottom - y_top

    zooms = [max_zoom]
    if span_x > 0:
        zooms.append(math.log2(usable_w / (TILE_SIZE * span_x)))
    if span_y > 0:
        zooms.append(math.log2(usable_h / (TILE_SIZE * span_y)))
    zoom = min(zooms)

    center = {
        "lon": (x0 + x1) / 2.0 * 360.0 - 180.0,
        "lat": _mercator_lat((y_top + y_bottom) / 2.0),
    }
    return center, zoom
