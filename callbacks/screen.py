"""Callbacks of the big screen.

Two server callbacks and three clientside ones (``screen_assets/screen.js``):

* :func:`boot` reads the URL options (``?kiosk=1&tour=…&interval=…``) into the ``OPTIONS``
  store, with the tour playlist for the viewer's jurisdiction. It runs again on every refresh
  tick, so a playlist ranked by a metric follows the data and a screen opened while the
  database was down recovers; it answers ``no_update`` when nothing changed.
* The clientside ``tour`` callback advances the ``VIEW`` store (which unit is shown) on the
  tour timer unless someone touched the screen within the idle time.
* :func:`render` computes everything for the unit in ``VIEW`` and fills every panel. On a
  refresh tick it first compares the data version: unchanged data answers ``no_update`` for
  every panel (no flicker, no payload) but still writes ``STATUS``. A database error never
  raises: the panels keep their last good content and ``STATUS`` says ``ok: false``.
  ``screen.js`` records the time of the last ``ok: true`` and shows the stale banner when it
  is older than two refresh intervals — which also covers the server being unreachable,
  when no answer arrives at all.

Every callback body is a module-level function taking ``services`` first, so tests call the
logic directly; :func:`register` only wires them to the app.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, no_update

from callbacks import scope
from callbacks.services import Services
from data import db, views
from data import screen as logic
from data.indicators import metric_label
from data.levels import LEVEL_LABELS
from layouts import screen as layout
from layouts.figures import screen as figures
from layouts.screen import Ids

log = logging.getLogger(__name__)

#: Errors that mean "the data is unreachable right now", answered with stale data, not a 500.
DATA_ERRORS = db.UNAVAILABLE

#: Map sizes on the design canvas (px), used to choose the zoom.
MAP_SIZE = {"std": (880, 760), "wide": (1110, 940)}

#: Outputs of :func:`render`, name → (component id, property).
RENDER_OUTPUTS: dict[str, tuple[str, str]] = {
    "unit_title": (Ids.UNIT_TITLE, "children"),
    "freshness": (Ids.FRESHNESS, "children"),
    "kpis": (Ids.KPIS, "children"),
    "map_title": (Ids.MAP_TITLE, "children"),
    "map": (Ids.MAP, "figure"),
    "risk_strip": (Ids.RISK_STRIP, "children"),
    "ranking_title": (Ids.RANKING_TITLE, "children"),
    "ranking": (Ids.RANKING, "children"),
    "alerts": (Ids.ALERTS, "children"),
    "trend_a_title": (Ids.TREND_A_TITLE, "children"),
    "trend_a": (Ids.TREND_A, "figure"),
    "trend_b_title": (Ids.TREND_B_TITLE, "children"),
    "trend_b": (Ids.TREND_B, "figure"),
    "patrol": (Ids.PATROL, "children"),
    "footer": (Ids.FOOTER, "children"),
    "map2_title": (Ids.MAP2_TITLE, "children"),
    "map2": (Ids.MAP2, "figure"),
    "trend_c_title": (Ids.TREND_C_TITLE, "children"),
    "trend_c": (Ids.TREND_C, "figure"),
    "breakdown": (Ids.BREAKDOWN, "figure"),
    "risk": (Ids.RISK, "figure"),
    "status": (Ids.STATUS, "data"),
    "rendered": (Ids.RENDERED, "data"),
}
_WIDE_ONLY = ("map2_title", "map2", "trend_c_title", "trend_c", "breakdown", "risk")


def _unchanged(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(RENDER_OUTPUTS, no_update)
    out.update(changes)
    return out


def _status(ok: bool, version: str | None = None) -> dict[str, Any]:
    # ``at`` makes every answer a new value, so the clientside watcher sees each success.
    return {"ok": ok, "version": version, "at": time.time()}


def _count_text(services: Services) -> Callable[[float], str]:
    """Count formatter for a shared screen: thousands separators, small counts suppressed."""
    return functools.partial(logic.count_text, threshold=services.small_count_threshold)


# ---------------------------------------------------------------------------------------
# Options and playlist


def boot(
    services: Services,
    defaults: logic.ScreenDefaults,
    search: str | None,
    current: dict | None,
) -> dict | Any:
    """Options and tour playlist for the page's query string.

    Returns
    -------
    dict or no_update
        :meth:`ScreenOptions.as_dict` plus ``playlist`` (list of ``{code, name}``) and
        ``search``; ``no_update`` when identical to ``current`` or the database is down.
    """
    options = logic.parse_options(views.parse_search(search), defaults)
    for message in options.messages:
        log.info("screen option ignored: %s", message)
    try:
        root = scope.clamp_unit(services, options.unit or None)
        state = views.resolve_state(
            services.repo, {"unit": root, "period": options.period, "metric": options.metric}
        )
        playlist = logic.tour_playlist(
            services.repo,
            state,
            logic.parse_tour(options.tour),
            allowed=lambda code: services.repo.is_within(code, root),
        )
        out = {
            **options.as_dict(),
            "root": root,
            "playlist": [{"code": s.code, "name": s.name} for s in playlist],
            "search": search or "",
        }
        if current == out:
            return no_update
        # One audit row when a wall opens (not one per tour stop: it runs for days).
        if current is None or current.get("search") != out["search"]:
            scope.record_view(services, root)
    except scope.ScopeRefused:
        raise
    except DATA_ERRORS as exc:
        log.warning("screen boot: data unavailable (%s)", type(exc).__name__)
        return no_update
    return out


# ---------------------------------------------------------------------------------------
# Rendering one tour stop


def render_key(version: str, code: str, options: dict) -> str:
    """What a rendered screen depends on; equal keys mean nothing needs redrawing."""
    return "|".join(
        str(x)
        for x in (
            version,
            code,
            options.get("canvas"),
            options.get("metric"),
            options.get("period"),
        )
    )


def render(
    services: Services,
    view: dict | None,
    options: dict | None,
    rendered: str | None,
) -> dict[str, Any]:
    """Every panel for the unit in ``view``; ``no_update`` everywhere when nothing changed.

    Parameters
    ----------
    services : Services
    view : dict or None
        ``{"unit": code, …}`` from the tour.
    options : dict or None
        The ``OPTIONS`` store.
    rendered : str or None
        :func:`render_key` of what the screen shows now.

    Returns
    -------
    dict
        Keys of :data:`RENDER_OUTPUTS`.
    """
    if not view or not options or not view.get("unit"):
        return _unchanged()
    opts = logic.ScreenOptions(
        canvas=options.get("canvas", "std"),
        metric=options.get("metric", views.DEFAULT_METRIC),
        period=options.get("period", views.DEFAULT_PERIOD),
    )
    try:
        # Inside the try: the jurisdiction check reads the database too. ScopeRefused is not
        # a data error and still becomes a 403.
        code = scope.authorize_unit(services, view["unit"])
        version = services.repo.data_version()
        key = render_key(version, code, options)
        if key == rendered:
            return _unchanged(status=_status(True, version))
        screen = logic.screen_view(
            services.repo, opts, code, version=version, threshold=services.small_count_threshold
        )
    except scope.ScopeRefused:
        raise  # a PermissionError, hence an OSError: not "data unavailable"
    except DATA_ERRORS as exc:
        # Keep the last good picture; the browser shows the stale banner and keeps retrying.
        log.warning("screen render: data unavailable (%s)", type(exc).__name__)
        return _unchanged(status=_status(False))
    out = panels(services, screen, opts)
    out["status"] = _status(True, version)
    out["rendered"] = key
    return out


def _child_label(table: Any) -> str:
    if table is None or table.empty:
        return "下级单位"
    level = str(table["level"].iloc[0])
    return LEVEL_LABELS.get(level, "下级单位")  # type: ignore[call-overload]


def _map(services: Services, mv: views.MapView, canvas: str) -> dict:
    if not mv.has_polygons:
        return figures.empty_chart("本级单位没有边界数据")
    width, height = MAP_SIZE.get(canvas, MAP_SIZE["std"])
    return figures.map_figure(
        mv.features,  # type: ignore[arg-type]
        mv.table,
        metric_label=mv.metric_label,
        bounds=mv.bounds,
        width=width,
        height=height,
        selected_code=mv.selected_code,
        tiles_url=services.tiles_url,
        tiles_crs=services.tiles_crs,
    )


def _trend(trend: views.TrendData) -> dict:
    if trend.frame.empty or not trend.frame["current"].notna().any():
        return figures.empty_chart("所选期间无数据")
    return figures.trend_chart(trend.frame, trend.freq)


def panels(
    services: Services, screen: logic.ScreenView, options: logic.ScreenOptions
) -> dict[str, Any]:
    """Components and figures for a computed :class:`data.screen.ScreenView`."""
    state = screen.state
    count = _count_text(services)
    kpi_texts = {
        k.key: count(k.value)
        for k in screen.kpis
        if k.kind == "count" and k.value is not None and services.small_count_threshold > 1
    }
    risk_texts: dict[str, str] = {}
    for level, (opened, new) in screen.risk.by_level.items():
        risk_texts[f"{level}.open"] = count(opened)
        risk_texts[f"{level}.new"] = count(new)
    mv = screen.map
    child = _child_label(mv.table)
    map_unit = state.lineage[-2].name if mv.siblings and len(state.lineage) > 1 else state.unit.name
    out: dict[str, Any] = {
        "unit_title": layout.unit_title(
            state.unit.name,
            "全市" if state.unit.parent_code is None else state.level_label,
            state.period.label,
        ),
        "freshness": screen.freshness.replace("数据更新至", "数据截至"),
        "kpis": layout.kpi_cards(screen.kpis, kpi_texts),
        "map_title": layout.map_title(map_unit, child, mv.metric_label, mv.siblings),
        "map": _map(services, mv, options.canvas),
        "risk_strip": layout.risk_strip(screen.risk.by_level, risk_texts),
        "ranking_title": f"{child}排名 · {metric_label(options.metric)}",
        "ranking": layout.ranking_list(mv.table, highlight=mv.selected_code),
        "alerts": layout.alert_list(screen.alerts),
        "trend_a_title": screen.trends[0].title,
        "trend_a": _trend(screen.trends[0]),
        "trend_b_title": screen.trends[1].title,
        "trend_b": _trend(screen.trends[1]),
        "patrol": layout.patrol_rates(screen.patrol.rates),
        "footer": layout.footer(services.data_source, state.period.label, services.is_demo),
    }
    if options.canvas == "wide" and screen.map2 is not None:
        out["map2_title"] = layout.map_title(
            map_unit, child, screen.map2.metric_label, screen.map2.siblings
        )
        out["map2"] = _map(services, screen.map2, options.canvas)
        out["trend_c_title"] = screen.trends[2].title
        out["trend_c"] = _trend(screen.trends[2])
        breakdown = screen.breakdown
        out["breakdown"] = (
            figures.breakdown_chart(breakdown)
            if breakdown is not None and float(breakdown["received"].sum()) > 0
            else figures.empty_chart("所选期间无数据")
        )
        out["risk"] = figures.risk_chart(screen.risk.matrix)
    else:
        out.update(dict.fromkeys(_WIDE_ONLY, no_update))
    return out


# ---------------------------------------------------------------------------------------
# Wiring


def register(app: Dash, services: Services, defaults: logic.ScreenDefaults | None = None) -> None:
    """Attach the screen's callbacks to ``app`` (the screen's own Dash app)."""
    defaults = defaults or logic.ScreenDefaults()

    @app.callback(
        Output(Ids.OPTIONS, "data"),
        Input(Ids.URL, "search"),
        Input(Ids.REFRESH, "n_intervals"),
        State(Ids.OPTIONS, "data"),
    )
    def _boot(search: str | None, _tick: int | None, current: dict | None) -> Any:
        return boot(services, defaults, search, current)

    app.clientside_callback(
        ClientsideFunction(namespace="shiyuScreen", function_name="applyOptions"),
        Output(Ids.TOUR_TICK, "interval"),
        Output(Ids.TOUR_TICK, "disabled"),
        Output(Ids.REFRESH, "interval"),
        Input(Ids.OPTIONS, "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="shiyuScreen", function_name="tour"),
        Output(Ids.VIEW, "data"),
        Input(Ids.OPTIONS, "data"),
        Input(Ids.TOUR_TICK, "n_intervals"),
        Input(Ids.PREV, "n_clicks"),
        Input(Ids.NEXT, "n_clicks"),
        State(Ids.VIEW, "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="shiyuScreen", function_name="status"),
        Output(Ids.UPDATED, "children"),
        Input(Ids.STATUS, "data"),
    )

    @app.callback(
        output={name: Output(id_, prop) for name, (id_, prop) in RENDER_OUTPUTS.items()},
        inputs={
            "view": Input(Ids.VIEW, "data"),
            "_tick": Input(Ids.REFRESH, "n_intervals"),
            "options": State(Ids.OPTIONS, "data"),
            "rendered": State(Ids.RENDERED, "data"),
        },
    )
    def _render(
        view: dict | None, _tick: int | None, options: dict | None, rendered: str | None
    ) -> dict[str, Any]:
        return render(services, view, options, rendered)
