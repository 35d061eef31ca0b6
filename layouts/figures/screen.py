"""Figures of the big screen: the dashboard's builders in the dark theme, fitted to a wall.

The wall reuses :mod:`layouts.figures.charts` and :mod:`layouts.figures.maps` with
``theme="dark"`` and then adapts their output for a room, not a desk:

* backgrounds become transparent so the glowing panel behind each chart shows through;
* every font is raised to at least :data:`MIN_FONT` px — text smaller than that cannot be read
  from the back of a command hall (the check covers tick labels, legends, heat-map cell text);
* hover furniture is switched off (nobody hovers on a wall) and the mode bar is hidden by the
  graph config in :mod:`layouts.screen`.

Pure functions: DataFrames in, plain figure dicts out.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pandas as pd

from layouts.figures import charts, maps
from layouts.figures.theme import CJK_FONT, palette

__all__ = [
    "MIN_FONT",
    "breakdown_chart",
    "empty_chart",
    "map_figure",
    "risk_chart",
    "trend_chart",
    "wall_figure",
]

#: Smallest font size (CSS px on the 1920×1080 design canvas) anywhere on the wall.
MIN_FONT = 14
#: Body text of charts on the wall.
CHART_FONT = 16
_TRANSPARENT = "rgba(0,0,0,0)"
_MAP_SHARE = 0.88
_FONT_KEYS = ("font", "textfont", "tickfont", "insidetextfont", "outsidetextfont")


def _raise_fonts(node: Any, minimum: int) -> None:
    """Walk a figure dict and lift every explicit font size below ``minimum``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _FONT_KEYS and isinstance(value, dict):
                size = value.get("size")
                if isinstance(size, int | float) and size < minimum:
                    value["size"] = minimum
            _raise_fonts(value, minimum)
    elif isinstance(node, list):
        for item in node:
            _raise_fonts(item, minimum)


def wall_figure(fig: dict, *, height: int | None = None, legend: bool | None = None) -> dict:
    """Adapt a dark-theme figure dict for the wall (a modified deep copy).

    Parameters
    ----------
    fig : dict
        A figure dict from :mod:`layouts.figures.charts` or :mod:`layouts.figures.maps`.
    height : int, optional
        Fixed height in px; without it the figure fills its container.
    legend : bool, optional
        Force the legend on or off.

    Returns
    -------
    dict
    """
    fig = copy.deepcopy(fig)
    layout = fig.setdefault("layout", {})
    layout["paper_bgcolor"] = _TRANSPARENT
    layout["plot_bgcolor"] = _TRANSPARENT
    layout["font"] = {**layout.get("font", {}), "family": CJK_FONT, "size": CHART_FONT}
    layout["hovermode"] = False
    if height is not None:
        layout["height"] = height
    else:
        layout.pop("height", None)
        layout["autosize"] = True
    if legend is not None:
        layout["showlegend"] = legend
    if layout.get("showlegend"):
        legend_cfg = layout.setdefault("legend", {})
        legend_cfg["font"] = {**legend_cfg.get("font", {}), "size": CHART_FONT}
        legend_cfg["bgcolor"] = _TRANSPARENT
    for trace in fig.get("data", []):
        trace["hoverinfo"] = "skip"
        trace.pop("hovertemplate", None)
    _raise_fonts(fig, MIN_FONT)
    return fig


def empty_chart(message: str) -> dict:
    """A transparent figure carrying a centred message."""
    fig = charts.empty_figure(message, theme="dark")
    fig["layout"]["annotations"][0]["font"]["size"] = CHART_FONT + 2
    return wall_figure(fig)


def trend_chart(frame: pd.DataFrame, freq: str) -> dict:
    """Counts per bucket (bars), last year (dotted line), anomalies (diamonds)."""
    fig = charts.trend_figure(frame, freq, theme="dark")
    out = wall_figure(fig)
    layout = out["layout"]
    layout["margin"] = {"l": 8, "r": 12, "t": 34, "b": 8}
    layout["legend"] = {
        "orientation": "h",
        "x": 1,
        "xanchor": "right",
        "y": 1.0,
        "yanchor": "bottom",
        "font": {"size": MIN_FONT + 1},
        "bgcolor": _TRANSPARENT,
    }
    for axis in ("xaxis", "yaxis"):
        layout.setdefault(axis, {})["tickfont"] = {"size": MIN_FONT + 1}
        layout[axis]["fixedrange"] = True
    layout["xaxis"]["nticks"] = 6
    layout["yaxis"]["nticks"] = 4
    # Keep the y axis's "0" clear of the first date label in the corner.
    layout["xaxis"]["ticklabelstandoff"] = 4
    layout["yaxis"]["ticklabelstandoff"] = 6
    return out


