"""The shared read cache: hits and misses, invalidation by data version, expiry, Redis, copies.

Also checks the display polygons the cached ``children_features`` serves: every sibling group
is still a valid coverage (no gaps, no overlaps) at the precision the map draws.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import pickle
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from data import db, schema
from data.cache import (
    PART_LOCAL_METHODS,
    SINGLE_FLIGHT_WAIT_S,
    WORKER_LOCAL_METHODS,
    CachedRepository,
    LocalStore,
    RedisStore,
    make_store,
)
from data.repository import Repository, UnknownUnit

REDIS_URL = "redis://127.0.0.1:6379/15"
START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def demo_copy(tiny_demo_url: str, tmp_path: Path) -> sa.Engine:
    """A private copy of the tiny demo city (these tests write to ``meta`` and the facts)."""
    source = Path(sa.engine.make_url(tiny_demo_url).database or "")
    target = tmp_path / "copy.sqlite"
    shutil.copy(source, target)
    engine = db.make_engine(f"sqlite:///{target}")
    yield engine
    engine.dispose()


def _other_system_writes(engine: sa.Engine, sql: str, **params: object) -> None:
    """Another program writing the tables directly, over its own connection."""
    other = sa.create_engine(engine.url)
    with other.begin() as conn:
        conn.execute(sa.text(sql), params)
    other.dispose()


def _root_received(repo: Repository) -> float:
    root = repo.root().code
    return float(repo.totals([root], START, END)["dispute.received"].iloc[0])


def test_cache001_second_call_is_a_hit_with_the_same_answer(demo_copy: sa.Engine) -> None:
    plain = Repository(demo_copy)
    cached = CachedRepository(demo_copy, LocalStore(), prefix=f"t{uuid.uuid4().hex}")
    codes = plain.children(plain.root().code)["code"].tolist()

    first = cached.totals(codes, START, END)
    assert (cached.hits, cached.misses) == (0, 1)
    second = cached.totals(codes, start=START, end=END)  # keywords: the same key
    assert (cached.hits, cached.misses) == (1, 1)
    pd.testing.assert_frame_equal(first, plain.totals(codes, START, END))
    pd.testing.assert_frame_equal(second, first)
    # Another argument is another entry.
    cached.totals(codes[:1], START, END)
    assert cached.misses == 2


def test_cache002_callers_get_copies(demo_copy: sa.Engine) -> None:
    cached = CachedRepository(demo_copy, LocalStore())
    code = cached.root().code
    frame = cached.totals([code], START, END)
    frame.loc[:, :] = -1  # the view models change frames they receive
    again = cached.totals([code], START, END)
    assert (again.to_numpy() >= 0).all()
    unit = cached.unit(code)
    assert cached.unit(code) == unit


def test_cache003_dataframes_and_features_survive_pickling(demo_copy: sa.Engine) -> None:
    plain = Repository(demo_copy)
    cached = CachedRepository(demo_copy, LocalStore())
    code = plain.root().code
    for _ in range(2):  # miss, then hit through pickle
        series = cached.case_series(code, START, END, "dispute")
        pd.testing.assert_frame_equal(series, plain.case_series(code, START, END, "dispute"))
        assert isinstance(series.index, pd.DatetimeIndex)
        pd.testing.assert_frame_equal(
            cached.risk_matrix(code, START, END), plain.risk_matrix(code, START, END)
        )
        assert cached.children_features(code) == plain.children_features(code)
        assert cached.lineage(code) == plain.lineage(code)
    assert cached.hits >= 4


def test_cache004_errors_are_not_cached(demo_copy: sa.Engine) -> None:
    cached = CachedRepository(demo_copy, LocalStore())
    for _ in range(2):
        with pytest.raises(UnknownUnit):
            cached.unit("999999999999999")
    assert cached.hits == 0


def test_cache005_loader_bump_invalidates(demo_copy: sa.Engine) -> None:
    cached = CachedRepository(demo_copy, LocalStore(), version_ttl_s=0)
    before = _root_received(cached)
    root = cached.root().code
    cs = schema.case_stream_rollup  # the table totals read without a category filter
    with demo_copy.begin() as conn:
        conn.execute(
            sa.update(cs)
            .where(cs.c.unit_code == root, cs.c.day == END, cs.c.stream == "dispute")
            .values(received=cs.c.received + 1000)
        )
        db.bump_data_version(conn)
    assert _root_received(cached) == before + 1000 * _rows(demo_copy, root)


def _rows(engine: sa.Engine, root: str) -> int:
    cr = schema.case_stream_rollup
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    cr.c.unit_code == root, cr.c.day == END, cr.c.stream == "dispute"
                )
            ).scalar_one()
        )


def test_cache006_direct_sql_writer_invalidates_after_version_memo(demo_copy: sa.Engine) -> None:
    clock = FakeClock()
    cached = CachedRepository(demo_copy, LocalStore(clock=clock), version_ttl_s=1.5, clock=clock)
    before = _root_received(cached)
    root = cached.root().code
    n = _rows(demo_copy, root)
    _other_system_writes(
        demo_copy,
        "UPDATE case_stream_rollup SET received = received + 7 "
        "WHERE unit_code = :u AND day = :d AND stream = 'dispute'",
        u=root,
        d=END.isoformat(),
    )
    _other_system_writes(demo_copy, "UPDATE meta SET value = '424242' WHERE key = 'data_version'")
    # Within the memo of the version (a burst of callbacks) the old answer may still be given …
    assert _root_received(cached) == before
    # … and once it has passed, the new version is read and the new numbers are shown.
    clock.now += 2
    assert cached.data_version() == "424242"
    assert _root_received(cached) == before + 7 * n


def test_cache007_ttl_is_a_backstop_for_writers_that_forget_the_version(
    demo_copy: sa.Engine,
) -> None:
    clock = FakeClock()
    cached = CachedRepository(
        demo_copy, LocalStore(clock=clock), ttl_s=300, version_ttl_s=1, clock=clock
    )
    before = _root_received(cached)
    root = cached.root().code
    _other_system_writes(
        demo_copy,
        "UPDATE case_stream_rollup SET received = received + 3 "
        "WHERE unit_code = :u AND day = :d AND stream = 'dispute'",
        u=root,
        d=END.isoformat(),
    )
    clock.now += 299
    assert _root_received(cached) == before
    clock.now += 2
    assert _root_received(cached) == before + 3 * _rows(demo_copy, root)


def test_cache008_version_is_read_once_per_memo(
    demo_copy: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    cached = CachedRepository(demo_copy, LocalStore(clock=clock), version_ttl_s=1, clock=clock)
    reads = []
    original = Repository.data_version
    monkeypatch.setattr(Repository, "data_version", lambda self: reads.append(1) or original(self))
    for _ in range(20):
        cached.anchor_date()
    assert len(reads) == 1
    clock.now += 1.01
    cached.anchor_date()
    assert len(reads) == 2


def test_cache009_local_store_expires_and_stays_bounded() -> None:
    clock = FakeClock()
    store = LocalStore(max_bytes=1000, clock=clock)
    store.set("a", b"x" * 400, ttl_s=10)
    assert store.get("a") == b"x" * 400
    clock.now += 10
    assert store.get("a") is None
    for key in "bcd":
        store.set(key, b"y" * 400, ttl_s=10)
    assert store.get("b") is None  # least recently used, dropped to stay under 1000 bytes
    assert store.get("c") is not None and store.get("d") is not None
    store.set("huge", b"z" * 2000, ttl_s=10)
    assert store.get("huge") is None


def test_cache010_store_from_url() -> None:
    assert isinstance(make_store(""), LocalStore)
    assert isinstance(make_store("redis://127.0.0.1:1/0"), LocalStore)  # unreachable: fallback
    with pytest.raises(ValueError, match="redis"):
        make_store("memcached://127.0.0.1")


def test_cache011_ttl_zero_turns_the_cache_off(demo_copy: sa.Engine) -> None:
    plain = Repository(demo_copy)
    assert CachedRepository.wrap(plain, LocalStore(), ttl_s=0) is plain
    assert isinstance(CachedRepository.wrap(plain, LocalStore(), ttl_s=60), CachedRepository)


@pytest.fixture
def redis_store() -> RedisStore:
    store = make_store(REDIS_URL)
    if not isinstance(store, RedisStore):
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return store


def test_cache012_redis_is_shared_between_workers(
    demo_copy: sa.Engine, redis_store: RedisStore
) -> None:
    prefix = f"shiyu-test-{uuid.uuid4().hex}"
    try:
        worker_a = CachedRepository(demo_copy, redis_store, prefix=prefix, ttl_s=30)
        worker_b = CachedRepository(demo_copy, redis_store, prefix=prefix, ttl_s=30)
        code = worker_a.root().code
        frame = worker_a.totals([code], START, END)
        got = worker_b.totals([code], START, END)
        assert (worker_b.hits, worker_b.misses) == (1, 0)  # computed by worker a
        pd.testing.assert_frame_equal(got, frame)
        keys = list(redis_store.client.scan_iter(f"{prefix}:*"))
        assert keys
        assert 0 < redis_store.client.pttl(keys[0]) <= 30_000

        with demo_copy.begin() as conn:
            db.bump_data_version(conn)
        worker_b.forget_version()
        worker_b.totals([code], START, END)
        assert worker_b.misses == 1
    finally:
        for key in redis_store.client.scan_iter(f"{prefix}:*"):
            redis_store.client.delete(key)


def test_cache013_redis_failure_degrades_to_the_database(demo_copy: sa.Engine) -> None:
    broken = RedisStore("redis://127.0.0.1:1/0", timeout_s=0.05)
    cached = CachedRepository(demo_copy, broken)
    assert _root_received(cached) == _root_received(Repository(demo_copy))


def test_cache014_works_on_both_databases(engine: sa.Engine) -> None:
    """Keys and invalidation on SQLite and PostgreSQL (an empty schema is enough)."""
    cached = CachedRepository(engine, LocalStore(), version_ttl_s=0)
    first = cached.data_span()
    assert cached.data_span() == first and cached.hits == 1
    meta_before = cached.meta()
    with engine.begin() as conn:
        db.bump_data_version(conn)
    assert cached.meta()["data_version"] == str(int(meta_before["data_version"]) + 1)


def test_cache015_namespace_separates_databases(demo_copy: sa.Engine, engine: sa.Engine) -> None:
    assert CachedRepository(demo_copy).namespace != CachedRepository(engine).namespace


def test_geo001_display_coverage_valid_per_sibling_group(tiny_repo: Repository) -> None:
    """At the 1e-5° precision the map draws, siblings have no gaps or overlaps."""
    with tiny_repo.engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.units.c.parent_code, schema.units.c.geometry_display).where(
                schema.units.c.geometry_display.is_not(None),
                schema.units.c.parent_code.is_not(None),
            )
        ).all()
    groups: dict[str, list[bytes]] = {}
    for parent, wkb in rows:
        groups.setdefault(parent, []).append(wkb)
    assert groups
    bad = []
    for parent, wkbs in groups.items():
        rounded = shapely.set_precision(shapely.from_wkb(wkbs), 1e-5)
        if not shapely.coverage_is_valid(rounded, gap_width=5e-5):
            bad.append(parent)
    assert not bad, f"coverage broken at drawn precision under {bad[:5]}"


def test_cache016_part_local_reads_are_stored_only_outside_a_remembered_part(
    demo_copy: sa.Engine,
) -> None:
    store = LocalStore()
    cached = CachedRepository(demo_copy, store, prefix=f"t{uuid.uuid4().hex}")
    plain = Repository(demo_copy)
    code = cached.root().code
    entries = len(store)

    def part() -> tuple[pd.DataFrame, pd.DataFrame]:
        series = cached.case_series(code, START, END, "dispute")  # part-local: not stored
        wide = cached.totals_over([code], [(START, END)])[0]  # shared with other parts: stored
        return series, wide

    series, wide = cached.remember("trends", ("a view",), part)
    assert len(store) == entries + 2  # the part and the totals, not the series
    pd.testing.assert_frame_equal(series, plain.case_series(code, START, END, "dispute"))
    pd.testing.assert_frame_equal(wide, plain.totals([code], START, END))
    again, _ = cached.remember("trends", ("a view",), part)
    pd.testing.assert_frame_equal(again, series)
    assert len(store) == entries + 2
    # Read anywhere else (the wall screen, briefings) the same series is cached as before.
    cached.case_series(code, START, END, "dispute")
    assert len(store) == entries + 3
    assert {"case_series_each", "patrol_totals_over", "risk_matrix"} <= PART_LOCAL_METHODS


class CountingStore(LocalStore):
    """A shared store that counts the round trips a worker makes to it."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.gets = 0

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        return super().get(key)


