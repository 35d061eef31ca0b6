"""Period arithmetic: resolution, 环比, 同比, labels and chart granularity.

Expected dates are written out by hand from a calendar, never derived with the module's own
helpers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data.periods import (
    PERIOD_CHOICES,
    Period,
    PeriodError,
    granularity,
    parse_date,
    previous_period,
    resolve_period,
    span_label,
    year_ago,
)

ANCHOR = date(2026, 11, 22)  # a Sunday in Q4


def span(p: Period) -> tuple[date, date]:
    return p.start, p.end


# --- resolve_period -------------------------------------------------------------------


def test_choices_are_ordered_with_chinese_labels():
    assert list(PERIOD_CHOICES) == ["today", "7d", "30d", "month", "quarter", "year", "custom"]
    assert PERIOD_CHOICES["month"] == "本月"
    assert PERIOD_CHOICES["custom"] == "自定义"


@pytest.mark.parametrize(
    ("key", "start", "days", "label"),
    [
        ("today", date(2026, 11, 22), 1, "2026年11月22日"),
        ("7d", date(2026, 11, 16), 7, "2026年11月16日—22日"),
        ("30d", date(2026, 10, 24), 30, "2026年10月24日—11月22日"),
        ("month", date(2026, 11, 1), 22, "2026年11月1日—22日"),
        ("quarter", date(2026, 10, 1), 53, "2026年第4季度(截至11月22日)"),
        ("year", date(2026, 1, 1), 326, "2026年1月1日—11月22日"),
    ],
)
def test_resolve_standard_keys_end_on_anchor(key, start, days, label):
    p = resolve_period(key, ANCHOR)
    assert span(p) == (start, ANCHOR)
    assert p.days == days
    assert p.label == label
    assert p.key == key


def test_year_to_date_at_month_end_reads_as_month_range():
    assert resolve_period("year", date(2026, 10, 31)).label == "2026年1—10月"


def test_complete_quarter_and_month_labels():
    assert resolve_period("quarter", date(2026, 12, 31)).label == "2026年第4季度"
    assert resolve_period("month", date(2026, 2, 28)).label == "2026年2月"
    assert resolve_period("year", date(2026, 12, 31)).label == "2026年"


def test_rolling_window_across_new_year_label():
    p = resolve_period("7d", date(2026, 1, 3))
    assert span(p) == (date(2025, 12, 28), date(2026, 1, 3))
    assert p.label == "2025年12月28日—2026年1月3日"


def test_custom_period_accepts_iso_strings():
    p = resolve_period("custom", ANCHOR, "2026-03-05", "2026-04-01")
    assert span(p) == (date(2026, 3, 5), date(2026, 4, 1))
    assert p.days == 28
    assert p.label == "2026年3月5日—4月1日"


def test_custom_end_after_anchor_is_clamped():
    p = resolve_period("custom", ANCHOR, date(2026, 11, 1), date(2026, 12, 31))
    assert span(p) == (date(2026, 11, 1), ANCHOR)


def test_custom_dates_ignored_for_other_keys():
    p = resolve_period("7d", ANCHOR, date(2020, 1, 1), date(2020, 1, 5))
    assert span(p) == (date(2026, 11, 16), ANCHOR)


def test_reversed_custom_range_is_an_error():
    with pytest.raises(PeriodError, match="晚于结束日期"):
        resolve_period("custom", ANCHOR, date(2026, 5, 2), date(2026, 5, 1))


def test_custom_start_after_anchor_is_an_error():
    with pytest.raises(PeriodError, match="最新数据日期"):
        resolve_period("custom", ANCHOR, date(2026, 11, 23), date(2026, 11, 30))


@pytest.mark.parametrize(("start", "end"), [(None, date(2026, 1, 1)), (date(2026, 1, 1), None)])
def test_custom_needs_both_dates(start, end):
    with pytest.raises(PeriodError, match="开始和结束日期"):
        resolve_period("custom", ANCHOR, start, end)


def test_unknown_key_is_an_error_and_a_value_error():
    with pytest.raises(ValueError, match="unknown period key"):
        resolve_period("fortnight", ANCHOR)


# --- parse_date ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "2024-02-29",
        " 2024-02-29 ",
        "2024-02-29T00:00:00",
        date(2024, 2, 29),
        datetime(2024, 2, 29, 23, 59),
    ],
)
def test_parse_date_accepts_iso_forms(raw):
    assert parse_date(raw) == date(2024, 2, 29)
    assert type(parse_date(raw)) is date


@pytest.mark.parametrize("raw", ["2023-02-29", "22/11/2026", "", "yesterday", None, 20261122])
def test_parse_date_rejects_with_clear_message(raw):
    with pytest.raises(PeriodError, match="日期格式无效"):
        parse_date(raw)


# --- previous_period (环比) -------------------------------------------------------------


def test_previous_of_rolling_windows():
    assert span(previous_period(resolve_period("today", ANCHOR))) == (
        date(2026, 11, 21),
        date(2026, 11, 21),
    )
    assert span(previous_period(resolve_period("7d", ANCHOR))) == (
        date(2026, 11, 9),
        date(2026, 11, 15),
    )
    assert span(previous_period(resolve_period("30d", ANCHOR))) == (
        date(2026, 9, 24),
        date(2026, 10, 23),
    )


def test_previous_of_custom_is_equal_length_window_before():
    p = resolve_period("custom", ANCHOR, "2026-03-01", "2026-03-10")
    assert span(previous_period(p)) == (date(2026, 2, 19), date(2026, 2, 28))


def test_previous_of_month_to_date_is_same_days_last_month():
    prev = previous_period(resolve_period("month", ANCHOR))
    assert span(prev) == (date(2026, 10, 1), date(2026, 10, 22))
    assert prev.label == "2026年10月1日—22日"
    assert prev.key == "month"


def test_previous_of_whole_march_in_leap_year_is_whole_february():
    prev = previous_period(resolve_period("month", date(2024, 3, 31)))
    assert span(prev) == (date(2024, 2, 1), date(2024, 2, 29))
    assert prev.label == "2024年2月"


def test_previous_of_partial_month_clamps_at_shorter_month_end():
    # 3月1日—30日 is not a whole month, so it keeps its day number, clamped to 2月28日.
    prev = previous_period(resolve_period("month", date(2025, 3, 30)))
    assert span(prev) == (date(2025, 2, 1), date(2025, 2, 28))


def test_previous_of_whole_february_is_whole_january():
    prev = previous_period(resolve_period("month", date(2025, 2, 28)))
    assert span(prev) == (date(2025, 1, 1), date(2025, 1, 31))


def test_previous_of_partial_leap_february_keeps_day_number():
    # 2024年2月1日—28日 is one day short of the whole month: compare with 1月1日—28日.
    prev = previous_period(resolve_period("month", date(2024, 2, 28)))
    assert span(prev) == (date(2024, 1, 1), date(2024, 1, 28))


def test_previous_of_january_crosses_year_boundary():
    prev = previous_period(resolve_period("month", date(2026, 1, 15)))
    assert span(prev) == (date(2025, 12, 1), date(2025, 12, 15))


def test_previous_of_quarter_to_date():
    prev = previous_period(resolve_period("quarter", ANCHOR))
    assert span(prev) == (date(2026, 7, 1), date(2026, 8, 22))
    assert prev.label == "2026年第3季度(截至8月22日)"


def test_previous_of_q1_is_last_years_q4():
    prev = previous_period(resolve_period("quarter", date(2026, 2, 10)))
    assert span(prev) == (date(2025, 10, 1), date(2025, 11, 10))


def test_previous_of_whole_quarter_is_whole_quarter():
    prev = previous_period(resolve_period("quarter", date(2026, 6, 30)))
    assert span(prev) == (date(2026, 1, 1), date(2026, 3, 31))
    assert prev.label == "2026年第1季度"


def test_previous_of_quarter_clamps_day():
    # 第2季度截至5月31日 → 第1季度截至2月28日 (5月31日 is a month end but 5月 is not the
    # quarter's last month, so the quarter is partial; 2月 has no 31st).
    prev = previous_period(resolve_period("quarter", date(2026, 5, 30)))
    assert span(prev) == (date(2026, 1, 1), date(2026, 2, 28))


def test_previous_of_year_to_date_is_last_years_same_span():
    prev = previous_period(resolve_period("year", ANCHOR))
    assert span(prev) == (date(2025, 1, 1), date(2025, 11, 22))


# --- year_ago (同比) -------------------------------------------------------------------


def test_year_ago_of_leap_day_is_feb_28():
    assert span(year_ago(resolve_period("today", date(2024, 2, 29)))) == (
        date(2023, 2, 28),
        date(2023, 2, 28),
    )


def test_year_ago_of_whole_month_is_whole_month():
    assert span(year_ago(resolve_period("month", date(2024, 2, 29)))) == (
        date(2023, 2, 1),
        date(2023, 2, 28),
    )
    # And into a leap year: the whole of 2024年2月 has 29 days.
    assert span(year_ago(resolve_period("month", date(2025, 2, 28)))) == (
        date(2024, 2, 1),
        date(2024, 2, 29),
    )


def test_year_ago_of_rolling_window_keeps_calendar_dates():
    p = year_ago(resolve_period("7d", ANCHOR))
    assert span(p) == (date(2025, 11, 16), date(2025, 11, 22))
    assert p.key == "7d"


def test_year_ago_of_quarter_label():
    assert year_ago(resolve_period("quarter", ANCHOR)).label == "2025年第4季度(截至11月22日)"


# --- granularity -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [(1, "D"), (62, "D"), (63, "W"), (210, "W"), (211, "M"), (366, "M")],
)
def test_granularity_thresholds(days, expected):
    end = date(2026, 11, 22)
    p = resolve_period("custom", end, end - timedelta(days=days - 1), end)
    assert p.days == days
    assert granularity(p) == expected


def test_span_label_cross_year_whole_months():
    assert span_label(date(2025, 11, 1), date(2026, 1, 31)) == "2025年11月—2026年1月"


# --- properties ------------------------------------------------------------------------

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def custom_periods(draw):
    a = draw(dates)
    b = draw(dates)
    first, last = min(a, b), max(a, b)
    return resolve_period("custom", last, first, last)


@given(anchor=dates, key=st.sampled_from(["today", "7d", "30d"]))
def test_previous_rolling_has_same_length_and_ends_day_before(anchor, key):
    p = resolve_period(key, anchor)
    prev = previous_period(p)
    assert prev.days == p.days
    assert prev.end == p.start - timedelta(days=1)


@given(p=custom_periods())
def test_previous_custom_has_same_length_and_ends_day_before(p):
    prev = previous_period(p)
    assert prev.days == p.days
    assert prev.end + timedelta(days=1) == p.start


@given(anchor=dates, key=st.sampled_from(list(PERIOD_CHOICES)[:-1]))
def test_year_ago_never_raises_and_is_one_year_back(anchor, key):
    p = resolve_period(key, anchor)
    ago = year_ago(p)
    assert ago.start <= ago.end
    assert ago.start.year == p.start.year - 1
    assert ago.end.year == p.end.year - 1
    assert ago.start.month == p.start.month
    assert ago.end.month == p.end.month
    # At most one day lost or gained, and only through 2月29日.
    assert abs(ago.days - p.days) <= 1


@given(anchor=dates, key=st.sampled_from(["month", "quarter", "year"]))
def test_previous_calendar_period_starts_on_a_boundary_and_precedes(anchor, key):
    p = resolve_period(key, anchor)
    prev = previous_period(p)
    assert prev.start.day == 1
    assert prev.end < p.start
    assert prev.start <= prev.end
    assert abs(prev.days - p.days) <= 3  # only month-end clamping may differ (31 vs 28)


@given(anchor=dates, key=st.sampled_from(list(PERIOD_CHOICES)[:-1]))
def test_resolved_periods_end_on_anchor_and_label_is_chinese(anchor, key):
    p = resolve_period(key, anchor)
    assert p.end == anchor
    assert p.start <= p.end
    assert f"{p.start.year}年" in p.label
