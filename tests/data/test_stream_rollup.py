"""case_stream_rollup: kept equal to case_rollup summed over category and channel, read by the
repository whenever no category filter applies, checked by `shiyu check`, and added to a
database built before it existed. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
import os

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from test_rollup_and_check import small_city

from dashboard import prod
from dashboard.settings import Settings
from data import check, db, facts, rollup, schema, units
from data import repository as repository_module
from data.importers import common as importer_common
from data.repository import Repository

START, END = dt.date(2026, 3, 1), dt.date(2026, 4, 9)
END_OF_DEMO = dt.date(2026, 10, 31)  # conftest.DEMO_END, the tiny demo city's last day
CODES = ["359800", "359802", "359802001", "359802002", "359800101"]
RECORDED_AT = ["359802001", "359802002", "359802", "359800101"]
CATEGORIES = ["邻里", "婚姻家庭", "劳动争议", "物业"]
CHANNELS = ["主动调解", "来访", "电话"]
STREAMS = ["dispute", "petition", "grid_event"]
KEY = ["unit_code", "day", "stream"]


def random_cases(seed: int = 11) -> pd.DataFrame:
    """Sparse case rows over several categories and channels, so that summing them matters."""
    rng = np.random.default_rng(seed)
    rows = []
    for offset in range((END - START).days + 1):
        day = START + dt.timedelta(days=offset)
        for unit in RECORDED_AT:
            for stream in STREAMS:
                for category in CATEGORIES:
                    for channel in CHANNELS:
                        if rng.random() < 0.25:
                            rows.append((unit, day, stream, category, channel))
    frame = pd.DataFrame(rows, columns=["unit_code", "day", "stream", "category", "channel"])
    for m in schema.CASE_MEASURES:
        frame[m] = rng.integers(0, 9, len(frame))
    return frame


@pytest.fixture
def cases_db(engine: sa.Engine) -> sa.Engine:
    with engine.begin() as conn:
        units.replace_units(conn, small_city(), vintage=2026)
        facts.insert_frame(conn, schema.case_daily, random_cases())
        rollup.refresh(conn)
    return engine


def _stream_rows(conn: sa.Connection) -> pd.DataFrame:
    t = schema.case_stream_rollup
    frame = pd.DataFrame(
        conn.execute(sa.select(t).order_by(*[t.c[k] for k in KEY])).all(),
        columns=[c.name for c in t.columns],
    )
    return frame.astype({m: "int64" for m in schema.CASE_MEASURES})


def _summed_case_rollup(conn: sa.Connection) -> pd.DataFrame:
    """The definition of the table, straight from case_rollup."""
    r = schema.case_rollup
    group = [r.c[k] for k in KEY]
    frame = pd.DataFrame(
        conn.execute(
            sa.select(*group, *[sa.func.sum(r.c[m]) for m in schema.CASE_MEASURES])
            .group_by(*group)
            .order_by(*group)
        ).all(),
        columns=[*KEY, *schema.CASE_MEASURES],
    )
    return frame.astype({m: "int64" for m in schema.CASE_MEASURES})


def _old_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the repository read case_rollup for every case sum, as it did before the table."""
    monkeypatch.setattr(
        repository_module, "_case_source", lambda categories=None: schema.case_rollup
    )


def _statements(engine: sa.Engine) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    return seen


# ---- refresh ---------------------------------------------------------------------------------
def test_stream_rollup_is_case_rollup_summed_over_category_and_channel(cases_db) -> None:
    with cases_db.connect() as conn:
        stream_rows = _stream_rows(conn)
        assert len(stream_rows) > 0
        pd.testing.assert_frame_equal(stream_rows, _summed_case_rollup(conn))


def test_refresh_of_a_day_span_rebuilds_the_stream_rollup_of_that_span_only(cases_db) -> None:
    day = START + dt.timedelta(days=3)
    with cases_db.begin() as conn:
        conn.execute(
            sa.update(schema.case_daily)
            .where(schema.case_daily.c.day == day)
            .values(received=schema.case_daily.c.received + 100)
        )
        rollup.refresh(conn, ["cases"], start=day, end=day)
    with cases_db.connect() as conn:
        stream_rows = _stream_rows(conn)
        pd.testing.assert_frame_equal(stream_rows, _summed_case_rollup(conn))
    assert check.check_database(cases_db).ok


def test_refresh_of_other_facts_leaves_the_stream_rollup(cases_db) -> None:
    with cases_db.begin() as conn:
        conn.execute(sa.update(schema.case_stream_rollup).values(received=-1))
        rollup.refresh(conn, ["patrols", "risks"])
    with cases_db.connect() as conn:
        assert set(_stream_rows(conn)["received"]) == {-1}


