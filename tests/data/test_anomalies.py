"""Anomaly rule (data.anomalies) on synthetic series with known spikes and seasonality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import anomalies


def _daily(seed: int = 1, years: int = 3, level: float = 20.0) -> pd.Series:
    """Poisson counts with a weekly rhythm (quiet weekends) and a yearly swing."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-02", periods=364 * years, freq="D")
    weekly = np.where(days.day_of_week >= 5, 0.5, 1.1)
    yearly = 1 + 0.3 * np.sin(2 * np.pi * days.day_of_year / 365.25)
    return pd.Series(rng.poisson(level * weekly * yearly).astype(float), index=days)


def test_an001_injected_spike_is_flagged() -> None:
    y = _daily()
    spike_day = pd.Timestamp("2025-06-11")  # a Wednesday in year three
    y[spike_day] = y[spike_day] * 3 + 30
    out = anomalies.detect(y, "D")
    assert bool(out.loc[spike_day, "anomaly"])
    assert out.loc[spike_day, "z"] >= anomalies.THRESHOLD
    judged = out[out["expected"].notna()]
    # Poisson noise alone: a handful of false alarms at most (|z| >= 3 is ~0.3% for normals).
    assert judged["anomaly"].mean() < 0.01


def test_an002_injected_dip_is_flagged_negative() -> None:
    y = _daily(seed=2)
    day = pd.Timestamp("2025-03-12")
    y[day] = 0.0
    out = anomalies.detect(y, "D")
    assert bool(out.loc[day, "anomaly"])
    assert out.loc[day, "z"] < 0


def test_an003_recurring_seasonal_dip_is_not_an_anomaly() -> None:
    """A dip that happens every year at the same time (a holiday week) is the season."""
    y = _daily(seed=3, level=30.0)
    for year_start in (
        pd.Timestamp("2023-02-06"),
        pd.Timestamp("2024-02-05"),
        pd.Timestamp("2025-02-03"),
    ):
        week = pd.date_range(year_start, periods=7, freq="D")
        y[week] = (y[week] * 0.3).round()
    out = anomalies.detect(y, "D")
    third_year = pd.date_range("2025-02-03", periods=7, freq="D")
    assert not out.loc[third_year, "anomaly"].any()
    # Without last year's season the same week would look anomalous: the factor matters.
    no_season = anomalies.detect(y["2024-06-01":], "D")
    assert no_season.loc[third_year, "anomaly"].any()


def test_an004_weekly_buckets_and_partial_buckets() -> None:
    y = _daily(seed=4)
    weekly = y.groupby(y.index - pd.to_timedelta(y.index.day_of_week, unit="D")).sum()
    spike = weekly.index[-10]
    weekly[spike] *= 2.5
    complete = pd.Series(True, index=weekly.index)
    out = anomalies.detect(weekly, "W", complete=complete)
    assert bool(out.loc[spike, "anomaly"])
    complete[spike] = False  # a week cut by the period's edge is never judged
    out = anomalies.detect(weekly, "W", complete=complete)
    assert not bool(out.loc[spike, "anomaly"])


def test_an005_short_history_is_not_judged() -> None:
    y = _daily(seed=5)[:20]
    out = anomalies.detect(y, "D")
    assert out["expected"].isna().all()
    assert not out["anomaly"].any()


def test_an006_small_counts_do_not_flag_every_busy_day() -> None:
    rng = np.random.default_rng(6)
    days = pd.date_range("2024-01-01", periods=700, freq="D")
    y = pd.Series(rng.poisson(0.8, len(days)).astype(float), index=days)
    out = anomalies.detect(y, "D")
    assert out["anomaly"].mean() < 0.02


def test_an007_history_start_and_bad_freq() -> None:
    start = pd.Timestamp("2026-10-01")
    assert anomalies.history_start(start, "D") <= start - pd.Timedelta(days=364 + 56)
    assert anomalies.history_start(start, "W") <= start - pd.Timedelta(weeks=60)
    assert anomalies.history_start(start, "M") <= pd.Timestamp("2025-02-01")
    with pytest.raises(ValueError):
        anomalies.detect(pd.Series([1.0, 2.0]), "Y")  # type: ignore[arg-type]