def test_cache017_a_near_copy_answers_without_a_round_trip_and_follows_the_version(
    demo_copy: sa.Engine,
) -> None:
    clock = FakeClock()
    shared = CountingStore(clock)
    prefix = f"t{uuid.uuid4().hex}"
    worker = CachedRepository(
        demo_copy, shared, prefix=prefix, clock=clock, near=LocalStore(clock=clock), near_ttl_s=5
    )
    other = CachedRepository(demo_copy, shared, prefix=prefix, clock=clock)
    code = worker.root().code
    expected = Repository(demo_copy).children_features(code)
    assert expected is not None

    assert worker.children_features(code) == expected  # miss: computed, stored
    gets = shared.gets
    for _ in range(3):
        assert worker.children_features(code) == expected
    assert shared.gets == gets  # answered by the near copy
    other.children_features(code)
    assert (other.hits, other.misses) == (1, 0)  # the shared store has it too

    gets = shared.gets
    clock.now += 6  # past near_ttl_s: read from the shared store again, and kept near
    worker.children_features(code)
    worker.children_features(code)
    assert shared.gets == gets + 1

    with demo_copy.begin() as conn:  # new data: the near copy is not answered either
        db.bump_data_version(conn)
    worker.forget_version()
    misses = worker.misses
    worker.children_features(code)
    assert worker.misses == misses + 1


