"""The panels of a briefing as figure dicts: the dashboard's figures in the print theme.

Each panel is built the way ``callbacks/dashboard.py`` builds it for the page — same view
model (:mod:`data.views`), same figure builder (:mod:`layouts.figures`), same titles — only
with ``theme="print"`` and a fixed size. :func:`sized` then sets the export size and type
size without touching the data.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from data import views
from data.briefing import BriefingData, risk_levels_line
from data.indicators import INDICATORS, parse_metric
from data.levels import LEVEL_LABELS
from data.repository import Repository
from layouts.figures import charts, maps

__all__ = ["MAP_SIZE", "PANEL_ORDER", "Panel", "build_panels", "sized"]

#: Design size of the map render (rendered once per briefing at 2×, then fitted to slots).
MAP_SIZE = (800, 540)
#: Slide order of the PPTX (after the title slide).
PANEL_ORDER = (
    "kpis",
    "map",
    "trend_dispute",
    "trend_petition",
    "breakdown",
    "ranking",
    "risk",
    "patrol",
)
_RANKING_TOP = 15


@dataclass(frozen=True)
class Panel:
    """One panel: heading, figure dict (None for the KPI table), caption and 口径."""

    key: str
    title: str
    what: str
    figure: dict[str, Any] | None
    caption: str = ""
    caliber: str = ""
    is_map: bool = False
    rows: int = 0


def _scope(state: views.ViewState, mv: views.MapView) -> str:
    table = mv.table
    level = (
        LEVEL_LABELS.get(table["level"].iloc[0], "下级单位")  # type: ignore[call-overload]
        if not table.empty
        else "下级单位"
    )
    owner = state.lineage[-2].name if mv.siblings else state.unit.name
    return f"{owner}各{level}"


def build_panels(
    repo: Repository,
    state: views.ViewState,
    data: BriefingData,
    *,
    glyphs_url: str,
    tiles_url: str | None = None,
    tiles_crs: str = "wgs84",
) -> dict[str, Panel]:
    """Every panel of the briefing for ``state``.

    Parameters
    ----------
    repo : Repository
    state : ViewState
    data : BriefingData
        Numbers already read by :func:`data.briefing.gather` (KPIs, risk by level).
    glyphs_url : str
        Glyph template of the renderer (``file://``), for map labels.
    tiles_url, tiles_crs
        The internal basemap, as on the dashboard.

    Returns
    -------
    dict of str to Panel
        Keys of :data:`PANEL_ORDER`.
    """
    theme = "print"
    panels: dict[str, Panel] = {
        "kpis": Panel("kpis", "主要指标", "主要指标", None, rows=len(data.groups))
    }

    mv = views.map_view(repo, state)
    scope = _scope(state, mv)
    ind, _ = parse_metric(state.metric)
    metric_caliber = ind.caliber if ind.kind != "count" else ""
    table = mv.table
    top = table.sort_values("value", ascending=False, na_position="last").head(_RANKING_TOP)
    ranking_title = f"{scope}排名 · {mv.metric_label}"
    if len(table) > _RANKING_TOP:
        ranking_title += f"（前{_RANKING_TOP}名）"
    panels["ranking"] = Panel(
        "ranking",
        ranking_title,
        f"排名-{mv.metric_label}",
        charts.ranking_figure(
            top, metric_label=mv.metric_label, theme=theme, highlight=mv.selected_code
        ),
        caliber=metric_caliber,
        rows=len(top),
    )

    map_title = f"{scope} · {mv.metric_label}"
    if mv.has_polygons:
        w, h = MAP_SIZE
        if state.view == views.VIEW_DENSITY:
            figure = maps.density_figure(
                views.density_cells(repo, state),
                mv.features,  # type: ignore[arg-type]
                colorbar_title=f"{views.STREAM_CHOICES[state.stream]}件数",
                theme=theme,
                tiles_url=tiles_url or None,
                tiles_crs=tiles_crs,
                bounds=mv.bounds,
                width=w,
                height=h,
                glyphs_url=glyphs_url,
            )
            map_title = f"{scope} · {views.STREAM_CHOICES[state.stream]}热力密度"
        else:
            figure = maps.choropleth_figure(
                mv.features,  # type: ignore[arg-type]
                table,
                colorbar_title=mv.metric_label,
                theme=theme,
                tiles_url=tiles_url or None,
                tiles_crs=tiles_crs,
                bounds=mv.bounds,
                selected_code=mv.selected_code,
                width=w,
                height=h,
                glyphs_url=glyphs_url,
            )
        caption = ""
        if "hotspot" in table:
            counts = mv.hotspot_counts
            caption = (
                f"热点分析：显著热点{counts.get('hot', 0)}个、冷点{counts.get('cold', 0)}个"
                "（红框为热点，蓝框为冷点）"
            )
        panels["map"] = Panel(
            "map", map_title, f"地图-{mv.metric_label}", figure, caption, metric_caliber, True
        )
    else:
        # No polygons at this level: the page shows the ranked chart instead, so does the export.
        panels["map"] = Panel(
            "map",
            map_title,
            f"地图-{mv.metric_label}",
            panels["ranking"].figure,
            "本级单位没有边界数据，以排名图代替地图",
            metric_caliber,
            rows=len(top),
        )

    streams = ("dispute", "petition")
    for stream, td in zip(streams, views.trends(repo, state, streams), strict=True):
        caption = (
            f"柱为本期，虚线为去年同期；{td.rule_text}"
            if len(td.anomalies)
            else "柱为本期，虚线为去年同期"
        )
        panels[f"trend_{stream}"] = Panel(
            f"trend_{stream}",
            td.title,
            td.title,
            charts.trend_figure(td.frame, td.freq, theme=theme),
            caption,
        )

    parts = views.breakdown(repo, state)
    cats = "、".join(state.categories) if state.categories else "全部类别"
    stream_label = views.STREAM_CHOICES[state.stream]
    panels["breakdown"] = Panel(
        "breakdown",
        f"{stream_label}类别构成（{cats}）",
        f"{stream_label}类别构成",
        charts.breakdown_figure(parts, theme=theme),
    )

    risk = views.risk_panel(repo, state)
    panels["risk"] = Panel(
        "risk",
        "风险隐患（五类领域×四级）",
        "风险隐患分布",
        charts.risk_matrix_figure(risk.matrix, theme=theme),
        f"{risk_levels_line(risk.by_level)}；格内上为期末在册数，下为期内新增数",
    )

    patrol = views.patrol_panel(repo, state, data.groups)
    rates = "；".join(f"{k.label}{k.text}" for k in patrol.rates)
    panels["patrol"] = Panel(
        "patrol",
        "巡逻防控投入",
        "巡逻防控",
        charts.patrol_figure(patrol.series, patrol.freq, theme=theme),
        rates,
        "；".join(INDICATORS[k.key].caliber for k in patrol.rates[:1]),
    )
    return panels


def sized(panel: Panel, width: int, height: int, font_px: int) -> dict[str, Any]:
    """A copy of the panel's figure set to ``width × height`` CSS px and ``font_px`` type.

    Titles are drawn by the composition, not by Plotly, so the figure's own title is
    removed; the risk matrix's cell text (11 px on screen) grows with the type size.
    """
    fig = copy.deepcopy(panel.figure or {"data": [], "layout": {}})
    layout = fig.setdefault("layout", {})
    layout["width"], layout["height"] = int(width), int(height)
    layout.pop("title", None)
    font = dict(layout.get("font") or {})
    font["size"] = font_px
    layout["font"] = font
    if not panel.is_map:
        # A horizontal legend sits above the plot area and needs room there.
        legend_on_top = layout.get("showlegend") and (layout.get("legend") or {}).get("y", 0) > 1
        layout["margin"] = {"l": 8, "r": 8, "b": 8, "t": int(font_px * 2.2) if legend_on_top else 8}
    if layout.get("showlegend") and "legend" in layout:
        legend = dict(layout["legend"])
        legend["font"] = {**(legend.get("font") or {}), "size": font_px}
        layout["legend"] = legend
    for trace in fig.get("data", []):
        if trace.get("type") == "heatmap":
            trace["textfont"] = {**(trace.get("textfont") or {}), "size": int(font_px * 1.05)}
        if trace.get("type") == "bar" and trace.get("textposition") == "outside":
            trace["textfont"] = {**(trace.get("textfont") or {}), "size": font_px}
            if trace.get("orientation") == "h":
                # Leave room right of the longest bar for its label at export type size.
                xs = [v for v in trace.get("x", []) if isinstance(v, int | float)]
                labels = [len(str(t)) for t in trace.get("text", [])] or [0]
                room = max(labels) * font_px * 0.75 / max(width * 0.6, 1)
                xaxis = dict(layout.get("xaxis") or {})
                factor = max(1.2, 1 / (1 - min(room, 0.6)))
                xaxis["range"] = [0, (max(xs) if xs else 1) * factor]
                layout["xaxis"] = xaxis
    return fig
