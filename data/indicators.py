"""Indicator registry: what each KPI means, how it is computed from totals, how it is shown.

An :class:`Indicator` is a ratio of sums of *totals keys* (see ``docs/architecture.md``,
"Totals keys"): ``dispute.received``, ``petition.closed_on_time``, ``patrol.dispatches``,
``risk.red.open_end``, ``population`` …  The repository sums measures over a unit and a
period; this module turns those sums into values, comparisons (同比/环比) and text.

* counts (``kind="count"``): the sum of the numerator keys;
* rates (``kind="rate"``): numerator ÷ denominator × 100, shown in % and compared in
  percentage points (个百分点);
* averages (``kind="average"``): numerator ÷ denominator, e.g. 平均办理天数.

A value is undefined (``None`` / NaN) when a key is missing or the denominator is 0 — never 0,
which would look like a real result on a screen.

Pure functions, no I/O, no dash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "INDICATORS",
    "METRIC_CHOICES",
    "PER_10K_SUFFIX",
    "Change",
    "Indicator",
    "change",
    "format_value",
    "metric_facts",
    "metric_label",
    "metric_values",
    "parse_metric",
    "per_10k",
    "value",
    "values",
]

Kind = Literal["count", "rate", "average"]

#: Suffix of a map metric key that divides a count by population (per 10,000 residents).
PER_10K_SUFFIX = "@per10k"
_POPULATION_KEY = "population"
#: The roll-up (``data.repository.FACTS``) behind the first part of a totals key.
_FACT_OF = {
    "dispute": "case",
    "petition": "case",
    "grid_event": "case",
    "patrol": "patrol",
    "risk": "risk",
}


@dataclass(frozen=True)
class Indicator:
    """Definition of one KPI.

    Attributes
    ----------
    key : str
        Registry key, e.g. ``"dispute_mediation_rate"``.
    label : str
        Chinese name shown to users.
    unit : str
        ``"件"``, ``"件次"``, ``"人次"``, ``"%"``, ``"天"``, ``"组次"``, ``"台次"``, ``"个"``.
    kind : {"count", "rate", "average"}
    numerator : tuple of str
        Totals keys summed for the numerator (or the count).
    denominator : tuple of str or None
        Totals keys summed for the denominator; ``None`` for counts.
    scale : float
        Multiplier of the ratio: 100 for %, 1 otherwise.
    caliber : str
        统计口径 in Chinese, shown in tooltips and briefings.
    stream : str
        ``"dispute"``, ``"petition"``, ``"grid_event"``, ``"patrol"`` or ``"risk"``.
    higher_is_better : bool
        Colours the change arrow (green when the change is favourable).
    decimals : int
        Decimals when formatted (counts 0, rates and averages 1).
    """

    key: str
    label: str
    unit: str
    kind: Kind
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] | None
    scale: float
    caliber: str
    stream: str
    higher_is_better: bool
    decimals: int = 0


def _count(
    key: str,
    label: str,
    unit: str,
    num: str | tuple[str, ...],
    caliber: str,
    stream: str,
    higher_is_better: bool,
) -> Indicator:
    numerator = (num,) if isinstance(num, str) else num
    return Indicator(
        key, label, unit, "count", numerator, None, 1.0, caliber, stream, higher_is_better, 0
    )


# Cases are counted by the day they were received, so a recent period still holds cases being
# handled and its rates read lower than a settled one; the caliber says so where it matters.
def _rate(
    key: str,
    label: str,
    num: str,
    den: str,
    caliber: str,
    stream: str,
    higher_is_better: bool = True,
) -> Indicator:
    return Indicator(
        key, label, "%", "rate", (num,), (den,), 100.0, caliber, stream, higher_is_better, 1
    )


_RISK_LEVELS = ("red", "orange", "yellow", "blue")

# Direction choices (documented because they colour arrows on a wall screen):
# case volumes count as "lower is better" — bulletins report a fall in 纠纷/信访/事件 as the
# result of prevention; patrol effort counts as "higher is better"; risks still open,
# overdue, repeated and escalated cases, and handling days are "lower is better".
_DEFINITIONS: tuple[Indicator, ...] = (
    # 矛盾纠纷
    _count(
        "dispute_received",
        "矛盾纠纷受理",
        "件",
        "dispute.received",
        "矛盾纠纷受理数=期内受理的矛盾纠纷件数",
        "dispute",
        False,
    ),
    _rate(
        "dispute_mediation_rate",
        "调解成功率",
        "dispute.mediated_ok",
        "dispute.received",
        "调解成功率=调解成功数÷受理数×100%（按受理日统计，尚在办理的计入分母）",
        "dispute",
    ),
    _rate(
        "dispute_resolution_rate",
        "化解率",
        "dispute.resolved",
        "dispute.received",
        "化解率=各渠道(调解、诉调、访调、公调)化解数÷受理数×100%（按受理日统计，尚在办理的计入分母）",
        "dispute",
    ),
    # 信访
    _count(
        "petition_received",
        "信访件次",
        "件次",
        "petition.received",
        "信访件次=期内登记的来信、来访、网上信访件次",
        "petition",
        False,
    ),
    _count(
        "petition_persons",
        "信访人次",
        "人次",
        "petition.persons",
        "信访人次=期内来访及联名来信涉及的人次",
        "petition",
        False,
    ),
    _rate(
        "petition_on_time_rate",
        "按期办结率",
        "petition.closed_on_time",
        "petition.closed",
        "按期办结率=按期办结数÷办结数×100%",
        "petition",
    ),
    Indicator(
        "petition_avg_days",
        "平均办理天数",
        "天",
        "average",
        ("petition.handling_days",),
        ("petition.closed",),
        1.0,
        "平均办理天数=已办结信访件办理天数合计÷办结数",
        "petition",
        False,
        1,
    ),
    _count(
        "petition_repeated",
        "重复信访",
        "件",
        "petition.repeated",
        "重复信访=同一事项再次提出的信访件数",
        "petition",
        False,
    ),
    _count(
        "petition_escalated",
        "越级访",
        "件",
        "petition.escalated",
        "越级访=到省、进京的信访件数",
        "petition",
        False,
    ),
    _rate(
        "petition_satisfaction",
        "参评满意率",
        "petition.satisfied",
        "petition.rated",
        "参评满意率=满意数÷参评数×100%",
        "petition",
    ),
    # 网格事件
    _count(
        "event_received",
        "网格事件上报",
        "件",
        "grid_event.received",
        "网格事件上报数=期内网格员上报的事件件数",
        "grid_event",
        False,
    ),
    _rate(
        "event_close_rate",
        "办结率",
        "grid_event.closed",
        "grid_event.received",
        "办结率=办结数÷上报数×100%（按受理日统计，尚在办理的计入分母）",
        "grid_event",
    ),
    _count(
        "event_overdue",
        "超期事件",
        "件",
        "grid_event.overdue",
        "超期事件=超过办理时限的事件件数",
        "grid_event",
        False,
    ),
    # 巡逻防控
    _count(
        "patrol_groups",
        "巡逻组次",
        "组次",
        "patrol.groups",
        "巡逻组次=期内出动巡逻组的组次合计",
        "patrol",
        True,
    ),
    _count(
        "patrol_officers",
        "警力人次",
        "人次",
        "patrol.officers",
        "警力人次=期内投入巡逻警力的人次合计",
        "patrol",
        True,
    ),
    _count(
        "patrol_vehicles",
        "车辆台次",
        "台次",
        "patrol.vehicles",
        "车辆台次=期内出动巡逻车辆的台次合计",
        "patrol",
        True,
    ),
    _rate(
        "patrol_arrive_1",
        "1分钟到达率",
        "patrol.arrived_1min",
        "patrol.dispatches",
        "1分钟到达率=1分钟内到达现场数÷处警数×100%",
        "patrol",
    ),
    _rate(
        "patrol_arrive_3",
        "3分钟到达率",
        "patrol.arrived_3min",
        "patrol.dispatches",
        "3分钟到达率=3分钟内(含1分钟)到达现场数÷处警数×100%",
        "patrol",
    ),
    _rate(
        "patrol_arrive_5",
        "5分钟到达率",
        "patrol.arrived_5min",
        "patrol.dispatches",
        "5分钟到达率=5分钟内(含3分钟)到达现场数÷处警数×100%",
        "patrol",
    ),
    # 风险 — open_end is the register on the period's last day, so these are stocks, not flows.
    _count(
        "risk_red_open",
        "红色风险在册",
        "个",
        "risk.red.open_end",
        "红色风险在册数=期末在册的红色(一级)风险个数",
        "risk",
        False,
    ),
    _count(
        "risk_orange_open",
        "橙色风险在册",
        "个",
        "risk.orange.open_end",
        "橙色风险在册数=期末在册的橙色(二级)风险个数",
        "risk",
        False,
    ),
    _count(
        "risk_open_total",
        "风险在册总数",
        "个",
        tuple(f"risk.{lvl}.open_end" for lvl in _RISK_LEVELS),
        "风险在册总数=期末在册的红、橙、黄、蓝色风险个数之和",
        "risk",
        False,
    ),
)

#: All indicators by key, in display order.
INDICATORS: Mapping[str, Indicator] = MappingProxyType({i.key: i for i in _DEFINITIONS})


def _metric_choices() -> dict[str, str]:
    choices: dict[str, str] = {}
    for ind in _DEFINITIONS:
        choices[ind.key] = ind.label
        # Raw counts mostly map population; per 10,000 residents makes units comparable.
        if ind.kind == "count":
            choices[ind.key + PER_10K_SUFFIX] = f"{ind.label}(每万人)"
    return choices


#: Metrics that can colour the map: every indicator, plus a per-10,000-residents variant of
#: every count (key ``"<indicator>@per10k"``). Key → Chinese label, in display order.
METRIC_CHOICES: Mapping[str, str] = MappingProxyType(_metric_choices())


@dataclass(frozen=True)
class Change:
    """A comparison of a value with the value of an earlier period.

    Attributes
    ----------
    kind : {"pct", "pp"}
        Relative change in % (counts, averages) or difference in percentage points (rates).
    value : float or None
        ``None`` when undefined (no earlier value, or an earlier count of 0).
    text : str
        ``"↑12.5%"``, ``"↓0.8个百分点"``, ``"持平"`` or ``"—"``.
    favourable : bool or None
        Whether the change is good news given ``higher_is_better``; ``None`` when undefined or
        flat.
    """

    kind: Literal["pct", "pp"]
    value: float | None
    text: str
    favourable: bool | None = None


# ---------------------------------------------------------------------------------------
# Computation


def _missing(x: object) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def _sum_keys(totals: Mapping[str, float], keys: tuple[str, ...]) -> float | None:
    total = 0.0
    for k in keys:
        x = totals.get(k)
        if _missing(x):
            return None
        total += float(x)  # type: ignore[arg-type]
    return total


def value(ind: Indicator, totals: Mapping[str, float]) -> float | None:
    """The indicator's value for one set of totals.

    Parameters
    ----------
    ind : Indicator
    totals : Mapping[str, float]
        Summed measures under the totals keys (a dict, or a row of a DataFrame).

    Returns
    -------
    float or None
        ``None`` when a key is missing (or NaN) or the denominator is 0.

    Examples
    --------
    >>> value(INDICATORS["dispute_mediation_rate"],
    ...       {"dispute.mediated_ok": 2013, "dispute.received": 2065})  # doctest: +ELLIPSIS
    97.481...
    """
    num = _sum_keys(totals, ind.numerator)
    if num is None:
        return None
    if ind.denominator is None:
        return num * ind.scale
    den = _sum_keys(totals, ind.denominator)
    if den is None or den == 0:
        return None
    return num / den * ind.scale


def _column(frame: pd.DataFrame, key: str) -> np.ndarray:
    column = frame[key]
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _sum_columns(frame: pd.DataFrame, keys: tuple[str, ...]) -> np.ndarray:
    # In NumPy: pandas' aligned arithmetic cost more than the read behind a map's values.
    total = np.zeros(len(frame))
    for k in keys:
        if k not in frame.columns:
            return np.full(len(frame), np.nan)
        # Plain addition propagates NaN, so a missing measure leaves the value undefined.
        total = total + _column(frame, k)
    return total


def values(ind: Indicator, frame: pd.DataFrame) -> pd.Series:
    """The indicator for every row of ``frame`` (one row per unit or per day).

    Parameters
    ----------
    ind : Indicator
    frame : pandas.DataFrame
        Columns named by totals keys.

    Returns
    -------
    pandas.Series
        Float, indexed like ``frame``, named ``ind.key``; NaN where undefined (a missing
        column, a missing measure, or a zero denominator).
    """
    return pd.Series(_values(ind, frame), index=frame.index, name=ind.key, dtype=float)


def _values(ind: Indicator, frame: pd.DataFrame) -> np.ndarray:
    num = _sum_columns(frame, ind.numerator)
    if ind.denominator is None:
        return num * ind.scale
    den = _sum_columns(frame, ind.denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / den, np.nan) * ind.scale


def per_10k(ind: Indicator, totals: Mapping[str, float]) -> float | None:
    """A count per 10,000 residents.

    Parameters
    ----------
    ind : Indicator
    totals : Mapping[str, float]
        Must carry ``"population"``.

    Returns
    -------
    float or None
        ``None`` for rates and averages (a rate per resident means nothing), and when the
        count or the population is missing or the population is 0.
    """
    if ind.kind != "count":
        return None
    v = value(ind, totals)
    pop = totals.get(_POPULATION_KEY)
    if v is None or _missing(pop) or float(pop) <= 0:  # type: ignore[arg-type]
        return None
    return v / float(pop) * 10_000  # type: ignore[arg-type]


def parse_metric(metric: str) -> tuple[Indicator, bool]:
    """Split a map metric key into its indicator and whether it is per 10,000 residents.

    Parameters
    ----------
    metric : str
        A key of :data:`METRIC_CHOICES`, e.g. ``"dispute_received@per10k"``.

    Returns
    -------
    (Indicator, bool)

    Raises
    ------
    KeyError
        If ``metric`` is not in :data:`METRIC_CHOICES`.
    """
    if metric not in METRIC_CHOICES:
        raise KeyError(f"未知的地图指标：{metric!r} (unknown map metric)")
    key, _, suffix = metric.partition("@")
    return INDICATORS[key], bool(suffix)


def metric_values(metric: str, frame: pd.DataFrame) -> pd.Series:
    """Values of a map metric for every row of ``frame``.

    Parameters
    ----------
    metric : str
        A key of :data:`METRIC_CHOICES`.
    frame : pandas.DataFrame
        Columns named by totals keys (and ``"population"`` for per-10k metrics).

    Returns
    -------
    pandas.Series
        Float, indexed like ``frame``, named ``metric``; NaN where undefined (including a
        population that is missing or 0).
    """
    ind, per10k = parse_metric(metric)
    out = _values(ind, frame)
    if per10k:
        pop = _sum_columns(frame, (_POPULATION_KEY,))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(pop > 0, out / pop, np.nan) * 10_000
    return pd.Series(out, index=frame.index, name=metric, dtype=float)


def metric_facts(metric: str) -> frozenset[str]:
    """The fact groups a map metric is computed from (``"case"``, ``"patrol"``, ``"risk"``).

    Parameters
    ----------
    metric : str
        A key of :data:`METRIC_CHOICES`.

    Returns
    -------
    frozenset of str
        What :meth:`data.repository.Repository.totals_over` must read (``facts``) for
        :func:`metric_values`; population is always read.

    Examples
    --------
    >>> sorted(metric_facts("dispute_mediation_rate"))
    ['case']
    """
    ind, _per10k = parse_metric(metric)
    keys = ind.numerator + (ind.denominator or ())
    return frozenset(_FACT_OF[k.split(".", 1)[0]] for k in keys if k != _POPULATION_KEY)


def metric_label(metric: str) -> str:
    """Chinese label of a map metric, with its unit, for legends: ``"调解成功率(%)"``.

    Parameters
    ----------
    metric : str
        A key of :data:`METRIC_CHOICES`.

    Returns
    -------
    str
    """
    ind, per10k = parse_metric(metric)
    if per10k:
        return f"{ind.label}({ind.unit}/万人)"
    return f"{ind.label}({ind.unit})"


# ---------------------------------------------------------------------------------------
# Comparison and text


def change(ind: Indicator, current: float | None, previous: float | None) -> Change:
    """Compare a value with the value of an earlier period (同比 or 环比).

    Parameters
    ----------
    ind : Indicator
    current, previous : float or None
        Values as returned by :func:`value`.

    Returns
    -------
    Change
        Rates: the difference in percentage points (``"↓0.8个百分点"``). Counts and
        averages: the relative change in % (``"↑12.5%"``), undefined when ``previous`` is 0
        — growth from nothing has no percentage. A change that rounds to 0.0 reads "持平".
    """
    kind: Literal["pct", "pp"] = "pp" if ind.kind == "rate" else "pct"
    if _missing(current) or _missing(previous):
        return Change(kind, None, "—")
    cur, prev = float(current), float(previous)  # type: ignore[arg-type]
    if kind == "pp":
        diff = cur - prev
        unit = "个百分点"
    else:
        if prev == 0:
            return Change(kind, None, "—")
        diff = (cur - prev) / abs(prev) * 100
        unit = "%"
    # Compare the rounded figure so the arrow never contradicts the number shown next to it.
    shown = round(abs(diff), 1)
    if shown == 0:
        return Change(kind, diff, "持平", None)
    arrow = "↑" if diff > 0 else "↓"
    return Change(kind, diff, f"{arrow}{shown:.1f}{unit}", (diff > 0) == ind.higher_is_better)


def format_value(ind: Indicator, v: float | None, *, per10k: bool = False) -> str:
    """Format a value for display.

    Parameters
    ----------
    ind : Indicator
    v : float or None
    per10k : bool, default False
        ``v`` is a count per 10,000 residents: two decimals, no unit.

    Returns
    -------
    str
        ``"1,234"`` (counts), ``"97.5%"`` (rates), ``"12.3天"`` (averages), ``"—"`` when
        undefined. A rate below 100 never shows as ``"100.0%"`` (99.96% → ``"99.9%"``):
        "all closed" must not be claimed when one case is still open.
    """
    if _missing(v):
        return "—"
    x = float(v)  # type: ignore[arg-type]
    if per10k:
        return f"{x:,.2f}"
    if ind.kind == "count":
        return f"{round(x):,}"
    if ind.kind == "rate":
        text = f"{x:.{ind.decimals}f}"
        if x < 100 and float(text) >= 100:
            text = f"{100 - 10**-ind.decimals:.{ind.decimals}f}"
        return f"{text}%"
    return f"{x:,.{ind.decimals}f}{ind.unit}"
