"""View models of the leaders' dashboard: what a screen shows for one unit and one period.

This is the engine behind the laptop dashboard, and the one the big screen and the
briefings reuse: every function takes a :class:`~data.repository.Repository` and a
:class:`ViewState` and returns dataclasses or DataFrames; nothing here knows about Dash.

State travels in the URL query string (``?unit=…&period=…&metric=…``) so a copied link
opens the same view. :func:`resolve_state` validates such a query: an unknown unit, a
reversed or empty date range, an unknown metric each give a Chinese message and a safe
fallback instead of an error.

Query keys
----------
``unit``      unit code (default: the root, i.e. the city)
``period``    a key of :data:`data.periods.PERIOD_CHOICES` (default ``30d``)
``start``, ``end``  ISO dates, only for ``period=custom``
``metric``    a key of :data:`data.indicators.METRIC_CHOICES` (colours map and ranking)
``stream``    focus stream of the breakdown, the category filter and the density map
``cat``       categories of that stream, comma-separated; narrows that stream's measures
``hot``       ``1``: run the hotspot analysis on the map
``view``      ``density``: show event density instead of the choropleth
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

import numpy as np
import pandas as pd

from data import anomalies, indicators, periods
from data.indicators import INDICATORS, METRIC_CHOICES, Change
from data.levels import LEVEL_LABELS, RISK_LEVEL_LABELS, RiskLevel, Stream
from data.repository import Repository, Unit, UnknownUnit

__all__ = [
    "DEFAULT_METRIC",
    "DEFAULT_PERIOD",
    "KPI_GROUPS",
    "STATE_KEYS",
    "STREAM_CHOICES",
    "Kpi",
    "KpiGroup",
    "MapView",
    "PatrolPanel",
    "RiskPanel",
    "StateMemo",
    "TrendData",
    "ViewState",
    "breakdown",
    "category_options",
    "children_table",
    "density_cells",
    "freshness",
    "kpi_group",
    "kpis",
    "map_view",
    "parse_search",
    "patrol_panel",
    "resolve_state",
    "risk_panel",
    "summary",
    "to_search",
    "trend",
]

DEFAULT_PERIOD = "30d"
DEFAULT_METRIC = "dispute_received"
DEFAULT_STREAM = Stream.DISPUTE.value
STREAM_CHOICES: dict[str, str] = {
    Stream.DISPUTE.value: "矛盾纠纷",
    Stream.PETITION.value: "信访",
    Stream.GRID_EVENT.value: "网格事件",
}
VIEW_CHOROPLETH = "choropleth"
VIEW_DENSITY = "density"

#: KPI cards: (group key, title, indicator keys). The first indicator is the headline.
KPI_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "dispute",
        "矛盾纠纷",
        ("dispute_received", "dispute_resolution_rate", "dispute_mediation_rate"),
    ),
    (
        "petition",
        "信访",
        (
            "petition_received",
            "petition_on_time_rate",
            "petition_avg_days",
            "petition_repeated",
            "petition_escalated",
        ),
    ),
    ("grid_event", "网格事件", ("event_received", "event_close_rate", "event_overdue")),
    (
        "patrol",
        "巡逻防控",
        (
            "patrol_groups",
            "patrol_officers",
            "patrol_arrive_1",
            "patrol_arrive_3",
            "patrol_arrive_5",
        ),
    ),
    ("risk", "风险隐患", ("risk_open_total", "risk_red_open", "risk_orange_open")),
)

_ENGLISH_TAIL = re.compile(r"\s*[(（][A-Za-z][^()（）]*[)）]\s*$")
_CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")


def _chinese(message: str) -> str:
    """The Chinese part of a bilingual error message (the English tail is for logs)."""
    return _ENGLISH_TAIL.sub("", message.split(" / ", 1)[0]).strip()


# ---------------------------------------------------------------------------------------
# State


@dataclass(frozen=True)
class ViewState:
    """A validated view: one unit, one period and the display choices.

    Attributes
    ----------
    unit : Unit
        The unit shown (the root when the requested code was unknown).
    lineage : tuple of Unit
        Root first, ``unit`` last; skipped levels simply do not appear.
    period, mom, yoy : Period
        The period, the period 环比 compares with, the period 同比 compares with.
    anchor : datetime.date
        Latest day with data ("today" of every period).
    metric : str
        Map and ranking metric, a key of :data:`METRIC_CHOICES`.
    stream : str
        Focus stream (breakdown, category filter, density map).
    categories : tuple of str
        Categories of ``stream`` to keep; empty means all.
    hotspots : bool
        Run the hotspot analysis on the map.
    view : {"choropleth", "density"}
    messages : tuple of str
        Chinese messages for the user (fallbacks taken, empty data).
    """

    unit: Unit
    lineage: tuple[Unit, ...]
    period: periods.Period
    mom: periods.Period
    yoy: periods.Period
    anchor: dt.date
    metric: str = DEFAULT_METRIC
    stream: str = DEFAULT_STREAM
    categories: tuple[str, ...] = ()
    hotspots: bool = False
    view: str = VIEW_CHOROPLETH
    messages: tuple[str, ...] = field(default=())

    @property
    def is_lowest(self) -> bool:
        """True when the unit has no children (a grid, or a leaf of an imported tree)."""
        return self.unit.child_count == 0

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS.get(self.unit.level, self.unit.level)  # type: ignore[call-overload]

    def query(self, **overrides: object) -> dict[str, str]:
        """The canonical query of this state, with ``overrides`` applied (None removes a key)."""
        q: dict[str, str] = {"unit": self.unit.code, "period": self.period.key}
        if self.period.key == "custom":
            q["start"] = self.period.start.isoformat()
            q["end"] = self.period.end.isoformat()
        q["metric"] = self.metric
        if self.stream != DEFAULT_STREAM:
            q["stream"] = self.stream
        if self.categories:
            q["cat"] = ",".join(self.categories)
        if self.hotspots:
            q["hot"] = "1"
        if self.view != VIEW_CHOROPLETH:
            q["view"] = self.view
        for key, value in overrides.items():
            if value is None:
                q.pop(key, None)
            else:
                q[key] = str(value)
        return q

    def search(self, **overrides: object) -> str:
        """``?unit=…&period=…`` for a link to this state with ``overrides`` applied."""
        return to_search(self.query(**overrides))


def parse_search(search: str | None) -> dict[str, str]:
    """Parse a URL query string (with or without ``?``) into a flat dict (first value wins).

    Parameters
    ----------
    search : str or None

    Returns
    -------
    dict of str to str
    """
    if not search:
        return {}
    parsed = parse_qs(search.lstrip("?"), keep_blank_values=False)
    return {k: v[0] for k, v in parsed.items() if v}


def to_search(query: Mapping[str, object]) -> str:
    """Encode a query dict as ``?a=1&b=2`` (empty values dropped; ``""`` when nothing is left)."""
    items = [(k, str(v)) for k, v in query.items() if v not in (None, "")]
    return "?" + urlencode(items, safe=",") if items else ""


def resolve_state(
    repo: Repository, query: Mapping[str, object], *, root_code: str | None = None
) -> ViewState:
    """Validate a URL query into a :class:`ViewState`, falling back with a message.

    Parameters
    ----------
    repo : Repository
    query : mapping
        Keys as listed in the module docstring; values are strings (lists: first item).
    root_code : str, optional
        Top of the viewer's jurisdiction (default: the database root). Units outside it are
        refused like unknown ones, and the lineage (breadcrumb) starts there.

    Returns
    -------
    ViewState
        Unknown unit, or one outside ``root_code`` → ``root_code`` (or the root); unknown or invalid period (reversed custom range, start after
        the latest data day) → the default period; unknown metric or stream → the default;
        each with a Chinese message in ``messages``. A valid period without any data keeps
        the period and adds a message.
    """

    def get(key: str) -> str:
        return _query_value(query, key)

    messages: list[str] = []
    top = repo.root()
    root = repo.unit(root_code) if root_code and root_code != top.code else top
    # The root's roll-up covers every fact, and reading one unit's key range is far cheaper
    # than scanning the table for min/max; the anchor is the latest day with data.
    lo, hi = repo.unit_data_span(top.code)
    anchor = hi or repo.anchor_date()

    code = get("unit") or root.code
    lineage: list[Unit]
    try:
        if not _CODE_RE.match(code):
            raise UnknownUnit(code)
        lineage = repo.lineage(code)
        if root_code and root.code not in {u.code for u in lineage}:
            raise UnknownUnit(code)
    except UnknownUnit:
        shown = code if len(code) <= 24 else code[:24] + "…"
        messages.append(f"未找到单位代码“{shown}”或无权查看，已显示{root.name}数据。")
        lineage = repo.lineage(root.code)
    # The breadcrumb starts at the top of the viewer's jurisdiction.
    lineage = lineage[[u.code for u in lineage].index(root.code) :]

    key = get("period") or DEFAULT_PERIOD
    try:
        period = periods.resolve_period(key, anchor, get("start") or None, get("end") or None)
    except periods.PeriodError as exc:
        default_label = periods.PERIOD_CHOICES[DEFAULT_PERIOD]
        messages.append(f"{_chinese(str(exc))}。已改为显示{default_label}。")
        period = periods.resolve_period(DEFAULT_PERIOD, anchor)
    if lo is not None and (
        period.end < _as_date(lo) or (hi is not None and period.start > _as_date(hi))
    ):
        messages.append(
            f"所选期间（{period.label}）没有数据：现有数据为"
            f"{periods.span_label(_as_date(lo), _as_date(hi or lo))}。"
        )

    metric = get("metric") or DEFAULT_METRIC
    if metric not in METRIC_CHOICES:
        messages.append(f"未知的地图指标“{metric[:30]}”，已改为{METRIC_CHOICES[DEFAULT_METRIC]}。")
        metric = DEFAULT_METRIC

    stream = get("stream") or DEFAULT_STREAM
    if stream not in STREAM_CHOICES:
        stream = DEFAULT_STREAM
    wanted = [c for c in get("cat").split(",") if c]
    categories: tuple[str, ...] = ()
    if wanted:
        known = set(category_options(repo, stream))
        categories = tuple(c for c in dict.fromkeys(wanted) if c in known)

    view = VIEW_DENSITY if get("view") == VIEW_DENSITY else VIEW_CHOROPLETH
    return ViewState(
        unit=lineage[-1],
        lineage=tuple(lineage),
        period=period,
        mom=periods.previous_period(period),
        yoy=periods.year_ago(period),
        anchor=anchor,
        metric=metric,
        stream=stream,
        categories=categories,
        hotspots=get("hot").lower() in ("1", "true", "on", "yes"),
        view=view,
        messages=tuple(messages),
    )


def _query_value(query: Mapping[str, object], key: str) -> str:
    """One value of a URL query as :func:`resolve_state` reads it (lists: first item)."""
    value = query.get(key)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return "" if value is None else str(value).strip()


#: The query keys :func:`resolve_state` reads; nothing else in a query changes its result.
STATE_KEYS: tuple[str, ...] = (
    "unit",
    "period",
    "start",
    "end",
    "metric",
    "stream",
    "cat",
    "hot",
    "view",
)


class StateMemo:
    """A small memo of :func:`resolve_state`, so the callbacks of one page view resolve once.

    Every render callback of a page view receives the same query and resolves it again (root,
    lineage, data span, category options: several queries each). This remembers the resolved
    :class:`ViewState` under the repository, its data version, the viewer's ``root_code`` and the
    query values :func:`resolve_state` reads — never anything the browser could use to widen
    what it sees: the caller still checks the unit against the viewer's scope on every
    request, and a state resolved for one jurisdiction is never handed to another.

    :class:`ViewState` is frozen, so one instance is safely shared by all callers. Entries live
    ``ttl_s`` seconds (a backstop for a writer that forgets to bump the data version), at most
    ``max_entries`` are kept (least recently used dropped first). Exceptions are not remembered.

    Parameters
    ----------
    max_entries : int
    ttl_s : float
        ``0`` turns the memo off.
    clock : callable
        Seconds, monotonic; tests pass a fake one.
    """

    def __init__(
        self,
        max_entries: int = 512,
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[tuple[object, ...], tuple[float, Repository, ViewState]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        #: Counters, for tests and the benchmark.
        self.hits = 0
        self.misses = 0

    def resolve(
        self, repo: Repository, query: Mapping[str, object], *, root_code: str | None = None
    ) -> ViewState:
        """:func:`resolve_state` of ``query``, remembered; same parameters and result.

        Parameters
        ----------
        repo : Repository
        query : mapping
        root_code : str, optional
            Top of the viewer's jurisdiction; part of the key.

        Returns
        -------
        ViewState
        """
        if self.ttl_s <= 0 or self.max_entries <= 0:
            return resolve_state(repo, query, root_code=root_code)
        key = (
            id(repo),
            repo.data_version(),
            root_code,
            tuple(_query_value(query, k) for k in STATE_KEYS),
        )
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            # The repository is kept in the entry, so its id cannot be reused by another one.
            if entry is not None and entry[1] is repo and now < entry[0]:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[2]
        state = resolve_state(repo, query, root_code=root_code)
        with self._lock:
            self.misses += 1
            self._entries[key] = (self._clock() + self.ttl_s, repo, state)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return state

    def __len__(self) -> int:
        return len(self._entries)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def category_options(repo: Repository, stream: str) -> list[str]:
    """Categories of ``stream`` seen in the data, most frequent first."""
    frame = repo.categories(stream)
    return frame["category"].astype(str).tolist()


def freshness(state: ViewState) -> str:
    """``"数据更新至2026年10月31日"`` — the latest day with data, for footers and stamps."""
    day = state.anchor
    return f"数据更新至{day.year}年{day.month}月{day.day}日"


# ---------------------------------------------------------------------------------------
# Totals and KPIs


def _totals(
    repo: Repository,
    state: ViewState,
    codes: Sequence[str],
    spans: Sequence[periods.Period],
    facts: frozenset[str] | None = None,
) -> list[pd.DataFrame]:
    """Totals per code for each period (of the ``facts`` groups only, when given); with a
    category filter only the focus stream's measures are narrowed."""
    dates = [(p.start, p.end) for p in spans]
    out = repo.totals_over(codes, dates, facts=facts)
    if state.categories and len(codes) and (facts is None or "case" in facts):
        narrowed = repo.totals_over(codes, dates, categories=state.categories, facts={"case"})
        for frame, narrow in zip(out, narrowed, strict=True):
            cols = [c for c in frame.columns if c.startswith(state.stream + ".")]
            frame[cols] = narrow[cols]
    return out


