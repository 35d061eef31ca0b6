"""Cheaper paths of the view models (issue 8): the patrol card alone, and the state memo.

Each cheaper path must answer exactly what the full path answers.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data import db, schema, views
from data.repository import Repository, UnknownUnit

D = dt.date


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingRepository(Repository):
    """Counts the wide ``totals`` reads (the ones the patrol card should not need)."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.totals_calls = 0

    def totals(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        self.totals_calls += 1
        return super().totals(*args, **kwargs)


@pytest.fixture
def demo_copy(tiny_demo_url: str, tmp_path: Path) -> sa.Engine:
    """A private copy of the tiny demo city (these tests bump the data version)."""
    source = Path(sa.engine.make_url(tiny_demo_url).database or "")
    target = tmp_path / "copy.sqlite"
    shutil.copy(source, target)
    engine = db.make_engine(f"sqlite:///{target}")
    yield engine
    engine.dispose()


def _queries(repo: Repository) -> list[dict[str, str]]:
    root = repo.root().code
    district = repo.children(root)["code"].iloc[0]
    town = repo.children(district)["code"].iloc[0]
    grid = repo.lineage(town)[-1].code
    while len(children := repo.children(grid)):
        grid = children["code"].iloc[0]
    cats = views.category_options(repo, "dispute")[:2]
    return [
        {},
        {"period": "month"},
        {"period": "year", "unit": district},
        {"period": "custom", "start": "2026-03-01", "end": "2026-06-30", "unit": town},
        {"cat": ",".join(cats), "unit": district},
        {"unit": grid, "period": "7d"},
        {"period": "custom", "start": "2020-01-01", "end": "2020-01-31"},  # no data at all
    ]


def test_vw101_kpi_group_equals_the_card_of_kpis(tiny_repo: Repository) -> None:
    for query in _queries(tiny_repo):
        state = views.resolve_state(tiny_repo, query)
        for card in views.kpis(tiny_repo, state):
            assert views.kpi_group(tiny_repo, state, card.key) == card, (query, card.key)


def test_vw102_kpi_group_refuses_an_unknown_group(tiny_repo: Repository) -> None:
    state = views.resolve_state(tiny_repo, {})
    with pytest.raises(ValueError, match="unknown KPI group"):
        views.kpi_group(tiny_repo, state, "weather")


def test_vw103_patrol_panel_alone_reads_no_wide_totals(tiny_demo_url: str) -> None:
    repo = CountingRepository(db.make_engine(tiny_demo_url))
    for query in _queries(repo):
        state = views.resolve_state(repo, query)
        full = views.patrol_panel(repo, state, views.kpis(repo, state))
        repo.totals_calls = 0
        alone = views.patrol_panel(repo, state)
        assert repo.totals_calls == 0
        assert alone.rates == full.rates and alone.freq == full.freq
        pd.testing.assert_frame_equal(alone.series, full.series)
    repo.engine.dispose()


def test_vw104_patrol_totals_equal_the_patrol_part_of_totals(engine: sa.Engine) -> None:
    """On SQLite and PostgreSQL: sums, zeros without data, only the unit's own rows."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.units),
            [
                {"code": "100000", "name": "甲市", "level": "city", "vintage": 2026},
                {"code": "100001", "name": "乙区", "level": "district", "vintage": 2026},
            ],
        )
        rows = []
        for i, day in enumerate([D(2026, 10, 1), D(2026, 10, 2), D(2026, 10, 5)]):
            for code, k in (("100000", 3), ("100001", 1)):
                row = {m: k * (i + 1) for m in schema.PATROL_MEASURES}
                row.update(unit_code=code, day=day, hours=1.5 * k, km=2.25 * i)
                rows.append(row)
        conn.execute(sa.insert(schema.patrol_rollup), rows)
    repo = Repository(engine)
    for start, end in [(D(2026, 10, 1), D(2026, 10, 31)), (D(2026, 10, 2), D(2026, 10, 2))]:
        got = repo.patrol_totals("100000", start, end)
        wide = repo.totals(["100000"], start, end).iloc[0]
        assert got == {f"patrol.{m}": float(wide[f"patrol.{m}"]) for m in schema.PATROL_MEASURES}
    assert repo.patrol_totals("100000", D(2026, 10, 1), D(2026, 10, 31))["patrol.dispatches"] == 18
    empty = repo.patrol_totals("100001", D(2025, 1, 1), D(2025, 1, 31))
    assert set(empty.values()) == {0.0} and len(empty) == len(schema.PATROL_MEASURES)


# ---------------------------------------------------------------------------------------
# StateMemo


def test_vw110_memo_answers_like_resolve_state_and_once(tiny_repo: Repository) -> None:
    memo = views.StateMemo()
    for query in _queries(tiny_repo):
        first = memo.resolve(tiny_repo, query)
        assert first == views.resolve_state(tiny_repo, query)
        assert memo.resolve(tiny_repo, dict(query)) is first  # frozen: safely shared
    n = len(_queries(tiny_repo))
    assert (memo.misses, memo.hits, len(memo)) == (n, n, n)
    # Keys the resolution does not read, and list values (parse_qs style), share the entry.
    again = memo.resolve(tiny_repo, {"period": ["month"], "utm": "mail"})
    assert again is memo.resolve(tiny_repo, {"period": "month"})


def test_vw111_memo_keys_on_the_viewers_root(tiny_repo: Repository) -> None:
    memo = views.StateMemo()
    root = tiny_repo.root().code
    mine, other = tiny_repo.children(root)["code"].tolist()[:2]
    wide = memo.resolve(tiny_repo, {"unit": other}, root_code=root)
    assert wide.unit.code == other
    narrow = memo.resolve(tiny_repo, {"unit": other}, root_code=mine)
    assert narrow.unit.code == mine and any("无权查看" in m for m in narrow.messages)
    assert [u.code for u in narrow.lineage] == [mine]
    assert memo.resolve(tiny_repo, {"unit": other}) is not narrow  # no root: another entry
    assert memo.misses == 3


def test_vw112_memo_follows_the_data_version(demo_copy: sa.Engine) -> None:
    repo = Repository(demo_copy)
    memo = views.StateMemo()
    first = memo.resolve(repo, {})
    assert memo.resolve(repo, {}) is first
    with demo_copy.begin() as conn:
        db.bump_data_version(conn)
    second = memo.resolve(repo, {})
    assert second is not first and second == first
    assert memo.misses == 2


def test_vw113_memo_expires_is_bounded_and_can_be_off(tiny_repo: Repository) -> None:
    clock = FakeClock()
    memo = views.StateMemo(max_entries=2, ttl_s=10, clock=clock)
    a = memo.resolve(tiny_repo, {"period": "7d"})
    clock.now += 9
    assert memo.resolve(tiny_repo, {"period": "7d"}) is a
    clock.now += 2
    assert memo.resolve(tiny_repo, {"period": "7d"}) is not a  # expired
    for key in ("30d", "month", "year"):
        memo.resolve(tiny_repo, {"period": key})
    assert len(memo) == 2
    off = views.StateMemo(ttl_s=0)
    off.resolve(tiny_repo, {})
    assert len(off) == 0 and off.misses == 0


def test_vw114_memo_does_not_remember_errors(tiny_repo: Repository) -> None:
    memo = views.StateMemo()
    with pytest.raises(UnknownUnit):
        memo.resolve(tiny_repo, {}, root_code="999999999")
    assert len(memo) == 0


def test_vw120_reads_inside_reading_share_one_connection(engine: sa.Engine) -> None:
    """A view's reads share one pooled connection (no check-out, ping and isolation level per
    read); nested blocks share the outer one; a block that reads nothing takes none."""
    repo = Repository(engine)
    checkouts: list[int] = []
    sa.event.listen(engine.pool, "checkout", lambda *_args: checkouts.append(1))
    repo.meta()
    repo.data_version()
    assert len(checkouts) == 2

    checkouts.clear()
    with repo.reading():
        assert checkouts == []  # taken at the first read only
        repo.meta()
        repo.data_version()
        with repo.reading():
            assert repo.data_version() == repo.data_version()
        assert engine.pool.checkedout() == 1
    assert len(checkouts) == 1
    assert engine.pool.checkedout() == 0  # given back at the end

    # Writes keep their own connection and transaction, inside a block too.
    with repo.reading():
        repo.meta()
        with engine.begin() as conn:
            assert engine.pool.checkedout() == 2  # its own
            db.bump_data_version(conn)
        assert repo.data_version() != "0"  # and the shared one sees what it wrote
    assert engine.pool.checkedout() == 0


@pytest.mark.parametrize(
    "days",
    [
        ["2026-10-30", "2026-10-31", "2024-02-29"],  # SQLite: ISO strings
        ["2026-10-30 00:00:00", "2026-10-31T05:45:00+08:00"],  # timestamps as text: the day
        [D(2026, 10, 30), D(1969, 12, 31), D(2024, 2, 29)],  # PostgreSQL: dates
        [dt.datetime(2026, 10, 31, 23, 59), dt.datetime(2026, 1, 1)],
        [D(2026, 10, 31), "2026-10-30", None],  # mixed: row by row
    ],
)
def test_vw130_days_in_bulk_equal_them_row_by_row(days: list[object]) -> None:
    import numpy as np

    from data.repository import _as_date, _day_array

    expected = np.array([_as_date(d) for d in days], dtype="datetime64[D]")
    np.testing.assert_array_equal(_day_array(days), expected)
