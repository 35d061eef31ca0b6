"""Property-based tests of the value parsers behind every importer."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data.importers import validate as v
from data.levels import Level

TODAY = dt.date(2026, 11, 22)
digits = st.text(alphabet="0123456789", min_size=1, max_size=18).filter(lambda s: s[0] != "0")


@given(digits)
def test_code_survives_excel_numbers(code):
    # A code typed as text, as an Excel int and as an Excel float all come back identical.
    assert v.parse_code(code) == code
    assert v.parse_code(int(code)) == code
    if int(code) < 2**53:
        assert v.parse_code(float(int(code))) == code
        assert v.parse_code(f"{code}.0") == code


@given(st.floats(min_value=1, max_value=1e12).filter(lambda x: x != int(x)))
def test_fractional_code_is_refused(x):
    with pytest.raises(v.Invalid):
        v.parse_code(x)


def test_scientific_notation_code_is_refused_with_advice():
    with pytest.raises(v.Invalid) as exc:
        v.parse_code("3.50902E+11")
    assert "scientific" in exc.value.reason_en


@given(st.sampled_from(sorted(v.LEVEL_WORDS)), st.sampled_from(["", " ", "\t"]))
def test_level_words_parse_with_padding(word, pad):
    assert v.parse_level(pad + word + pad) is v.LEVEL_WORDS[word]


@given(
    st.text(min_size=1, max_size=6).filter(
        lambda s: (
            s.strip()
            and s.strip().lower() not in v.LEVEL_WORDS
            and s.strip().lower() not in set(Level)
        )
    )
)
def test_unknown_level_words_are_refused(word):
    with pytest.raises(v.Invalid) as exc:
        v.parse_level(word)
    assert exc.value.reason_en == "unknown level name"


@given(digits.filter(lambda s: len(s) in (4, 6, 9, 12, 15)), st.booleans())
def test_level_from_code_length(code, is_root):
    level = v.infer_level(code, is_root)
    expected = {9: Level.TOWN, 12: Level.VILLAGE, 15: Level.GRID}.get(
        len(code), Level.CITY if is_root else Level.DISTRICT
    )
    assert level is expected


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=TODAY))
def test_day_formats_roundtrip(day):
    for text in (
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
    ):
        assert v.parse_day(text, TODAY) == (day, False)
    assert v.parse_day(dt.datetime(day.year, day.month, day.day), TODAY) == (day, False)


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=TODAY))
def test_months_are_stored_on_the_first(day):
    first = day.replace(day=1)
    for text in (
        f"{day.year}-{day.month:02d}",
        f"{day.year}年{day.month}月",
        f"{day.year}{day.month:02d}",
    ):
        assert v.parse_day(text, TODAY) == (first, True)


@given(st.dates(min_value=TODAY + dt.timedelta(days=1), max_value=dt.date(2100, 1, 1)))
def test_future_days_are_refused(day):
    with pytest.raises(v.Invalid) as exc:
        v.parse_day(day.isoformat(), TODAY)
    assert exc.value.reason_en == "date is in the future"


@given(st.text(max_size=12).filter(lambda s: s.strip() and not any(ch.isdigit() for ch in s)))
def test_garbage_days_are_refused(text):
    with pytest.raises(v.Invalid):
        v.parse_day(text, TODAY)


def test_impossible_day():
    with pytest.raises(v.Invalid) as exc:
        v.parse_day("2025-02-30", TODAY)
    assert exc.value.reason_en == "impossible date"


@given(st.integers(min_value=0, max_value=10**9))
def test_counts_roundtrip(n):
    assert v.parse_count(n) == n
    assert v.parse_count(str(n)) == n
    assert v.parse_count(float(n)) == n
    assert v.parse_count(f"{n:,}") == n


@given(st.integers(min_value=-(10**9), max_value=-1))
def test_negative_counts_are_refused(n):
    with pytest.raises(v.Invalid) as exc:
        v.parse_count(n)
    assert exc.value.reason_en == "negative count"


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False).filter(lambda x: x != int(x)))
def test_fractional_counts_are_refused(x):
    with pytest.raises(v.Invalid) as exc:
        v.parse_count(x)
    assert exc.value.reason_en == "count is not a whole number"


@given(st.sampled_from(["", "  ", None, float("nan")]))
def test_blank_count_is_zero(value):
    assert v.parse_count(value) == 0


@given(st.sampled_from(["abc", "1-2", "一", "NaN", "inf"]))
def test_non_numbers_are_refused(value):
    with pytest.raises(v.Invalid):
        v.parse_count(value)


def test_code_candidates_unpad():
    assert v.code_candidates("350902000000") == ["350902000000", "350902000", "350902"]
    assert v.code_candidates("350900") == ["350900", "3509"]
    assert v.code_candidates("350902") == ["350902"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("红色", "red"),
        ("红色(一级)", "red"),
        ("二级", "orange"),
        ("Yellow", "yellow"),
        ("蓝", "blue"),
    ],
)
def test_risk_levels(text, expected):
    assert v.parse_risk_level(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("矛盾纠纷", "dispute"), ("信访", "petition"), ("grid-event", "grid_event")],
)
def test_streams(text, expected):
    assert v.parse_stream(text) == expected


def test_urban_rural_accepts_code_or_name():
    assert v.parse_urban_rural("村庄") == "220"
    assert v.parse_urban_rural(111) == "111"
    with pytest.raises(v.Invalid):
        v.parse_urban_rural("999")
