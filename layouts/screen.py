"""Layout of the big screen (数据大屏): a fixed design canvas and the parts callbacks fill.

The page is one fixed-size canvas (1920×1080, or 3840×1080 for 32:9 walls) that
``screen.js`` scales as a whole to the display, so every size here is in design pixels. The
canvas follows the usual wall layout — "主中间，次两边": the map in the centre, KPIs and trends
on the left, rankings, the rolling alert list and patrol rates on the right; the wide canvas
adds a second map (open risks) and a fifth column (third trend, categories, risk matrix).
Wide-only panels are in the layout for both canvases and hidden by CSS on the standard one,
so every id exists from the start and no callback needs ``suppress_callback_exceptions``.

Some elements are owned by ``screen.js``, not by Dash: the date, 星期 and clock, the stale
banner's text, the tour status and the numbers inside KPI values (count-up animation). Dash
renders them empty, and never re-renders them with children, so React and the script do not
fight over the same text.

Everything here is a pure function of values already computed; nothing queries the database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import pandas as pd
from dash import dcc, html

from data.levels import RISK_LEVEL_LABELS, RiskLevel
from data.views import Kpi
from layouts.figures.theme import RISK_COLOURS

__all__ = [
    "ALERT_ROWS",
    "GRAPH_CONFIG",
    "RANKING_ROWS",
    "Ids",
    "alert_list",
    "footer",
    "kpi_cards",
    "map_title",
    "page",
    "patrol_rates",
    "ranking_list",
    "risk_strip",
    "unit_title",
]


class Ids(StrEnum):
    # state and timers
    URL = "screen-url"
    OPTIONS = "screen-options"
    VIEW = "screen-view"
    STATUS = "screen-status"
    RENDERED = "screen-rendered"
    TOUR_TICK = "screen-tour-tick"
    REFRESH = "screen-refresh"
    # frame
    ROOT = "screen-root"
    CANVAS = "screen-canvas"
    DATE = "screen-date"
    WEEK = "screen-week"
    CLOCK = "screen-clock"
    TITLE = "screen-title"
    UNIT_TITLE = "screen-unit-title"
    FRESHNESS = "screen-freshness"
    UPDATED = "screen-updated"
    TOUR_STATUS = "screen-tour-status"
    CONTROLS = "screen-controls"
    PREV = "screen-prev"
    NEXT = "screen-next"
    FULLSCREEN = "screen-fullscreen"
    STALE = "screen-stale"
    STALE_TEXT = "screen-stale-text"
    FOOTER = "screen-footer"
    # panels
    KPIS = "screen-kpis"
    MAP_TITLE = "screen-map-title"
    MAP = "screen-map"
    RISK_STRIP = "screen-risk-strip"
    MAP2_TITLE = "screen-map2-title"
    MAP2 = "screen-map2"
    RANKING_TITLE = "screen-ranking-title"
    RANKING = "screen-ranking"
    ALERTS = "screen-alerts"
    TREND_A_TITLE = "screen-trend-a-title"
    TREND_A = "screen-trend-a"
    TREND_B_TITLE = "screen-trend-b-title"
    TREND_B = "screen-trend-b"
    TREND_C_TITLE = "screen-trend-c-title"
    TREND_C = "screen-trend-c"
    BREAKDOWN = "screen-breakdown"
    RISK = "screen-risk"
    PATROL = "screen-patrol"


#: Charts on a wall are pictures: no mode bar, no zoom, no hover, no resize handles.
GRAPH_CONFIG: dict[str, Any] = {
    "displayModeBar": False,
    "staticPlot": True,
    "responsive": True,
}
#: Rows the ranking panel shows (the rest would be unreadable at this size).
RANKING_ROWS = 10
#: Rows visible at once in the alert list; longer lists scroll.
ALERT_ROWS = 7
#: Seconds each alert row stays in view while the list scrolls.
ALERT_ROW_SECONDS = 3.0

_NUMBER = re.compile(r"^(-?[\d,]+)(?:\.(\d+))?(.*)$")


def _data(attrs: dict[str, str]) -> dict[str, Any]:
    """``data-*``/``aria-*`` attributes as keyword arguments (typed loosely for Dash's stubs)."""
    return dict(attrs)


def _panel(
    name: str, title: Any, body: Any, *, extra: Any = None, wide_only: bool = False
) -> html.Section:
    classes = "screen-panel" + (" wide-only" if wide_only else "") + f" panel-{name}"
    return html.Section(
        [
            html.Div(
                [
                    html.Span(className="panel-marker"),
                    html.H2(title, className="panel-title"),
                    extra,
                ],
                className="panel-head",
            ),
            html.Div(body, className="panel-body"),
            # Corner brackets of the glowing border (dv-border-box style), drawn by CSS.
            html.Span(className="corner corner-tl"),
            html.Span(className="corner corner-tr"),
            html.Span(className="corner corner-bl"),
            html.Span(className="corner corner-br"),
        ],
        className=classes,
        **_data({"data-panel": name}),
    )


def _graph(id_: str) -> dcc.Graph:
    return dcc.Graph(
        id=id_,
        figure={
            "data": [],
            "layout": {
                "paper_bgcolor": "rgba(0,0,0,0)",
                "plot_bgcolor": "rgba(0,0,0,0)",
                "xaxis": {"visible": False},
                "yaxis": {"visible": False},
            },
        },
        config=GRAPH_CONFIG,  # type: ignore[arg-type]  # a plain dict is what Dash sends
        className="screen-graph",
        style={"height": "100%", "width": "100%"},
    )


def _header(title: str) -> html.Header:
    return html.Header(
        [
            html.Div(
                [
                    html.Span(id=Ids.DATE, className="hdr-date"),
                    html.Span(id=Ids.WEEK, className="hdr-week"),
                    html.Span(id=Ids.CLOCK, className="hdr-clock"),
                ],
                className="hdr-side hdr-left",
            ),
            html.Div(
                [
                    html.H1(title, id=Ids.TITLE, className="hdr-title"),
                    html.Div(id=Ids.UNIT_TITLE, className="hdr-unit"),
                ],
                className="hdr-centre",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(id=Ids.FRESHNESS, className="hdr-fresh"),
                            html.Div(id=Ids.UPDATED, className="hdr-updated"),
                        ],
                        className="hdr-stamps",
                    ),
                    html.Div(
                        [
                            html.Span(id=Ids.TOUR_STATUS, className="tour-status"),
                            html.Button(
                                "◀", id=Ids.PREV, className="ctl-btn", title="上一个", n_clicks=0
                            ),
                            html.Button(
                                "▶", id=Ids.NEXT, className="ctl-btn", title="下一个", n_clicks=0
                            ),
                            html.Button(
                                "全屏",
                                id=Ids.FULLSCREEN,
                                className="ctl-btn ctl-fullscreen",
                                title="全屏（F 键），Esc 退出",
                            ),
                        ],
                        id=Ids.CONTROLS,
                        className="screen-controls",
                    ),
                ],
                className="hdr-side hdr-right",
            ),
        ],
        className="screen-header",
    )