# ---- repository: the same answers as from case_rollup -----------------------------------------
@pytest.mark.parametrize(
    ("start", "end"), [(START, END), (START + dt.timedelta(days=9), START + dt.timedelta(days=9))]
)
def test_totals_without_categories_equal_the_old_path(
    cases_db, monkeypatch: pytest.MonkeyPatch, start: dt.date, end: dt.date
) -> None:
    repo = Repository(cases_db)
    statements = _statements(cases_db)
    new = repo.totals(CODES, start, end)
    assert any("case_stream_rollup" in s for s in statements)
    assert not any("case_rollup" in s.replace("case_stream_rollup", "") for s in statements)
    with monkeypatch.context() as m:
        _old_path(m)
        old = repo.totals(CODES, start, end)
    pd.testing.assert_frame_equal(new, old)
    # And by hand from case_rollup, for one unit and measure.
    r = schema.case_rollup
    with cases_db.connect() as conn:
        expected = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(r.c.received), 0)).where(
                r.c.unit_code == "359802", r.c.stream == "petition", r.c.day.between(start, end)
            )
        ).scalar()
    assert new.loc["359802", "petition.received"] == expected


def test_totals_with_categories_still_read_case_rollup(
    cases_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repository(cases_db)
    statements = _statements(cases_db)
    new = repo.totals(CODES, START, END, categories=["物业", "邻里"])
    assert any("case_rollup" in s.replace("case_stream_rollup", "") for s in statements)
    assert not any("case_stream_rollup" in s for s in statements)
    with monkeypatch.context() as m:
        _old_path(m)
        old = repo.totals(CODES, START, END, categories=["物业", "邻里"])
    pd.testing.assert_frame_equal(new, old)
    assert (new["dispute.received"] < repo.totals(CODES, START, END)["dispute.received"]).all()


@pytest.mark.parametrize("stream", STREAMS)
def test_case_series_equals_the_old_path(
    cases_db, monkeypatch: pytest.MonkeyPatch, stream: str
) -> None:
    repo = Repository(cases_db)
    # A span reaching past the data on both sides: the filled-in zero days must match too.
    start, end = START - dt.timedelta(days=5), END + dt.timedelta(days=5)
    new = {code: repo.case_series(code, start, end, stream) for code in CODES}
    narrowed = {code: repo.case_series(code, start, end, stream, ["劳动争议"]) for code in CODES}
    with monkeypatch.context() as m:
        _old_path(m)
        for code in CODES:
            pd.testing.assert_frame_equal(new[code], repo.case_series(code, start, end, stream))
            pd.testing.assert_frame_equal(
                narrowed[code], repo.case_series(code, start, end, stream, ["劳动争议"])
            )
    assert new["359800"]["received"].sum() > narrowed["359800"]["received"].sum() > 0


def test_spans_and_anchor_equal_the_old_path(cases_db, monkeypatch: pytest.MonkeyPatch) -> None:
    with cases_db.begin() as conn:  # one unit whose data stops early, so spans differ by unit
        conn.execute(
            sa.delete(schema.case_daily).where(
                schema.case_daily.c.unit_code == "359800101", schema.case_daily.c.day > START
            )
        )
        rollup.refresh(conn, ["cases"])
    repo = Repository(cases_db)
    new = (
        repo.anchor_date(),
        repo.data_span(),
        {code: repo.unit_data_span(code) for code in [*CODES, "000000"]},
    )
    with monkeypatch.context() as m:
        _old_path(m)
        old = (
            repo.anchor_date(),
            repo.data_span(),
            {code: repo.unit_data_span(code) for code in [*CODES, "000000"]},
        )
    assert new == old
    assert new[2]["359800101"][1] == START
    assert new[2]["000000"] == (None, None)


def test_tiny_demo_city_totals_and_series_equal_the_old_path(
    tiny_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tiny_repo.root().code
    codes = [root, *tiny_repo.children(root)["code"]]
    spans = [(dt.date(2026, 10, 2), dt.date(2026, 10, 31)), (dt.date(2026, 1, 1), END_OF_DEMO)]
    new = [tiny_repo.totals(codes, s, e) for s, e in spans]
    series = [tiny_repo.case_series(codes[1], s, e, "petition") for s, e in spans]
    with monkeypatch.context() as m:
        _old_path(m)
        for frame, (s, e) in zip(new, spans, strict=True):
            pd.testing.assert_frame_equal(frame, tiny_repo.totals(codes, s, e))
        for frame, (s, e) in zip(series, spans, strict=True):
            pd.testing.assert_frame_equal(frame, tiny_repo.case_series(codes[1], s, e, "petition"))


# ---- check -----------------------------------------------------------------------------------
def test_check_reports_a_corrupted_stream_row(cases_db) -> None:
    assert check.check_database(cases_db).ok
    day = START + dt.timedelta(days=2)
    t = schema.case_stream_rollup
    with cases_db.begin() as conn:
        conn.execute(
            sa.update(t)
            .where(t.c.unit_code == "359802001", t.c.day == day, t.c.stream == "petition")
            .values(closed=t.c.closed + 1)
        )
    report = check.check_database(cases_db)
    assert not report.ok
    (problem,) = report.problems
    assert "case_stream_rollup" in problem and "359802001" in problem
    assert str(day) in problem and "petition" in problem and "['closed']" in problem


def test_check_reports_missing_and_extra_stream_rows(cases_db) -> None:
    t = schema.case_stream_rollup
    with cases_db.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.unit_code == "359802002", t.c.day == START))
        conn.execute(
            sa.insert(t).values(unit_code="359802001", day=END + dt.timedelta(days=1), stream="x")
        )
    report = check.check_database(cases_db)
    missing = [p for p in report.problems if "missing" in p]
    assert len(missing) == 3 and all("359802002" in p for p in missing)
    assert any("no case_rollup rows" in p and "359802001" in p for p in report.problems)


