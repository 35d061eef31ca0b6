"""Chart figures of the dashboard: trends, breakdowns, rankings, the risk matrix, patrols.

Pure functions: DataFrame in, plain Plotly figure dict out (no ``go.Figure`` validation, which
costs far more than the chart on every callback). Every builder takes
``theme="light"|"dark"|"print"`` so the laptop page, the big screen and exported briefings
draw the same chart in their own template; fonts come from the template (CJK named
explicitly for Kaleido).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from layouts.figures.theme import QUALITATIVE, RISK_COLOURS, palette, template

__all__ = [
    "breakdown_figure",
    "empty_figure",
    "patrol_figure",
    "ranking_figure",
    "risk_matrix_figure",
    "trend_figure",
]

_RISK_LEVEL_SHORT = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
_DATE_FORMAT = {"D": "%-m月%-d日", "W": "%-m月%-d日", "M": "%Y年%-m月"}
_HOVER_DATE = {"D": "%Y年%-m月%-d日", "W": "%Y年%-m月%-d日起一周", "M": "%Y年%-m月"}


def _num(values: Any) -> list[Any]:
    """JSON-friendly numbers: NaN → None, NumPy scalars → Python."""
    if hasattr(values, "tolist"):  # a Series or an array: Python scalars in one call
        values = values.tolist()
    out: list[Any] = []
    for v in values:
        if isinstance(v, np.generic):
            v = v.item()
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            out.append(None)
        else:
            out.append(v)
    return out


def _dates(index: pd.Index) -> list[str]:
    # In NumPy: a Timestamp and its strftime per bucket cost a daily trend ~0.3 ms.
    days = pd.DatetimeIndex(index).to_numpy().astype("datetime64[D]")
    return np.datetime_as_string(days, unit="D").tolist()  # type: ignore[no-any-return]


def _layout(theme: str, title: str, height: int | None, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": template(theme),
        "margin": {"l": 8, "r": 8, "t": 36 if title else 8, "b": 8},
        "showlegend": False,
        "hovermode": "closest",
    }
    if title:
        layout["title"] = {"text": title}
    if height:
        layout["height"] = height
    layout.update(extra)
    return layout


def empty_figure(message: str, *, theme: str = "light", height: int | None = None) -> dict:
    """A blank figure carrying a centred message (no data, lowest level …)."""
    colours = palette(theme)
    layout = _layout(theme, "", height)
    layout.update(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"color": colours["muted"], "size": 14},
            }
        ],
    )
    return {"data": [], "layout": layout}


def trend_figure(
    frame: pd.DataFrame,
    freq: str,
    *,
    title: str = "",
    theme: str = "light",
    height: int | None = None,
    current_name: str = "本期",
    last_year_name: str = "去年同期",
) -> dict:
    """Counts per bucket as bars, last year as a line, anomalies as marked points.

    Parameters
    ----------
    frame : pandas.DataFrame
        Index: bucket start dates. Columns ``current``, ``last_year`` (aligned, may be NaN),
        optional ``expected``, ``z`` and ``anomaly`` (bool) — see ``data.views.TrendData``.
    freq : {"D", "W", "M"}
        Bucket size, for tick and hover formats.
    title, theme, height
        Figure title, theme name and fixed height (None: fill the container).
    current_name, last_year_name : str
        Legend names.

    Returns
    -------
    dict
    """
    colours = palette(theme)
    accent = QUALITATIVE[theme][0]
    if frame.empty:
        return empty_figure("所选期间无数据", theme=theme, height=height)
    x = _dates(frame.index)
    hover_date = _HOVER_DATE.get(freq, "%Y-%m-%d")
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": current_name,
            "x": x,
            "y": _num(frame["current"]),
            "marker": {"color": accent},
            "hovertemplate": f"%{{x|{hover_date}}}<br>{current_name}：%{{y:,}}<extra></extra>",
        }
    ]
    if "last_year" in frame and frame["last_year"].notna().any():
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": last_year_name,
                "x": x,
                "y": _num(frame["last_year"]),
                "line": {"color": colours["muted"], "width": 1.6, "dash": "dot"},
                "hovertemplate": f"{last_year_name}：%{{y:,}}<extra></extra>",
            }
        )
    hit = frame["anomaly"].to_numpy(dtype=bool) if "anomaly" in frame else None
    if hit is not None and hit.any():
        at = np.flatnonzero(hit).tolist()
        zs, expected = frame["z"].tolist(), frame["expected"].tolist()
        texts = [
            f"异常{'偏高' if zs[i] > 0 else '偏低'}（z={zs[i]:+.1f}，基线{expected[i]:,.1f}）"
            for i in at
        ]
        current = frame["current"].to_numpy()
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "异常",
                "x": [x[i] for i in at],
                "y": _num(current[at]),
                "text": texts,
                "marker": {
                    "color": colours["hot"],
                    "size": 10,
                    "symbol": "diamond",
                    "line": {"color": colours["paper"], "width": 1},
                },
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
    layout = _layout(
        theme,
        title,
        height,
        showlegend=True,
        hovermode="x unified",
        bargap=0.25,
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        xaxis={"type": "date", "tickformat": _DATE_FORMAT.get(freq, "%m-%d"), "showgrid": False},
        yaxis=_count_axis(
            frame[["current", "last_year"]].to_numpy(dtype=float)
            if "last_year" in frame
            else frame["current"].to_numpy(dtype=float)
        ),
    )
    return {"data": traces, "layout": layout}


def _count_axis(values: pd.DataFrame | pd.Series) -> dict[str, Any]:
    """A y axis for counts: whole-number ticks, one per unit when the counts are small."""
    top = float(np.nanmax(np.asarray(values, dtype=float))) if np.size(values) else 0.0
    axis: dict[str, Any] = {"rangemode": "tozero", "tickformat": ",d"}
    if not math.isfinite(top) or top <= 5:
        # Automatic ticks at 0.5 steps would print "0, 0, 1, 1" once formatted as integers.
        axis.update(tick0=0, dtick=1)
    return axis


def breakdown_figure(
    frame: pd.DataFrame,
    *,
    kind: str = "bar",
    title: str = "",
    theme: str = "light",
    height: int | None = None,
    top: int = 8,
) -> dict:
    """Counts by category as a horizontal bar chart or a donut; the tail becomes "其他".

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``label``, ``received``; optional ``selected`` (bool: unselected categories
        are drawn faded).
    kind : {"bar", "donut"}
    top : int
        Categories shown individually; the rest are summed into "其他".

    Returns
    -------
    dict
    """
    colours = palette(theme)
    # On plain arrays and lists: filtering, sorting and concatenating frames of a dozen rows
    # cost more than the chart's dict (on every first visit of every unit).
    counts = frame["received"].to_numpy()
    kept = np.flatnonzero(counts > 0)
    if not len(kept):
        return empty_figure("所选期间无数据", theme=theme, height=height)
    # Largest first; equal counts keep the order they came in (a stable sort).
    order = sorted(kept.tolist(), key=lambda i: -counts[i])
    all_labels = frame["label"].tolist()
    all_selected = frame["selected"].tolist() if "selected" in frame else [True] * len(frame)
    labels = [all_labels[i] for i in order]
    values = [counts[i] for i in order]
    selected = [all_selected[i] for i in order]
    if len(order) > top:
        labels = [*labels[: top - 1], "其他"]
        values = [*values[: top - 1], counts[order[top - 1 :]].sum()]
        selected = [*selected[: top - 1], True]
    total = float(sum(values))
    shares = [float(v) / total * 100 for v in values]
    if kind == "donut":
        trace = {
            "type": "pie",
            "hole": 0.55,
            "labels": labels,
            "values": _num(values),
            "sort": False,
            "marker": {"colors": QUALITATIVE[theme]},
            "textinfo": "percent",
            "hovertemplate": "%{label}：%{value:,}件（%{percent}）<extra></extra>",
        }
        return {"data": [trace], "layout": _layout(theme, title, height, showlegend=True)}
    accent = QUALITATIVE[theme][0]
    bar_colours = [accent if s else colours["nodata"] for s in selected]
    # Largest on top.
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": labels[::-1],
        "x": _num(values[::-1]),
        "text": [f"{v:,.0f}（{s:.0f}%）" for v, s in zip(values[::-1], shares[::-1], strict=True)],
        "textposition": "outside",
        "cliponaxis": False,
        "marker": {"color": bar_colours[::-1]},
        "hovertemplate": "%{y}：%{x:,}件<extra></extra>",
    }
    layout = _layout(
        theme,
        title,
        height,
        xaxis={"visible": False, "range": [0, float(max(values)) * 1.35]},
        yaxis={"automargin": True, "ticksuffix": " "},
        bargap=0.3,
    )
    return {"data": [trace], "layout": layout}


def ranking_figure(
    frame: pd.DataFrame,
    *,
    metric_label: str = "",
    title: str = "",
    theme: str = "light",
    height: int | None = None,
    highlight: str | None = None,
) -> dict:
    """Units ranked by a metric as horizontal bars; clicking a bar gives its code.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``code``, ``name``, ``value`` (NaN allowed: drawn last, empty), ``text``.
    metric_label : str
        Axis/hover name of the metric.
    highlight : str, optional
        Code of a bar drawn in the accent colour (others muted).

    Returns
    -------
    dict
        ``clickData["points"][0]["customdata"]`` is the unit code.
    """
    colours = palette(theme)
    if frame.empty:
        return empty_figure("无下级单位", theme=theme, height=height)
    ordered = frame.sort_values("value", ascending=True, na_position="first")
    accent = QUALITATIVE[theme][0]
    bar_colours = [
        colours["hot"] if highlight is not None and c == highlight else accent
        for c in ordered["code"]
    ]
    values = pd.to_numeric(ordered["value"], errors="coerce")
    top = float(values.max()) if values.notna().any() else 1.0
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": ordered["name"].astype(str).tolist(),
        "x": _num(values),
        "customdata": ordered["code"].astype(str).tolist(),
        "text": ordered["text"].astype(str).tolist(),
        "textposition": "outside",
        "cliponaxis": False,
        "marker": {"color": bar_colours},
        "hovertemplate": f"%{{y}}<br>{metric_label}：%{{text}}<br>点击进入下级<extra></extra>",
    }
    layout = _layout(
        theme,
        title,
        height or max(160, 26 * len(ordered) + 40),
        xaxis={"visible": False, "range": [0, (top or 1.0) * 1.3]},
        yaxis={"automargin": True, "ticksuffix": " ", "type": "category"},
        bargap=0.25,
        clickmode="event",
    )
    return {"data": [trace], "layout": layout}


def _fade(colour: str, alpha: float) -> str:
    r, g, b = (int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def risk_matrix_figure(
    matrix: pd.DataFrame,
    *,
    title: str = "",
    theme: str = "light",
    height: int | None = None,
) -> dict:
    """Five domains × four levels, each level column shaded in its own risk colour.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Columns ``domain``, ``level`` (red/orange/yellow/blue), ``open_end``, ``new``.

    Returns
    -------
    dict
        One heatmap whose colour scale is four gradients end to end: a cell's z is its level's
        index plus its open count scaled into [0, 0.95], so each column shades in its own
        colour. Cell text is the open count with "+new" underneath.
    """
    colours = palette(theme)
    if matrix.empty:
        return empty_figure("暂无风险数据", theme=theme, height=height)
    domains = list(dict.fromkeys(matrix["domain"]))
    levels = list(RISK_COLOURS)
    names = [_RISK_LEVEL_SHORT[lv] for lv in levels]
    # Plain dicts: MultiIndex lookups per cell cost ~19 ms a figure (pandas 3), on every view.
    cells = {
        (d, lv): (int(o), int(n))
        for d, lv, o, n in zip(
            matrix["domain"], matrix["level"], matrix["open_end"], matrix["new"], strict=True
        )
    }
    zmax = max(float(matrix["open_end"].max()), 1.0)
    z, text, hover = [], [], []
    for domain in domains:
        z_row, t_row, h_row = [], [], []
        for i, level in enumerate(levels):
            opened, new = cells.get((domain, level), (0, 0))
            z_row.append(i + 0.95 * opened / zmax)
            t_row.append(f"{opened}<br>+{new}")
            h_row.append(f"{domain} · {names[i]}<br>在册：{opened}个<br>期内新增：{new}个")
        z.append(z_row)
        text.append(t_row)
        hover.append(h_row)
    n = len(levels)
    scale: list[list[Any]] = []
    for i, level in enumerate(levels):
        scale.append([i / n, _fade(RISK_COLOURS[level], 0.06)])
        scale.append([(i + 0.95) / n, RISK_COLOURS[level]])
        # Plotly needs the scale to end exactly at 1.
        scale.append([1.0 if i == n - 1 else (i + 0.999) / n, RISK_COLOURS[level]])
    trace = {
        "type": "heatmap",
        "x": names,
        "y": domains,
        "z": z,
        "zmin": 0,
        "zmax": n,
        "colorscale": scale,
        "showscale": False,
        "text": text,
        "texttemplate": "%{text}",
        "textfont": {"size": 11},
        "hovertext": hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
        "xgap": 3,
        "ygap": 3,
    }
    layout = _layout(
        theme,
        title,
        height,
        xaxis={"side": "top", "showgrid": False, "type": "category", "fixedrange": True},
        yaxis={"autorange": "reversed", "showgrid": False, "type": "category", "fixedrange": True},
        plot_bgcolor=colours["paper"],
    )
    return {"data": [trace], "layout": layout}


def patrol_figure(
    series: pd.DataFrame,
    freq: str,
    *,
    title: str = "",
    theme: str = "light",
    height: int | None = None,
) -> dict:
    """Patrol groups (bars) and officers (line, right axis) per bucket.

    Parameters
    ----------
    series : pandas.DataFrame
        Index bucket start; columns ``groups``, ``officers``.
    freq : {"D", "W", "M"}

    Returns
    -------
    dict
    """
    if series.empty or not series[["groups", "officers"]].to_numpy().any():
        # Patrols are recorded at police-station level: grids and villages often have none.
        return empty_figure("本单位所选期间无巡逻记录", theme=theme, height=height)
    q = QUALITATIVE[theme]
    x = _dates(series.index)
    hover_date = _HOVER_DATE.get(freq, "%Y-%m-%d")
    traces = [
        {
            "type": "bar",
            "name": "巡逻组次",
            "x": x,
            "y": _num(series["groups"]),
            "marker": {"color": q[2]},
            "hovertemplate": f"%{{x|{hover_date}}}<br>巡逻组次：%{{y:,}}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "警力人次",
            "x": x,
            "y": _num(series["officers"]),
            "yaxis": "y2",
            "line": {"color": q[1], "width": 2},
            "hovertemplate": "警力人次：%{y:,}<extra></extra>",
        },
    ]
    layout = _layout(
        theme,
        title,
        height,
        showlegend=True,
        hovermode="x unified",
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        xaxis={"type": "date", "tickformat": _DATE_FORMAT.get(freq, "%m-%d"), "showgrid": False},
        yaxis=_count_axis(series["groups"]),
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "tickformat": ",d",
        },
        bargap=0.3,
    )
    return {"data": traces, "layout": layout}