def page(
    *,
    title: str,
    canvas: str = "std",
    interval_s: int = 20,
    refresh_s: int = 60,
) -> html.Div:
    """The screen's skeleton (``app.layout`` of the screen app).

    Parameters
    ----------
    title : str
        The command centre's name, shown in the header.
    canvas : {"std", "wide"}
        Default canvas; ``?canvas=`` switches it in the browser.
    interval_s, refresh_s : int
        Default tour and refresh intervals until the URL options are read.
    """
    left = html.Div(
        [
            _panel("kpis", "核心指标", html.Div(id=Ids.KPIS, className="kpi-grid")),
            _panel("trend-a", html.Span(id=Ids.TREND_A_TITLE), _graph(Ids.TREND_A)),
            _panel("trend-b", html.Span(id=Ids.TREND_B_TITLE), _graph(Ids.TREND_B)),
        ],
        className="screen-col col-left",
    )
    centre = html.Div(
        [
            _panel(
                "map",
                html.Span(id=Ids.MAP_TITLE),
                [
                    html.Div(_graph(Ids.MAP), className="map-box"),
                    html.Div(id=Ids.RISK_STRIP, className="risk-strip"),
                ],
            ),
        ],
        className="screen-col col-centre",
    )
    centre2 = html.Div(
        [
            _panel(
                "map2",
                html.Span(id=Ids.MAP2_TITLE),
                html.Div(_graph(Ids.MAP2), className="map-box"),
                wide_only=True,
            )
        ],
        className="screen-col col-centre2 wide-only",
    )
    right = html.Div(
        [
            _panel("ranking", html.Span(id=Ids.RANKING_TITLE), html.Div(id=Ids.RANKING)),
            _panel("alerts", "最新预警", html.Div(id=Ids.ALERTS, className="alert-box")),
            _panel("patrol", "巡逻防控 · 到场率", html.Div(id=Ids.PATROL)),
        ],
        className="screen-col col-right",
    )
    right2 = html.Div(
        [
            _panel(
                "trend-c",
                html.Span(id=Ids.TREND_C_TITLE),
                _graph(Ids.TREND_C),
                wide_only=True,
            ),
            _panel("breakdown", "矛盾纠纷类别构成", _graph(Ids.BREAKDOWN), wide_only=True),
            _panel("risk", "风险隐患 · 领域×等级", _graph(Ids.RISK), wide_only=True),
        ],
        className="screen-col col-right2 wide-only",
    )
    canvas_div = html.Div(
        [
            _header(title),
            html.Div(
                [html.Span("⚠", className="stale-icon"), html.Span(id=Ids.STALE_TEXT)],
                id=Ids.STALE,
                className="stale-banner",
                role="alert",
            ),
            html.Main([left, centre, centre2, right, right2], className="screen-body"),
            html.Footer(id=Ids.FOOTER, className="screen-footer"),
        ],
        id=Ids.CANVAS,
        className="screen-canvas",
        **_data({"data-canvas": canvas}),
    )
    return html.Div(
        [
            dcc.Location(id=Ids.URL, refresh=False),
            dcc.Store(id=Ids.OPTIONS),
            dcc.Store(id=Ids.VIEW),
            dcc.Store(id=Ids.STATUS),
            dcc.Store(id=Ids.RENDERED),
            dcc.Interval(id=Ids.TOUR_TICK, interval=interval_s * 1000, disabled=True),
            dcc.Interval(id=Ids.REFRESH, interval=refresh_s * 1000),
            canvas_div,
        ],
        id=Ids.ROOT,
        className="screen-root",
    )


