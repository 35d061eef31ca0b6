"""Day classification and seasonal curves for the demo fact generator.

The generator multiplies a unit's base daily rate by curves that depend only on the day, so
they are computed once per run here as arrays over the day axis (index 0 = first day).

Official holidays and make-up workdays (调休) come from ``chinese_calendar``. That package only
knows the years the State Council has published; for other years we fall back to plain
weekends plus fixed 元旦 / 劳动节 / 国庆 dates and a table of lunar-new-year dates for 春节, so a
demo built in a year the package does not cover still has its holiday dips.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

try:  # the distribution is ``chinesecalendar``; the import name is ``chinese_calendar``
    import chinese_calendar as _cc
except ImportError:  # pragma: no cover - a declared dependency, but keep the fallback usable
    _cc = None

#: 正月初一 per Gregorian year; places 春节 and the seasonal waves tied to it.
LUNAR_NEW_YEAR: dict[int, dt.date] = {
    y: dt.date.fromisoformat(s)
    for y, s in {
        2015: "2015-02-19",
        2016: "2016-02-08",
        2017: "2017-01-28",
        2018: "2018-02-16",
        2019: "2019-02-05",
        2020: "2020-01-25",
        2021: "2021-02-12",
        2022: "2022-02-01",
        2023: "2023-01-22",
        2024: "2024-02-10",
        2025: "2025-01-29",
        2026: "2026-02-17",
        2027: "2027-02-06",
        2028: "2028-01-26",
        2029: "2029-02-13",
        2030: "2030-02-03",
        2031: "2031-01-23",
        2032: "2032-02-11",
        2033: "2033-01-31",
        2034: "2034-02-19",
        2035: "2035-02-08",
    }.items()
}

# Day kinds, ordered by how much they depress office-hours intake.
WORKDAY = 0  # includes 调休 weekend workdays
WEEKEND = 1
MINOR_HOLIDAY = 2  # 元旦, 清明, 劳动节, 端午, 中秋
MAJOR_HOLIDAY = 3  # 春节, 国庆 golden weeks

_MAJOR_NAMES = {"Spring Festival", "National Day"}


def lunar_new_year(year: int) -> dt.date | None:
    """Return 春节 (正月初一) of ``year``, or None outside the built-in table."""
    return LUNAR_NEW_YEAR.get(year)


def _fallback_kind(day: dt.date) -> int:
    """Classify a day without official data: fixed-date holidays and a 春节 week."""
    lny = lunar_new_year(day.year)
    if lny is not None and -1 <= (day - lny).days <= 6:  # 除夕 .. 初七
        return MAJOR_HOLIDAY
    if day.month == 10 and day.day <= 7:
        return MAJOR_HOLIDAY
    if (day.month, day.day) == (1, 1) or (day.month == 5 and day.day <= 5):
        return MINOR_HOLIDAY
    return WEEKEND if day.weekday() >= 5 else WORKDAY


def day_kind(day: dt.date) -> int:
    """Classify one day as WORKDAY, WEEKEND, MINOR_HOLIDAY or MAJOR_HOLIDAY.

    Parameters
    ----------
    day : datetime.date

    Returns
    -------
    int
        One of the module constants. Make-up workdays (调休) are WORKDAY.
    """
    if _cc is None:
        return _fallback_kind(day)
    try:
        is_holiday, name = _cc.get_holiday_detail(day)
        workday = _cc.is_workday(day)
    except NotImplementedError:  # year not (yet) published by the State Council
        return _fallback_kind(day)
    if workday:
        return WORKDAY
    if is_holiday and name is not None:
        return MAJOR_HOLIDAY if name in _MAJOR_NAMES else MINOR_HOLIDAY
    return WEEKEND


@dataclass(frozen=True)
class DemoCalendar:
    """Per-day attributes of the demo period (all arrays have one entry per day).

    Attributes
    ----------
    days : list of datetime.date
    kind : ndarray of int8, see the module constants
    weekday : ndarray of int8, Monday = 0
    month : ndarray of int8
    day_of_year : ndarray of int16
    days_to_lny : ndarray of int32, signed days from the nearest 春节 (negative = before)
    years_from_middle : ndarray of float, for year-on-year trends centred on the period
    """

    days: list[dt.date]
    kind: np.ndarray
    weekday: np.ndarray
    month: np.ndarray
    day_of_year: np.ndarray
    days_to_lny: np.ndarray
    years_from_middle: np.ndarray

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def age(self) -> np.ndarray:
        """Days from each day to the last day of the period (0 on the last day)."""
        return np.arange(self.n_days - 1, -1, -1, dtype=np.int32)


def build_calendar(start: dt.date, end: dt.date) -> DemoCalendar:
    """Classify every day from ``start`` to ``end`` inclusive.

    Parameters
    ----------
    start, end : datetime.date
        First and last day of the demo period.

    Returns
    -------
    DemoCalendar
    """
    n = (end - start).days + 1
    days = [start + dt.timedelta(days=i) for i in range(n)]
    kind = np.array([day_kind(d) for d in days], dtype=np.int8)
    weekday = np.array([d.weekday() for d in days], dtype=np.int8)
    month = np.array([d.month for d in days], dtype=np.int8)
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=np.int16)
    lnys = [lny for y in range(start.year - 1, end.year + 2) if (lny := lunar_new_year(y))]
    if lnys:
        ordinals = np.array([d.toordinal() for d in days])
        lny_ord = np.array([d.toordinal() for d in lnys])
        diff = ordinals[:, None] - lny_ord[None, :]
        nearest = np.abs(diff).argmin(axis=1)
        days_to_lny = diff[np.arange(n), nearest].astype(np.int32)
    else:  # far outside the table: no 春节 waves at all
        days_to_lny = np.full(n, 10_000, dtype=np.int32)
    years_from_middle = (np.arange(n) - (n - 1) / 2) / 365.25
    return DemoCalendar(days, kind, weekday, month, doy, days_to_lny, years_from_middle)


# --- seasonal curves -------------------------------------------------------------------------
# Each returns a multiplier per day (1.0 = no effect). Smooth edges avoid step artefacts that
# anomaly detection would flag as spurious change points.


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 below ``lo``, 1 above ``hi``, a cosine ramp in between."""
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def pre_spring_festival_wave(cal: DemoCalendar, peak: float = 2.0) -> np.ndarray:
    """Wage-arrears season (欠薪/劳资): ×``peak`` over the 4–6 weeks before 春节.

    Migrant workers want to be paid before going home, so labour disputes and 人社 petitions
    double from about six weeks before the festival and fall away on 除夕.
    """
    x = cal.days_to_lny.astype(float)
    up = _ramp(x, -49, -35)
    down = 1.0 - _ramp(x, -4, 0)
    return 1.0 + (peak - 1.0) * up * down


