"""Reporting periods: which days a screen covers, and the periods it is compared with.

Every screen shows one :class:`Period` — a closed range of days ``start … end`` — resolved
from a period key (``today``, ``7d``, ``30d``, ``month``, ``quarter``, ``year``, ``custom``)
and an *anchor*, the latest day for which data exist. The anchor, not the wall clock, is
"today": a database loaded last night still shows a full day for 今日.

Two comparisons are defined:

* :func:`previous_period` — 环比, the period immediately before (see its docstring for how
  month, quarter and year to date are handled);
* :func:`year_ago` — 同比, the same calendar dates one year earlier.

Periods made of whole calendar months (first day … last day of a month) keep that property
when shifted: 2025年2月 maps to the whole of 2024年2月 (29 days) and vice versa. Partial
periods keep their day numbers, clamped at month ends (2024-02-29 → 2023-02-28).

Pure functions, no I/O, no dash.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Literal

__all__ = [
    "PERIOD_CHOICES",
    "Granularity",
    "Period",
    "PeriodError",
    "granularity",
    "parse_date",
    "previous_period",
    "resolve_period",
    "span_label",
    "year_ago",
]

#: Period keys in the order the selector shows them, with their Chinese labels.
PERIOD_CHOICES: MappingProxyType[str, str] = MappingProxyType(
    {
        "today": "今日",
        "7d": "近7天",
        "30d": "近30天",
        "month": "本月",
        "quarter": "本季度",
        "year": "本年",
        "custom": "自定义",
    }
)

#: Rolling windows: a fixed number of days ending on the anchor.
_ROLLING_DAYS = {"today": 1, "7d": 7, "30d": 30}

#: Calendar periods to date, with the number of months 环比 steps back.
_CALENDAR_MONTHS = {"month": 1, "quarter": 3, "year": 12}

Granularity = Literal["D", "W", "M"]


class PeriodError(ValueError):
    """A period that cannot be resolved; the message is Chinese first, then English."""


@dataclass(frozen=True)
class Period:
    """A closed range of days with the key it was resolved from and a Chinese label.

    Attributes
    ----------
    start, end : datetime.date
        First and last day, both inclusive.
    key : str
        The :data:`PERIOD_CHOICES` key this period was resolved from (kept by
        :func:`previous_period` and :func:`year_ago`).
    label : str
        Chinese label for titles, e.g. ``"2026年11月1日—22日"``.
    """

    start: date
    end: date
    key: str
    label: str

    @property
    def days(self) -> int:
        """Number of days in the period, both ends included."""
        return (self.end - self.start).days + 1


# ---------------------------------------------------------------------------------------
# Date helpers


def parse_date(value: str | date | datetime) -> date:
    """Parse an ISO date (``"2026-11-22"``, or a datetime string as date pickers send).

    Parameters
    ----------
    value : str, datetime.date or datetime.datetime
        A date passes through; a datetime loses its time of day.

    Returns
    -------
    datetime.date

    Raises
    ------
    PeriodError
        If ``value`` is not an ISO date.
    """
    # datetime is a subclass of date, so test it first or the time of day would survive.
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            # Date pickers may send "2026-11-22T00:00:00"; only the date part matters.
            return datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise PeriodError(
        f"日期格式无效：{value!r}，应为“年-月-日”，如 2026-11-22 (expected an ISO date)"
    )


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _is_month_end(d: date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def _shift_months(d: date, months: int, *, to_month_end: bool = False) -> date:
    """``d`` moved by ``months`` calendar months, the day clamped to the target month's end."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if to_month_end:
        return _month_end(year, month)
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _shift_span(start: date, end: date, months: int) -> tuple[date, date]:
    """Shift a span by whole months, keeping whole-month spans whole."""
    # A span of whole months (1st … last day) must stay whole: 2025年2月 ↔ all 29 days of
    # 2024年2月, 2026年第2季度 → 第1季度 ending 3月31日 (not 3月30日).
    whole_months = start.day == 1 and _is_month_end(end)
    return _shift_months(start, months), _shift_months(end, months, to_month_end=whole_months)


def _quarter(d: date) -> int:
    return (d.month - 1) // 3 + 1


def _quarter_start(d: date) -> date:
    return date(d.year, 3 * (_quarter(d) - 1) + 1, 1)


# ---------------------------------------------------------------------------------------
# Labels


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def span_label(start: date, end: date) -> str:
    """Chinese label for a range of days, as compact as the range allows.

    Parameters
    ----------
    start, end : datetime.date
        First and last day, inclusive.

    Returns
    -------
    str
        ``"2026年"``, ``"2026年第4季度"``, ``"2026年11月"``, ``"2026年1—10月"``,
        ``"2026年11月22日"``, ``"2026年11月1日—22日"``, ``"2026年10月27日—11月2日"`` or
        ``"2025年12月28日—2026年1月3日"``.
    """
    if start.day == 1 and _is_month_end(end):
        if start.year == end.year:
            if start.month == 1 and end.month == 12:
                return f"{start.year}年"
            if start.month % 3 == 1 and end.month == start.month + 2:
                return f"{start.year}年第{_quarter(start)}季度"
            if start.month == end.month:
                return f"{start.year}年{start.month}月"
            return f"{start.year}年{start.month}—{end.month}月"
        return f"{start.year}年{start.month}月—{end.year}年{end.month}月"
    if start == end:
        return f"{start.year}年{_md(start)}"
    if start.year != end.year:
        return f"{start.year}年{_md(start)}—{end.year}年{_md(end)}"
    if start.month != end.month:
        return f"{start.year}年{_md(start)}—{_md(end)}"
    return f"{start.year}年{_md(start)}—{end.day}日"