# ---------------------------------------------------------------------------------------
# Parts the callbacks return


def unit_title(name: str, level_label: str, period_label: str, stop: str = "") -> list[Any]:
    """Under the title: which unit is shown, over which period (and the tour position)."""
    parts: list[Any] = [
        html.Span(name, className="unit-name"),
        html.Span(level_label, className="unit-level"),
        html.Span(period_label, className="unit-period"),
    ]
    if stop:
        parts.append(html.Span(stop, className="unit-stop"))
    return parts


def map_title(unit_name: str, child_label: str, metric_label: str, siblings: bool = False) -> str:
    where = f"{unit_name}及同级单位" if siblings else f"{unit_name}各{child_label}"
    return f"{where} · {metric_label}"


def _number_attrs(text: str) -> dict[str, Any]:
    """``data-*`` attributes the count-up script reads: target number, decimals, suffix."""
    match = _NUMBER.match(text.strip())
    if not match:
        return {"data-value": "", "data-text": text}
    whole, decimals, suffix = match.groups()
    value = float(whole.replace(",", "") + ("." + decimals if decimals else ""))
    if not math.isfinite(value):
        return {"data-value": "", "data-text": text}
    return {
        "data-value": repr(value),
        "data-decimals": str(len(decimals or "")),
        "data-suffix": suffix,
        "data-text": text,
    }