def spring_festival_family_wave(cal: DemoCalendar, peak: float = 1.4) -> np.ndarray:
    """Family disputes (婚姻家庭/赡养) ×``peak`` around 春节 as migrants return home."""
    x = cal.days_to_lny.astype(float)
    return 1.0 + (peak - 1.0) * _ramp(x, -21, -10) * (1.0 - _ramp(x, 15, 28))


def farming_wave(cal: DemoCalendar, peak: float = 1.7) -> np.ndarray:
    """Land and boundary disputes peak in 春耕 (Mar–May) and 秋耕秋种 (Sep–Oct)."""
    d = cal.day_of_year.astype(float)
    spring = np.exp(-0.5 * ((d - 105) / 22) ** 2)  # centred mid-April
    autumn = np.exp(-0.5 * ((d - 272) / 18) ** 2)  # centred end of September
    return 1.0 + (peak - 1.0) * np.maximum(spring, autumn)


def summer_wave(cal: DemoCalendar, peak: float = 1.25) -> np.ndarray:
    """Summer nights (noise, BBQ fights, flood season): a broad bump peaking late July."""
    d = cal.day_of_year.astype(float)
    return 1.0 + (peak - 1.0) * np.exp(-0.5 * ((d - 205) / 30) ** 2)


def winter_wave(cal: DemoCalendar, peak: float = 1.3) -> np.ndarray:
    """Heating season fire and gas hazards: a bump spanning December–January."""
    d = cal.day_of_year.astype(float)
    dist = np.minimum(np.abs(d - 5), 365 - np.abs(d - 5))  # circular distance to 5 January
    return 1.0 + (peak - 1.0) * np.exp(-0.5 * (dist / 28) ** 2)


def two_sessions(cal: DemoCalendar) -> np.ndarray:
    """True during 全国两会 security (3–12 March), a 重点时段 for stability work."""
    d = np.array([(x.month, x.day) for x in cal.days])
    return (d[:, 0] == 3) & (d[:, 1] >= 3) & (d[:, 1] <= 12)


def trend(cal: DemoCalendar, yearly_change: float) -> np.ndarray:
    """Compound year-on-year change centred on the middle of the period (e.g. −0.05)."""
    return (1.0 + yearly_change) ** cal.years_from_middle


def kind_multiplier(
    cal: DemoCalendar,
    *,
    weekend: float,
    minor_holiday: float,
    major_holiday: float,
    monday: float = 1.0,
) -> np.ndarray:
    """Multiplier per day from the day kind (workday = 1, or ``monday`` on a Monday workday).

    Parameters
    ----------
    cal : DemoCalendar
    weekend, minor_holiday, major_holiday : float
        Multipliers for those day kinds.
    monday : float, optional
        Workday Mondays catch the weekend's letters and deferred visits.
    """
    table = np.array([1.0, weekend, minor_holiday, major_holiday])
    out = table[cal.kind]
    out = np.where((cal.kind == WORKDAY) & (cal.weekday == 0), out * monday, out)
    return out