@dataclass(frozen=True)
class Kpi:
    """One KPI of a card, ready to display.

    ``value`` is the raw number (None when undefined), ``text`` its display form; ``mom`` and
    ``yoy`` compare with the 环比 and 同比 periods (rates in percentage points).
    """

    key: str
    label: str
    value: float | None
    text: str
    mom: Change
    yoy: Change
    caliber: str
    unit: str
    kind: str
    higher_is_better: bool


@dataclass(frozen=True)
class KpiGroup:
    key: str
    title: str
    items: tuple[Kpi, ...]

    @property
    def headline(self) -> Kpi:
        return self.items[0]


def kpis(repo: Repository, state: ViewState) -> list[KpiGroup]:
    """KPI cards for the unit and period, each KPI with 环比 and 同比.

    Parameters
    ----------
    repo : Repository
    state : ViewState

    Returns
    -------
    list of KpiGroup
        In the order of :data:`KPI_GROUPS`.
    """
    cur, mom, yoy = (
        _first_row(frame)
        for frame in _totals(repo, state, [state.unit.code], (state.period, state.mom, state.yoy))
    )
    return [_kpi_group(gkey, title, keys, cur, mom, yoy) for gkey, title, keys in KPI_GROUPS]


def _first_row(frame: pd.DataFrame) -> dict[str, float]:
    # A plain dict: each of the ~200 lookups the cards make on a pandas row costs ~20 µs.
    return dict(zip(frame.columns, frame.to_numpy()[0].tolist(), strict=True))


