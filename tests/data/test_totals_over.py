"""Several periods in one read (issue 8): ``totals_over`` and ``patrol_totals_over`` answer
what one read per period answers, on SQLite and PostgreSQL, for equal, overlapping, one-day
and empty spans, with and without a category filter."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from test_stream_rollup import CATEGORIES, CODES, END, RECORDED_AT, START, cases_db  # noqa: F401

from data import db, repository, schema
from data.levels import RISK_DOMAINS, RiskLevel
from data.repository import Repository

D = dt.timedelta
SPANS = [
    (START, END),
    (START + D(days=5), START + D(days=5)),  # one day
    (START, END),  # the same span again (a year's 环比 is its 同比)
    (START + D(days=10), END + D(days=20)),  # overlaps the first, runs past the data
    (END + D(days=30), END + D(days=40)),  # no data at all
]


@pytest.fixture
def facts_db(cases_db: sa.Engine) -> sa.Engine:  # noqa: F811 - the imported fixture
    """``cases_db`` plus random patrol and risk roll-up rows for the units with cases."""
    rng = np.random.default_rng(5)
    patrols, risks = [], []
    for offset in range((END - START).days + 1):
        day = START + D(days=offset)
        for unit in RECORDED_AT:
            row = {m: int(rng.integers(0, 9)) for m in schema.PATROL_MEASURES}
            patrols.append({**row, "unit_code": unit, "day": day, "hours": 1.5, "km": 0.25})
            for domain in RISK_DOMAINS[:2]:
                for level in RiskLevel:
                    if rng.random() < 0.5:
                        risks.append(
                            {
                                "unit_code": unit,
                                "day": day,
                                "domain": domain,
                                "level": level.value,
                                **{m: int(rng.integers(0, 5)) for m in schema.RISK_MEASURES},
                            }
                        )
    with cases_db.begin() as conn:
        conn.execute(sa.insert(schema.patrol_rollup), patrols)
        conn.execute(sa.insert(schema.risk_rollup), risks)
    return cases_db


def _by_hand(engine: sa.Engine, table: sa.Table, column: str, where: sa.ColumnElement) -> float:
    with engine.connect() as conn:
        got = conn.execute(sa.select(sa.func.sum(table.c[column])).where(where)).scalar()
    return float(got or 0)


@pytest.mark.parametrize("categories", [None, CATEGORIES[:2]])
def test_totals_over_equal_one_read_per_span(
    facts_db: sa.Engine, categories: list[str] | None
) -> None:
    repo = Repository(facts_db)
    together = repo.totals_over(CODES, SPANS, categories)
    assert len(together) == len(SPANS)
    for frame, (start, end) in zip(together, SPANS, strict=True):
        pd.testing.assert_frame_equal(frame, repo.totals(CODES, start, end, categories))
    # Each frame is the caller's own, also for a repeated span.
    assert together[0] is not together[2]
    together[2].loc[CODES[0], "dispute.received"] = -1.0
    assert together[0].loc[CODES[0], "dispute.received"] >= 0

    # And by hand from the roll-ups, for one unit and a measure of each table.
    unit, (start, end) = "359802", SPANS[3]
    cr, pr, rr = schema.case_rollup, schema.patrol_rollup, schema.risk_rollup
    in_cases = sa.and_(
        cr.c.unit_code == unit, cr.c.stream == "petition", cr.c.day.between(start, end)
    )
    if categories:
        in_cases = sa.and_(in_cases, cr.c.category.in_(categories))
    row = together[3].loc[unit]
    assert row["petition.received"] == _by_hand(facts_db, cr, "received", in_cases) > 0
    assert row["patrol.dispatches"] == _by_hand(
        facts_db, pr, "dispatches", sa.and_(pr.c.unit_code == unit, pr.c.day.between(start, end))
    )
    red = sa.and_(rr.c.unit_code == unit, rr.c.level == "red")
    assert row["risk.red.new"] == _by_hand(
        facts_db, rr, "new", sa.and_(red, rr.c.day.between(start, end))
    )
    # The span ends after the data: nothing is open on its last day.
    assert row["risk.red.open_end"] == 0
    first_end = together[0].loc[unit, "risk.red.open_end"]
    assert first_end == _by_hand(facts_db, rr, "open_end", sa.and_(red, rr.c.day == END))
    assert (together[4].drop(columns="population") == 0).all().all()


def test_patrol_totals_over_equal_one_read_per_span(facts_db: sa.Engine) -> None:
    repo = Repository(facts_db)
    for unit in ["359802", "359802001", "000000"]:
        together = repo.patrol_totals_over(unit, SPANS)
        assert together == [repo.patrol_totals(unit, s, e) for s, e in SPANS]
        wide = repo.totals_over([unit], SPANS)
        for got, frame in zip(together, wide, strict=True):
            assert got == {k: float(frame.loc[unit, k]) for k in got}
    assert repo.patrol_totals_over("359802", []) == []
    assert repo.totals_over([], SPANS[:2])[1].empty


@pytest.mark.parametrize("categories", [None, CATEGORIES[:2]])
def test_totals_over_reads_only_the_facts_asked_for(
    facts_db: sa.Engine, categories: list[str] | None
) -> None:
    """A map of one metric reads its own roll-up: the same numbers, the others left out."""
    repo = Repository(facts_db)
    full = repo.totals_over(CODES, SPANS, categories)
    statements: list[str] = []
    sa.event.listen(facts_db, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for facts in [{"case"}, {"patrol"}, {"risk"}, {"case", "risk"}, set()]:
        statements.clear()
        part = repo.totals_over(CODES, SPANS, categories, facts=facts)
        for got, whole in zip(part, full, strict=True):
            kept = [c for c in whole.columns if c == "population" or _fact(c) in facts]
            pd.testing.assert_frame_equal(got, whole[kept])
        read = {t for t in ("case_", "patrol_rollup", "risk_rollup") for q in statements if t in q}
        wanted = {"case": "case_", "patrol": "patrol_rollup", "risk": "risk_rollup"}
        assert read == {wanted[f] for f in facts}
    with pytest.raises(ValueError, match="facts"):
        repo.totals_over(CODES, SPANS, facts={"cases"})


def _fact(column: str) -> str:
    group = column.split(".", 1)[0]
    return group if group in ("patrol", "risk") else "case"


def test_postgres_connections_plan_small_reads_without_parallel_workers(
    engine: sa.Engine,
) -> None:
    """A parallel plan's start-up cost more than the view's reads (issue 8)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    ours = db.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        for _ in range(2):  # a fresh connection and one back from the pool
            with ours.connect() as conn:
                setting = conn.execute(sa.text("SHOW max_parallel_workers_per_gather")).scalar()
                assert setting == "0"
                assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        ours.dispose()


