"""Layout of the leaders' dashboard (领导驾驶舱, laptop view): page skeleton and its parts.

Everything here is a pure function of values already computed by :mod:`data.views`; nothing
queries the database. :func:`page` is the skeleton the factory sets as ``app.layout``; the
part builders (:func:`kpi_cards`, :func:`breadcrumb`, :func:`ranking_table` …) are what the
callbacks return into it. Ids are defined once in :class:`Ids`; repeated parts get dict ids
from :func:`crumb_id`, :func:`rank_row_id` and :func:`kpi_id`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from data.indicators import METRIC_CHOICES, Change
from data.periods import PERIOD_CHOICES
from data.views import DEFAULT_METRIC, DEFAULT_PERIOD, STREAM_CHOICES, KpiGroup
from layouts.elements import El, col_class, h, link, node_tree, progress
from layouts.figures.download import export_href, graph_config
from layouts.figures.theme import RISK_COLOURS

__all__ = [
    "Ids",
    "alerts",
    "breadcrumb",
    "crumb_id",
    "footer",
    "kpi_cards",
    "kpi_id",
    "map_note",
    "page",
    "patrol_rates",
    "rank_row_id",
    "trend_note",
    "ranking_table",
    "risk_summary",
    "Relay",
    "StaticTree",
    "content",
    "slot",
    "validation_layout",
]


#: What a dropdown says about itself (dcc.Dropdown's own texts are English: "Select All",
#: "Search" …). Every dropdown of the page takes these.
DROPDOWN_LABELS: dcc.Dropdown.Labels = {
    "select_all": "全选",
    "deselect_all": "全不选",
    "selected_count": "已选 {num_selected} 项",
    "search": "搜索",
    "clear_search": "清除搜索",
    "clear_selection": "清除选择",
    "no_options_found": "无匹配项",
}


class Ids(StrEnum):
    URL = "dash-url"
    STATE = "dash-state"
    FOLLOW = "dash-follow"
    DRILL = "dash-drill"
    SHOWN = "dash-shown"
    TITLE = "dash-title"
    FRESHNESS = "dash-freshness"
    EXPORT = "dash-export"
    BREADCRUMB = "dash-breadcrumb"
    PERIOD_LABEL = "dash-period-label"
    PERIOD = "dash-period"
    DATES = "dash-dates"
    STREAM = "dash-stream"
    CATEGORIES = "dash-categories"
    CATEGORIES_WANTED = "dash-categories-wanted"
    ALERTS = "dash-alerts"
    KPIS = "dash-kpis"
    MAP_TITLE = "dash-map-title"
    METRIC = "dash-metric"
    HOTSPOT = "dash-hotspot"
    MAP_VIEW = "dash-map-view"
    MAP_BOX = "dash-map-box"
    MAP = "dash-map"
    CHART_BOX = "dash-chart-box"
    CHILD_CHART = "dash-child-chart"
    MAP_NOTE = "dash-map-note"
    RANKING_TITLE = "dash-ranking-title"
    RANKING = "dash-ranking"
    TREND_DISPUTE = "dash-trend-dispute"
    TREND_DISPUTE_TITLE = "dash-trend-dispute-title"
    TREND_PETITION_TITLE = "dash-trend-petition-title"
    TREND_PETITION = "dash-trend-petition"
    BREAKDOWN = "dash-breakdown"
    BREAKDOWN_TITLE = "dash-breakdown-title"
    TREND_NOTE = "dash-trend-note"
    PATROL = "dash-patrol"
    PATROL_RATES = "dash-patrol-rates"
    RISK = "dash-risk"
    RISK_SUMMARY = "dash-risk-summary"
    FOOTER = "dash-footer"
    DOWNLOAD_NAMES = "dash-download-names"


def crumb_id(code: str) -> dict[str, str]:
    """Id of one breadcrumb item."""
    return {"type": "dash-crumb", "code": code}


def rank_row_id(code: str) -> dict[str, str]:
    """Id of one ranking row."""
    return {"type": "dash-rank-row", "code": code}


def kpi_id(key: str) -> dict[str, str]:
    """Id of one KPI value."""
    return {"type": "dash-kpi", "key": key}


VIEW_OPTIONS = [
    {"label": "分区着色", "value": "choropleth"},
    {"label": "热力密度", "value": "density"},
]

GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}
MAP_CONFIG = {"displaylogo": False, "displayModeBar": False, "scrollZoom": True}
_GROUP_ICONS = {
    "dispute": "⚖",
    "petition": "✉",
    "grid_event": "▦",
    "patrol": "◉",
    "risk": "⚠",
}


# ---------------------------------------------------------------------------------------
# Skeleton


def _aria(**attrs: str) -> dict[str, Any]:
    """``aria-*`` attributes as keyword props (Dash accepts them; its stubs do not list them)."""
    return {f"aria-{key}": value for key, value in attrs.items()}


ARIA_HIDDEN = _aria(hidden="true")


def _panel(title: Any, body: Any, *, extra: Any = None, class_name: str = "") -> dbc.Card:
    header = html.Div(
        [html.Div(title, className="panel-title"), html.Div(extra, className="panel-tools")],
        className="panel-header",
    )
    return dbc.Card(
        [header, html.Div(body, className="panel-body")], className=f"panel {class_name}"
    )


def _graph(id_: str, height: int, config: dict | None = None) -> dcc.Graph:
    # The config never changes after the page is built: plotly.js answers a react whose config
    # differs with newPlot + react (a new SVG, a new MapLibre map). The camera button's file
    # name follows the view through DOWNLOAD_NAMES and assets/downloads.js instead.
    return dcc.Graph(
        id=id_,
        figure={"data": [], "layout": {"height": height}},
        config=graph_config("图表", base=config or GRAPH_CONFIG),  # type: ignore[arg-type]  # a plain dict is what Graph takes
        style={"height": f"{height}px"},
        className="panel-graph",
    )


def _header() -> html.Header:
    period_options = [{"label": v, "value": k} for k, v in PERIOD_CHOICES.items()]
    stream_options = [{"label": v, "value": k} for k, v in STREAM_CHOICES.items()]
    title_bar = html.Div(
        [
            html.Div(
                [
                    html.Span("◆", className="brand-mark", **ARIA_HIDDEN),
                    slot(Ids.TITLE, h("h1", className="brand-title"), "市域社会治理指挥中心"),
                    html.Span("领导驾驶舱", className="brand-sub"),
                ],
                className="brand",
            ),
            html.Div(
                [
                    slot(Ids.FRESHNESS, h("div", className="freshness")),
                    html.A(
                        "导出简报",
                        id=Ids.EXPORT,
                        href=export_href(None),
                        className="btn btn-light btn-sm export-btn",
                        title="导出当前视图的会议简报：幻灯片图片、文档插图和PPT（zip）",
                    ),
                ],
                className="title-tools",
            ),
        ],
        className="title-bar",
    )
    controls = html.Div(
        [
            slot(Ids.BREADCRUMB, h("nav", className="crumbs", **_aria(label="当前单位"))),
            html.Div(
                [
                    html.Label("统计周期", htmlFor=Ids.PERIOD, className="ctl-label"),
                    dcc.Dropdown(
                        id=Ids.PERIOD,
                        options=period_options,
                        value=DEFAULT_PERIOD,
                        clearable=False,
                        searchable=False,
                        labels=DROPDOWN_LABELS,
                        className="ctl ctl-period",
                    ),
                    dcc.DatePickerRange(
                        id=Ids.DATES,
                        display_format="YYYY-MM-DD",
                        start_date_placeholder_text="开始日期",
                        end_date_placeholder_text="结束日期",
                        minimum_nights=0,
                        first_day_of_week=1,
                        month_format="YYYY年M月",
                        className="ctl ctl-dates",
                    ),
                    html.Label("事项", htmlFor=Ids.STREAM, className="ctl-label"),
                    dcc.Dropdown(
                        id=Ids.STREAM,
                        options=stream_options,
                        value="dispute",
                        clearable=False,
                        searchable=False,
                        labels=DROPDOWN_LABELS,
                        className="ctl ctl-stream",
                    ),
                    dcc.Dropdown(
                        id=Ids.CATEGORIES,
                        options=[],
                        value=[],
                        multi=True,
                        placeholder="全部类别",
                        labels=DROPDOWN_LABELS,
                        # Most of a stream's categories at once (11 of the demo's 15; dcc: 3).
                        maxHeight=540,
                        className="ctl ctl-cats",
                    ),
                ],
                className="controls",
            ),
        ],
        className="control-bar",
    )
    return html.Header([title_bar, controls], className="dash-header")


def page() -> html.Div:
    """The page skeleton; every panel is filled by the callbacks from the URL state."""
    metric_options = [{"label": v, "value": k} for k, v in METRIC_CHOICES.items()]
    map_tools = html.Div(
        [
            dcc.Dropdown(
                id=Ids.METRIC,
                options=metric_options,
                value=DEFAULT_METRIC,
                clearable=False,
                labels=DROPDOWN_LABELS,
                className="ctl ctl-metric",
            ),
            dbc.RadioItems(
                id=Ids.MAP_VIEW,
                options=VIEW_OPTIONS,
                value="choropleth",
                inline=True,
                className="ctl-radio",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-primary btn-sm",
                labelCheckedClassName="active",
            ),
            dbc.Switch(id=Ids.HOTSPOT, label="热点分析", value=False, className="ctl-switch"),
        ],
        className="map-tools",
    )
    map_panel = _panel(
        slot(Ids.MAP_TITLE, h("span")),
        [
            html.Div(_graph(Ids.MAP, 440, MAP_CONFIG), id=Ids.MAP_BOX),
            html.Div(_graph(Ids.CHILD_CHART, 440), id=Ids.CHART_BOX, style={"display": "none"}),
            slot(Ids.MAP_NOTE, h("div", className="map-note")),
        ],
        extra=map_tools,
        class_name="panel-map",
    )
    ranking_panel = _panel(
        slot(Ids.RANKING_TITLE, h("span")),
        slot(Ids.RANKING, h("div", className="ranking")),
        class_name="panel-ranking",
    )
    trend_row = dbc.Row(
        [
            dbc.Col(
                _panel(slot(Ids.TREND_DISPUTE_TITLE, h("span")), _graph(Ids.TREND_DISPUTE, 250)),
                xl=4,
                md=6,
                xs=12,
            ),
            dbc.Col(
                _panel(slot(Ids.TREND_PETITION_TITLE, h("span")), _graph(Ids.TREND_PETITION, 250)),
                xl=4,
                md=6,
                xs=12,
            ),
            dbc.Col(
                _panel(slot(Ids.BREAKDOWN_TITLE, h("span")), _graph(Ids.BREAKDOWN, 250)),
                xl=4,
                md=12,
                xs=12,
            ),
        ],
        className="g-2",
    )
    panel_row = dbc.Row(
        [
            dbc.Col(
                _panel(
                    "巡逻防控",
                    dbc.Row(
                        [
                            dbc.Col(_graph(Ids.PATROL, 230), md=8, xs=12),
                            dbc.Col(slot(Ids.PATROL_RATES, h("div")), md=4, xs=12),
                        ],
                        className="g-2",
                    ),
                ),
                xl=6,
                xs=12,
            ),
            dbc.Col(
                _panel(
                    "风险隐患（五类领域 × 四级）",
                    dbc.Row(
                        [
                            dbc.Col(_graph(Ids.RISK, 230), md=8, xs=12),
                            dbc.Col(slot(Ids.RISK_SUMMARY, h("div")), md=4, xs=12),
                        ],
                        className="g-2",
                    ),
                ),
                xl=6,
                xs=12,
            ),
        ],
        className="g-2",
    )
    return html.Div(
        [
            # "callback-nav": a URL the server's navigate callback writes is announced like a
            # link's (the _dashprivate_pushstate event assets/navigation.js follows).
            dcc.Location(id=Ids.URL, refresh="callback-nav"),
            dcc.Store(id=Ids.STATE),
            # Once mounted, asks for the view of the page's URL (assets/navigation.js, follow).
            Relay(id=Ids.FOLLOW, handler="followUrl"),
            # Set once the category filter is first opened: its options are read then
            # (assets/navigation.js), not on every page load.
            dcc.Store(id=Ids.CATEGORIES_WANTED),
            # Where a click on the map or the ranked chart leads (assets/navigation.js).
            Relay(id=Ids.DRILL, handler="drillTarget"),
            # The controls showing the answered view, set if the URL is still its
            # (assets/navigation.js, showControls).
            Relay(id=Ids.SHOWN, handler="showControls"),
            # Graph id → PNG file name of what it shows (read by assets/downloads.js).
            Relay(id=Ids.DOWNLOAD_NAMES, handler="downloadNames"),
            _header(),
            html.Main(
                [
                    html.Div(id=Ids.ALERTS),
                    html.Div(
                        [
                            html.Span("统计期间：", className="muted"),
                            slot(Ids.PERIOD_LABEL, h("span")),
                        ],
                        className="period-line",
                    ),
                    slot(Ids.KPIS, h("div")),
                    dbc.Row(
                        [
                            dbc.Col(map_panel, xl=7, xs=12),
                            dbc.Col(ranking_panel, xl=5, xs=12),
                        ],
                        className="g-2",
                    ),
                    trend_row,
                    slot(Ids.TREND_NOTE, h("div", className="section-note")),
                    panel_row,
                ],
                className="dash-main container-fluid",
            ),
            slot(Ids.FOOTER, h("footer", className="dash-footer")),
        ],
        className="dash-page",
    )


def validation_layout() -> html.Div:
    """Every component any callback refers to (all of them are in :func:`page`)."""
    return page()


# ---------------------------------------------------------------------------------------
# Slots: places of the page whose content the view's answer writes, as element trees


class StaticTree(Component):
    """A slot of the page whose content is a tree of plain HTML elements (and client-side
    links), drawn by one Dash component (made with :func:`slot`).

    The KPI cards, the ranking table, the arrival rates and the risk tiles are ~580 elements
    per view. Sent as Dash components, each would cost the Dash 4 renderer a Redux action that
    runs the selector of every mounted component, so the cost would grow with the square of
    their number (≈1 s of script per drill on the city). None of them is the input or output
    of a callback, so their builders write :class:`layouts.elements.El` trees, and the render
    functions of :mod:`callbacks.dashboard` send them as JSON (:func:`content`) that
    ``assets/static_tree.js`` (``window.shiyu.StaticTree``) turns into React elements.

    The view writes ``tree`` of a slot that stays in the page, not the ``children`` of an
    ``html.Div``: the Dash renderer follows a new ``children`` with two more store actions (the
    layout's paths, the replaced components' state), each running every mounted component's
    selector (seventeen such outputs were 33 of a drill's 59 actions).

    Keyword arguments
    -----------------
    id : str
    tree : dict, str, list or None
        The content: a string, a tree ``{"t": tag, "p": {prop: value}, "c": [child, …]}``
        (a child is a tree, a string or None; ``t == "link"`` is an ``<a>`` that navigates
        like ``dcc.Link``: history entry, no page load) or a list of them.
    wrap : dict
        The slot's element, ``{"t": tag, "p": props}``, drawn with ``id`` around ``tree``.
    """

    _children_props: list[str] = []
    _base_nodes = ["children"]
    _namespace = "shiyu"
    _type = "StaticTree"

    def __init__(
        self,
        id: str | None = None,  # noqa: A002 - Dash's prop name
        tree: dict | str | list | None = None,
        wrap: dict | None = None,
        **kwargs: Any,
    ) -> None:
        self._prop_names = ["id", "tree", "wrap"]
        self._valid_wildcard_attributes: list[str] = []
        self.available_properties = ["id", "tree", "wrap"]
        self.available_wildcard_properties: list[str] = []
        args = {"tree": tree, **kwargs}
        if id is not None:
            args["id"] = id
        if wrap is not None:
            args["wrap"] = wrap
        super().__init__(**args)


class Relay(Component):
    """Hands what the view's answer carries to a function of the page's scripts, without a
    Dash callback (``assets/relay.js``: ``window.shiyu.relays[handler](data)`` after each
    change of ``data``).

    A ``dcc.Store`` read by a clientside callback costs every answer a cycle of the Dash
    renderer: its bookkeeping dispatches run every mounted component's selector, a React
    commit and a frame follow, while the map is still drawing. Three such stores (the drill
    target, the controls to show, the PNG names) were ~20 of a drill's ~37 callback
    dispatches.

    Keyword arguments
    -----------------
    id : str
    handler : str
        Name in ``window.shiyu.relays``.
    data : any JSON
    """

    _children_props: list[str] = []
    _base_nodes = ["children"]
    _namespace = "shiyu"
    _type = "Relay"

    def __init__(self, id: str, handler: str, data: Any = None, **kwargs: Any) -> None:  # noqa: A002 - Dash's prop name
        self._prop_names = ["id", "handler", "data"]
        self._valid_wildcard_attributes: list[str] = []
        self.available_properties = ["id", "handler", "data"]
        self.available_wildcard_properties: list[str] = []
        super().__init__(id=id, handler=handler, data=data, **kwargs)


#: What a slot shows: text, an element, or a list of them (see :func:`content`).
Content = str | El | Sequence["str | El"] | None


def slot(id: str, element: El, initial: Content = None) -> StaticTree:  # noqa: A002
    """A place in the page whose content the view's answer writes (``Output(id, "tree")``):
    ``element`` (its tag and props; its children are ignored) around :func:`content`."""
    wrap = element.tree()
    del wrap["c"]
    return StaticTree(id=id, tree=content(initial), wrap=wrap)


def content(value: Content) -> Any:
    """A slot's content as :class:`StaticTree` draws it: a string, a tree or a list of them."""
    if isinstance(value, list | tuple):
        return [node_tree(v) for v in value]
    return node_tree(value)


# ---------------------------------------------------------------------------------------
# Parts returned by callbacks


def alerts(messages: Sequence[str]) -> list[dbc.Alert]:
    """One warning per message (fallbacks taken, empty periods)."""
    return [
        dbc.Alert(m, color="warning", className="dash-alert", dismissable=True) for m in messages
    ]


def breadcrumb(items: Sequence[tuple[str, str, str, str | None]]) -> El:
    """Breadcrumb of the current unit.

    Parameters
    ----------
    items : sequence of (code, name, level label, href or None)
        Root first; the last item (the current unit) has no link.
    """
    lis = []
    for code, name, level, href in items:
        body = (
            link(name, href, id=crumb_id(code), title=f"返回{name}（{level}）")
            if href
            else h("span", name, id=crumb_id(code), title=level, **_aria(current="page"))
        )
        lis.append(h("li", [body], className="breadcrumb-item" + ("" if href else " active")))
    return h("ol", lis, className="breadcrumb mb-0")


def _change(label: str, change: Change, *, compact: bool = False) -> El:
    if change.favourable is None:
        cls = "chg chg-flat"
    else:
        cls = "chg chg-good" if change.favourable else "chg chg-bad"
    text = change.text
    if compact and change.kind == "pp":
        # Narrow cards: the table's footnote says rate changes are percentage points.
        text = text.removesuffix("个百分点")
    parts: list[Any] = [h("span", label, className="chg-label")] if label else []
    return h("span", [*parts, text], className=cls, title=change.text)


#: ``dbc.Col(xs=12, md=6, lg=4, xl=True)``: five cards in a row on a wide screen.
_KPI_COL = col_class(xs=12, md=6, lg=4, xl=True)


def kpi_cards(groups: Sequence[KpiGroup]) -> El:
    """The five KPI cards: a headline figure with 环比/同比, then a compact table."""
    cols = []
    for group in groups:
        head = group.headline
        headline = h(
            "div",
            [
                h("div", head.label, className="kpi-head-label", title=head.caliber),
                h(
                    "div",
                    [
                        h("span", head.text, id=kpi_id(head.key), className="kpi-value"),
                        h("span", head.unit if head.kind == "count" else "", className="kpi-unit"),
                    ],
                    className="kpi-value-line",
                ),
                h(
                    "div",
                    [_change("环比", head.mom), _change("同比", head.yoy)],
                    className="kpi-changes",
                ),
            ],
            className="kpi-headline",
        )
        rows = [
            h(
                "tr",
                [
                    h("td", k.label, title=k.caliber, className="kpi-label"),
                    h("td", k.text, id=kpi_id(k.key), className="kpi-num"),
                    h("td", _change("", k.mom, compact=True)),
                    h("td", _change("", k.yoy, compact=True)),
                ],
            )
            for k in group.items[1:]
        ]
        table = h(
            "table",
            [
                h(
                    "thead",
                    h("tr", [h("th", "指标"), h("th", "数值"), h("th", "环比"), h("th", "同比")]),
                ),
                h("tbody", rows),
            ],
            className="kpi-table",
        )
        title = h(
            "div",
            [h("span", _GROUP_ICONS.get(group.key, "■"), className="kpi-icon"), group.title],
            className="kpi-title",
        )
        card = h("section", [title, headline, table], className=f"kpi-card kpi-{group.key}")
        cols.append(h("div", card, className=_KPI_COL))
    return h("div", cols, className="g-2 kpi-row row")


def _missing(value: object) -> bool:
    """None, NaN or pandas' NA: what ``pd.isna`` says of one value, without its dispatch."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def ranking_table(
    frame: pd.DataFrame,
    hrefs: Mapping[str, str],
    *,
    metric_label: str,
    highlight: str | None = None,
    drillable: bool = True,
) -> El:
    """Children ranked by the metric; each row links to (drills into) its unit.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``code``, ``name``, ``value``, ``text``, ``rank``, ``mom_text``,
        ``mom_favourable``; optional ``hotspot``.
    hrefs : mapping
        Unit code → link (``?unit=…``).
    metric_label : str
        Column title of the value.
    highlight : str, optional
        Code of the row to mark (the current unit when showing siblings).
    drillable : bool
        Rows are links.
    """
    if frame.empty:
        return h("div", "无下级单位。", className="muted p-2")
    # Plain lists, not a sorted frame walked row by row: pandas' per-row cost was most of the
    # table's, on every first visit of every unit.
    n = len(frame)
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float).tolist()
    names, codes = frame["name"].tolist(), frame["code"].tolist()
    texts, ranks = frame["text"].tolist(), frame["rank"].tolist()
    mom_texts, favourable = frame["mom_text"].tolist(), frame["mom_favourable"].tolist()
    hotspots = frame["hotspot"].tolist() if "hotspot" in frame else [None] * n
    # Highest value first, ties by name, units without a value last (a stable sort).
    order = sorted(
        range(n),
        key=lambda i: (_missing(values[i]), 0.0 if _missing(values[i]) else -values[i], names[i]),
    )
    present = [v for v in values if not _missing(v)]
    top = max(present) if present else None
    rows = []
    for i in order:
        value = None if _missing(values[i]) else values[i]
        # A sliver for a small value, so that it does not read as none; none for zero.
        width = 0 if not value or not top else max(2.0, value / top * 100)
        fav = favourable[i]
        chg_cls = "chg-flat" if _missing(fav) else ("chg-good" if fav else "chg-bad")
        code = codes[i]
        name: Any = (
            link(names[i], hrefs[code], className="stretched-link rank-link")
            if drillable and code in hrefs
            else names[i]
        )
        hot = hotspots[i]
        badge = None
        if isinstance(hot, str) and hot.startswith(("热点", "冷点")):
            badge = h(
                "span",
                hot[:2],
                className="hot-badge " + ("hot" if hot[0] == "热" else "cold"),
                title=hot,
            )
        rank = "—" if _missing(ranks[i]) else f"{int(ranks[i])}"
        bar = h(
            "div",
            h("div", className="rank-bar-fill", style={"width": f"{width:.1f}%"}),
            className="rank-bar",
        )
        rows.append(
            h(
                "tr",
                [
                    h(
                        "td",
                        h("span", rank, className=f"rank-no rank-{rank}"),
                        className="rank-col",
                    ),
                    h("td", [name, badge], className="rank-name"),
                    h("td", bar, className="rank-bar-col"),
                    h("td", texts[i], className="rank-value"),
                    h("td", mom_texts[i], className=f"rank-mom chg {chg_cls}"),
                ],
                id=rank_row_id(code),
                className="rank-row" + (" rank-current" if code == highlight else ""),
            )
        )
    head = h(
        "tr",
        [
            h("th", "排名"),
            h("th", "单位"),
            h("th", metric_label, colSpan=2, className="text-end"),
            h("th", "环比", className="text-end"),
        ],
    )
    return h("table", [h("thead", head), h("tbody", rows)], className="rank-table")


def map_note(lines: Sequence[str], method: str | None = None) -> list[El]:
    """Notes under the map: the level, the hotspot result or why it did not run, the method."""
    out = [h("div", line, className="note-line") for line in lines if line]
    if method:
        out.append(
            h("details", [h("summary", "热点分析方法说明"), h("small", method)], className="method")
        )
    return out


def trend_note(anomaly_count: int, rule: str) -> list[El]:
    """Legend of the trend charts and the anomaly rule (folded)."""
    return [
        h(
            "span",
            "趋势图：柱为本期，虚线为去年同期（已平移一年对齐），◆为异常点"
            f"（本期共{anomaly_count}个）。",
        ),
        h("details", [h("summary", "异常判定规则"), h("small", rule)], className="method"),
    ]


def patrol_rates(rates: Sequence[Any]) -> El:
    """1/3/5-minute arrival rates as progress bars, with 环比/同比."""
    items = []
    for k in rates:
        pct = 0.0 if k.value is None else max(0.0, min(100.0, float(k.value)))
        head = h(
            "div",
            [h("span", k.label, title=k.caliber), h("strong", k.text, id=kpi_id(k.key + "-bar"))],
            className="rate-head",
        )
        bar = progress(pct, color="success" if pct >= 80 else "info", class_name="rate-bar")
        changes = h(
            "div", [_change("环比", k.mom), _change("同比", k.yoy)], className="kpi-changes"
        )
        items.append(h("div", [head, bar, changes], className="rate-item"))
    return h("div", items, className="rates")


def risk_summary(by_level: Mapping[str, tuple[int, int]]) -> El:
    """Open (at period end) and new (within period) risks per level, as four coloured tiles."""
    labels = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
    tiles = []
    for level, (open_end, new) in by_level.items():
        tiles.append(
            h(
                "div",
                [
                    h("div", f"{labels.get(level, level)}风险", className="risk-name"),
                    h("div", f"{open_end:,}", className="risk-open"),
                    h("div", f"在册 · 期内新增{new:,}", className="risk-new"),
                ],
                className="risk-tile",
                style={"borderLeftColor": RISK_COLOURS.get(level, "#999")},
            )
        )
    return h("div", tiles, className="risk-tiles")


def footer(data_source: str, freshness: str, is_demo: bool) -> list[El]:
    """数据来源, data freshness and, for the demo, the fictional-data notice."""
    parts = [h("span", f"数据来源：{data_source}"), h("span", freshness)]
    if is_demo:
        parts.append(h("span", "示例数据：虚构城市，边界非真实行政区划", className="demo-note"))
    return parts