def kpi_group(repo: Repository, state: ViewState, key: str) -> KpiGroup:
    """One KPI card of :func:`kpis`, reading only what that card needs where it can.

    The ``patrol`` card reads the patrol roll-up alone (:meth:`Repository.patrol_totals_over`,
    one statement for the three periods) instead of every measure of every stream; the other
    cards read the same totals as :func:`kpis`. The result equals the card of the same key in
    :func:`kpis`.

    Parameters
    ----------
    repo : Repository
    state : ViewState
    key : str
        A group key of :data:`KPI_GROUPS` (``"dispute"`` … ``"risk"``).

    Returns
    -------
    KpiGroup

    Raises
    ------
    ValueError
        ``key`` is not a group of :data:`KPI_GROUPS`.
    """
    found = next((g for g in KPI_GROUPS if g[0] == key), None)
    if found is None:
        raise ValueError(f"未知的指标组 / unknown KPI group {key!r}")
    code = state.unit.code
    spans = (state.period, state.mom, state.yoy)
    rows: Sequence[Mapping[str, float]]
    if key == "patrol":  # patrol measures are never narrowed by the category filter
        rows = repo.patrol_totals_over(code, [(p.start, p.end) for p in spans])
    else:
        rows = [_first_row(frame) for frame in _totals(repo, state, [code], spans)]
    return _kpi_group(*found, *rows)


