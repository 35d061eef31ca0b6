"""Map figures: unit choropleths and event density maps on an offline MapLibre style.

Builders return plain figure dicts (``{"data": [...], "layout": {...}}``); building a
``go.Figure`` validates every polygon and costs about a second on a 5,000-unit map.

Offline operation
-----------------
Plotly's named styles (``"white-bg"`` included) point MapLibre's ``glyphs`` at an internet
host. :func:`offline_style` builds a style dict of our own instead: a background layer, an
optional raster layer for an internal XYZ tile server (Tianditu provincial node or
self-hosted ``{z}/{x}/{y}`` tiles), and ``glyphs`` served by the app itself
(``dashboard.glyphs.register_glyph_route``). Plotly accepts a style object for
``layout.map.style`` and passes it to MapLibre unchanged.

Coordinates
-----------
Features and label points come in WGS-84. When the basemap tiles are GCJ-02 (AutoNavi-style
tiles on an intranet mirror) the builders shift everything to GCJ-02 before drawing, so
polygons sit on the streets of the basemap.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geo.crs import transform_geojson, wgs84_to_gcj02
from geo.mapview import view_for_bounds
from layouts.figures.theme import SEQUENTIAL, palette, template

__all__ = [
    "GLYPHS_URL",
    "LABEL_FONT",
    "choropleth_figure",
    "density_figure",
    "hotspot_kind",
    "offline_style",
]

#: Where the app serves MapLibre glyph ranges (see ``dashboard.glyphs``).
GLYPHS_URL = "/_shiyu/glyphs/{fontstack}/{range}.pbf"
#: Font stack named in map text layers. Plotly only passes names from its own list to
#: MapLibre (anything else becomes "Open Sans Regular"); the glyph route answers every name
#: with Noto Sans CJK SC, so this is just the explicit, predictable choice.
LABEL_FONT = "Open Sans Regular"

_TRANSPARENT_SCALE = [[0.0, "rgba(0,0,0,0)"], [1.0, "rgba(0,0,0,0)"]]
_TILES_CRS = ("wgs84", "gcj02")
_MARGIN_TITLE = 44  # px above the map when a title is shown
_LABEL_SIZE = {"light": 12, "dark": 15, "print": 16}
_HOT_PREFIXES = ("hot", "热", "hh", "high-high", "高-高", "高高")
_COLD_PREFIXES = ("cold", "冷", "ll", "low-low", "低-低", "低低")


_EMPTY_SOURCE = {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}

#: The kinds of map trace, bottom to top. Each trace is named by its kind (``uid``) and drawn
#: just under its kind's marker, an empty hidden layer of the style (``below``). Plotly takes
#: out and adds again, on every update, the layers of traces that share a ``below`` (all of
#: ours did: "", the top), and builds anew a trace whose ``uid`` it has not seen (it numbers
#: them by position, and ours come and go: no-data areas, hotspot outlines). Either way
#: MapLibre lays out those layers' tiles again and redraws more frames after a drill.
DRAW_ORDER = (
    "nodata",
    "values",
    "boundary",
    "density",
    "hot",
    "cold",
    "selected",
    "hot-legend",
    "cold-legend",
    "labels",
)


def _marker(kind: str) -> str:
    return f"shiyu-under-{kind}"


def _drawn_as(kind: str, trace: dict[str, Any]) -> dict[str, Any]:
    """``trace`` named ``kind`` and drawn at its kind's place in :data:`DRAW_ORDER`."""
    if kind not in DRAW_ORDER:
        raise ValueError(f"unknown map trace kind: {kind!r}")
    return {**trace, "uid": kind, "below": _marker(kind)}


def _colorbar(title: str, colours: dict[str, str]) -> dict[str, Any]:
    """The legend bar both map kinds share: bottom right, inside the map."""
    return {
        "title": {"text": title, "side": "top"},
        "thickness": 12,
        "len": 0.5,
        "x": 0.99,
        "xanchor": "right",
        "y": 0.02,
        "yanchor": "bottom",
        "bgcolor": colours["paper"],
        "outlinewidth": 0,
        "tickfont": {"color": colours["text"]},
    }


