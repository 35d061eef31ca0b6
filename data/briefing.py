"""Texts of a meeting briefing (会议简报): title, stamps, 口径 notes and the summary paragraph.

Everything a briefing says in words comes from here, built from the same view models the
dashboard shows (:func:`data.views.kpis`, :func:`data.views.children_table`,
:func:`data.views.risk_panel`), and every number is the dashboard's own formatted string
(:attr:`data.views.Kpi.text`, :attr:`data.indicators.Change.text` with its arrow turned into
a word). A briefing can therefore never disagree with the screen it was exported from.

:func:`gather` reads the numbers for a :class:`~data.views.ViewState`; :func:`build` turns
them into a :class:`Briefing` and is pure (no I/O), so the wording is tested without a
database. No dash, no Pillow: drawing is :mod:`dashboard.export.compose`'s job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from data import views
from data.disclosure import suppress_small
from data.indicators import INDICATORS, Change
from data.levels import LEVEL_LABELS, RiskLevel
from data.repository import Repository

__all__ = [
    "CALIBER_KEYS",
    "TOPICS",
    "Briefing",
    "BriefingData",
    "KpiRow",
    "build",
    "change_words",
    "date_label",
    "gather",
]

#: Title topic by focus stream: "临泉区矛盾纠纷化解情况（2026年1—10月）".
TOPICS: dict[str, str] = {
    "dispute": "矛盾纠纷化解情况",
    "petition": "信访工作情况",
    "grid_event": "网格事件办理情况",
}

#: Rates and averages whose 统计口径 a briefing prints (every one it shows).
CALIBER_KEYS: tuple[str, ...] = (
    "dispute_resolution_rate",
    "dispute_mediation_rate",
    "petition_on_time_rate",
    "petition_avg_days",
    "event_close_rate",
    "patrol_arrive_1",
    "patrol_arrive_3",
    "patrol_arrive_5",
)

#: Marking printed on internal briefings (top left of images, title slide of the PPTX).
INTERNAL_MARK = "内部资料 注意保管"

_PARENT_WORD = {"city": "全市", "district": "全区", "town": "全镇街", "village": "全村社区"}


def date_label(day: dt.date) -> str:
    """``"2026年10月31日"``."""
    return f"{day.year}年{day.month}月{day.day}日"


def change_words(change: Change) -> str:
    """A change as prose: ``"↑12.5%"`` → ``"增长12.5%"``, ``"↓0.8个百分点"`` → ``"下降0.8个百分点"``.

    The number is the dashboard's own text, only the arrow becomes a word, so the figure read
    out at the meeting is the figure on the screen. Undefined → ``"无可比数据"``.
    """
    text = change.text
    if text.startswith("↑"):
        return ("上升" if change.kind == "pp" else "增长") + text[1:]
    if text.startswith("↓"):
        return "下降" + text[1:]
    if text in ("—", "-", ""):
        return "无可比数据"
    return text


@dataclass(frozen=True)
class KpiRow:
    """One line of the KPI table: ``矛盾纠纷 | 化解率 | 97.3% | 环比… | 同比…``."""

    group: str
    key: str
    label: str
    text: str
    unit: str
    mom: str
    yoy: str
    mom_favourable: bool | None
    yoy_favourable: bool | None

    @property
    def value_text(self) -> str:
        """Value with its unit where the dashboard puts one beside the number (counts)."""
        if self.text in ("—", "-") or self.unit in ("%", "天"):
            return self.text
        return f"{self.text}{self.unit}"


@dataclass(frozen=True)
class BriefingData:
    """The numbers a briefing is made of, as the dashboard computes them."""

    state: views.ViewState
    groups: tuple[views.KpiGroup, ...]
    children: pd.DataFrame
    risk_by_level: dict[str, tuple[int, int]]
    hotspots: tuple[str, ...] = ()


@dataclass(frozen=True)
class Briefing:
    """Every text printed on a briefing's images and slides.

    Attributes
    ----------
    title : str
        ``"临泉区矛盾纠纷化解情况（2026年1—10月）"``.
    unit_line, period_line, cutoff_line, comparison_line, source_line, generated_line : str
        The stamps: ``"单位：临泉区（代码 359802）"``, ``"统计期间：2026年1—10月"``,
        ``"统计截止时间：2026年10月31日"``, ``"环比期间：…；同比期间：…"``,
        ``"数据来源：…"``, ``"生成时间：2026年11月23日 08:30"``.
    summary : str
        The Chinese summary paragraph.
    calibers : tuple of str
        ``"化解率=…"`` for every rate shown.
    kpi_rows : tuple of KpiRow
    internal_mark : str
        ``"内部资料 注意保管"`` or empty.
    """

    title: str
    unit_name: str
    unit_code: str
    period_label: str
    unit_line: str
    period_line: str
    cutoff_line: str
    comparison_line: str
    source_line: str
    generated_line: str
    summary: str
    calibers: tuple[str, ...]
    kpi_rows: tuple[KpiRow, ...]
    internal_mark: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def caliber_line(self) -> str:
        """All 口径 notes on one line: ``"口径：化解率=…；调解成功率=…"``."""
        return "口径：" + "；".join(self.calibers)

    @property
    def meta_line(self) -> str:
        """Unit, period and cut-off, for the line under a title."""
        return "　".join([self.unit_line, self.period_line, self.cutoff_line])

    def heading(self, title: str) -> str:
        """A panel heading with unit and period: "临泉区 · 巡逻防控投入（2026年1—10月）"."""
        own = title if title.startswith(self.unit_name) else f"{self.unit_name} · {title}"
        return f"{own}（{self.period_label}）"

    def stamps(self) -> tuple[str, ...]:
        """Every stamp in print order (title first)."""
        lines = [
            self.title,
            self.unit_line,
            self.period_line,
            self.cutoff_line,
            self.comparison_line,
            self.caliber_line,
            self.source_line,
            self.generated_line,
        ]
        if self.internal_mark:
            lines.append(self.internal_mark)
        return tuple(lines)

    def all_text(self) -> str:
        """Everything printed, for glyph-coverage checks."""
        rows = [f"{r.group}{r.label}{r.value_text}{r.mom}{r.yoy}" for r in self.kpi_rows]
        return "".join([*self.stamps(), self.summary, *rows, *self.notes])


# ---------------------------------------------------------------------------------------
# Reading the numbers


def gather(repo: Repository, state: views.ViewState) -> BriefingData:
    """Read what a briefing needs for ``state``, through the dashboard's view models.

    The summary names the children with most disputes received, whatever metric colours the
    map, so the ranking behind it uses ``dispute_received``.

    Parameters
    ----------
    repo : Repository
    state : ViewState

    Returns
    -------
    BriefingData
    """
    groups = tuple(views.kpis(repo, state))
    children = views.children_table(repo, replace(state, metric="dispute_received"))
    risk = views.risk_panel(repo, state)
    hot: tuple[str, ...] = ()
    if state.hotspots and state.metric == "dispute_received":
        mv = views.map_view(repo, state)
        if "hotspot" in mv.table:
            labels = mv.table["hotspot"].fillna("").astype(str)
            hot = tuple(mv.table.loc[labels.str.startswith("热点"), "name"].astype(str))
    return BriefingData(state, groups, children, risk.by_level, hot)


# ---------------------------------------------------------------------------------------
# Wording


def _flat(groups: Sequence[views.KpiGroup]) -> dict[str, views.Kpi]:
    return {k.key: k for g in groups for k in g.items}


def _count_text(kpi: views.Kpi, threshold: int) -> str:
    """The dashboard's text, or ``"<N"`` for a small count where suppression is on."""
    if kpi.kind == "count" and threshold > 1 and kpi.value is not None:
        shown = suppress_small(kpi.value, threshold)
        if shown.startswith("<"):
            return shown
    return kpi.text


