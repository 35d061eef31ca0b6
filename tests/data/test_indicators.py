"""Indicator registry, formulas, comparisons and formatting.

Expected values are worked out by hand (the Da'an figures of domain.md §1b: 2,013 of 2,065
disputes mediated = 97.48%), not by calling the module's formula twice.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data.indicators import (
    INDICATORS,
    METRIC_CHOICES,
    Change,
    change,
    format_value,
    metric_facts,
    metric_label,
    metric_values,
    parse_metric,
    per_10k,
    value,
    values,
)
from data.schema import CASE_MEASURES, PATROL_MEASURES

REQUIRED = [
    "dispute_received", "dispute_mediation_rate", "dispute_resolution_rate",
    "petition_received", "petition_persons", "petition_on_time_rate", "petition_avg_days",
    "petition_repeated", "petition_escalated", "petition_satisfaction",
    "event_received", "event_close_rate", "event_overdue",
    "patrol_groups", "patrol_officers", "patrol_vehicles",
    "patrol_arrive_1", "patrol_arrive_3", "patrol_arrive_5",
    "risk_red_open", "risk_orange_open", "risk_open_total",
]  # fmt: skip

# Every totals key the architecture allows (docs/architecture.md, "Totals keys").
ALLOWED_KEYS = (
    {f"{s}.{m}" for s in ("dispute", "petition", "grid_event") for m in CASE_MEASURES}
    | {f"patrol.{m}" for m in PATROL_MEASURES}
    | {
        f"risk.{lvl}.{m}"
        for lvl in ("red", "orange", "yellow", "blue")
        for m in ("open_end", "new", "closed")
    }
    | {"population"}
)

I = INDICATORS  # noqa: E741 -- short alias keeps the tables below readable


# --- registry --------------------------------------------------------------------------


def test_registry_has_required_indicators_keyed_by_their_key():
    assert set(REQUIRED) <= set(INDICATORS)
    for key, ind in INDICATORS.items():
        assert ind.key == key


@pytest.mark.parametrize("ind", list(INDICATORS.values()), ids=list(INDICATORS))
def test_definitions_are_consistent(ind):
    assert set(ind.numerator) <= ALLOWED_KEYS
    assert ind.numerator
    if ind.kind == "count":
        assert ind.denominator is None
        assert ind.scale == 1
    else:
        assert ind.denominator and set(ind.denominator) <= ALLOWED_KEYS
    if ind.kind == "rate":
        assert ind.unit == "%"
        assert ind.scale == 100
    assert ind.stream in {"dispute", "petition", "grid_event", "patrol", "risk"}
    assert "=" in ind.caliber
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ind.label)


def test_key_formulas_match_the_brief():
    assert I["dispute_mediation_rate"].numerator == ("dispute.mediated_ok",)
    assert I["dispute_mediation_rate"].denominator == ("dispute.received",)
    assert I["dispute_resolution_rate"].numerator == ("dispute.resolved",)
    assert I["petition_on_time_rate"].denominator == ("petition.closed",)
    assert I["petition_avg_days"].kind == "average"
    assert I["petition_avg_days"].unit == "天"
    assert I["patrol_arrive_3"].numerator == ("patrol.arrived_3min",)
    assert I["patrol_arrive_3"].denominator == ("patrol.dispatches",)
    assert set(I["risk_open_total"].numerator) == {
        "risk.red.open_end", "risk.orange.open_end", "risk.yellow.open_end", "risk.blue.open_end"
    }  # fmt: skip
    assert I["dispute_mediation_rate"].caliber == (
        "调解成功率=调解成功数÷受理数×100%（按受理日统计，尚在办理的计入分母）"
    )


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        INDICATORS["x"] = INDICATORS["dispute_received"]  # type: ignore[index]


def test_direction_of_good():
    assert I["dispute_mediation_rate"].higher_is_better
    assert I["patrol_groups"].higher_is_better
    assert not I["petition_avg_days"].higher_is_better
    assert not I["risk_red_open"].higher_is_better
    assert not I["event_overdue"].higher_is_better


# --- value -----------------------------------------------------------------------------


def test_rate_from_daan_figures():
    v = value(I["dispute_mediation_rate"], {"dispute.mediated_ok": 2013, "dispute.received": 2065})
    assert v == pytest.approx(97.481840, abs=1e-6)


def test_average_days():
    v = value(I["petition_avg_days"], {"petition.handling_days": 290, "petition.closed": 50})
    assert v == pytest.approx(5.8)


def test_count_sums_every_numerator_key():
    totals = {
        "risk.red.open_end": 2, "risk.orange.open_end": 5,
        "risk.yellow.open_end": 11, "risk.blue.open_end": 40,
    }  # fmt: skip
    assert value(I["risk_open_total"], totals) == 58
    assert value(I["risk_red_open"], totals) == 2


@pytest.mark.parametrize(
    "totals",
    [
        {"dispute.mediated_ok": 0, "dispute.received": 0},  # zero denominator
        {"dispute.mediated_ok": 5},  # denominator missing
        {"dispute.received": 5},  # numerator missing
        {"dispute.mediated_ok": float("nan"), "dispute.received": 5},
        {"dispute.mediated_ok": None, "dispute.received": 5},
    ],
)
def test_undefined_rate_is_none_not_zero(totals):
    assert value(I["dispute_mediation_rate"], totals) is None


def test_count_with_missing_key_is_none_and_zero_count_is_zero():
    assert value(I["risk_open_total"], {"risk.red.open_end": 1}) is None
    assert value(I["dispute_received"], {"dispute.received": 0}) == 0


def test_value_accepts_a_dataframe_row():
    row = pd.Series({"grid_event.closed": 9201, "grid_event.received": 9213})
    assert value(I["event_close_rate"], row) == pytest.approx(99.869749, abs=1e-6)


# --- values (vectorised) ---------------------------------------------------------------


def test_values_matches_hand_results_and_marks_undefined_nan():
    frame = pd.DataFrame(
        {
            "petition.closed_on_time": [97, 0, 3, 5],
            "petition.closed": [100, 0, 4, np.nan],
        },
        index=["350100", "350200", "350300", "350400"],
    )
    out = values(I["petition_on_time_rate"], frame)
    assert list(out.index) == list(frame.index)
    assert out.name == "petition_on_time_rate"
    assert out.dtype == float
    assert out.iloc[0] == pytest.approx(97.0)
    assert math.isnan(out.iloc[1])  # 0 ÷ 0
    assert out.iloc[2] == pytest.approx(75.0)
    assert math.isnan(out.iloc[3])  # missing denominator


def test_values_missing_column_is_all_nan():
    frame = pd.DataFrame({"dispute.received": [3, 4]})
    assert values(I["dispute_mediation_rate"], frame).isna().all()


def test_values_count_sums_columns():
    frame = pd.DataFrame({f"risk.{lvl}.open_end": [1, 2] for lvl in ("red", "orange", "yellow")})
    frame["risk.blue.open_end"] = [10, 20]
    assert values(I["risk_open_total"], frame).tolist() == [13.0, 26.0]


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1, max_size=30))
def test_values_agrees_with_scalar_value(rows):
    frame = pd.DataFrame(rows, columns=["patrol.arrived_5min", "patrol.dispatches"])
    vec = values(I["patrol_arrive_5"], frame)
    for i, (num, den) in enumerate(rows):
        expected = None if den == 0 else num * 100 / den
        scalar = value(I["patrol_arrive_5"], {"patrol.arrived_5min": num, "patrol.dispatches": den})
        if expected is None:
            assert scalar is None and math.isnan(vec.iloc[i])
        else:
            assert scalar == pytest.approx(expected)
            assert vec.iloc[i] == pytest.approx(expected)


# --- per 10k and map metrics -----------------------------------------------------------


def test_per_10k():
    totals = {"dispute.received": 869, "population": 2_500_000}
    assert per_10k(I["dispute_received"], totals) == pytest.approx(3.476)


@pytest.mark.parametrize(
    ("ind", "totals"),
    [
        (
            "dispute_mediation_rate",
            {"dispute.mediated_ok": 1, "dispute.received": 2, "population": 100},
        ),
        ("dispute_received", {"dispute.received": 5}),
        ("dispute_received", {"dispute.received": 5, "population": 0}),
        ("dispute_received", {"dispute.received": 5, "population": None}),
    ],
)
def test_per_10k_undefined(ind, totals):
    assert per_10k(I[ind], totals) is None


def test_metric_choices_offer_per_10k_only_for_counts():
    assert METRIC_CHOICES["dispute_received@per10k"] == "矛盾纠纷受理(每万人)"
    assert "dispute_mediation_rate" in METRIC_CHOICES
    assert "dispute_mediation_rate@per10k" not in METRIC_CHOICES
    for key in METRIC_CHOICES:
        ind, per10k = parse_metric(key)
        assert ind.key == key.split("@")[0]
        assert per10k == key.endswith("@per10k")
        assert not per10k or ind.kind == "count"


def test_metric_values_per_10k():
    frame = pd.DataFrame(
        {"petition.received": [12, 5, 7], "population": [40_000, 0, np.nan]}, index=list("abc")
    )
    out = metric_values("petition_received@per10k", frame)
    assert out.iloc[0] == pytest.approx(3.0)
    assert out.iloc[1:].isna().all()
    assert out.name == "petition_received@per10k"


def test_every_metric_needs_only_its_facts():
    """A map reads only ``metric_facts`` (data.repository.Repository.totals_over): every metric
    computes the same from those columns as from all of them."""
    rng = np.random.default_rng(3)
    keys = sorted({k for ind in I.values() for k in ind.numerator + (ind.denominator or ())})
    frame = pd.DataFrame(rng.integers(1, 50, (4, len(keys))), columns=keys, dtype=float)
    frame["population"] = [40_000, 1_200, 0, 9_000]
    groups = {"case": ("dispute.", "petition.", "grid_event."), "patrol": ("patrol.",)}
    groups["risk"] = ("risk.",)
    for metric in METRIC_CHOICES:
        facts = metric_facts(metric)
        assert facts and facts <= {"case", "patrol", "risk"}
        prefixes = tuple(p for f in facts for p in groups[f])
        kept = [c for c in frame.columns if c == "population" or c.startswith(prefixes)]
        pd.testing.assert_series_equal(
            metric_values(metric, frame[kept]), metric_values(metric, frame)
        )
    assert metric_facts("patrol_groups") == {"patrol"}
    assert metric_facts("petition_received@per10k") == {"case"}


def test_metric_label_and_unknown_metric():
    assert metric_label("dispute_mediation_rate") == "调解成功率(%)"
    assert metric_label("dispute_received@per10k") == "矛盾纠纷受理(件/万人)"
    with pytest.raises(KeyError):
        parse_metric("dispute_mediation_rate@per10k")


# --- change ----------------------------------------------------------------------------


def test_count_change_is_relative_percent():
    c = change(I["dispute_received"], 900, 800)
    assert c.kind == "pct"
    assert c.value == pytest.approx(12.5)
    assert c.text == "↑12.5%"
    assert c.favourable is False  # more disputes is not good news


def test_count_decrease_huangshi():
    # 869 this month against 1,028 a year ago: (869 − 1028) ÷ 1028 = −15.47%.
    c = change(I["dispute_received"], 869, 1028)
    assert c.text == "↓15.5%"
    assert c.favourable is True


def test_rate_change_is_percentage_points():
    c = change(I["petition_on_time_rate"], 97.7, 98.5)
    assert c.kind == "pp"
    assert c.value == pytest.approx(-0.8)
    assert c.text == "↓0.8个百分点"
    assert c.favourable is False


def test_average_change_is_percent_and_fewer_days_is_good():
    c = change(I["petition_avg_days"], 5.8, 27.9)
    assert c.kind == "pct"
    assert c.text == "↓79.2%"
    assert c.favourable is True


@pytest.mark.parametrize(("cur", "prev"), [(5, 0), (5, None), (None, 5), (float("nan"), 3)])
def test_undefined_count_change(cur, prev):
    c = change(I["dispute_received"], cur, prev)
    assert c == Change("pct", None, "—", None)


def test_flat_change():
    assert change(I["dispute_received"], 1000, 1000).text == "持平"
    assert change(I["dispute_mediation_rate"], 97.52, 97.5).text == "持平"


def test_rate_change_from_zero_is_defined():
    assert change(I["event_close_rate"], 50.0, 0.0).text == "↑50.0个百分点"


# --- format_value ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "v", "text"),
    [
        ("dispute_received", 1234, "1,234"),
        ("dispute_received", 1234567.0, "1,234,567"),
        ("dispute_received", 0, "0"),
        ("dispute_mediation_rate", 97.4818, "97.5%"),
        ("dispute_mediation_rate", 100.0, "100.0%"),
        ("event_close_rate", 99.96, "99.9%"),  # never claim 100% with a case still open
        ("petition_avg_days", 12.34, "12.3天"),
        ("petition_avg_days", None, "—"),
        ("dispute_mediation_rate", float("nan"), "—"),
    ],
)
def test_format_value(key, v, text):
    assert format_value(I[key], v) == text


def test_format_per_10k():
    assert format_value(I["dispute_received"], 3.476, per10k=True) == "3.48"