def offline_style(
    background: str,
    tiles_url: str | None = None,
    *,
    glyphs_url: str = GLYPHS_URL,
    tiles_attribution: str = "",
    tile_size: int = 256,
) -> dict[str, Any]:
    """A MapLibre style that needs nothing from the internet.

    Parameters
    ----------
    background : str
        CSS colour of the background layer (shown where there are no tiles).
    tiles_url : str, optional
        XYZ raster tile template of an internal tile server, e.g.
        ``"http://10.1.2.3/tiles/{z}/{x}/{y}.png"``. Without it the map shows the background
        only (the no-basemap fallback).
    glyphs_url : str, default :data:`GLYPHS_URL`
        Template for glyph PBFs; must contain ``{fontstack}`` and ``{range}``. Pass an
        app-prefixed or absolute URL when the app is not served at the host root.
    tiles_attribution : str, default ""
        Attribution shown by MapLibre for the tiles.
    tile_size : int, default 256
        Pixel size of the raster tiles.

    Returns
    -------
    dict
        A version-8 style whose ``id`` changes whenever its content does, so Plotly reloads
        the style when the theme or tile server changes and keeps it otherwise.
    """
    if "{fontstack}" not in glyphs_url or "{range}" not in glyphs_url:
        raise ValueError(f"glyphs_url must contain {{fontstack}} and {{range}}: {glyphs_url!r}")
    # Plotly drops an empty ``sources: {}`` when it updates a figure, and MapLibre's style
    # validation then fails ("Map error." on every drill): keep one inert source in the style.
    sources: dict[str, Any] = {"shiyu-empty": _EMPTY_SOURCE}
    layers: list[dict[str, Any]] = [
        {"id": "shiyu-background", "type": "background", "paint": {"background-color": background}}
    ]
    if tiles_url:
        sources["shiyu-tiles"] = {
            "type": "raster",
            "tiles": [tiles_url],
            "tileSize": tile_size,
            "attribution": tiles_attribution,
        }
        layers.append(
            {
                "id": "shiyu-tiles",
                "type": "raster",
                "source": "shiyu-tiles",
                "minzoom": 0,
                "maxzoom": 22,
            }
        )
    layers += [
        {"id": _marker(kind), "type": "background", "layout": {"visibility": "none"}}
        for kind in DRAW_ORDER
    ]
    style = {
        "version": 8,
        "name": "shiyu-offline",
        "sources": sources,
        "layers": layers,
        "glyphs": glyphs_url,
    }
    digest = hashlib.sha1(json.dumps(style, sort_keys=True).encode()).hexdigest()[:10]
    return {"id": f"shiyu-offline-{digest}", **style}


def hotspot_kind(label: Any) -> str | None:
    """Classify a hotspot label as ``"hot"``, ``"cold"`` or None (not significant).

    Accepts the English and Chinese spellings used by the hotspot analysis and by LISA
    quadrant codes: "hot"/"热点"/"HH"/"高-高" (any confidence suffix) and
    "cold"/"冷点"/"LL"/"低-低". Everything else, including missing values, is None.
    """
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return None
    text = str(label).strip().lower()
    if text.startswith(_HOT_PREFIXES):
        return "hot"
    if text.startswith(_COLD_PREFIXES):
        return "cold"
    return None


def _check_theme_and_crs(theme: str, tiles_crs: str) -> None:
    palette(theme)  # raises ValueError for an unknown theme
    if tiles_crs not in _TILES_CRS:
        raise ValueError(f"unknown tiles_crs {tiles_crs!r}; expected 'wgs84' or 'gcj02'")


def _positions(features: dict) -> np.ndarray:
    """All positions of a FeatureCollection as an (n, 2) array."""
    out: list[np.ndarray] = []

    def walk(coords: Any) -> None:
        try:
            arr = np.asarray(coords, dtype=float)
        except (TypeError, ValueError):  # ragged: rings or parts of different lengths
            for part in coords:
                walk(part)
            return
        if arr.size:
            out.append(arr.reshape(-1, arr.shape[-1])[:, :2])

    def geometry(geom: dict | None) -> None:
        if not geom:
            return
        if geom.get("type") == "GeometryCollection":
            for g in geom.get("geometries", []):
                geometry(g)
        elif geom.get("coordinates") is not None:
            walk(geom["coordinates"])

    for feature in features.get("features", []):
        geometry(feature.get("geometry"))
    return np.concatenate(out) if out else np.empty((0, 2))