def _changes(kpi: views.Kpi, same_period: bool) -> str:
    """``"环比增长5.4%，同比增长5.4%"``; only 同比 when both compare with the same period."""
    yoy = f"同比{change_words(kpi.yoy)}"
    if same_period:
        return yoy
    return f"环比{change_words(kpi.mom)}，{yoy}"


def _lead_children(children: pd.DataFrame, total: float | None, parent_level: str) -> str:
    """``"嘉光街道（515件，占52.8%）、瑞园街道（248件）居全区前列"``, or empty."""
    if children.empty or "value" not in children:
        return ""
    ranked = children[pd.to_numeric(children["value"], errors="coerce") > 0]
    ranked = ranked.sort_values("value", ascending=False, kind="stable").head(2)
    if ranked.empty:
        return ""
    parts = []
    for i, (_, row) in enumerate(ranked.iterrows()):
        share = ""
        if i == 0 and total:
            share = f"，占{float(row['value']) / total * 100:.1f}%"
        parts.append(f"{row['name']}（{row['text']}件{share}）")
    where = _PARENT_WORD.get(parent_level, "本级")
    return f"矛盾纠纷受理量以{'、'.join(parts)}居{where}前列"


def summary_text(
    data: BriefingData, *, small_count_threshold: int = 0, unit_name: str | None = None
) -> str:
    """The summary paragraph, e.g. "2026年1—10月，临泉区受理矛盾纠纷976件，同比增长5.4%；…".

    Parameters
    ----------
    data : BriefingData
    small_count_threshold : int
        Counts below it are written ``"<N"`` (0: as on the dashboard).
    unit_name : str, optional
        Defaults to the state's unit name.
    """
    state = data.state
    k = _flat(data.groups)
    same = (state.mom.start, state.mom.end) == (state.yoy.start, state.yoy.end)
    name = unit_name or state.unit.name

    def count(key: str) -> str:
        return _count_text(k[key], small_count_threshold)

    sentences: list[str] = []
    d = k["dispute_received"]
    if d.value is None:
        sentences.append(f"{state.period.label}，{name}暂无矛盾纠纷受理数据")
    else:
        first = (
            f"{state.period.label}，{name}受理矛盾纠纷{count('dispute_received')}件，"
            f"{_changes(d, same)}"
        )
        r, m = k["dispute_resolution_rate"], k["dispute_mediation_rate"]
        first += f"；化解率{r.text}，同比{change_words(r.yoy)}；调解成功率{m.text}"
        sentences.append(first)
    p, e = k["petition_received"], k["event_received"]
    second = []
    if p.value is not None:
        second.append(
            f"受理信访{count('petition_received')}件次，{_changes(p, same)}，"
            f"按期办结率{k['petition_on_time_rate'].text}"
        )
    if e.value is not None:
        second.append(
            f"网格员上报事件{count('event_received')}件，办结率{k['event_close_rate'].text}"
        )
    if second:
        sentences.append("；".join(second))
    risk = k["risk_open_total"]
    if risk.value is not None:
        red, orange = k["risk_red_open"], k["risk_orange_open"]
        sentences.append(
            f"期末在册风险隐患{count('risk_open_total')}个，其中红色{count('risk_red_open')}个、"
            f"橙色{count('risk_orange_open')}个"
            + ("" if red.value or orange.value else "，无红、橙色风险")
        )
    if data.hotspots:
        sentences.append(f"{'、'.join(data.hotspots[:3])}为矛盾纠纷热点（Gi*检验显著）")
    else:
        lead = _lead_children(data.children, d.value, state.unit.level)
        if lead:
            sentences.append(lead)
    return "。".join(sentences) + "。"