def _kpi_group(
    gkey: str,
    title: str,
    keys: Sequence[str],
    cur: Mapping[str, float],
    mom: Mapping[str, float],
    yoy: Mapping[str, float],
) -> KpiGroup:
    items = []
    for key in keys:
        ind = INDICATORS[key]
        v = indicators.value(ind, cur)
        items.append(
            Kpi(
                key=key,
                label=ind.label,
                value=v,
                text=indicators.format_value(ind, v),
                mom=indicators.change(ind, v, indicators.value(ind, mom)),
                yoy=indicators.change(ind, v, indicators.value(ind, yoy)),
                caliber=ind.caliber,
                unit=ind.unit,
                kind=ind.kind,
                higher_is_better=ind.higher_is_better,
            )
        )
    return KpiGroup(gkey, title, tuple(items))


# ---------------------------------------------------------------------------------------
# Children: ranking and map

CHILD_COLUMNS = [
    "code",
    "name",
    "level",
    "population",
    "label_lon",
    "label_lat",
    "has_geometry",
    "value",
    "text",
    "rank",
    "mom_text",
    "mom_favourable",
]


def children_table(repo: Repository, state: ViewState) -> pd.DataFrame:
    """The unit's children with the chosen metric, ranked (1 = highest value).

    Parameters
    ----------
    repo : Repository
    state : ViewState

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHILD_COLUMNS` in display order (sort key), empty at the lowest level.
        ``value`` is NaN where undefined; ``text`` is formatted; ``mom_text`` is the 环比
        change of the metric.
    """
    children = repo.children(state.unit.code)
    if children.empty:
        return pd.DataFrame(columns=CHILD_COLUMNS)
    codes = children["code"].tolist()
    ind, per10k = indicators.parse_metric(state.metric)
    # Only the roll-ups the metric is made of: a long period's patrol and risk sums for
    # every child cost more than its cases.
    facts = indicators.metric_facts(state.metric)
    cur, prev = _totals(repo, state, codes, (state.period, state.mom), facts)
    value = indicators.metric_values(state.metric, cur).reindex(codes).to_numpy(dtype=float)
    before = indicators.metric_values(state.metric, prev).reindex(codes).tolist()
    changes = [indicators.change(ind, a, b) for a, b in zip(value.tolist(), before, strict=True)]
    # Built in one go from arrays and lists: copying the children and adding six columns
    # one by one cost a map as much as its read.
    out = {c: children[c].to_numpy() for c in CHILD_COLUMNS[:6]}
    out["has_geometry"] = children["has_geometry"].to_numpy(dtype=bool)
    out["value"] = value
    out["text"] = [indicators.format_value(ind, v, per10k=per10k) for v in value.tolist()]
    out["rank"] = pd.Series(value).rank(ascending=False, method="min").to_numpy()
    out["mom_text"] = [c.text for c in changes]
    out["mom_favourable"] = [c.favourable for c in changes]
    return pd.DataFrame(out, columns=CHILD_COLUMNS)