def _bounds_of(features: dict) -> tuple[float, float, float, float] | None:
    pts = _positions(features)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        return None
    return (
        float(pts[:, 0].min()),
        float(pts[:, 1].min()),
        float(pts[:, 0].max()),
        float(pts[:, 1].max()),
    )


def _subset(features: dict, codes: Iterable[str]) -> dict:
    """A FeatureCollection with only the features whose id is in ``codes`` (same objects)."""
    wanted = set(codes)
    return {
        "type": "FeatureCollection",
        "features": [f for f in features.get("features", []) if str(f.get("id")) in wanted],
    }


def _to_list(values: Iterable[Any]) -> list[Any]:
    """JSON-friendly list: NumPy scalars to Python, NaN to None."""
    out = []
    for v in values:
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        out.append(v)
    return out


def _view(
    features: dict,
    bounds: Sequence[float] | None,
    tiles_crs: str,
    width: int,
    height: int,
    top_margin: int,
) -> tuple[dict[str, float], float]:
    if bounds is not None:
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        if tiles_crs == "gcj02":
            xs, ys = wgs84_to_gcj02([minx, maxx], [miny, maxy])
            minx, maxx, miny, maxy = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
        box: tuple[float, float, float, float] | None = (minx, miny, maxx, maxy)
    else:
        box = _bounds_of(features)  # already in the drawing CRS
    if box is None:  # nothing to show: mainland China
        return {"lon": 105.0, "lat": 35.0}, 3.0
    return view_for_bounds(*box, width, max(height - top_margin, 1))


def _base_layout(
    *,
    theme: str,
    title: str,
    style: dict[str, Any],
    center: dict[str, float],
    zoom: float,
    uirevision: str,
    top_margin: int,
) -> dict[str, Any]:
    colours = palette(theme)
    return {
        "template": template(theme),
        "title": {"text": title},
        "margin": {"l": 0, "r": 0, "t": top_margin, "b": 0},
        "map": {
            "style": style,
            "center": center,
            "zoom": zoom,
            "uirevision": uirevision,
        },
        "uirevision": uirevision,
        "hovermode": "closest",
        "clickmode": "event",
        "legend": {
            "x": 0.01,
            "y": 0.99,
            "xanchor": "left",
            "yanchor": "top",
            "bgcolor": colours["paper"],
            "bordercolor": colours["grid"],
            "borderwidth": 1,
        },
    }


def _default_uirevision(kind: str, box: Any, tiles_crs: str) -> str:
    # Same area and basemap → same revision → Plotly keeps the user's pan/zoom on refresh;
    # drilling to another unit changes the bounds and recentres the map.
    rounded = None if box is None else [round(float(v), 4) for v in box]
    return f"{kind}:{tiles_crs}:{rounded}"


def _outline_trace(
    features: dict, codes: list[str], *, colour: str, width: float, name: str, legend: bool
) -> dict[str, Any]:
    return {
        "type": "choroplethmap",
        "name": name,
        "geojson": _subset(features, codes),
        "featureidkey": "id",
        "locations": codes,
        "z": [1] * len(codes),
        "colorscale": _TRANSPARENT_SCALE,
        "showscale": False,
        "marker": {"line": {"color": colour, "width": width}},
        "hoverinfo": "skip",
        "showlegend": legend,
    }


def _legend_entry(name: str, colour: str) -> dict[str, Any]:
    """A data-less line trace that only gives an outline colour a legend entry.

    A transparent choropleth's own legend swatch is transparent too, so it cannot carry it.
    """
    return {
        "type": "scattermap",
        "mode": "lines",
        "name": name,
        "lon": [None],
        "lat": [None],
        "line": {"color": colour, "width": 3},
        "hoverinfo": "skip",
        "showlegend": True,
    }


