"""The big screen's own logic: URL options, the auto-tour playlist, the rolling alert list.

The wall screen (数据大屏) shows the same view models as the laptop dashboard
(:mod:`data.views`); what is specific to it lives here, still free of dash:

* :func:`parse_options` turns the page's query string (``?kiosk=1&tour=top5:dispute_received
  &interval=20&refresh=60&idle=60&canvas=3840x1080``) into validated :class:`ScreenOptions`,
  with the deployment's settings as defaults and every number clamped to a safe range: a wall
  left running for days must not be talked into polling the database every 10 ms.
* :func:`parse_tour` and :func:`tour_playlist` turn a tour spec into the list of units the
  screen cycles through (the city first, then its districts, or the top N by a metric, or an
  explicit list of codes).
* :func:`alerts` builds the rolling list of recent warnings from the data: daily spikes found
  by :mod:`data.anomalies` on each child unit's own history, and new red/orange risks.
* :func:`screen_kpis` picks the headline KPIs the wall shows out of :func:`data.views.kpis`.

Tour specs
----------
``districts`` (alias ``children``)  the tour root, then each of its children in display order
``top<N>[:<metric>]``               the root, then its N children with the highest metric
``<code>,<code>,…``                 exactly these units (unknown codes are dropped)
``off``                             no tour: the screen stays on its unit
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from data import anomalies, views
from data.disclosure import suppress_small
from data.indicators import METRIC_CHOICES
from data.levels import STREAM_LABELS, RiskLevel, Stream
from data.periods import PERIOD_CHOICES
from data.repository import Repository, UnknownUnit

__all__ = [
    "ALERT_COLUMNS",
    "CANVASES",
    "MAP2_METRIC",
    "SCREEN_KPIS",
    "ScreenView",
    "ScreenDefaults",
    "ScreenOptions",
    "TourSpec",
    "TourStop",
    "alerts",
    "count_text",
    "recent_alerts",
    "next_index",
    "parse_options",
    "parse_tour",
    "screen_kpis",
    "screen_view",
    "tour_playlist",
]

#: Design canvases: key → (width, height) in CSS pixels. ``std`` is the usual 16:9 wall,
#: ``wide`` the native 32:9 layout for spliced walls (two maps, extra columns).
CANVASES: dict[str, tuple[int, int]] = {"std": (1920, 1080), "wide": (3840, 1080)}
_CANVAS_ALIASES = {
    "std": "std",
    "1920x1080": "std",
    "16:9": "std",
    "wide": "wide",
    "3840x1080": "wide",
    "32:9": "wide",
}

# Bounds of the timing options (seconds). Below the minimum a wall would hammer the database
# or change faster than anyone can read; above the maximum it would look frozen.
INTERVAL_RANGE = (3, 3600)
REFRESH_RANGE = (2, 3600)
IDLE_RANGE = (5, 3600)
#: Most units a tour visits; a city with 300 villages must not produce a 300-stop playlist.
MAX_TOUR_STOPS = 40

#: KPIs on the wall, in display order (keys of :data:`data.indicators.INDICATORS`).
SCREEN_KPIS: tuple[str, ...] = (
    "dispute_received",
    "dispute_resolution_rate",
    "petition_received",
    "petition_on_time_rate",
    "event_received",
    "event_close_rate",
    "risk_open_total",
    "risk_red_open",
)
#: Metric of the second map on the wide canvas: where the open risks are.
MAP2_METRIC = "risk_open_total"
#: Trends on the left column, and the extra one of the wide canvas.
TREND_STREAMS: tuple[str, ...] = (Stream.DISPUTE.value, Stream.PETITION.value)
TREND_STREAMS_WIDE: tuple[str, ...] = (*TREND_STREAMS, Stream.GRID_EVENT.value)

_TRUE = ("1", "true", "yes", "on")
_CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")
_TOP_RE = re.compile(r"^top(\d{1,2})(?::(.+))?$")


@dataclass(frozen=True)
class ScreenDefaults:
    """Deployment defaults (from settings) that the URL may override."""

    canvas: str = "std"
    tour: str = "districts"
    interval_s: int = 20
    refresh_s: int = 60
    idle_s: int = 60


@dataclass(frozen=True)
class ScreenOptions:
    """Validated options of one wall screen.

    Attributes
    ----------
    kiosk : bool
        Hide every control (for ``chromium --kiosk``).
    canvas : {"std", "wide"}
        Design canvas, see :data:`CANVASES`.
    tour : str
        Normalised tour spec (see the module docstring).
    interval_s, refresh_s, idle_s : int
        Seconds per tour stop, between data refreshes, and of idleness before a paused tour
        resumes.
    unit : str
        Requested tour root ("" for the principal's own root).
    metric, period : str
        Map/ranking metric and reporting period.
    messages : tuple of str
        What was ignored, in Chinese (shown nowhere on the wall, logged by the caller).
    """

    kiosk: bool = False
    canvas: str = "std"
    tour: str = "districts"
    interval_s: int = 20
    refresh_s: int = 60
    idle_s: int = 60
    unit: str = ""
    metric: str = views.DEFAULT_METRIC
    period: str = views.DEFAULT_PERIOD
    messages: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        return CANVASES[self.canvas]

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for a ``dcc.Store``."""
        w, h = self.size
        return {
            "kiosk": self.kiosk,
            "canvas": self.canvas,
            "width": w,
            "height": h,
            "tour": self.tour,
            "interval_s": self.interval_s,
            "refresh_s": self.refresh_s,
            "idle_s": self.idle_s,
            "unit": self.unit,
            "metric": self.metric,
            "period": self.period,
        }


def canvas_key(value: object) -> str | None:
    """``"std"``/``"wide"`` for a canvas name or size (``"3840x1080"``), None if unknown."""
    return _CANVAS_ALIASES.get(str(value).strip().lower().replace("×", "x"))


def _clamped_int(raw: str, default: int, bounds: tuple[int, int]) -> tuple[int, bool]:
    try:
        value = int(float(raw))
    except (TypeError, ValueError):
        return default, False
    if not math.isfinite(value):
        return default, False
    lo, hi = bounds
    return min(max(value, lo), hi), lo <= value <= hi


def parse_options(
    query: Mapping[str, object], defaults: ScreenDefaults = ScreenDefaults()
) -> ScreenOptions:
    """Validate the wall screen's URL query, falling back to ``defaults``.

    Parameters
    ----------
    query : mapping
        ``kiosk``, ``canvas``, ``tour``, ``interval``, ``refresh``, ``idle``, ``unit``,
        ``metric``, ``period`` (strings; lists: first item).
    defaults : ScreenDefaults

    Returns
    -------
    ScreenOptions
        Numbers outside their range are clamped, unknown names replaced by the default; each
        correction adds a message.
    """

    def get(key: str) -> str:
        value = query.get(key)
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        return "" if value is None else str(value).strip()

    messages: list[str] = []
    canvas = canvas_key(defaults.canvas) or "std"
    if get("canvas"):
        wanted = canvas_key(get("canvas"))
        if wanted is None:
            messages.append(f"未知的画布“{get('canvas')[:20]}”，已使用默认画布。")
        else:
            canvas = wanted

    timings: dict[str, int] = {}
    for key, default, bounds in (
        ("interval", defaults.interval_s, INTERVAL_RANGE),
        ("refresh", defaults.refresh_s, REFRESH_RANGE),
        ("idle", defaults.idle_s, IDLE_RANGE),
    ):
        default = min(max(default, bounds[0]), bounds[1])
        if get(key):
            value, ok = _clamped_int(get(key), default, bounds)
            if not ok:
                messages.append(f"参数 {key} 应为 {bounds[0]}–{bounds[1]} 秒，已改为 {value} 秒。")
            timings[key] = value
        else:
            timings[key] = default

    tour = get("tour") or defaults.tour
    try:
        tour = parse_tour(tour).text
    except ValueError as exc:
        messages.append(str(exc))
        tour = parse_tour(defaults.tour).text if _valid_tour(defaults.tour) else "districts"

    metric = get("metric") or views.DEFAULT_METRIC
    if metric not in METRIC_CHOICES:
        messages.append(
            f"未知的指标“{metric[:30]}”，已改为{METRIC_CHOICES[views.DEFAULT_METRIC]}。"
        )
        metric = views.DEFAULT_METRIC
    period = get("period") or views.DEFAULT_PERIOD
    if period not in PERIOD_CHOICES or period == "custom":
        messages.append(f"大屏不支持统计周期“{period[:20]}”，已改为{PERIOD_CHOICES['30d']}。")
        period = views.DEFAULT_PERIOD
    unit = get("unit")
    if unit and not _CODE_RE.match(unit):
        messages.append("单位代码格式不正确，已忽略。")
        unit = ""

    return ScreenOptions(
        kiosk=get("kiosk").lower() in _TRUE,
        canvas=canvas,
        tour=tour,
        interval_s=timings["interval"],
        refresh_s=timings["refresh"],
        idle_s=timings["idle"],
        unit=unit,
        metric=metric,
        period=period,
        messages=tuple(messages),
    )


# ---------------------------------------------------------------------------------------
# Tour


@dataclass(frozen=True)
class TourSpec:
    """A parsed tour spec: ``kind`` is ``off``, ``children``, ``top`` or ``codes``."""

    kind: str
    top: int = 0
    metric: str | None = None
    codes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The canonical spelling (what :func:`parse_tour` reads back)."""
        if self.kind == "children":
            return "districts"
        if self.kind == "top":
            return f"top{self.top}" + (f":{self.metric}" if self.metric else "")
        if self.kind == "codes":
            return ",".join(self.codes)
        return "off"


def _valid_tour(spec: str) -> bool:
    try:
        parse_tour(spec)
    except ValueError:
        return False
    return True


def parse_tour(spec: str) -> TourSpec:
    """Parse a tour spec (see the module docstring).

    Raises
    ------
    ValueError
        With a Chinese message, for an unreadable spec or an unknown metric.
    """
    text = (spec or "").strip()
    low = text.lower()
    if low in ("", "off", "none", "0", "false", "no"):
        return TourSpec("off")
    if low in ("districts", "children", "all"):
        return TourSpec("children")
    match = _TOP_RE.match(low)
    if match:
        n = int(match.group(1))
        metric = match.group(2)
        if n < 1:
            raise ValueError("轮播前N名中的 N 至少为 1。")
        if metric is not None:
            # Metric keys are case-sensitive only in their "@per10k" suffix, which is lower case.
            metric = text.split(":", 1)[1].strip()
            if metric not in METRIC_CHOICES:
                raise ValueError(f"轮播指标“{metric[:30]}”未知。")
        return TourSpec("top", top=n, metric=metric)
    codes = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if codes and all(_CODE_RE.match(c) for c in codes):
        return TourSpec("codes", codes=codes[:MAX_TOUR_STOPS])
    raise ValueError(f"无法识别的轮播设置“{text[:30]}”。")


@dataclass(frozen=True)
class TourStop:
    code: str
    name: str


def tour_playlist(
    repo: Repository,
    state: views.ViewState,
    spec: TourSpec,
    *,
    allowed: Callable[[str], bool] | None = None,
) -> tuple[TourStop, ...]:
    """The units a tour visits, the tour root first.

    Parameters
    ----------
    repo : Repository
    state : ViewState
        The tour root (unit), period and metric (for ``top`` tours without a metric).
    spec : TourSpec
    allowed : callable, optional
        Filter for explicit code lists (the principal's jurisdiction); codes it rejects and
        unknown codes are dropped.

    Returns
    -------
    tuple of TourStop
        Never empty: at least the root. At most :data:`MAX_TOUR_STOPS` stops.
    """
    root = TourStop(state.unit.code, state.unit.name)
    if spec.kind == "off":
        return (root,)
    if spec.kind == "codes":
        stops = []
        for code in spec.codes:
            if allowed is not None and not allowed(code):
                continue
            try:
                unit = repo.unit(code)
            except UnknownUnit:
                continue
            stops.append(TourStop(unit.code, unit.name))
        return tuple(stops[:MAX_TOUR_STOPS]) or (root,)
    if spec.kind == "top":
        metric_state = views.with_query(state, metric=spec.metric or state.metric)
        table = views.children_table(repo, metric_state)
        table = table[table["value"].notna()].sort_values(
            ["value", "code"], ascending=[False, True], kind="stable"
        )
        table = table.head(spec.top)
    else:
        table = views.children_table(repo, state) if state.unit.child_count else pd.DataFrame()
    children = [
        TourStop(str(c), str(n))
        for c, n in zip(table.get("code", []), table.get("name", []), strict=True)
    ]
    return (root, *children)[:MAX_TOUR_STOPS]


def next_index(index: int | None, length: int, step: int = 1) -> int:
    """Index of the tour stop after ``index`` (wrapping; 0 for a missing index)."""
    if length <= 0:
        return 0
    if index is None or not 0 <= index < length:
        return 0
    return (index + step) % length


# ---------------------------------------------------------------------------------------
# KPIs


def screen_kpis(groups: Sequence[views.KpiGroup]) -> list[views.Kpi]:
    """The wall's headline KPIs, in :data:`SCREEN_KPIS` order."""
    flat = {k.key: k for g in groups for k in g.items}
    return [flat[k] for k in SCREEN_KPIS if k in flat]


# ---------------------------------------------------------------------------------------
# Alerts

ALERT_COLUMNS = ["day", "code", "unit", "kind", "level", "title", "detail"]
#: Sort order of alert levels (most severe first).
_LEVEL_ORDER = {"red": 0, "orange": 1, "spike": 2, "dip": 3}
_RISK_ALERT_LEVELS = (RiskLevel.RED, RiskLevel.ORANGE)
_RISK_TITLE = {RiskLevel.RED: "新增红色风险", RiskLevel.ORANGE: "新增橙色风险"}
_MAX_ALERT_UNITS = 40
#: Fewest cases on a day for a spike to make the alert list.
MIN_SPIKE_COUNT = 5


def _expected_text(value: float, threshold: int) -> str:
    # A baseline is an average, not a count of people: one decimal below 10 ("常态2.4").
    return f"{value:.1f}" if value < 10 else count_text(value, threshold)


def count_text(value: float, threshold: int = 0) -> str:
    """A count for the wall: thousands separators; 1 … threshold-1 shown as ``<threshold``.

    A wall in a hall is a shared screen, so small-count suppression applies to it
    (:mod:`data.disclosure`); 0 stays 0.
    """
    if threshold > 1 and 0 < value < threshold:
        return suppress_small(value, threshold)
    return f"{round(value):,}"


def alerts(
    repo: Repository,
    state: views.ViewState,
    *,
    days: int = 7,
    limit: int = 30,
    threshold: int = 0,
) -> pd.DataFrame:
    """Recent warnings for the unit's children (or the unit itself at the lowest level).

    Two kinds, both computed from the data:

    * ``spike`` — a day whose count of cases received is flagged by :func:`data.anomalies.detect`
      on the unit's own daily history (z ≥ 3, i.e. unusually high for that weekday and season),
      for each stream, with at least :data:`MIN_SPIKE_COUNT` cases;
    * ``red``/``orange`` — new red or orange risks registered that day.

    Parameters
    ----------
    repo : Repository
    state : ViewState
        Unit whose children are watched; ``state.anchor`` is the last day.
    days : int, default 7
        How many days back from the anchor to report.
    limit : int, default 30
        Most rows returned (the wall's list is capped so the DOM never grows).
    threshold : int, default 0
        Small-count suppression threshold for the counts in the text (see
        :func:`count_text`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ALERT_COLUMNS`: ``day`` (date), ``code``, ``unit`` (name), ``kind``
        (``spike``/``risk``), ``level`` (``red``/``orange``/``spike``), ``title`` and
        ``detail`` (Chinese). Newest first, then most severe; empty when nothing stands out.
    """
    children = repo.children(state.unit.code)
    if children.empty:
        units = [(state.unit.code, state.unit.name)]
    else:
        units = list(zip(children["code"].astype(str), children["name"].astype(str), strict=True))
    units = units[:_MAX_ALERT_UNITS]
    last = state.anchor
    first = last - dt.timedelta(days=max(days, 1) - 1)
    history = anomalies.history_start(pd.Timestamp(first), "D").date()
    rows: list[dict[str, object]] = []

    streams = list(Stream)
    for code, name in units:
        # One statement per unit, not one per stream: up to _MAX_ALERT_UNITS units a read.
        frames = repo.case_series_each(code, history, last, [(s.value, None) for s in streams])
        for stream, frame in zip(streams, frames, strict=True):
            daily = frame["received"]
            judged = anomalies.detect(daily, "D")
            recent = judged[(judged.index >= pd.Timestamp(first)) & judged["anomaly"]]
            # Only spikes worth a glance from the back of the room: "3 cases where 0.4 is
            # usual" is statistically unusual in a village but not news on a city's wall.
            spikes = recent[(recent["z"] > 0) & (recent["value"] >= MIN_SPIKE_COUNT)]
            for day, hit in spikes.iterrows():
                label = STREAM_LABELS[stream]
                rows.append(
                    {
                        "day": day.date(),
                        "code": code,
                        "unit": name,
                        "kind": "spike",
                        "level": "spike",
                        "title": f"{label}异常偏高",
                        "detail": (
                            f"{count_text(hit['value'], threshold)}件"
                            f"(常态{_expected_text(hit['expected'], threshold)})"
                        ),
                        "_z": float(hit["z"]),
                    }
                )

    codes = [c for c, _ in units]
    names = dict(units)
    day = first
    while day <= last:
        totals = repo.totals(codes, day, day)
        for level in _RISK_ALERT_LEVELS:
            column = totals[f"risk.{level.value}.new"]
            for code, count in column[column > 0].items():
                rows.append(
                    {
                        "day": day,
                        "code": code,
                        "unit": names[code],
                        "kind": "risk",
                        "level": level.value,
                        "title": _RISK_TITLE[level],
                        "detail": f"{count_text(float(count), threshold)}项",
                        "_z": 0.0,
                    }
                )
        day += dt.timedelta(days=1)

    if not rows:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    frame = pd.DataFrame(rows)
    frame["_order"] = frame["level"].map(_LEVEL_ORDER)
    frame = frame.sort_values(
        ["day", "_order", "_z", "code"], ascending=[False, True, False, True], kind="stable"
    )
    return frame[ALERT_COLUMNS].head(limit).reset_index(drop=True)


@functools.lru_cache(maxsize=64)
def _cached_alerts(
    repo: Repository, version: str, state: views.ViewState, threshold: int
) -> tuple[tuple[object, ...], ...]:
    frame = alerts(repo, state, threshold=threshold)
    return tuple(frame.itertuples(index=False, name=None))


def recent_alerts(
    repo: Repository, state: views.ViewState, version: str, threshold: int = 0
) -> pd.DataFrame:
    """:func:`alerts` with default window and cap, cached per data version and view.

    The alert list reads a year of daily history per child unit and stream (about 1.5 s for
    a district of a dozen towns on SQLite); a tour revisits the same few units all day, so
    the result is kept until the data version changes. The cache holds immutable tuples for
    at most 64 views, so it neither grows without bound nor hands out shared mutable frames.
    """
    rows = _cached_alerts(repo, version, state, threshold)
    return pd.DataFrame(list(rows), columns=ALERT_COLUMNS)


# ---------------------------------------------------------------------------------------
# Everything one tour stop shows


@dataclass(frozen=True)
class ScreenView:
    """The view models of one tour stop, as :mod:`data.views` computes them.

    ``map2``, ``breakdown`` and the third trend are only computed for the wide canvas.
    """

    state: views.ViewState
    version: str
    freshness: str
    kpis: tuple[views.Kpi, ...]
    map: views.MapView
    trends: tuple[views.TrendData, ...]
    alerts: pd.DataFrame
    risk: views.RiskPanel
    patrol: views.PatrolPanel
    map2: views.MapView | None = None
    breakdown: pd.DataFrame | None = None


def screen_view(
    repo: Repository,
    options: ScreenOptions,
    code: str,
    *,
    version: str | None = None,
    threshold: int = 0,
) -> ScreenView:
    """Compute everything the wall shows for unit ``code`` with ``options``.

    Parameters
    ----------
    repo : Repository
    options : ScreenOptions
    code : str
        The tour stop (already checked against the viewer's jurisdiction).
    version : str, optional
        ``repo.data_version()`` if the caller already read it.
    threshold : int, default 0
        Small-count suppression threshold of the alert list.

    Returns
    -------
    ScreenView
    """
    version = version if version is not None else repo.data_version()
    state = views.resolve_state(
        repo, {"unit": code, "period": options.period, "metric": options.metric}
    )
    groups = views.kpis(repo, state)
    wide = options.canvas == "wide"
    streams = TREND_STREAMS_WIDE if wide else TREND_STREAMS
    map2 = None
    breakdown = None
    if wide:
        map2 = views.map_view(repo, views.with_query(state, metric=MAP2_METRIC))
        breakdown = views.breakdown(repo, state)
    return ScreenView(
        state=state,
        version=version,
        freshness=views.freshness(state),
        kpis=tuple(screen_kpis(groups)),
        map=views.map_view(repo, state),
        trends=views.trends(repo, state, streams),
        alerts=recent_alerts(repo, state, version, threshold),
        risk=views.risk_panel(repo, state),
        patrol=views.patrol_panel(repo, state, groups),
        map2=map2,
        breakdown=breakdown,
    )