@dataclass(frozen=True)
class MapView:
    """What the map panel shows.

    Attributes
    ----------
    features : dict or None
        GeoJSON of the children's display polygons; None when the level has none (show
        :attr:`table` as a ranked chart instead).
    table : pandas.DataFrame
        :func:`children_table`, plus ``hotspot`` (a Gi* label) when the analysis ran.
    metric_label : str
        Legend title, e.g. ``"矛盾纠纷受理(件)"``.
    hotspot_message : str
        Why the hotspot analysis did not run (empty when it ran or was not asked for).
    bounds : tuple or None
        The unit's own bounds, to fit the map.
    siblings : bool
        True at the lowest level: the table and polygons are the unit's siblings.
    selected_code : str or None
        The unit to outline (the current unit among its siblings).
    """

    features: dict | None
    table: pd.DataFrame
    metric_label: str
    hotspot_message: str = ""
    bounds: tuple[float, float, float, float] | None = None
    siblings: bool = False
    selected_code: str | None = None

    @property
    def has_polygons(self) -> bool:
        return self.features is not None and bool(self.features.get("features"))

    @property
    def hotspot_counts(self) -> dict[str, int]:
        if "hotspot" not in self.table:
            return {}
        labels = self.table["hotspot"].fillna("").astype(str)
        return {
            "hot": int(labels.str.startswith("热点").sum()),
            "cold": int(labels.str.startswith("冷点").sum()),
        }


def map_view(repo: Repository, state: ViewState) -> MapView:
    """Children polygons, metric values and (when asked) Gi* hotspot labels.

    At the lowest level (no children) the map shows the unit among its siblings, with the
    unit itself as :attr:`MapView.selected_code` and :attr:`MapView.siblings` set.

    Parameters
    ----------
    repo : Repository
    state : ViewState

    Returns
    -------
    MapView
    """
    label = indicators.metric_label(state.metric)
    siblings = False
    map_state = state
    if state.is_lowest and state.unit.parent_code and len(state.lineage) > 1:
        map_state = replace(state, unit=state.lineage[-2], lineage=state.lineage[:-1])
        siblings = True
    table = children_table(repo, map_state)
    selected = state.unit.code if siblings else None
    if table.empty:
        return MapView(None, table, label, siblings=siblings, selected_code=selected)
    features = repo.children_features(map_state.unit.code)
    message = ""
    if state.hotspots:
        table, message = _with_hotspots(table, features)
    bounds = repo.unit_bounds(map_state.unit.code)
    if bounds is None and features is not None and features.get("bbox"):
        bounds = tuple(features["bbox"])  # type: ignore[assignment]
    return MapView(features, table, label, message, bounds, siblings, selected)