def choropleth_figure(
    features: dict,
    frame: pd.DataFrame,
    *,
    title: str = "",
    colorbar_title: str = "",
    theme: str = "light",
    tiles_url: str | None = None,
    tiles_crs: str = "wgs84",
    bounds: Sequence[float] | None = None,
    width: int = 900,
    height: int = 600,
    show_labels: bool = True,
    selected_code: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    uirevision: str | None = None,
    glyphs_url: str = GLYPHS_URL,
) -> dict[str, Any]:
    """Choropleth of one indicator over units, with names, hotspot outlines and selection.

    Parameters
    ----------
    features : dict
        GeoJSON FeatureCollection in WGS-84; each feature's ``id`` is the unit code.
    frame : pandas.DataFrame
        One row per unit: ``code``, ``name``, ``value`` (number or NaN), ``text`` (the
        formatted value shown on hover); optional ``hotspot`` (label classified by
        :func:`hotspot_kind`), ``label_lon``/``label_lat`` (WGS-84 label points).
    title : str
        Figure title (empty for none).
    colorbar_title : str
        Indicator name, used as colour bar title and in the hover text.
    theme : {"light", "dark", "print"}
    tiles_url : str, optional
        Internal XYZ raster tiles; without it the map has a plain background.
    tiles_crs : {"wgs84", "gcj02"}
        Datum of the tiles. With "gcj02" polygons and labels are shifted to GCJ-02.
    bounds : sequence of 4 floats, optional
        WGS-84 ``(minx, miny, maxx, maxy)`` to fit; defaults to the features' extent.
    width, height : int
        Expected size in pixels of the figure, used to choose the zoom.
    show_labels : bool
        Draw unit names at the label points.
    selected_code : str, optional
        Unit drawn with a heavy outline (the one the user drilled into or clicked).
    zmin, zmax : float, optional
        Fix the colour range (e.g. 0–100 for rates); automatic otherwise.
    uirevision : str, optional
        Plotly ``uirevision``; defaults to a key derived from the bounds, so a data refresh
        keeps the user's pan/zoom and a change of area recentres the map.
    glyphs_url : str
        Glyph URL template for the offline style.

    Returns
    -------
    dict
        A Plotly figure dict. Clicking a unit gives ``clickData["points"][0]["customdata"]``
        = its code (also for units without data).
    """
    _check_theme_and_crs(theme, tiles_crs)
    colours = palette(theme)
    if tiles_crs == "gcj02":
        features = transform_geojson(features, wgs84_to_gcj02)

    # The frame's columns as lists, filtered in Python: masking and copying a frame of a few
    # dozen rows cost pandas more than drawing the figure's dict (on every map of every view).
    feature_ids = [str(f.get("id")) for f in features.get("features", [])]
    known = set(feature_ids)
    all_codes = [str(c) for c in frame["code"].tolist()]
    rows = [i for i, c in enumerate(all_codes) if c in known]
    all_values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    with_data = [i for i in rows if not math.isnan(all_values[i])]
    all_names = frame["name"].tolist()
    all_hotspots = frame["hotspot"].tolist() if "hotspot" in frame else None
    data_codes = {all_codes[i] for i in with_data}
    nodata_codes = [c for c in feature_ids if c not in data_codes]

    top_margin = _MARGIN_TITLE if title else 0
    center, zoom = _view(features, bounds, tiles_crs, width, height, top_margin)
    style = offline_style(colours["map_background"], tiles_url, glyphs_url=glyphs_url)
    box = bounds if bounds is not None else _bounds_of(features)
    revision = uirevision or _default_uirevision("choropleth", box, tiles_crs)

    traces: list[dict[str, Any]] = []
    if nodata_codes:
        props_name = {
            str(f.get("id")): (f.get("properties") or {}).get("name")
            for f in features.get("features", [])
        }
        names = {all_codes[i]: all_names[i] for i in rows}
        traces.append(
            _drawn_as(
                "nodata",
                {
                    "type": "choroplethmap",
                    "name": "暂无数据",
                    "geojson": _subset(features, nodata_codes),
                    "featureidkey": "id",
                    "locations": nodata_codes,
                    "z": [0] * len(nodata_codes),
                    "customdata": nodata_codes,
                    "hovertext": [names.get(c) or props_name.get(c) or c for c in nodata_codes],
                    "hovertemplate": "<b>%{hovertext}</b><br>暂无数据<extra></extra>",
                    "colorscale": [[0.0, colours["nodata"]], [1.0, colours["nodata"]]],
                    "showscale": False,
                    "showlegend": False,
                    "marker": {"line": {"color": colours["outline"], "width": 0.6}},
                },
            )
        )

    all_texts = frame["text"].tolist()
    indicator = colorbar_title or "数值"
    hover_body = [
        f"{indicator}：{all_texts[i]}"
        + (f"<br>{all_hotspots[i]}" if all_hotspots and hotspot_kind(all_hotspots[i]) else "")
        for i in with_data
    ]
    data_list = [all_codes[i] for i in with_data]
    main: dict[str, Any] = {
        "type": "choroplethmap",
        "name": indicator,
        "geojson": _subset(features, data_list),
        "featureidkey": "id",
        "locations": data_list,
        "z": _to_list(all_values[with_data]),
        "customdata": data_list,
        "hovertext": [str(all_names[i]) for i in with_data],
        "text": hover_body,
        "hovertemplate": "<b>%{hovertext}</b><br>%{text}<extra></extra>",
        "colorscale": SEQUENTIAL[theme],
        "marker": {"line": {"color": colours["outline"], "width": 0.8}, "opacity": 0.9},
        "colorbar": _colorbar(colorbar_title, colours),
        "showlegend": False,
    }
    if zmin is not None:
        main["zmin"] = zmin
    if zmax is not None:
        main["zmax"] = zmax
    traces.append(_drawn_as("values", main))

    has_hotspots = False
    if all_hotspots is not None:
        kinds = {i: hotspot_kind(all_hotspots[i]) for i in rows}
        for kind, name in (("hot", "热点（高值聚集）"), ("cold", "冷点（低值聚集）")):
            codes = [all_codes[i] for i in rows if kinds[i] == kind]
            if codes:
                has_hotspots = True
                outline = _outline_trace(
                    features, codes, colour=colours[kind], width=3.0, name=name, legend=False
                )
                # One legend group: clicking the legend entry hides the outlines as well.
                outline["legendgroup"] = kind
                traces.append(_drawn_as(kind, outline))
                legend = {**_legend_entry(name, colours[kind]), "legendgroup": kind}
                traces.append(_drawn_as(f"{kind}-legend", legend))

    if selected_code is not None and str(selected_code) in known:
        selected = _outline_trace(
            features,
            [str(selected_code)],
            colour=colours["selected"],
            width=3.5,
            name="当前选中",
            legend=False,
        )
        traces.append(_drawn_as("selected", selected))

    if show_labels and {"label_lon", "label_lat"} <= set(frame.columns):
        all_lon = pd.to_numeric(frame["label_lon"], errors="coerce").to_numpy(dtype=float)
        all_lat = pd.to_numeric(frame["label_lat"], errors="coerce").to_numpy(dtype=float)
        labelled = [i for i in rows if not (math.isnan(all_lon[i]) or math.isnan(all_lat[i]))]
        lon, lat = all_lon[labelled], all_lat[labelled]
        if tiles_crs == "gcj02" and len(lon):
            lon, lat = wgs84_to_gcj02(lon, lat)
        traces.append(
            _drawn_as(
                "labels",
                {
                    "type": "scattermap",
                    "mode": "text",
                    "name": "名称",
                    "lon": _to_list(np.asarray(lon, dtype=float)),
                    "lat": _to_list(np.asarray(lat, dtype=float)),
                    "text": [str(all_names[i]) for i in labelled],
                    "textfont": {
                        "family": LABEL_FONT,
                        "size": _LABEL_SIZE[theme],
                        "color": colours["label"],
                    },
                    "textposition": "middle center",
                    "hoverinfo": "skip",
                    "showlegend": False,
                },
            )
        )

    layout = _base_layout(
        theme=theme,
        title=title,
        style=style,
        center=center,
        zoom=zoom,
        uirevision=revision,
        top_margin=top_margin,
    )
    layout["showlegend"] = has_hotspots
    return {"data": traces, "layout": layout}