def test_check_lists_a_few_and_counts_the_rest(cases_db) -> None:
    with cases_db.begin() as conn:
        conn.execute(sa.update(schema.case_stream_rollup).values(received=0))
    report = check.check_database(cases_db, max_listed=4)
    assert len(report.problems) == 5
    assert "and" in report.problems[-1] and "more" in report.problems[-1]


# ---- databases built before the table ---------------------------------------------------------
def _as_version_1(engine: sa.Engine) -> None:
    """What a database built before case_stream_rollup looks like."""
    schema.case_stream_rollup.drop(engine)
    with engine.begin() as conn:
        db.set_meta(conn, {"schema_version": "1"})


def test_require_schema_adds_and_fills_the_table_once(
    cases_db, caplog: pytest.LogCaptureFixture
) -> None:
    with cases_db.connect() as conn:
        before = _stream_rows(conn)
    _as_version_1(cases_db)
    with caplog.at_level(logging.WARNING, logger="data.db"):
        meta = db.require_schema(cases_db)
    assert meta["schema_version"] == str(schema.SCHEMA_VERSION)
    assert any("case_stream_rollup" in r.getMessage() for r in caplog.records)
    with cases_db.connect() as conn:
        pd.testing.assert_frame_equal(_stream_rows(conn), before)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="data.db"):
        db.require_schema(cases_db)  # up to date: nothing to do, nothing logged
    assert not caplog.records
    assert check.check_database(cases_db).ok


def test_create_schema_on_an_old_database_fills_the_table(cases_db) -> None:
    with cases_db.connect() as conn:
        before = _stream_rows(conn)
    _as_version_1(cases_db)
    db.create_schema(cases_db)
    with cases_db.connect() as conn:
        pd.testing.assert_frame_equal(_stream_rows(conn), before)
        assert db.get_meta(conn, "schema_version") == str(schema.SCHEMA_VERSION)


def test_an_import_into_an_old_database_upgrades_it_in_its_transaction(cases_db) -> None:
    _as_version_1(cases_db)
    with cases_db.begin() as conn:
        importer_common.ensure_schema(conn)
        rollup.refresh(conn, ["cases"], start=START, end=START)
    with cases_db.connect() as conn:
        pd.testing.assert_frame_equal(_stream_rows(conn), _summed_case_rollup(conn))
    assert check.check_database(cases_db).ok


def test_an_upgrade_interrupted_before_commit_is_redone(cases_db) -> None:
    _as_version_1(cases_db)

    class Interrupted(Exception):
        pass

    with pytest.raises(Interrupted), cases_db.begin() as conn:
        assert db.upgrade_schema(conn)
        raise Interrupted
    with cases_db.connect() as conn:
        assert db.get_meta(conn, "schema_version") == "1"
    db.require_schema(cases_db)
    assert check.check_database(cases_db).ok


def test_an_unknown_schema_version_is_refused(cases_db) -> None:
    with cases_db.begin() as conn:
        db.set_meta(conn, {"schema_version": "99"})
    with pytest.raises(db.DatabaseError, match="schema version 99"):
        db.require_schema(cases_db)


def test_serve_prod_upgrades_once_before_the_workers_start(
    cases_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    if cases_db.dialect.name != "sqlite":
        pytest.skip("the PostgreSQL fixture's schema is not part of its URL")
    _as_version_1(cases_db)
    monkeypatch.setattr(os, "execve", lambda *a: None)
    prod.run(Settings(database_url=cases_db.url.render_as_string(hide_password=False)))
    with cases_db.connect() as conn:
        assert db.get_meta(conn, "schema_version") == str(schema.SCHEMA_VERSION)
    assert check.check_database(cases_db).ok


def test_a_refresh_leaves_planner_statistics_on_postgresql(cases_db) -> None:
    """Without them the dashboard's small reads were planned as parallel scans (issue 8)."""
    if cases_db.dialect.name != "postgresql":
        pytest.skip("SQLite plans these reads by primary key without statistics")
    with cases_db.connect() as conn:
        analysed = set(
            conn.execute(
                sa.text(
                    "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
                )
            ).scalars()
        )
    assert {"case_daily", "case_rollup", "case_stream_rollup", "units", "unit_closure"} <= analysed