def _together(calls: list[Callable[[], object]]) -> list[object]:
    """Run ``calls`` in threads that start at the same moment; their results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        start.wait()
        return call()

    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.parametrize("shared", ["local", "redis"])
def test_cache018_a_view_asked_for_by_several_workers_at_once_is_computed_once(
    demo_copy: sa.Engine, shared: str
) -> None:
    if shared == "redis":
        store = make_store(REDIS_URL)
        if not isinstance(store, RedisStore):
            pytest.skip(f"Redis not reachable at {REDIS_URL}")
    else:
        store = LocalStore()
    prefix = f"shiyu-test-{uuid.uuid4().hex}"
    workers = [CachedRepository(demo_copy, store, prefix=prefix) for _ in range(4)]
    computed: list[int] = []
    # The computing worker finishes only once every worker has asked for the entry, so the
    # other three must wait for it, however the threads happen to be scheduled.
    asked = threading.Semaphore(0)
    get_or_add_many = store.get_or_add_many

    def counted(pairs: list[tuple[str, str]], ttl_s: float) -> list[tuple[bytes | None, bool]]:
        try:
            return get_or_add_many(pairs, ttl_s)
        finally:
            asked.release()

    store.get_or_add_many = counted  # type: ignore[method-assign]

    def slow_view() -> dict[str, object]:
        computed.append(1)
        for _ in workers:
            assert asked.acquire(timeout=10)
        return {"title": "城市", "rows": list(range(5))}

    got = _together([lambda w=w: w.remember("header", ("city",), slow_view) for w in workers])

    assert len(computed) == 1
    assert all(g == {"title": "城市", "rows": [0, 1, 2, 3, 4]} for g in got)
    assert sum(w.waits for w in workers) == 3
    assert store.get(f"{workers[0].key('view:header', ('city',))}:computing") is None  # released
    if isinstance(store, RedisStore):
        for key in store.client.scan_iter(f"{prefix}:*"):
            store.client.delete(key)


def test_cache019_when_the_computing_worker_fails_the_others_compute_themselves(
    demo_copy: sa.Engine,
) -> None:
    store = LocalStore()
    first, second = (CachedRepository(demo_copy, store) for _ in range(2))
    calls: list[str] = []
    computing = threading.Event()

    def failing() -> str:
        calls.append("first")
        computing.set()
        time.sleep(0.2)
        raise RuntimeError("the database went away")

    def working() -> str:
        calls.append("second")
        return "view"

    def ask_first() -> object:
        with contextlib.suppress(RuntimeError):
            return first.remember("map", ("city",), failing)
        return "failed"

    def ask_second() -> object:
        assert computing.wait(10)  # after the first took the lock
        return second.remember("map", ("city",), working)

    started = time.monotonic()
    assert _together([ask_first, ask_second]) == ["failed", "view"]
    assert calls == ["first", "second"]
    assert time.monotonic() - started < SINGLE_FLIGHT_WAIT_S  # not waited out


def _shared_store(kind: str) -> LocalStore | RedisStore:
    if kind == "local":
        return LocalStore()
    store = make_store(REDIS_URL)
    if not isinstance(store, RedisStore):
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return store


class Trips:
    """Counts the round trips a worker makes to a shared store (each call is one)."""

    def __init__(self, store: LocalStore | RedisStore) -> None:
        self.store, self.calls = store, []  # type: list[str]

    def __getattr__(self, name: str) -> Callable[..., object]:
        method = getattr(self.store, name)

        def counted(*args: object, **kwargs: object) -> object:
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_cache020_a_part_stores_its_reads_with_its_entry_and_lock_release_in_one_trip(
    demo_copy: sa.Engine, kind: str
) -> None:
    shared = _shared_store(kind)
    trips = Trips(shared)
    prefix = f"shiyu-test-{uuid.uuid4().hex}"
    worker = CachedRepository(demo_copy, trips, prefix=prefix, near=LocalStore())  # type: ignore[arg-type]
    other = CachedRepository(demo_copy, shared, prefix=prefix)
    code = worker.root().code
    trips.calls.clear()
    features_key = worker.key("children_features", (code,))
    seen_during: list[bytes | None] = []

    def part() -> int:
        features = worker.children_features(code)  # a shared read, not part-local
        seen_during.append(shared.get(features_key))
        return len(features["features"]) if features else 0

    first = worker.remember("map", ("city",), part)

    # One trip to look the entry up and take its lock, one miss for the read, and one to
    # store the read, the entry and release the lock together.
    assert trips.calls == ["get_or_add_many", "get", "set_many"]
    assert seen_during == [None]  # held back until the part was done
    expected = Repository(demo_copy).children_features(code)
    assert expected is not None and first == len(expected["features"]) > 0
    assert other.children_features(code) == expected
    assert other.remember("map", ("city",), lambda: -1) == first  # another worker's hit
    view_key = worker.key("view:map", ("city",))
    assert shared.get(f"{view_key}:computing") is None
    # A repeat from the shared store (another worker's near copy is empty) takes no lock.
    assert other.remember("map", ("city",), lambda: -1) == first
    assert shared.get(f"{view_key}:computing") is None
    if isinstance(shared, RedisStore):
        for key in shared.client.scan_iter(f"{prefix}:*"):
            shared.client.delete(key)


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_cache021_a_failing_part_keeps_its_reads_and_releases_its_lock(
    demo_copy: sa.Engine, kind: str
) -> None:
    shared = _shared_store(kind)
    prefix = f"shiyu-test-{uuid.uuid4().hex}"
    worker = CachedRepository(demo_copy, shared, prefix=prefix)
    code = worker.root().code

    def failing() -> None:
        worker.children(code)
        raise RuntimeError("the figure could not be built")

    with pytest.raises(RuntimeError):
        worker.remember("map", ("city",), failing)
    view_key = worker.key("view:map", ("city",))
    assert shared.get(f"{view_key}:computing") is None
    assert shared.get(view_key) is None
    assert shared.get(worker.key("children", (code,))) is not None
    if isinstance(shared, RedisStore):
        for key in shared.client.scan_iter(f"{prefix}:*"):
            shared.client.delete(key)


def _clear(shared: LocalStore | RedisStore, prefix: str) -> None:
    if isinstance(shared, RedisStore):
        for key in shared.client.scan_iter(f"{prefix}:*"):
            shared.client.delete(key)


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_cache022_a_views_parts_and_earlier_reads_cost_one_trip_each_way(
    demo_copy: sa.Engine, kind: str
) -> None:
    shared = _shared_store(kind)
    trips = Trips(shared)
    prefix = f"shiyu-test-{uuid.uuid4().hex}"
    worker = CachedRepository(demo_copy, trips, prefix=prefix)  # type: ignore[arg-type]
    other = CachedRepository(demo_copy, shared, prefix=prefix)
    code = worker.root().code
    trips.calls.clear()
    keys = [worker.key(f"view:{name}", ("city",)) for name in ("header", "map", "trends")]
    lineage_key = worker.key("lineage", (code,))
    seen: list[bytes | None] = []

    def part(n: int) -> Callable[[], int]:
        def compute() -> int:
            seen.append(shared.get(lineage_key))
            return n

        return compute

    with worker.holding_writes():
        worker.lineage(code)  # read before the parts, as a view's scope check and lineage are
        names = ("header", "map", "trends")
        got = worker.remember_all([(n, ("city",), part(i)) for i, n in enumerate(names)])
        assert trips.calls == ["get", "get_or_add_many", "set_many"]
    assert got == [0, 1, 2]
    assert seen == [None, None, None]  # the read's entry went with the parts'
    assert [pickle.loads(shared.get(k)) for k in keys] == [0, 1, 2]  # type: ignore[arg-type]
    assert all(shared.get(f"{k}:computing") is None for k in keys)  # every lock released
    assert [u.code for u in other.lineage(code)] == [code]
    # A repeat: one trip, no lock taken; a block with reads and no part stores them at its end.
    trips.calls.clear()
    assert worker.remember_all([(n, ("city",), lambda: -1) for n in ("header", "map")]) == [0, 1]
    with worker.holding_writes():
        worker.children(code)
        assert trips.calls == ["get_or_add_many", "get"]
    assert trips.calls == ["get_or_add_many", "get", "set_many"]
    assert shared.get(worker.key("children", (code,))) is not None
    _clear(shared, prefix)


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_cache023_a_worker_stores_its_own_parts_before_it_waits_for_anothers(
    demo_copy: sa.Engine, kind: str
) -> None:
    # A asks for the trends; B, a moment later, for the trends and the header. B computes the
    # header and stores it, releasing its lock, before it waits for A's trends: nobody waits
    # on B meanwhile, and the trends are computed once.
    shared = _shared_store(kind)
    prefix = f"shiyu-test-{uuid.uuid4().hex}"
    a, b = (CachedRepository(demo_copy, shared, prefix=prefix) for _ in range(2))
    header = b.key("view:header", ("city",))
    a_computing, header_stored = threading.Event(), threading.Event()
    computed: list[str] = []

    def trends() -> str:
        computed.append("trends")
        a_computing.set()
        # A finishes only once B has stored its header: B did not wait for A first.
        for _ in range(500):
            if shared.get(header) is not None and shared.get(f"{header}:computing") is None:
                header_stored.set()
                break
            time.sleep(0.01)
        return "trends"

    def ask_a() -> object:
        return a.remember("trends", ("city",), trends)

    def ask_b() -> object:
        assert a_computing.wait(10)
        return b.remember_all(
            [("trends", ("city",), lambda: "again"), ("header", ("city",), lambda: "header")]
        )

    assert _together([ask_a, ask_b]) == ["trends", ["trends", "header"]]
    assert header_stored.is_set()
    assert computed == ["trends"]
    assert b.waits == 1
    _clear(shared, prefix)


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_cache024_a_workers_cheap_unit_reads_stay_in_its_near_store(
    demo_copy: sa.Engine, kind: str
) -> None:
    shared = _shared_store(kind)
    trips = Trips(shared)
    prefix = f"shiyu-test-{uuid.uuid4().hex}"
    clock = FakeClock()
    worker = CachedRepository(
        demo_copy, trips, prefix=prefix, clock=clock, near=LocalStore(clock=clock), near_ttl_s=5
    )  # type: ignore[arg-type]
    other = CachedRepository(demo_copy, shared, prefix=prefix, clock=clock)
    plain = Repository(demo_copy)
    root = plain.root().code
    town = plain.children(plain.children(root)["code"].iloc[0])["code"].iloc[0]
    reads: list[tuple[str, tuple[object, ...]]] = [
        ("meta", ()),
        ("root", ()),
        ("unit", (town,)),
        ("lineage", (town,)),
        ("is_within", (town, root)),
        ("children", (root,)),
        ("unit_bounds", (town,)),
        ("unit_data_span", (town,)),
    ]
    assert {name for name, _ in reads} == WORKER_LOCAL_METHODS

    def answers(repo: Repository) -> list[object]:
        out = [getattr(repo, name)(*args) for name, args in reads]
        return [o.to_dict("list") if isinstance(o, pd.DataFrame) else o for o in out]

    expected = answers(plain)
    trips.calls.clear()
    assert answers(worker) == expected
    assert trips.calls == []  # not one round trip to the shared store
    assert worker.misses == 0  # nothing computed that other workers could share
    assert worker.own_reads == len(reads)
    assert answers(worker) == expected
    assert worker.own_reads == len(reads)  # the repeat came from the near store
    assert all(shared.get(worker.key(name, args)) is None for name, args in reads)
    assert answers(other) == expected  # so another worker reads them itself
    assert other.misses == len(reads)

    clock.now += 6  # past the near lifetime: read again
    assert answers(worker) == expected
    assert worker.own_reads == 2 * len(reads)
    with demo_copy.begin() as conn:  # and after new data, within it
        db.bump_data_version(conn)
    worker.forget_version()
    expected = answers(plain)  # meta names the new version
    assert answers(worker) == expected
    assert worker.own_reads == 3 * len(reads)
    assert trips.calls == []
    with pytest.raises(UnknownUnit):
        worker.lineage("999999999999")

    # In front of a database server one worker's read serves the others (the default there).
    sharing = CachedRepository(
        demo_copy, shared, prefix=prefix, near=LocalStore(), local_reads=False
    )
    sharing.lineage(town)
    assert shared.get(sharing.key("lineage", (town,))) is not None
    server = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")
    assert CachedRepository(server, shared, near=LocalStore()).local_store is None
    _clear(shared, prefix)