def _change_class(favourable: bool | None) -> str:
    if favourable is None:
        return "chg chg-flat"
    return "chg chg-good" if favourable else "chg chg-bad"


def kpi_cards(kpis: Sequence[Kpi], texts: Mapping[str, str] | None = None) -> list[html.Div]:
    """KPI tiles: label, large animated number with its unit, 环比 and 同比.

    Parameters
    ----------
    kpis : sequence of Kpi
    texts : mapping, optional
        Display text overriding ``Kpi.text`` (small-count suppression on shared screens).
    """
    texts = texts or {}
    tiles = []
    for k in kpis:
        text = texts.get(k.key, k.text)
        unit = k.unit if k.kind == "count" and k.value is not None else ""
        tiles.append(
            html.Div(
                [
                    html.Div(k.label, className="kpi-label"),
                    html.Div(
                        [
                            # Empty on purpose: screen.js writes (and animates) the number.
                            html.Span(className="kpi-value countup", **_number_attrs(text)),
                            html.Span(unit, className="kpi-unit") if unit else None,
                        ],
                        className="kpi-number",
                    ),
                    html.Div(
                        [
                            html.Span(
                                [
                                    html.Span("环比", className="chg-label"),
                                    html.Span(
                                        k.mom.text, className=_change_class(k.mom.favourable)
                                    ),
                                ],
                                className="chg-row",
                            ),
                            html.Span(
                                [
                                    html.Span("同比", className="chg-label"),
                                    html.Span(
                                        k.yoy.text, className=_change_class(k.yoy.favourable)
                                    ),
                                ],
                                className="chg-row",
                            ),
                        ],
                        className="kpi-changes",
                    ),
                ],
                className=f"kpi-tile kpi-{k.kind}",
                **_data({"data-kpi": k.key}),
            )
        )
    return tiles


def ranking_list(
    table: pd.DataFrame, *, rows: int = RANKING_ROWS, highlight: str | None = None
) -> html.Div:
    """Children ranked by the map metric: rank, name, bar, value (top ``rows``).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`data.views.children_table` (``code``, ``name``, ``value``, ``text``, ``rank``).
    """
    ranked = table[pd.to_numeric(table["value"], errors="coerce").notna()].copy()
    if ranked.empty:
        return html.Div("暂无可排名的下级单位", className="empty-note")
    ranked = ranked.sort_values(["value", "code"], ascending=[False, True], kind="stable")
    top = float(ranked["value"].max()) or 1.0
    items = []
    for i, row in enumerate(ranked.head(rows).itertuples(index=False), start=1):
        share = max(float(row.value) / top, 0.0) if top > 0 else 0.0
        classes = "rank-row" + (" rank-top" if i <= 3 else "")
        if highlight is not None and str(row.code) == highlight:
            classes += " rank-current"
        items.append(
            html.Li(
                [
                    html.Span(f"{i}", className="rank-no"),
                    html.Span(str(row.name), className="rank-name"),
                    html.Span(
                        html.Span(className="rank-fill", style={"width": f"{share * 100:.1f}%"}),
                        className="rank-bar",
                    ),
                    html.Span(str(row.text), className="rank-value"),
                ],
                className=classes,
            )
        )
    more = len(ranked) - rows
    note = html.Div(f"另有{more}个单位未列出", className="rank-more") if more > 0 else None
    return html.Div([html.Ol(items, className="rank-list"), note])


_LEVEL_TAG = {"red": "红色", "orange": "橙色", "spike": "异常"}