def _fade_in(scale: list[list[Any]]) -> list[list[Any]]:
    """The scale with its lowest stop fully transparent, so empty areas show the map."""
    first = scale[0][1].lstrip("#")
    r, g, b = (int(first[i : i + 2], 16) for i in (0, 2, 4))
    return [[0.0, f"rgba({r},{g},{b},0)"], *[list(stop) for stop in scale[1:]]]


def density_figure(
    cells: pd.DataFrame,
    outline_features: dict,
    *,
    title: str = "",
    colorbar_title: str = "事件数",
    theme: str = "light",
    tiles_url: str | None = None,
    tiles_crs: str = "wgs84",
    bounds: Sequence[float] | None = None,
    width: int = 900,
    height: int = 600,
    radius: int = 18,
    uirevision: str | None = None,
    glyphs_url: str = GLYPHS_URL,
) -> dict[str, Any]:
    """Event density (heat) map with unit outlines on the offline style.

    Parameters
    ----------
    cells : pandas.DataFrame
        Columns ``lon``, ``lat`` (WGS-84 cell centres) and ``events`` (count).
    outline_features : dict
        GeoJSON FeatureCollection (WGS-84, ``id`` = unit code) drawn as outlines only.
    title, colorbar_title, theme, tiles_url, tiles_crs, bounds, width, height, uirevision,
    glyphs_url
        As for :func:`choropleth_figure`.
    radius : int, default 18
        Influence radius of each cell in pixels.

    Returns
    -------
    dict
        A Plotly figure dict with a ``densitymap`` trace and a transparent ``choroplethmap``
        carrying the outlines.
    """
    _check_theme_and_crs(theme, tiles_crs)
    colours = palette(theme)
    if tiles_crs == "gcj02":
        outline_features = transform_geojson(outline_features, wgs84_to_gcj02)

    lon = pd.to_numeric(cells["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(cells["lat"], errors="coerce").to_numpy(dtype=float)
    events = pd.to_numeric(cells["events"], errors="coerce").fillna(0).to_numpy(dtype=float)
    keep = np.isfinite(lon) & np.isfinite(lat) & (events > 0)
    lon, lat, events = lon[keep], lat[keep], events[keep]
    if tiles_crs == "gcj02" and len(lon):
        lon, lat = (np.asarray(a, dtype=float) for a in wgs84_to_gcj02(lon, lat))

    box: Any = bounds
    if box is None:
        box = _bounds_of(outline_features)
        if box is None and len(lon):
            box = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
        view_bounds = box
        view_crs = "wgs84"  # already in drawing coordinates
    else:
        view_bounds, view_crs = bounds, tiles_crs
    top_margin = _MARGIN_TITLE if title else 0
    center, zoom = _view({}, view_bounds, view_crs, width, height, top_margin)
    style = offline_style(colours["map_background"], tiles_url, glyphs_url=glyphs_url)
    revision = uirevision or _default_uirevision("density", box, tiles_crs)

    traces: list[dict[str, Any]] = [
        _drawn_as(
            "density",
            {
                "type": "densitymap",
                "name": colorbar_title,
                "lon": lon.tolist(),
                "lat": lat.tolist(),
                "z": events.tolist(),
                "radius": radius,
                "colorscale": _fade_in(SEQUENTIAL[theme]),
                "hovertemplate": f"{colorbar_title}：%{{z}}<extra></extra>",
                "colorbar": _colorbar(colorbar_title, colours),
                "showlegend": False,
            },
        )
    ]
    outline_codes = [str(f.get("id")) for f in outline_features.get("features", [])]
    if outline_codes:
        boundary = _outline_trace(
            outline_features,
            outline_codes,
            colour=colours["outline"] if theme != "light" else colours["muted"],
            width=1.0,
            name="边界",
            legend=False,
        )
        traces.append(_drawn_as("boundary", boundary))
    layout = _base_layout(
        theme=theme,
        title=title,
        style=style,
        center=center,
        zoom=zoom,
        uirevision=revision,
        top_margin=top_margin,
    )
    layout["showlegend"] = False
    return {"data": traces, "layout": layout}