def _with_hotspots(table: pd.DataFrame, features: dict | None) -> tuple[pd.DataFrame, str]:
    # geo.hotspots pulls in libpysal/esda: import on first use, not when the app starts.
    import geopandas as gpd

    from geo import hotspots

    if not features or not features.get("features"):
        return table, "本级单位没有边界数据，无法进行热点分析。"
    gdf = gpd.GeoDataFrame.from_features(features["features"], crs="EPSG:4326")
    gdf["code"] = [str(f.get("id")) for f in features["features"]]
    gdf = gdf.set_index("code").reindex(table["code"].astype(str))
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs="EPSG:4326")
    try:
        result = hotspots.gi_star(gdf, table["value"].to_numpy(dtype=float))
    except hotspots.HotspotUnavailable as exc:
        return table, str(exc)
    out = table.copy()
    out["hotspot"] = result["label"].to_numpy()
    out["hotspot_z"] = result["z"].to_numpy(dtype=float)
    return out, ""


def density_cells(repo: Repository, state: ViewState) -> pd.DataFrame:
    """Events per fine cell inside the unit over the period, for the focus stream."""
    return repo.hotspot_cells(
        state.unit.code, state.period.start, state.period.end, streams=[state.stream]
    )


# ---------------------------------------------------------------------------------------
# Trends

_FREQ_LABEL = {"D": "按日", "W": "按周", "M": "按月"}


@dataclass(frozen=True)
class TrendData:
    """A unit's counts over the period in buckets, last year aligned, anomalies marked.

    Attributes
    ----------
    frame : pandas.DataFrame
        Index: bucket start (Timestamp). Columns ``current`` (in-period count), ``last_year``
        (same dates one year earlier, shifted forward a year so the buckets align),
        ``expected`` (seasonal baseline), ``z``, ``anomaly`` (bool), ``complete`` (the
        bucket lies wholly inside the period).
    freq : {"D", "W", "M"}
    stream : str
    title : str
        e.g. ``"矛盾纠纷受理趋势（按日）"``.
    rule_text : str
        The anomaly rule, for a tooltip.
    """

    frame: pd.DataFrame
    freq: str
    stream: str
    title: str
    rule_text: str = anomalies.RULE_TEXT

    @property
    def anomalies(self) -> pd.DataFrame:
        return self.frame[self.frame["anomaly"]]

    @property
    def anomaly_count(self) -> int:
        return int(np.count_nonzero(self.frame["anomaly"].to_numpy(dtype=bool)))