def _alert_row(row: Any) -> html.Li:
    day = row.day
    day_text = f"{day.month:02d}-{day.day:02d}" if hasattr(day, "month") else str(day)
    return html.Li(
        [
            html.Span(day_text, className="alert-day"),
            html.Span(_LEVEL_TAG.get(row.level, ""), className=f"alert-tag tag-{row.level}"),
            html.Span(str(row.unit), className="alert-unit"),
            html.Span(str(row.title), className="alert-title"),
            html.Span(str(row.detail), className="alert-detail"),
        ],
        className=f"alert-row level-{row.level}",
    )


def alert_list(frame: pd.DataFrame, *, visible: int = ALERT_ROWS) -> html.Div:
    """The rolling alert list.

    When there are more rows than fit, the rows are rendered twice in one track that a CSS
    animation moves up by exactly one copy and repeats: a seamless loop with a fixed number
    of DOM nodes (nothing is appended while it runs), paused by CSS while hovered.
    """
    if frame.empty:
        return html.Div("近7日无异常与红橙风险", className="empty-note")
    rows = [_alert_row(r) for r in frame.itertuples(index=False)]
    if len(rows) <= visible:
        return html.Div(html.Ul(rows, className="alert-track"), className="alert-viewport")
    copy = [_alert_row(r) for r in frame.itertuples(index=False)]
    seconds = ALERT_ROW_SECONDS * len(rows)
    return html.Div(
        html.Div(
            [
                html.Ul(rows, className="alert-track-part"),
                html.Ul(copy, className="alert-track-part", **_data({"aria-hidden": "true"})),
            ],
            className="alert-track rolling",
            style={"animationDuration": f"{seconds:.0f}s"},
        ),
        className="alert-viewport",
    )


def risk_strip(
    by_level: Mapping[str, tuple[int, int]], texts: Mapping[str, str] | None = None
) -> list[html.Div]:
    """Open risks by level under the map, in the four risk colours."""
    texts = texts or {}
    cells = []
    for level in RiskLevel:
        opened, new = by_level.get(level.value, (0, 0))
        cells.append(
            html.Div(
                [
                    html.Div(RISK_LEVEL_LABELS[level], className="risk-label"),
                    html.Div(
                        [
                            html.Span(
                                className="risk-open countup",
                                **_number_attrs(texts.get(f"{level.value}.open", f"{opened:,}")),
                            ),
                            html.Span("在册", className="risk-unit"),
                        ],
                        className="risk-number",
                    ),
                    html.Div(
                        f"期内新增 {texts.get(f'{level.value}.new', f'{new:,}')}",
                        className="risk-new",
                    ),
                ],
                className=f"risk-cell risk-{level.value}",
                style={"--risk-colour": RISK_COLOURS[level.value]},
            )
        )
    return cells


def patrol_rates(rates: Sequence[Kpi]) -> html.Div:
    """1/3/5-minute arrival rates as horizontal gauges."""
    rows = []
    for k in rates:
        width = 0.0 if k.value is None else min(max(float(k.value), 0.0), 100.0)
        rows.append(
            html.Div(
                [
                    html.Span(k.label, className="gauge-label"),
                    html.Span(
                        html.Span(className="gauge-fill", style={"width": f"{width:.1f}%"}),
                        className="gauge-bar",
                    ),
                    html.Span(k.text, className="gauge-value"),
                    html.Span(k.mom.text, className=_change_class(k.mom.favourable)),
                ],
                className="gauge-row",
            )
        )
    return html.Div(rows, className="gauges")


def footer(data_source: str, period_label: str, is_demo: bool) -> list[Any]:
    """Source, period and, for the demo database, that the city is fictional."""
    parts: list[Any] = [
        html.Span(f"数据来源：{data_source}"),
        html.Span(f"统计周期：{period_label}"),
    ]
    if is_demo:
        parts.append(html.Span("示例数据：虚构城市，不代表任何真实地区", className="demo-note"))
    parts.append(html.Span("按 F 全屏 · Esc 退出", className="key-hint"))
    return parts