def test_totals_over_has_one_statement_text_for_any_number_of_units(facts_db: sa.Engine) -> None:
    """psycopg prepares a statement at its fifth use on a connection: with one text per number
    of children (``IN`` with a parameter each) a view's reads were parsed and planned anew."""
    repo = Repository(facts_db)
    statements: list[str] = []
    sa.event.listen(facts_db, "before_cursor_execute", lambda *a: statements.append(a[2]))
    texts = []
    for n in (1, 2, len(CODES)):
        statements.clear()
        repo.totals_over(CODES[:n], SPANS[:2], CATEGORIES[:2])
        texts.append(list(statements))
    assert len(texts[0]) == 1  # four roll-up reads and the population, one UNION ALL
    if facts_db.dialect.name == "postgresql":
        assert texts[0] == texts[1] == texts[2]
        assert all("= ANY (" in t and " IN (" not in t for t in texts[0])
    else:  # SQLite has no arrays: a parameter per unit, each text as many times
        assert texts[0] != texts[2]


def test_totals_frame_reads_none_and_decimal_sums_as_floats() -> None:
    from decimal import Decimal

    from data.repository import _totals_frame

    codes = ["a", "b", "c"]
    measures = list(schema.CASE_MEASURES)
    first, width = measures[0], len(measures)
    cases = [
        ("c", "dispute", Decimal("1.5"), *([None] * (width - 1))),
        ("a", "petition", *range(width)),
        ("elsewhere", "dispute", *([9] * width)),  # not asked for: ignored
    ]
    patrols = [("b", *([Decimal(2)] * len(schema.PATROL_MEASURES)))]
    flows = [("a", "red", 3, None), ("b", "orange", Decimal(1), 4)]
    opens = [("c", "red", 7)]
    population = np.array([10.0, np.nan, 30.0])

    frame = _totals_frame(
        codes, pd.Index(codes, name="code"), [cases, patrols, flows, opens], population
    )

    assert frame.shape == (3, 3 * width + len(schema.PATROL_MEASURES) + 12 + 1)
    assert (frame.dtypes == "float64").all()
    assert frame.at["c", f"dispute.{first}"] == 1.5
    assert frame.loc["c", [f"dispute.{m}" for m in measures[1:]]].eq(0).all()
    assert frame.loc["a", [f"petition.{m}" for m in measures]].tolist() == list(range(width))
    assert frame.filter(like="dispute.").loc[["a", "b"]].eq(0).all().all()
    assert frame.filter(like="patrol.").loc["b"].eq(2).all()
    assert frame.filter(like="patrol.").loc[["a", "c"]].eq(0).all().all()
    assert (frame.at["a", "risk.red.new"], frame.at["a", "risk.red.closed"]) == (3, 0)
    assert (frame.at["b", "risk.orange.new"], frame.at["b", "risk.orange.closed"]) == (1, 4)
    assert frame.at["c", "risk.red.open_end"] == 7
    assert frame.filter(like="risk.").to_numpy().sum() == 3 + 1 + 4 + 7
    np.testing.assert_array_equal(frame["population"], population)
    only_cases = _totals_frame(codes, pd.Index(codes), [cases, None, None, None], population)
    assert not any(c.startswith(("patrol.", "risk.")) for c in only_cases.columns)
    pd.testing.assert_frame_equal(only_cases, frame[only_cases.columns], check_names=False)


