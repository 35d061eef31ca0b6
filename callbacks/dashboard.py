"""Callbacks of the leaders' dashboard.

State lives in the URL query string (see :mod:`data.views`). Navigation happens in the
browser: a click on the map or on the ranked chart moves the page to the child's query
(``assets/navigation.js``, from the ``DRILL`` relay the map part fills; the address bar
follows once the view is drawn), links (ranking, breadcrumb) and Back change it too, and
every URL change is copied into the ``STATE`` store in the browser, which asks for the whole
view at once (one callback, one request: its four parts are computed and remembered on their
own; the same answer audits the view and sets the controls from the URL, :func:`show_view`,
and carries the URL each control choice leads to, :func:`control_links`). :func:`navigate`
turns a person's control change into a new query (Dash's ``dcc.Location`` pushes a history
entry, so browser Back works).

Every callback body is a module-level function taking ``services`` first, so tests call the
logic directly; :func:`register` only wires them to the app.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import plotly.graph_objects as go
from dash import ClientsideFunction, Dash, Input, Output, State, ctx, no_update

from callbacks import scope
from callbacks.services import Services
from data import periods, views
from data.cache import holding_writes, remember, remember_all
from data.indicators import METRIC_CHOICES, metric_label
from data.levels import LEVEL_LABELS
from geo.hotspots import METHOD_TEXT
from layouts import dashboard as layout
from layouts.dashboard import Ids
from layouts.figures import charts, maps
from layouts.figures.download import download_name, export_href, graph_config

_HIDDEN = {"display": "none"}
_SHOWN: dict[str, str] = {}
MAP_WIDTH, MAP_HEIGHT = 900, 440

#: Controls in the order :func:`show_view` and :func:`navigate` receive and return them.
CONTROLS = (
    (Ids.PERIOD, "value"),
    (Ids.DATES, "start_date"),
    (Ids.DATES, "end_date"),
    (Ids.METRIC, "value"),
    (Ids.STREAM, "value"),
    (Ids.CATEGORIES, "value"),
    (Ids.HOTSPOT, "value"),
    (Ids.MAP_VIEW, "value"),
)


# ---------------------------------------------------------------------------------------
# URL ⇄ controls


def control_values(state: views.ViewState) -> tuple[Any, ...]:
    """Control values showing ``state`` (order of :data:`CONTROLS`)."""
    return (
        state.period.key,
        state.period.start.isoformat(),
        state.period.end.isoformat(),
        state.metric,
        state.stream,
        list(state.categories),
        state.hotspots,
        state.view,
    )


#: The controls whose every choice is known in advance, with those choices: their URLs travel
#: with the view (:func:`control_links`), so choosing one asks for its view at once.
LINKED_CONTROLS: tuple[tuple[Ids, tuple[Any, ...]], ...] = (
    (Ids.PERIOD, tuple(periods.PERIOD_CHOICES)),
    (Ids.METRIC, tuple(METRIC_CHOICES)),
    (Ids.STREAM, tuple(views.STREAM_CHOICES)),
    (Ids.HOTSPOT, (True, False)),
    (Ids.MAP_VIEW, tuple(o["value"] for o in layout.VIEW_OPTIONS)),
)

#: Linked controls that are native inputs: assets/navigation.js follows their change event
#: (mouse or keyboard), so no callback waits on their value (each would cost the choice a
#: cycle of Dash's renderer before its view is shown).
EVENT_CONTROLS = (Ids.HOTSPOT, Ids.MAP_VIEW)


#: Stand-ins for the picked dates in the URL :func:`control_links` gives for the date pickers.
DATE_SLOTS = ("0000-00-01", "0000-00-02")


def controls_showing(search: str | None, state: views.ViewState) -> dict[str, Any]:
    """What ``assets/navigation.js`` (``showControls``) needs to show ``state`` on the controls.

    ``{"search": …, "controls": [[id, prop, value], …], "next": …}`` (order of
    :data:`CONTROLS`; ``next`` is :func:`control_links`). The browser sets only the controls
    that differ, and only while the URL is still ``search``: an answer that arrives after a
    person chose something else (a newer view is on its way) must not put the old choice
    back, which would move the URL back too.
    """
    return {
        "search": search or "",
        "controls": [
            [cid, prop, value]
            for (cid, prop), value in zip(CONTROLS, control_values(state), strict=True)
        ],
        "next": control_links(state),
    }


@functools.lru_cache(maxsize=256)  # a pure function of the state; ~1 ms a view otherwise
def control_links(state: views.ViewState) -> dict[str, Any]:
    """The URL each choice of the :data:`LINKED_CONTROLS` leads to from ``state``.

    ``{control id: {JSON of the value: search}}``, ``None`` where the choice changes nothing:
    what :func:`navigate` answers for that choice, computed with the view so the browser
    asks for the next view at once instead of asking the server for its URL first (a round
    trip and two renderer cycles before every period or metric change). Dates and
    categories, which cannot be listed, still go through :func:`navigate`.
    """
    shown = control_values(state)
    links: dict[str, Any] = {}
    for cid, choices in LINKED_CONTROLS:
        slot = next(i for i, (c, prop) in enumerate(CONTROLS) if c == cid and prop != "end_date")
        out: dict[str, str | None] = {}
        for value in choices:
            controls = list(shown)
            controls[slot] = value
            search = _navigate_from(state, cid, tuple(controls))[0]
            out[json.dumps(value)] = None if search is no_update else search
        links[str(cid)] = out
    # Dates: the URL with the two dates to fill in, and the spans the pickers show without a
    # person's choice (the URL's period's; a preset period's, when the period control shows it).
    picked = (state.period.key, DATE_SLOTS[0], DATE_SLOTS[1], *shown[3:])
    links[str(Ids.DATES)] = {
        "custom": _navigate_from(state, Ids.DATES, picked)[0],
        "slots": list(DATE_SLOTS),
        "shown": [state.period.start.isoformat(), state.period.end.isoformat()],
        "spans": {
            key: [span.start.isoformat(), span.end.isoformat()]
            for key in periods.PERIOD_CHOICES
            if key != "custom"
            for span in [periods.resolve_period(key, state.anchor)]
        },
    }
    return links


def navigate(
    services: Services, trigger: str | None, search: str | None, controls: tuple[Any, ...]
) -> tuple[Any, ...]:
    """The URL after the control ``trigger`` changed.

    A control that shows what the URL already says (set by :func:`show_view`) changes nothing,
    so only a person's choice moves the URL. The page asks the server for it when dates or
    categories are chosen; the other controls' URLs come with the view (:func:`control_links`,
    the same answers computed in advance).

    Returns
    -------
    tuple
        ``(search, *controls)``: the new query, or ``no_update`` when it did not change (so no
        history entry is added); ``no_update`` for controls the user just set.
    """
    return _navigate_from(resolve(services, search), trigger, controls)


def _navigate_from(
    current: views.ViewState, trigger: str | None, controls: tuple[Any, ...]
) -> tuple[Any, ...]:
    period, start, end, metric, stream, cats, hot, view = controls
    new = dict(current.query())
    out_controls: list[Any] = [no_update] * len(CONTROLS)
    unchanged = (no_update, *out_controls)
    if trigger == Ids.PERIOD:
        new["period"] = period
        new.pop("start", None)
        new.pop("end", None)
        if period == "custom":
            # Start from the dates of the period being replaced, which the pickers show.
            new["start"] = current.period.start.isoformat()
            new["end"] = current.period.end.isoformat()
    elif trigger == Ids.DATES:
        if (
            not start
            or not end
            or (str(start)[:10], str(end)[:10]) in _dates_shown(current, period)
        ):
            return unchanged
        new.update(period="custom", start=str(start)[:10], end=str(end)[:10])
        out_controls[0] = "custom"
    elif trigger == Ids.METRIC:
        new["metric"] = metric
    elif trigger == Ids.STREAM:
        if stream == current.stream:
            return unchanged
        new["stream"] = stream
        new.pop("cat", None)
        out_controls[5] = []
    elif trigger == Ids.CATEGORIES:
        if cats:
            new["cat"] = ",".join(cats)
        else:
            new.pop("cat", None)
    elif trigger == Ids.HOTSPOT:
        if hot:
            new["hot"] = "1"
        else:
            new.pop("hot", None)
    elif trigger == Ids.MAP_VIEW:
        if view == "density":
            new["view"] = "density"
        else:
            new.pop("view", None)
    new_search = views.to_search(new)
    if new_search == views.to_search(current.query()):  # the same view
        return unchanged
    return (new_search, *out_controls)


def _dates_shown(current: views.ViewState, period: str | None) -> set[tuple[str, str]]:
    """The dates the pickers show for the URL's period and for the period control's own.

    Both are a display, not a person's choice: the second is what an answer sets when a newer
    URL (Back, say) overtook it before this callback was asked.
    """
    spans = {current.period}
    if period and period != "custom" and period in periods.PERIOD_CHOICES:
        spans.add(periods.resolve_period(period, current.anchor))
    return {(p.start.isoformat(), p.end.isoformat()) for p in spans}


def categories_shown(
    services: Services,
    trigger: str | None,
    stream: str | None,
    wanted: bool,
    chosen: list[str] | None,
) -> list[dict[str, str]] | Any:
    """The category filter's options once they are needed: the filter was opened (``wanted``)
    or categories are chosen (a URL named them, and they need their labels). Otherwise none,
    without a read; ``no_update`` for a pick among the options already shown (``trigger``:
    the component that changed)."""
    if not wanted and not chosen:
        return []
    if trigger == Ids.CATEGORIES and wanted:
        return no_update
    return category_options(services, stream)


def category_options(services: Services, stream: str | None) -> list[dict[str, str]]:
    """Options of the category filter for the focus stream."""
    return [
        {"label": c, "value": c}
        for c in views.category_options(services.repo, stream or views.DEFAULT_STREAM)
    ]


# ---------------------------------------------------------------------------------------
# Render


def resolve(services: Services, search: str | None, *, record: bool = False) -> views.ViewState:
    """The view state of a query string, within the signed-in user's jurisdiction.

    The unit is checked by :func:`callbacks.scope.clamp_unit` on every call (a code outside the
    scope is audited and replaced by the user's own unit; :func:`data.views.resolve_state` then
    says so on the page); the resolution itself comes from ``services.states``, keyed by the
    data version and the user's scope. With ``record`` the view is written to the audit trail.

    Raises
    ------
    data.auth.ScopeRefused
        Nobody is signed in.
    """
    query = views.parse_search(search)
    root = scope.user_root(services)
    code = scope.clamp_unit(services, query.get("unit"))  # on every request, never remembered
    # Remembered per data version and viewer scope: the render callbacks share one resolution.
    state = services.states.resolve(services.repo, query, root_code=root)
    if state.unit.code != code:  # the two checks disagree: trust the scope module's answer
        state = services.states.resolve(services.repo, {**query, "unit": code}, root_code=root)
    if record:
        scope.record_view(services, state.unit.code, after_answer=True)
    return state


@dataclass(frozen=True)
class Resolved:
    """A view resolved (scope checked) once for a whole answer: its parts share the check.

    Render functions take it in place of the ``STATE`` store; the browser can only send JSON,
    never one of these.
    """

    search: str | None
    state: views.ViewState


#: What render functions take: the ``STATE`` store (``{"search": …}``) or a :class:`Resolved`.
Source = dict | Resolved | None


def _state(services: Services, store: Source) -> views.ViewState:
    if isinstance(store, Resolved):
        return store.state
    return resolve(services, _search(store))


def _search(store: Source) -> str | None:
    if isinstance(store, Resolved):
        return store.search
    return (store or {}).get("search")


Render = Callable[[Services, Source], tuple[Any, ...]]


#: What the trends and the panels show depends on these parts of the state only (they hold
#: no links), so a change of metric, hotspots or map view leaves their remembered entries valid.
TREND_FIELDS = ("unit", "period", "mom", "yoy", "anchor", "stream", "categories")
PANEL_FIELDS = ("unit", "period", "mom", "yoy", "anchor")


def remembered(
    services: Services,
    name: str,
    render: Render,
    store: Source,
    depends: tuple[str, ...] | None = None,
) -> tuple[Any, ...]:
    """``render(services, store)``, computed once per view and data version for all workers.

    Twenty leaders opening the same district before a meeting get one computation. The scope
    check runs first, on every request; the entry is keyed by the resolved state (unit, lineage,
    periods, choices, messages) or, with ``depends``, by those of its fields the part shows,
    the viewer's root (the breadcrumb starts there) and the display settings, so two
    jurisdictions never share an entry.
    """
    return _sent(_stored(services, (name, render, depends), store))


#: A part of the view: its name, render function and the state fields it shows (see
#: :data:`VIEW_PARTS`).
Part = tuple[str, Render, tuple[str, ...] | None]


def _stored(services: Services, part: Part, store: Source) -> tuple[Any, ...]:
    return remember(services.repo, *_entry(services, part, store))  # type: ignore[no-any-return]


def _entry(
    services: Services, part: Part, store: Source
) -> tuple[str, tuple[Any, ...], Callable[[], tuple[Any, ...]]]:
    """The name, key and computation under which ``part`` of the view is remembered."""
    name, render, depends = part
    state = _state(services, store)
    settings = (
        services.title,
        services.data_source,
        services.is_demo,
        services.tiles_url,
        services.tiles_crs,
        services.small_count_threshold,
    )
    shown = repr(state) if depends is None else repr([getattr(state, f) for f in depends])
    key = (scope.user_root(services), shown, settings)
    return f"dashboard.{name}", key, lambda: _encoded(render(services, store))


def _sent(stored: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(orjson.Fragment(bytes(o)) if isinstance(o, Encoded) else o for o in stored)


#: The options plotly.io's orjson engine (``to_json_plotly``, which Dash encodes answers with)
#: gives ``orjson.dumps``: an output encoded here reads as it would have in the answer.
ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class Encoded(bytes):
    """An output stored as the JSON it is sent as."""


def _encoded(outputs: tuple[Any, ...]) -> tuple[Any, ...]:
    # A remembered part is read far more often than computed: as JSON it is loaded from the
    # cache as one string and goes into the answer as an orjson.Fragment, where its objects
    # (a district's map part: some 14,000 values) took ~3 ms to unpickle and ~1 ms to encode
    # again. Dash components (the alerts) are kept as objects for Dash to encode.
    out: list[Any] = []
    for o in outputs:
        plain = o.to_plotly_json() if isinstance(o, go.Figure) else o
        try:
            out.append(Encoded(orjson.dumps(plain, option=ORJSON_OPTIONS)))
        except TypeError:
            out.append(plain)
    return tuple(out)


def render_header(services: Services, store: Source) -> tuple[Any, ...]:
    """Title, freshness, alerts, breadcrumb, period label, KPI cards and footer."""
    state = _state(services, store)
    crumbs = [
        (
            u.code,
            u.name,
            LEVEL_LABELS.get(u.level, u.level),  # type: ignore[call-overload]
            None if u.code == state.unit.code else state.search(unit=u.code),
        )
        for u in state.lineage
    ]
    messages = list(state.messages)
    groups = views.kpis(services.repo, state)
    freshness = views.freshness(state)
    period_label = f"{state.period.label}（环比：{state.mom.label}；同比：{state.yoy.label}）"
    return (
        services.title,
        freshness,
        layout.alerts(messages),
        layout.content(layout.breadcrumb(crumbs)),
        period_label,
        layout.content(layout.kpi_cards(groups)),
        layout.content(layout.footer(services.data_source, freshness, services.is_demo)),
    )


def drill_target(state: views.ViewState) -> dict[str, str]:
    """What ``assets/navigation.js`` needs to turn a clicked unit code into a URL.

    ``?unit=<code>&<rest>`` is the canonical query of the shown view moved to that unit
    (``state.search(unit=code)``) without a server round trip; the server checks the unit's
    scope when it renders the view, as it does for any URL.
    """
    return {"unit": state.unit.code, "rest": state.search(unit=None).removeprefix("?")}


def render_map(services: Services, store: Source) -> tuple[Any, ...]:
    """Map (or the ranked chart where there are no polygons), its notes, the ranking, and
    the :func:`drill_target` of a click on either."""
    state = _state(services, store)
    mv = views.map_view(services.repo, state)
    table = mv.table
    notes: list[Any] = []
    if state.is_lowest:
        notes.append(
            f"已到最低一级（{state.level_label}），无下级单位；"
            + ("地图与排名显示同级单位，当前单位加粗标出。" if mv.siblings else "")
        )
    level_name = (
        LEVEL_LABELS.get(table["level"].iloc[0], "下级单位")  # type: ignore[call-overload]
        if not table.empty
        else "下级单位"
    )
    scope = f"{state.lineage[-2].name if mv.siblings else state.unit.name}各{level_name}"
    map_title = f"{scope} · {mv.metric_label}"
    hrefs = {code: state.search(unit=code) for code in table["code"]}
    ranking_title = f"{scope}排名 · {mv.metric_label}"
    ranking = layout.content(
        layout.ranking_table(table, hrefs, metric_label=mv.metric_label, highlight=mv.selected_code)
    )

    if state.hotspots:
        if mv.hotspot_message:
            notes.append(f"热点分析未进行：{mv.hotspot_message}")
        elif "hotspot" in table:
            counts = mv.hotspot_counts
            notes.append(
                f"热点分析：显著热点{counts.get('hot', 0)}个、冷点{counts.get('cold', 0)}个"
                "（红框为热点，蓝框为冷点）。"
            )

    if not mv.has_polygons:
        if not table.empty:
            notes.append("本级单位没有边界数据，以排名图代替地图；点击条形可进入下级。")
        chart = charts.ranking_figure(
            table, metric_label=mv.metric_label, height=440, highlight=mv.selected_code
        )
        return (
            charts.empty_figure("", height=440),
            _HIDDEN,
            chart,
            _SHOWN,
            map_title,
            layout.content(layout.map_note(notes, method=METHOD_TEXT if state.hotspots else None)),
            ranking_title,
            ranking,
            drill_target(state),
        )

    tiles = services.tiles_url or None
    if state.view == views.VIEW_DENSITY:
        cells = views.density_cells(services.repo, state)
        figure = maps.density_figure(
            cells,
            mv.features,  # type: ignore[arg-type]
            colorbar_title=f"{views.STREAM_CHOICES[state.stream]}件数",
            tiles_url=tiles,
            tiles_crs=services.tiles_crs,
            bounds=mv.bounds,
            width=MAP_WIDTH,
            height=MAP_HEIGHT,
        )
        map_title = f"{scope} · {views.STREAM_CHOICES[state.stream]}热力密度"
        notes.append("热力密度按约0.7平方公里网格单元汇总事件数绘制，不含个人位置信息。")
    else:
        figure = maps.choropleth_figure(
            mv.features,  # type: ignore[arg-type]
            table,
            colorbar_title=mv.metric_label,
            tiles_url=tiles,
            tiles_crs=services.tiles_crs,
            bounds=mv.bounds,
            selected_code=mv.selected_code,
            width=MAP_WIDTH,
            height=MAP_HEIGHT,
        )
    return (
        figure,
        _SHOWN,
        charts.empty_figure("", height=440),
        _HIDDEN,
        map_title,
        layout.content(layout.map_note(notes, method=METHOD_TEXT if state.hotspots else None)),
        ranking_title,
        ranking,
        drill_target(state),
    )


def render_trends(services: Services, store: Source) -> tuple[Any, ...]:
    """Dispute and petition trends with last year and anomalies; the category breakdown."""
    state = _state(services, store)
    disputes, petitions = views.trends(services.repo, state, ["dispute", "petition"])
    parts = views.breakdown(services.repo, state)
    n_anomalies = disputes.anomaly_count + petitions.anomaly_count
    stream_label = views.STREAM_CHOICES[state.stream]
    cats = "、".join(state.categories) if state.categories else "全部类别"
    return (
        disputes.title,
        charts.trend_figure(disputes.frame, disputes.freq, height=250),
        petitions.title,
        charts.trend_figure(petitions.frame, petitions.freq, height=250),
        charts.breakdown_figure(parts, height=250),
        f"{stream_label}类别构成（{cats}）",
        layout.content(layout.trend_note(n_anomalies, disputes.rule_text)),
    )


def render_panels(services: Services, store: Source) -> tuple[Any, ...]:
    """Patrol effort and arrival rates; the five-domain × four-level risk matrix."""
    state = _state(services, store)
    patrol = views.patrol_panel(services.repo, state)
    risk = views.risk_panel(services.repo, state)
    return (
        charts.patrol_figure(patrol.series, patrol.freq, height=230),
        layout.content(layout.patrol_rates(patrol.rates)),
        charts.risk_matrix_figure(risk.matrix, height=230),
        layout.content(layout.risk_summary(risk.by_level)),
    )


#: Graphs in the order of :func:`render_downloads`' configs.
DOWNLOAD_GRAPHS = (
    Ids.MAP,
    Ids.CHILD_CHART,
    Ids.TREND_DISPUTE,
    Ids.TREND_PETITION,
    Ids.BREAKDOWN,
    Ids.PATROL,
    Ids.RISK,
)


def render_downloads(services: Services, store: Source) -> tuple[Any, ...]:
    """The 导出简报 link and, for every graph of :data:`DOWNLOAD_GRAPHS`, a 2× PNG download
    named after what it shows (the config it would have; the page keeps each graph's config
    constant and takes only the file name, see :func:`download_names`)."""
    state = _state(services, store)
    metric = metric_label(state.metric)
    period = state.period.label
    unit = state.unit.name

    def named(what: str, base: dict[str, Any]) -> dict[str, Any]:
        return graph_config(download_name(unit, what, period), base=base)

    stream = views.STREAM_CHOICES[state.stream]
    return (
        export_href(_search(store)),
        named(f"地图-{metric}", layout.MAP_CONFIG),
        named(f"排名-{metric}", layout.GRAPH_CONFIG),
        named("矛盾纠纷受理趋势", layout.GRAPH_CONFIG),
        named("信访受理趋势", layout.GRAPH_CONFIG),
        named(f"{stream}类别构成", layout.GRAPH_CONFIG),
        named("巡逻防控", layout.GRAPH_CONFIG),
        named("风险隐患分布", layout.GRAPH_CONFIG),
    )


def download_names(services: Services, store: Source) -> tuple[str, dict[str, str]]:
    """The 导出简报 link and ``{graph id: PNG file name}`` for the view in ``store``."""
    href, *configs = render_downloads(services, store)
    names = {
        str(gid): cfg["toImageButtonOptions"]["filename"]
        for gid, cfg in zip(DOWNLOAD_GRAPHS, configs, strict=True)
    }
    return href, names


# ---------------------------------------------------------------------------------------
# Registration


#: The parts of the view callback's answer, in its order: name, render function, and the
#: state fields the part shows (None: the whole state), see :func:`remembered`.
VIEW_PARTS: tuple[Part, ...] = (
    ("header", render_header, None),
    ("map", render_map, None),
    ("trends", render_trends, TREND_FIELDS),
    ("panels", render_panels, PANEL_FIELDS),
)


def render_view(services: Services, search: str | None) -> tuple[Any, ...]:
    """The view callback's whole answer for ``search``: the parts of :data:`VIEW_PARTS`, each
    remembered on its own, then the 导出简报 link and the PNG names. The scope is checked once."""
    with services.repo.reading(), holding_writes(services.repo):  # as show_view
        return _render_resolved(services, Resolved(search, resolve(services, search)))[0]


def output_tag(stored: Any) -> str | None:
    """A digest of one remembered output as it is sent (the JSON :func:`_encoded` stored), or
    None for one kept as Dash components (the header's alerts): those are always sent."""
    if not isinstance(stored, Encoded):
        return None
    return hashlib.blake2b(stored, digest_size=12).hexdigest()


def _render_resolved(
    services: Services, resolved: Resolved, drawn: dict[str, Any] | None = None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    out: list[Any] = []
    tags: dict[str, str] = {}
    kept: list[str] = []
    # The parts are looked up, and those computed stored, together: one round trip each way.
    entries = [_entry(services, part, resolved) for part in VIEW_PARTS]
    for part, stored in zip(VIEW_PARTS, remember_all(services.repo, entries), strict=True):
        name = part[0]
        for i, (value, sent) in enumerate(zip(stored, _sent(stored), strict=True)):
            tag, slot = output_tag(value), f"{name}.{i}"
            if tag is not None:
                tags[slot] = tag
            # The page already shows this output (a metric choice leaves the trends, the
            # panels and the titles as they were): Dash leaves it alone instead of handing a
            # chart an equal figure, which plotly.js diffs (5-30 ms) before the map is drawn.
            if tag is not None and (drawn or {}).get(slot) == tag:
                kept.append(slot)
                out.append(no_update)
            else:
                out.append(sent)
    return (*out, *download_names(services, resolved)), {"tags": tags, "kept": kept}


def show_view(
    services: Services, search: str | None, drawn: dict[str, Any] | None = None
) -> tuple[Any, ...]:
    """After a URL change (page load, link, drill, Back, a control): check the scope, audit the
    view, and answer it with what shows it on the controls (:func:`controls_showing`).

    One request does all of it: a second callback on the URL for the audit and the controls
    cost every interaction another answer (a Dash dispatch, a session check and a scope check
    on the server, and a response the browser handles while it draws).

    ``drawn`` is what the page says it shows: ``{"<part>.<output>": tag}`` (``"map.0"``: the
    map's figure), the tags (:func:`output_tag`) of the answers it applied. An output whose
    tag is unchanged is answered with ``no_update``: a tag is a digest of what would be sent,
    so it matches only while the page shows exactly that, whatever the data version or the
    viewer. The answer's :func:`controls_showing` carries the view's tags (``tags``) and the
    outputs left as shown (``kept``); assets/navigation.js keeps the tags and asks again,
    without them, should a kept output not be the one the page shows when the answer arrives.

    Returns
    -------
    tuple
        :func:`render_view`'s answer (``no_update`` for outputs already drawn), then
        :func:`controls_showing` with ``tags`` and ``kept``.
    """
    # The view's reads share one connection, and what they store goes with the parts'.
    with services.repo.reading(), holding_writes(services.repo):
        state = resolve(services, search, record=True)
        answer, drawn_now = _render_resolved(services, Resolved(search, state), drawn)
    return (*answer, {**controls_showing(search, state), **drawn_now})


def register(app: Dash, services: Services) -> None:
    """Wire the dashboard callbacks to ``app`` with ``services`` bound."""
    control_outputs = [Output(cid, prop) for cid, prop in CONTROLS]

    # Navigation in the browser (assets/navigation.js): a click on the map or the ranked
    # chart, or a control's choice, writes the STATE store, which asks for the view, and the
    # URL once the view is drawn; every other URL change (a link, Back, navigate's answer,
    # the page load) is followed there too, without a clientside callback on the URL (each
    # callback costs the interaction a cycle of the renderer). The answer's drill target,
    # controls and PNG names reach the page's scripts through layout.Relay components, not
    # clientside callbacks.
    # A choice of period, metric, focus stream or dates follows the URL that came with the
    # view (navigation.js, choose: control_links), as the hotspots and map view do from their
    # change events (EVENT_CONTROLS); categories are asked of the server.
    app.clientside_callback(
        ClientsideFunction(namespace="shiyuDashboard", function_name="choose"),
        *[Input(cid, "value") for cid, _choices in LINKED_CONTROLS if cid not in EVENT_CONTROLS],
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="shiyuDashboard", function_name="chooseDates"),
        Input(Ids.DATES, "start_date"),
        Input(Ids.DATES, "end_date"),
        prevent_initial_call=True,
    )
    typed = {(Ids.CATEGORIES, "value")}

    @app.callback(
        Output(Ids.URL, "search"),
        *control_outputs,
        *[Input(c, p) if (c, p) in typed else State(c, p) for c, p in CONTROLS],
        State(Ids.URL, "search"),
        prevent_initial_call=True,
    )
    def _navigate(*values):  # noqa: ANN001, ANN202
        *controls, search = values
        return navigate(services, ctx.triggered_id, search, tuple(controls))

    # The category filter's options are the city's whole history of cases (30–50 ms a data
    # version): read once the filter is opened or a URL names categories, not on page load.
    @app.callback(
        Output(Ids.CATEGORIES, "options"),
        Input(Ids.STREAM, "value"),
        Input(Ids.CATEGORIES_WANTED, "data"),
        Input(Ids.CATEGORIES, "value"),
        prevent_initial_call=True,
    )
    def _categories(stream, wanted, chosen):  # noqa: ANN001, ANN202
        return categories_shown(services, ctx.triggered_id, stream, bool(wanted), chosen)

    # One answer for the whole view: each callback answer costs the browser a few renderer
    # cycles (loading states, prop updates, a commit), and each cycle waits for the map's
    # frame on a busy main thread. The parts are computed and remembered separately.
    outputs: dict[str, tuple[Output, ...]] = {
        "header": (
            Output(Ids.TITLE, "tree"),
            Output(Ids.FRESHNESS, "tree"),
            Output(Ids.ALERTS, "children"),
            Output(Ids.BREADCRUMB, "tree"),
            Output(Ids.PERIOD_LABEL, "tree"),
            Output(Ids.KPIS, "tree"),
            Output(Ids.FOOTER, "tree"),
        ),
        "map": (
            Output(Ids.MAP, "figure"),
            Output(Ids.MAP_BOX, "style"),
            Output(Ids.CHILD_CHART, "figure"),
            Output(Ids.CHART_BOX, "style"),
            Output(Ids.MAP_TITLE, "tree"),
            Output(Ids.MAP_NOTE, "tree"),
            Output(Ids.RANKING_TITLE, "tree"),
            Output(Ids.RANKING, "tree"),
            Output(Ids.DRILL, "data"),
        ),
        "trends": (
            Output(Ids.TREND_DISPUTE_TITLE, "tree"),
            Output(Ids.TREND_DISPUTE, "figure"),
            Output(Ids.TREND_PETITION_TITLE, "tree"),
            Output(Ids.TREND_PETITION, "figure"),
            Output(Ids.BREAKDOWN, "figure"),
            Output(Ids.BREAKDOWN_TITLE, "tree"),
            Output(Ids.TREND_NOTE, "tree"),
        ),
        "panels": (
            Output(Ids.PATROL, "figure"),
            Output(Ids.PATROL_RATES, "tree"),
            Output(Ids.RISK, "figure"),
            Output(Ids.RISK_SUMMARY, "tree"),
        ),
    }

    @app.callback(
        *(output for name, *_part in VIEW_PARTS for output in outputs[name]),
        # Not the graphs' config: a changed config makes plotly.js rebuild the graph (and map).
        Output(Ids.EXPORT, "href"),
        Output(Ids.DOWNLOAD_NAMES, "data"),
        # Not the controls themselves: they are inputs of _navigate, which Dash would then
        # hold back behind every pending view; and an answer overtaken by a person's newer
        # choice must not set them (assets/navigation.js, showControls).
        Output(Ids.SHOWN, "data"),
        Input(Ids.STATE, "data"),
        # Started by navigation.js's set_props on load too; an initial call would draw the default
        # view once more before the URL's (a whole view's work, on every page load).
        prevent_initial_call=True,
    )
    def _view(store: dict | None) -> tuple[Any, ...]:
        store = store or {}
        drawn = store.get("drawn")
        return show_view(services, store.get("search"), drawn if isinstance(drawn, dict) else None)