def risk_chart(matrix: pd.DataFrame) -> dict:
    """Five domains × four levels of open risks (cell text: open, +new)."""
    fig = charts.risk_matrix_figure(matrix, theme="dark")
    out = wall_figure(fig)
    for trace in out["data"]:
        if trace.get("type") == "heatmap":
            trace["textfont"] = {"size": MIN_FONT + 1, "color": "#ffffff"}
    out["layout"]["margin"] = {"l": 8, "r": 8, "t": 30, "b": 4}
    return out


def breakdown_chart(frame: pd.DataFrame, top: int = 6) -> dict:
    """Cases by category as a donut with the legend at its side."""
    fig = charts.breakdown_figure(frame, kind="donut", theme="dark", top=top)
    out = wall_figure(fig, legend=True)
    layout = out["layout"]
    layout["margin"] = {"l": 8, "r": 8, "t": 8, "b": 8}
    layout["legend"] = {
        "orientation": "v",
        "x": 1.0,
        "xanchor": "left",
        "y": 0.5,
        "yanchor": "middle",
        "font": {"size": CHART_FONT},
        "bgcolor": _TRANSPARENT,
    }
    for trace in out["data"]:
        if trace.get("type") == "pie":
            trace["domain"] = {"x": [0.0, 0.5], "y": [0.0, 1.0]}
            trace["textfont"] = {"size": MIN_FONT + 1, "color": "#ffffff"}
            trace["textposition"] = "inside"
            trace["marker"] = {
                **trace.get("marker", {}),
                "line": {"color": palette("dark")["paper"], "width": 2},
            }
    return out


def map_figure(
    features: dict,
    table: pd.DataFrame,
    *,
    metric_label: str,
    bounds: Sequence[float] | None,
    width: int,
    height: int,
    selected_code: str | None = None,
    tiles_url: str | None = None,
    tiles_crs: str = "wgs84",
) -> dict:
    """The centre map: children coloured by the metric, names always shown.

    ``width``/``height`` are the map's size on the design canvas, used to choose the zoom;
    the uirevision derived from the bounds keeps the view steady across data refreshes.
    """
    # The map takes the left 88% of the panel and the colour bar sits in the strip to its
    # right, so the scale never covers a unit.
    fig = maps.choropleth_figure(
        features,
        table,
        colorbar_title=metric_label,
        theme="dark",
        tiles_url=tiles_url or None,
        tiles_crs=tiles_crs,
        bounds=bounds,
        width=round(width * _MAP_SHARE),
        height=height,
        show_labels=True,
        selected_code=selected_code,
    )
    out = wall_figure(fig)
    layout = out["layout"]
    layout["margin"] = {"l": 0, "r": 0, "t": 0, "b": 0}
    layout["showlegend"] = False
    layout["map"]["domain"] = {"x": [0.0, _MAP_SHARE], "y": [0.0, 1.0]}
    # The panel's glow shows through the map: its style's background layer is transparent
    # (the tile layer, when there is one, still covers it). A new id makes Plotly reload it.
    style = copy.deepcopy(layout["map"]["style"])
    if isinstance(style, dict):
        for layer in style.get("layers", []):
            if layer.get("type") == "background":
                layer["paint"] = {"background-color": _TRANSPARENT}
        style["id"] = f"{style.get('id', 'shiyu')}-wall"
        layout["map"]["style"] = style
    for trace in out["data"]:
        bar = trace.get("colorbar")
        if bar:
            bar.update(
                thickness=16,
                len=0.5,
                x=1.0,
                xanchor="right",
                y=0.03,
                yanchor="bottom",
                bgcolor="rgba(8,24,48,0.75)",
                tickfont={"size": MIN_FONT + 1, "color": palette("dark")["text"]},
                title={"text": metric_label, "side": "top", "font": {"size": MIN_FONT + 1}},
            )
        if trace.get("type") == "scattermap" and trace.get("mode") == "text":
            trace["textfont"] = {**trace.get("textfont", {}), "size": 17}
    return out