def test_rows_frame_is_the_row_wise_frame() -> None:
    from decimal import Decimal

    from data.repository import _rows_frame

    columns = ["code", "name", "population", "lon", "has_geometry", "note"]
    rows = [
        ("350902", "蕉城区", 430000, 119.52, True, None),
        ("350981", "福安市", None, None, False, "无人口"),
        ("350982", "福鼎市", 590000, 120.2, True, Decimal("1.5")),
    ]
    for sample in (rows, rows[:1], []):
        pd.testing.assert_frame_equal(
            _rows_frame(sample, columns), pd.DataFrame(sample, columns=columns)
        )
    with pytest.raises(ValueError):
        _rows_frame(rows, columns[:-1])  # a column missing: refused, not shifted


def test_totals_over_batches_units_under_sqlites_bound_limit(
    facts_db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite each branch of the one statement binds every code again: many units go in
    batches (here two per statement), with the same frames as one statement."""
    repo = Repository(facts_db)
    whole = repo.totals_over(CODES, SPANS, CATEGORIES[:2])
    branches = len(set(SPANS)) * 4 + 1  # distinct spans × roll-up reads, and the population
    monkeypatch.setattr(repository, "_MAX_BOUND", 2 * branches)
    statements: list[str] = []
    sa.event.listen(facts_db, "before_cursor_execute", lambda *a: statements.append(a[2]))
    batched = repo.totals_over(CODES, SPANS, CATEGORIES[:2])
    for got, expected in zip(batched, whole, strict=True):
        pd.testing.assert_frame_equal(got, expected)
    if facts_db.dialect.name == "postgresql":  # one array, whatever the number of units
        assert len(statements) == 1
    else:
        assert len(statements) == -(-len(CODES) // 2)


def test_risk_matrix_equals_the_sums_by_hand(facts_db: sa.Engine) -> None:
    """New and closed over the span and open on its last day, per domain and level, from the
    one statement that reads both; every domain and level present, zeros where none."""
    repo = Repository(facts_db)
    rr = schema.risk_rollup
    seen = 0.0
    for unit in ["359802001", "359802", "000000"]:
        for start, end in SPANS[:2] + SPANS[3:]:
            matrix = repo.risk_matrix(unit, start, end)
            assert list(zip(matrix["domain"], matrix["level"], strict=True)) == [
                (d, lv.value) for d in RISK_DOMAINS for lv in RiskLevel
            ]
            for row in matrix.itertuples():
                mine = (rr.c.unit_code == unit) & (rr.c.domain == row.domain)
                mine &= rr.c.level == row.level
                span = rr.c.day.between(start, end)
                assert row.new == _by_hand(facts_db, rr, "new", mine & span)
                assert row.closed == _by_hand(facts_db, rr, "closed", mine & span)
                assert row.open_end == _by_hand(facts_db, rr, "open_end", mine & (rr.c.day == end))
                seen += row.new + row.open_end
    assert seen > 0  # the fixture's risks were read, not only zeros


def test_case_series_each_reads_every_stream_in_one_statement(facts_db: sa.Engine) -> None:
    """A view's trends: each stream's days summed as by hand, the category filter on its own
    stream only, all of them in one statement."""
    repo = Repository(facts_db)
    series = [("dispute", CATEGORIES[:2]), ("petition", None), ("grid_event", None)]
    statements: list[str] = []
    sa.event.listen(facts_db, "before_cursor_execute", lambda *a: statements.append(a[2]))
    frames = repo.case_series_each("359802", START, END + D(days=3), series)
    assert len(statements) == 1
    cr = schema.case_rollup
    for (stream, cats), frame in zip(series, frames, strict=True):
        assert len(frame) == (END - START).days + 4  # every day, the ones past the data too
        for day in (START, START + D(days=7), END, END + D(days=2)):
            mine = (cr.c.unit_code == "359802") & (cr.c.stream == stream) & (cr.c.day == day)
            if cats:
                mine &= cr.c.category.in_(cats)
            for m in ("received", "handling_days"):
                assert frame.loc[pd.Timestamp(day), m] == _by_hand(facts_db, cr, m, mine)
    every_dispute = repo.case_series("359802", START, END, "dispute")["received"].sum()
    assert frames[0]["received"].sum() < every_dispute  # the filter narrowed its stream only
    assert repo.case_series_each("359802", START, END, []) == []