def _buckets(days: np.ndarray, values: np.ndarray, freq: str) -> tuple[np.ndarray, ...]:
    """``(bucket starts, sums, days summed, days in the bucket)`` of a daily series.

    ``days`` (``datetime64[D]``, ascending, duplicates allowed) and ``values`` aligned (one row
    per day; several columns are summed alike). Weeks run Monday–Sunday and are labelled by
    their Monday, months by their 1st.
    """
    if freq == "W":
        keys = days - (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    elif freq == "M":
        keys = days.astype("datetime64[M]").astype("datetime64[D]")
    else:
        keys = days
    if not len(keys):
        return keys, values[:0], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    starts = keys[first]
    if freq == "W":
        length = np.full(len(starts), 7)
    elif freq == "M":
        length = ((starts.astype("datetime64[M]") + 1).astype("datetime64[D]") - starts).astype(
            np.int64
        )
    else:
        length = np.ones(len(starts), dtype=np.int64)
    return starts, np.add.reduceat(values, first), np.diff(np.r_[first, len(keys)]), length


def _a_year_later(days: np.ndarray) -> np.ndarray:
    """The same day one year later; 29 February falls on 28 February (as ``DateOffset``)."""
    months = days.astype("datetime64[M]")
    later = (months + 12).astype("datetime64[D]") + (days - months.astype("datetime64[D]"))
    return np.minimum(later, (months + 13).astype("datetime64[D]") - 1)


def _day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def trend(repo: Repository, state: ViewState, stream: str) -> TrendData:
    """Counts received for one stream, bucketed by the period's granularity.

    Parameters
    ----------
    repo : Repository
    state : ViewState
    stream : str
        ``dispute``, ``petition`` or ``grid_event``.

    Returns
    -------
    TrendData
        Anomalies follow :mod:`data.anomalies` on the unit's own history (one year and eight
        buckets before the period are read for the baseline).
    """
    return trends(repo, state, [stream])[0]


def trends(repo: Repository, state: ViewState, streams: Sequence[str]) -> tuple[TrendData, ...]:
    """:func:`trend` for each of ``streams``, their daily counts read together (one read
    for a view's two trends)."""
    p = state.period
    freq = periods.granularity(p)
    hist_start = min(anomalies.history_start(p.start, freq).date(), state.yoy.start)
    series = [(s, state.categories if s == state.stream else None) for s in streams]
    frames = repo.case_series_each(state.unit.code, hist_start, p.end, series)
    return tuple(
        _trend(state, stream, frame["received"], freq)
        for stream, frame in zip(streams, frames, strict=True)
    )


def _trend(state: ViewState, stream: str, daily: pd.Series, freq: str) -> TrendData:
    p = state.period
    # In NumPy on day numbers: pandas' grouping, masks and reindexing were most of a trend's
    # cost (two trends on every first visit of every unit).
    days = daily.index.to_numpy().astype("datetime64[D]")
    values = daily.to_numpy(dtype=float)
    stamps = daily.index.dtype  # the buckets' labels keep the series' own resolution

    hist_keys, sums, sizes, lengths = _buckets(days, values, freq)
    judged = anomalies.judge(sums, freq, complete=sizes >= lengths)  # type: ignore[arg-type]
    expected, z, anomaly = judged

    inside = (days >= _day(p.start)) & (days <= _day(p.end))
    keys, current, cur_sizes, cur_lengths = _buckets(days[inside], values[inside], freq)
    # Last year's days moved forward one year (29 Feb folds into 28 Feb), then bucketed the
    # same way, so each bucket compares like with like.
    last = (days >= _day(state.yoy.start)) & (days <= _day(state.yoy.end))
    shifted = _a_year_later(days[last])
    kept = shifted <= _day(p.end)
    ly_keys, ly_sums, _, _ = _buckets(shifted[kept], values[last][kept], freq)
    last_year = np.full(len(keys), np.nan)
    at = np.searchsorted(ly_keys, keys)
    found = at < len(ly_keys)
    found[found] = ly_keys[at[found]] == keys[found]
    last_year[found] = ly_sums[at[found]]

    # The period's buckets are among the history's (it reads from before the period on).
    row = np.searchsorted(hist_keys, keys)
    complete = cur_sizes >= cur_lengths
    frame = pd.DataFrame(
        {
            "current": current.astype(float),
            "last_year": last_year,
            "expected": expected[row],
            "z": z[row],
            "complete": complete,
            "anomaly": anomaly[row] & complete,
        },
        index=pd.DatetimeIndex(keys.astype(stamps), name="bucket"),
    )
    title = f"{STREAM_CHOICES.get(stream, stream)}{'受理' if stream != 'grid_event' else '上报'}趋势（{_FREQ_LABEL[freq]}）"
    return TrendData(frame=frame, freq=freq, stream=stream, title=title)


def breakdown(repo: Repository, state: ViewState, by: str = "category") -> pd.DataFrame:
    """Counts of the focus stream by category (or channel), largest first, with shares.

    Returns
    -------
    pandas.DataFrame
        Columns ``label``, ``received``, ``share`` (0–1), ``selected`` (in the category
        filter, or all True without a filter).
    """
    frame = repo.case_breakdown(
        state.unit.code, state.period.start, state.period.end, state.stream, by=by
    )
    labels = frame[by].astype(str).to_numpy()
    received = frame["received"].to_numpy(dtype=float)
    total = received.sum()
    # Built in one go: four columns added one by one cost more than the read.
    return pd.DataFrame(
        {
            "label": labels,
            "received": received,
            "share": received / total if total else np.full(len(received), np.nan),
            "selected": np.isin(labels, list(state.categories))
            if state.categories and by == "category"
            else np.ones(len(received), dtype=bool),
        }
    )


# ---------------------------------------------------------------------------------------
# Patrol and risk panels


@dataclass(frozen=True)
class PatrolPanel:
    """Patrol effort over the period and the 1/3/5-minute arrival rates.

    ``series``: index bucket start; columns ``groups``, ``officers``, ``vehicles``,
    ``dispatches``, ``rate_1``, ``rate_3``, ``rate_5`` (%). ``rates``: indicator key → Kpi
    values for the whole period.
    """

    series: pd.DataFrame
    freq: str
    rates: tuple[Kpi, ...]


def patrol_panel(
    repo: Repository, state: ViewState, groups: Sequence[KpiGroup] | None = None
) -> PatrolPanel:
    """Patrol series (bucketed like the trends) and arrival rates with 环比/同比."""
    freq = periods.granularity(state.period)
    daily = repo.patrol_series(state.unit.code, state.period.start, state.period.end)
    sums = daily.to_numpy(dtype=float)
    index = daily.index
    if freq != "D":
        starts, sums, _, _ = _buckets(index.to_numpy().astype("datetime64[D]"), sums, freq)
        index = pd.DatetimeIndex(starts.astype(daily.index.dtype))
    # In NumPy, one frame at the end: pandas' column-by-column arithmetic cost more than the
    # read (on every first visit of every unit).
    at = {c: j for j, c in enumerate(daily.columns)}
    dispatches = sums[:, at["dispatches"]]
    per_dispatch = np.where(dispatches > 0, dispatches, np.nan)
    columns = [sums[:, at[c]] for c in ("groups", "officers", "vehicles", "dispatches")]
    with np.errstate(invalid="ignore"):
        columns += [sums[:, at[f"arrived_{m}min"]] / per_dispatch * 100 for m in (1, 3, 5)]
    # Callers that already hold the KPI cards pass them; otherwise read the patrol card only.
    if groups is not None:
        patrol = next(g for g in groups if g.key == "patrol")
    else:
        patrol = kpi_group(repo, state, "patrol")
    rates = tuple(k for k in patrol.items if k.kind == "rate")
    series = pd.DataFrame(
        np.column_stack(columns).reshape(len(index), len(_PATROL_COLUMNS)),
        index=pd.DatetimeIndex(index, name="bucket"),
        columns=_PATROL_COLUMNS,
    )
    return PatrolPanel(series=series, freq=freq, rates=rates)


_PATROL_COLUMNS = ["groups", "officers", "vehicles", "dispatches", "rate_1", "rate_3", "rate_5"]


@dataclass(frozen=True)
class RiskPanel:
    """Five domains × four levels.

    ``matrix``: columns ``domain``, ``level``, ``level_label``, ``open_end`` (open on the
    period's last day), ``new`` (new within the period), ``closed``.
    ``by_level``: level → (open_end, new) totals.
    """

    matrix: pd.DataFrame
    by_level: dict[str, tuple[int, int]]


def risk_panel(repo: Repository, state: ViewState) -> RiskPanel:
    """Open risks (at the period's end) and new risks (within it) by domain and level."""
    matrix = repo.risk_matrix(state.unit.code, state.period.start, state.period.end)
    # Rows come in RISK_DOMAINS × RiskLevel order (Repository.risk_matrix).
    matrix["level_label"] = matrix["level"].map(
        {lv.value: RISK_LEVEL_LABELS[lv] for lv in RiskLevel}
    )
    level = matrix["level"].to_numpy()
    opened, new = matrix["open_end"].to_numpy(), matrix["new"].to_numpy()
    by_level = {
        lv.value: (int(opened[level == lv.value].sum()), int(new[level == lv.value].sum()))
        for lv in RiskLevel
    }
    return RiskPanel(matrix=matrix, by_level=by_level)


# ---------------------------------------------------------------------------------------
# Summary for headlines (big screen) and briefings


def summary(
    repo: Repository, state: ViewState, groups: Sequence[KpiGroup] | None = None
) -> dict[str, object]:
    """Headline numbers and one Chinese sentence for briefings and the big screen.

    Returns
    -------
    dict
        ``unit``, ``period`` (label), ``values`` (indicator key → value), ``texts``
        (indicator key → display text), ``sentence`` (e.g. "2026年10月，示例市受理矛盾纠纷
        1,234件，环比↓3.2%，同比↑1.0%；化解率97.5%……").
    """
    groups = groups if groups is not None else kpis(repo, state)
    flat = {k.key: k for g in groups for k in g.items}

    def part(key: str) -> str:
        k = flat[key]
        unit = k.unit if k.kind == "count" and k.value is not None else ""
        return f"{k.label}{k.text}{unit}（环比{k.mom.text}，同比{k.yoy.text}）"

    sentence = (
        f"{state.period.label}，{state.unit.name}"
        + "；".join(
            [
                part("dispute_received"),
                part("dispute_resolution_rate"),
                part("petition_received"),
                part("petition_on_time_rate"),
                part("event_received"),
                part("event_close_rate"),
                part("risk_open_total"),
            ]
        )
        + "。"
    )
    return {
        "unit": state.unit.name,
        "period": state.period.label,
        "values": {k: v.value for k, v in flat.items()},
        "texts": {k: v.text for k, v in flat.items()},
        "sentence": sentence,
    }


def with_query(state: ViewState, **changes: Any) -> ViewState:
    """A copy of ``state`` with display fields replaced (no revalidation; for tests/exports)."""
    return replace(state, **changes)