def _label(key: str, start: date, end: date) -> str:
    # A quarter to date reads better as the quarter with its cut-off day than as a day range.
    if (
        key == "quarter"
        and start == _quarter_start(start)
        and _quarter_start(end) == start
        and not (end.month % 3 == 0 and _is_month_end(end))
    ):
        return f"{start.year}年第{_quarter(start)}季度(截至{_md(end)})"
    return span_label(start, end)


def _make(key: str, start: date, end: date) -> Period:
    return Period(start=start, end=end, key=key, label=_label(key, start, end))


# ---------------------------------------------------------------------------------------
# Public API


def resolve_period(
    key: str,
    anchor: date,
    start: date | str | None = None,
    end: date | str | None = None,
) -> Period:
    """Resolve a period key against the anchor day.

    Parameters
    ----------
    key : str
        One of :data:`PERIOD_CHOICES`.
    anchor : datetime.date
        The latest day with data; "today" means this day.
    start, end : datetime.date or ISO str, optional
        Only for ``key="custom"`` (ignored otherwise, so a date picker left filled in does
        no harm).

    Returns
    -------
    Period
        ``today``: the anchor day. ``7d``/``30d``: that many days ending on the anchor.
        ``month``/``quarter``/``year``: from the first day of the anchor's month, quarter or
        year to the anchor (to date). ``custom``: ``start … end`` with ``end`` clamped to
        the anchor, since later days have no data yet.

    Raises
    ------
    PeriodError
        Unknown key; custom without both dates; ``start > end``; ``start`` after the anchor
        (the period would be empty).
    """
    anchor = parse_date(anchor)
    if key in _ROLLING_DAYS:
        return _make(key, anchor - timedelta(days=_ROLLING_DAYS[key] - 1), anchor)
    if key == "month":
        return _make(key, anchor.replace(day=1), anchor)
    if key == "quarter":
        return _make(key, _quarter_start(anchor), anchor)
    if key == "year":
        return _make(key, date(anchor.year, 1, 1), anchor)
    if key != "custom":
        raise PeriodError(f"未知的统计周期：{key!r} (unknown period key)")
    if start is None or end is None:
        raise PeriodError("自定义周期需要开始和结束日期 (custom period needs start and end dates)")
    first, last = parse_date(start), parse_date(end)
    if first > last:
        raise PeriodError(
            f"开始日期 {first.isoformat()} 晚于结束日期 {last.isoformat()} "
            "(start date is after end date)"
        )
    if first > anchor:
        raise PeriodError(
            f"开始日期 {first.isoformat()} 晚于最新数据日期 {anchor.isoformat()}，所选期间无数据 "
            "(start date is after the latest day with data)"
        )
    return _make(key, first, min(last, anchor))


def previous_period(p: Period) -> Period:
    """The period 环比 compares ``p`` with.

    Parameters
    ----------
    p : Period

    Returns
    -------
    Period
        Same ``key``.

        * ``today``, ``7d``, ``30d``, ``custom``: the window of equal length ending the day
          before ``p.start``.
        * ``month``: the same days of the previous month, clamped at its end
          (11月1日—22日 → 10月1日—22日; 2024年3月1日—31日 → 2月1日—29日); a whole month
          maps to the whole previous month.
        * ``quarter``: the previous quarter to the same month-in-quarter and day, clamped
          (第4季度截至11月22日 → 第3季度截至8月22日); January–March steps into the
          previous year's 第4季度.
        * ``year``: a year has no shorter predecessor of the same kind, so 环比 of a year to
          date is the previous year's same span — identical to :func:`year_ago`.
    """
    months = _CALENDAR_MONTHS.get(p.key)
    if months is None:
        return _make(p.key, p.start - timedelta(days=p.days), p.start - timedelta(days=1))
    start, end = _shift_span(p.start, p.end, -months)
    return _make(p.key, start, end)


def year_ago(p: Period) -> Period:
    """The period 同比 compares ``p`` with: the same calendar dates one year earlier.

    Parameters
    ----------
    p : Period

    Returns
    -------
    Period
        Same ``key``. 2月29日 becomes 2月28日; a span of whole months maps to the same whole
        months (2025年2月 → 2024年2月1日—29日).
    """
    start, end = _shift_span(p.start, p.end, -12)
    return _make(p.key, start, end)


def granularity(p: Period) -> Granularity:
    """Bucket size for trend charts over ``p``.

    Parameters
    ----------
    p : Period

    Returns
    -------
    {"D", "W", "M"}
        Daily up to 62 days (two full months still fit a readable bar chart), weekly up to
        210 days (about 30 bars), monthly beyond.
    """
    if p.days <= 62:
        return "D"
    if p.days <= 210:
        return "W"
    return "M"