def build(
    data: BriefingData,
    *,
    data_source: str,
    generated_at: dt.datetime,
    internal: bool = True,
    small_count_threshold: int = 0,
) -> Briefing:
    """All texts of a briefing from its numbers.

    Parameters
    ----------
    data : BriefingData
        From :func:`gather`.
    data_source : str
        Who the data come from (``SHIYU_DATA_SOURCE``), printed as ``数据来源：…``.
    generated_at : datetime.datetime
        Printed as ``生成时间：…``.
    internal : bool, default True
        Print the 内部资料 marking.
    small_count_threshold : int, default 0
        Counts 1 … N-1 are printed ``"<N"`` (exports leave the building; 0 prints all).

    Returns
    -------
    Briefing
    """
    state = data.state
    unit = state.unit
    topic = TOPICS.get(state.stream, TOPICS["dispute"])
    rows = []
    for group in data.groups:
        for kpi in group.items:
            rows.append(
                KpiRow(
                    group=group.title,
                    key=kpi.key,
                    label=kpi.label,
                    text=_count_text(kpi, small_count_threshold),
                    unit=kpi.unit,
                    mom=kpi.mom.text,
                    yoy=kpi.yoy.text,
                    mom_favourable=kpi.mom.favourable,
                    yoy_favourable=kpi.yoy.favourable,
                )
            )
    notes = []
    if state.categories:
        notes.append(
            f"筛选：{views.STREAM_CHOICES.get(state.stream, state.stream)}类别仅含"
            + "、".join(state.categories)
        )
    level = LEVEL_LABELS.get(unit.level, unit.level)  # type: ignore[call-overload]
    return Briefing(
        title=f"{unit.name}{topic}（{state.period.label}）",
        unit_name=unit.name,
        unit_code=unit.code,
        period_label=state.period.label,
        unit_line=f"单位：{unit.name}（{level}，代码 {unit.code}）",
        period_line=f"统计期间：{state.period.label}",
        cutoff_line=f"统计截止时间：{date_label(state.period.end)}",
        comparison_line=f"环比期间：{state.mom.label}；同比期间：{state.yoy.label}",
        source_line=f"数据来源：{data_source}",
        generated_line=f"生成时间：{date_label(generated_at.date())} {generated_at:%H:%M}",
        summary=summary_text(data, small_count_threshold=small_count_threshold),
        calibers=tuple(INDICATORS[key].caliber for key in CALIBER_KEYS),
        kpi_rows=tuple(rows),
        internal_mark=INTERNAL_MARK if internal else "",
        notes=tuple(notes),
    )


def risk_levels_line(by_level: dict[str, tuple[int, int]]) -> str:
    """``"在册：红色2个、橙色5个、黄色9个、蓝色4个"`` for a risk panel caption."""
    names = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
    parts = [f"{names[lv.value]}{by_level.get(lv.value, (0, 0))[0]}个" for lv in RiskLevel]
    return "在册：" + "、".join(parts)
