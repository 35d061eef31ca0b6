"""A read cache for the repository, shared by every worker and keyed by the data version.

The dashboard asks the same questions over and over: four callbacks of one page view each
resolve the unit, its lineage and the data span, every visitor of a district reads the same
totals and polygons. :class:`CachedRepository` answers the expensive reads of
:class:`~data.repository.Repository` from a store shared by the server's workers (Redis, named
by ``SHIYU_CACHE_URL``) or, without one, from a bounded store inside the process.

Keys are ``<prefix>:<database>:<data_version>:<method>:<hash of the arguments>``. Loaders bump
``meta.data_version`` (:func:`data.db.bump_data_version`) and other systems that write the
tables are expected to do the same, so new data is never answered from old entries: the version
is read with one indexed query, itself remembered for ``version_ttl_s`` (about a second) so that
a burst of callbacks does not repeat it. Every entry also expires after ``ttl_s`` seconds, a
backstop for a writer that forgets to bump the version.

Values are stored pickled, so every caller receives its own copy and may change it freely
(the view models do). Nothing here imports dash; the app factory wraps the repository.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import logging
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa

from data.repository import Repository

__all__ = [
    "CACHED_METHODS",
    "PART_LOCAL_METHODS",
    "WORKER_LOCAL_METHODS",
    "CacheStore",
    "CachedRepository",
    "LocalStore",
    "RedisStore",
    "holding_writes",
    "make_store",
    "remember",
    "remember_all",
]

log = logging.getLogger(__name__)

#: Read methods of :class:`Repository` answered from the cache (all pure functions of the
#: database contents and their arguments). ``data_version`` itself is remembered separately.
CACHED_METHODS: tuple[str, ...] = (
    "meta",
    "anchor_date",
    "data_span",
    "unit_data_span",
    "root",
    "unit",
    "lineage",
    "is_within",
    "children",
    "units_at_level",
    "children_features",
    "unit_bounds",
    "totals_over",  # totals() reads through it
    "case_series_each",  # and case_series()
    "case_breakdown",
    "categories",
    "patrol_series",
    "patrol_totals_over",  # and patrol_totals()
    "risk_matrix",
    "hotspot_cells",
)

#: Reads that feed a single part of a rendered view (trend series, breakdown, patrol and
#: risk panels). While :meth:`CachedRepository.remember` computes a part they go to the
#: database directly: the part's entry holds their result, and storing each read too cost a
#: first visit a miss, a pickled frame and a store per read (~0.7 ms each). Read anywhere
#: else (the wall screen, briefings) they are cached like the other reads.
PART_LOCAL_METHODS: frozenset[str] = frozenset(
    {"case_series_each", "case_breakdown", "patrol_series", "patrol_totals_over", "risk_matrix"}
)

#: Small reads every view repeats (the unit, its lineage, the data span, the drill targets).
#: In front of an embedded database (SQLite) these stay in the worker's near store only:
#: asking Redis for one costs a round trip (0.3–0.6 ms on the benchmark machine, miss or hit),
#: more than SQLite's indexed read, and a first visit made seven of them. A database server
#: needs a round trip of its own and more (1–1.5 ms each on PostgreSQL), so there one worker's
#: read still serves the others from the shared store.
WORKER_LOCAL_METHODS: frozenset[str] = frozenset(
    {
        "meta",
        "root",
        "unit",
        "lineage",
        "is_within",
        "children",
        "unit_bounds",
        "unit_data_span",
    }
)

#: A view part being computed holds a lock this long at most (a worker that dies releases it
#: by expiry); others wait up to SINGLE_FLIGHT_WAIT_S for its result, polling the store.
SINGLE_FLIGHT_LOCK_S = 10.0
SINGLE_FLIGHT_WAIT_S = 5.0
SINGLE_FLIGHT_POLL_S = 0.01

_MISSING = object()
T = TypeVar("T")
_computing_part: ContextVar[bool] = ContextVar("shiyu_computing_part", default=False)
#: While a view part is computed, the entries its reads would store, sent to the shared store
#: together with the part's own entry (one round trip for all of them instead of one each).
_held_back: ContextVar[list[tuple[str, bytes]] | None] = ContextVar("shiyu_held_back", default=None)


class CacheStore(Protocol):
    """Where cached values live: bytes under string keys, each with a time to live."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    def add(self, key: str, value: bytes, ttl_s: float) -> bool:
        """Store only if ``key`` holds nothing; True when stored (a lock was taken)."""
        ...

    def delete(self, key: str) -> None: ...

    def get_or_add_many(
        self, pairs: Sequence[tuple[str, str]], ttl_s: float
    ) -> list[tuple[bytes | None, bool]]:
        """For each ``(key, lock)``: the key's value; when it holds none, :meth:`add` the lock
        too. One round trip, atomic for all pairs: ``(value, whether the lock was taken)``."""
        ...

    def set_many(
        self, items: list[tuple[str, bytes]], ttl_s: float, release: Sequence[str] = ()
    ) -> None:
        """Store ``items`` and delete the locks in ``release``, in one round trip."""
        ...

    def describe(self) -> str: ...


class LocalStore:
    """A least-recently-used store inside this process, bounded in bytes, with expiry.

    The fallback when no Redis is configured: each worker keeps its own copy.

    Parameters
    ----------
    max_bytes : int
        Oldest entries are dropped once the stored values exceed this size.
    clock : callable
        Seconds, monotonic; tests pass a fake one.
    """

    def __init__(
        self, max_bytes: int = 256 * 1024 * 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if self._clock() >= expires:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        with self._lock:
            self._put(key, value, ttl_s)

    def add(self, key: str, value: bytes, ttl_s: float) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._clock() < entry[0]:
                return False
            self._put(key, value, ttl_s)
            return True

    def get_or_add_many(
        self, pairs: Sequence[tuple[str, str]], ttl_s: float
    ) -> list[tuple[bytes | None, bool]]:
        with self._lock:
            out: list[tuple[bytes | None, bool]] = []
            now = self._clock()
            for key, lock in pairs:
                entry = self._entries.get(key)
                if entry is not None and now < entry[0]:
                    self._entries.move_to_end(key)
                    out.append((entry[1], False))
                    continue
                held = self._entries.get(lock)
                if held is not None and now < held[0]:
                    out.append((None, False))
                else:
                    self._put(lock, b"1", ttl_s)
                    out.append((None, True))
            return out

    def set_many(
        self, items: list[tuple[str, bytes]], ttl_s: float, release: Sequence[str] = ()
    ) -> None:
        with self._lock:
            for key, value in items:
                self._put(key, value, ttl_s)
            for lock in release:
                if lock in self._entries:
                    self._drop(lock)

    def _put(self, key: str, value: bytes, ttl_s: float) -> None:
        if len(value) > self.max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (self._clock() + ttl_s, value)
        self._size += len(value)
        while self._size > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def delete(self, key: str) -> None:
        with self._lock:
            if key in self._entries:
                self._drop(key)

    def _drop(self, key: str) -> None:
        _expires, value = self._entries.pop(key)
        self._size -= len(value)

    def __len__(self) -> int:
        return len(self._entries)

    def describe(self) -> str:
        return f"local (per process, {self.max_bytes // (1024 * 1024)} MB)"


#: Redis script for :meth:`RedisStore.get_or_add_many` (keys: value, lock, value, lock …):
#: a lock is taken only when its value is missing (a repeat visit must not leave a lock
#: behind). Answers two items per pair: 1 and the value, or 0 and whether the lock was taken.
_GET_OR_ADD_MANY = """
local out = {}
for i = 1, #KEYS, 2 do
  local value = redis.call('GET', KEYS[i])
  if value then
    out[#out + 1] = 1
    out[#out + 1] = value
  elseif redis.call('SET', KEYS[i + 1], '1', 'PX', ARGV[1], 'NX') then
    out[#out + 1] = 0
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
    out[#out + 1] = 0
  end
end
return out
"""


class RedisStore:
    """A Redis server shared by all workers (and all app servers pointed at it).

    A Redis that stops answering is logged (at most once a minute) and treated as empty: the
    dashboard gets slower, not broken.
    """

    def __init__(self, url: str, *, timeout_s: float = 0.5) -> None:
        import redis  # only needed when a Redis is configured

        self.url = url
        self._errors = redis.RedisError
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._last_warning = 0.0
        self._get_or_add_many = self.client.register_script(_GET_OR_ADD_MANY)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except self._errors:
            return False

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(key)  # type: ignore[return-value]
        except self._errors as exc:
            self._warn(exc)
            return None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        try:
            self.client.set(key, value, px=max(1, int(ttl_s * 1000)))
        except self._errors as exc:
            self._warn(exc)

    def add(self, key: str, value: bytes, ttl_s: float) -> bool:
        try:
            return bool(self.client.set(key, value, px=max(1, int(ttl_s * 1000)), nx=True))
        except self._errors as exc:
            self._warn(exc)
            return True  # nobody can be told to wait: compute

    def delete(self, key: str) -> None:
        try:
            self.client.delete(key)
        except self._errors as exc:
            self._warn(exc)

    def get_or_add_many(
        self, pairs: Sequence[tuple[str, str]], ttl_s: float
    ) -> list[tuple[bytes | None, bool]]:
        if not pairs:
            return []
        keys = [k for pair in pairs for k in pair]
        try:
            flat = self._get_or_add_many(keys=keys, args=[max(1, int(ttl_s * 1000))])
        except self._errors as exc:
            self._warn(exc)
            return [(None, True)] * len(pairs)  # nobody can be told to wait: compute
        return [
            (value, False) if found else (None, bool(value))
            for found, value in zip(flat[::2], flat[1::2], strict=True)
        ]

    def set_many(
        self, items: list[tuple[str, bytes]], ttl_s: float, release: Sequence[str] = ()
    ) -> None:
        # A transaction: a worker waiting for an entry never sees its lock gone without it.
        pipe = self.client.pipeline(transaction=bool(release))
        for key, value in items:
            pipe.set(key, value, px=max(1, int(ttl_s * 1000)))
        if release:
            pipe.delete(*release)
        try:
            pipe.execute()
        except self._errors as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            log.warning(
                "缓存服务不可用，直接查询数据库 / cache unavailable (%s): %s", self.url, exc
            )

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"redis {parts.hostname or parts.path}:{parts.port or ''}"


def make_store(url: str = "", *, max_bytes: int = 256 * 1024 * 1024) -> CacheStore:
    """The store named by ``url``: ``redis://…`` (or ``rediss://``, ``unix://``), or local.

    A Redis that cannot be reached at start-up is logged and replaced by a local store, so a
    restart of the cache server never keeps the dashboard from starting.
    """
    if not url:
        return LocalStore(max_bytes=max_bytes)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            f"缓存地址应以 redis:// 开头或留空 / cache URL must be redis://… or empty, got {url!r}"
        )
    store = RedisStore(url)
    if not store.ping():
        log.warning("无法连接缓存服务，改用进程内缓存 / cannot reach %s, using a local cache", url)
        return LocalStore(max_bytes=max_bytes)
    return store


def _canonical(value: Any) -> Any:
    """A hashable, repr-stable form of an argument (sequences keep their order)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, set | frozenset):
        return tuple(sorted(_canonical(v) for v in value))
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    if hasattr(value, "isoformat"):  # date, datetime, Timestamp
        return ("date", value.isoformat())
    if hasattr(value, "tolist"):  # numpy arrays and pandas Index/Series of codes
        return _canonical(value.tolist())
    raise TypeError(f"cannot use {type(value).__name__} in a cache key")


class CachedRepository(Repository):
    """A :class:`Repository` whose read methods are answered from a shared cache.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    store : CacheStore, optional
        Default: a :class:`LocalStore`.
    ttl_s : float
        Lifetime of every entry (a backstop; the data version is what invalidates). ``0``
        turns caching off: every call goes to the database.
    version_ttl_s : float
        How long the data version read from ``meta`` is trusted before it is read again.
    prefix : str
        First part of every key (tests give each run its own).
    namespace : str, optional
        Identifies the database in the keys (default: a hash of the engine URL and the
        PostgreSQL search path), so two databases can share one Redis.
    near : CacheStore, optional
        A small store inside this process in front of a shared one: entries this worker read
        or computed are answered without a round trip (the unit tree, the polygons, the view
        parts a leader comes back to). Same keys, so a new data version misses it too; an
        entry stays there at most ``near_ttl_s`` seconds.
    near_ttl_s : float
    local_reads : bool, optional
        Keep the reads of :data:`WORKER_LOCAL_METHODS` in ``near`` only (default: when the
        database is SQLite). Without ``near`` they are shared like the others.
    clock : callable
        Seconds, monotonic.

    Notes
    -----
    Exceptions (e.g. :class:`~data.repository.UnknownUnit`) are not cached.
    """

    def __init__(
        self,
        engine: sa.Engine,
        store: CacheStore | None = None,
        *,
        ttl_s: float = 300.0,
        version_ttl_s: float = 1.0,
        prefix: str = "shiyu",
        namespace: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        near: CacheStore | None = None,
        near_ttl_s: float = 30.0,
        local_reads: bool | None = None,
    ) -> None:
        super().__init__(engine)
        self.store: CacheStore = store if store is not None else LocalStore(clock=clock)
        self.near = near
        if local_reads is None:
            local_reads = engine.dialect.name == "sqlite"
        #: Where the reads of WORKER_LOCAL_METHODS stay, when they stay in this worker.
        self.local_store: CacheStore | None = near if local_reads else None
        self.near_ttl_s = min(near_ttl_s, ttl_s)
        self.ttl_s = ttl_s
        self.version_ttl_s = version_ttl_s
        self.prefix = prefix
        self.namespace = namespace or _database_namespace(engine)
        self._clock = clock
        self._version: tuple[float, str] | None = None
        self._version_lock = threading.Lock()
        #: Per-process counters, for the benchmark and the logs (``misses``: entries this
        #: worker computed that others could share; ``own_reads``: reads it made and kept for
        #: itself only, see ``local_reads``; ``waits``: answers another worker computed while
        #: this one waited, see :meth:`remember`).
        self.hits = 0
        self.misses = 0
        self.own_reads = 0
        self.waits = 0

    @classmethod
    def wrap(cls, repo: Repository, store: CacheStore | None = None, **options: Any) -> Repository:
        """``repo`` behind a cache; with ``ttl_s=0`` the repository itself is returned."""
        if options.get("ttl_s", 300.0) <= 0:
            return repo
        return cls(repo.engine, store, **options)

    # ---- the data version -----------------------------------------------------------------
    def data_version(self) -> str:
        """The data version, read from ``meta`` at most once per ``version_ttl_s``."""
        now = self._clock()
        remembered = self._version
        if remembered is not None and now - remembered[0] < self.version_ttl_s:
            return remembered[1]
        with self._version_lock:
            remembered = self._version
            if remembered is not None and now - remembered[0] < self.version_ttl_s:
                return remembered[1]
            version = super().data_version()
            self._version = (self._clock(), version)
            return version

    def forget_version(self) -> None:
        """Read the data version again at the next call (after a write in this process)."""
        self._version = None

    # ---- lookups ----------------------------------------------------------------------------
    def key(self, method: str, arguments: tuple[Any, ...]) -> str:
        digest = hashlib.blake2b(repr(arguments).encode(), digest_size=16).hexdigest()
        return f"{self.prefix}:{self.namespace}:{self.data_version()}:{method}:{digest}"

    def remember(self, name: str, arguments: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, stored under ``name`` and ``repr(arguments)`` for this data version.

        For results derived from the repository's reads (a rendered view): the key must name
        everything the result depends on besides the data, which the version covers. Reads of
        :data:`PART_LOCAL_METHODS` inside ``compute`` are not stored on their own; the entries
        of its other reads go to the shared store with the result and the lock's release, in
        one round trip. One worker computes an entry at a time: the others asking for it
        meanwhile wait for its result.
        """
        return self.remember_all([(name, arguments, compute)])[0]  # type: ignore[no-any-return]

    def remember_all(
        self, parts: Sequence[tuple[str, tuple[Any, ...], Callable[[], Any]]]
    ) -> list[Any]:
        """:meth:`remember` for several entries (a view's parts): one round trip looks them all
        up and takes the locks of those missing, one stores what was computed (with the
        entries held back by :meth:`holding_writes`) and releases the locks.

        The locks are taken in one atomic step, so a worker never holds one lock while it
        waits for another worker that waits for it: it computes its own entries, stores them,
        and only then waits for those another worker is computing.
        """
        keys = [self.key(f"view:{name}", arguments) for name, arguments, _ in parts]
        values = [self._lookup_near(key) for key in keys]
        missing = [i for i, value in enumerate(values) if value is _MISSING]
        if not missing:
            return values
        answers = self.store.get_or_add_many(
            [(keys[i], f"{keys[i]}:computing") for i in missing], SINGLE_FLIGHT_LOCK_S
        )
        mine: list[int] = []
        theirs: list[int] = []
        for i, (raw, locked) in zip(missing, answers, strict=True):
            values[i] = self._loaded(keys[i], raw)
            if values[i] is _MISSING:
                (mine if locked else theirs).append(i)
        if mine:
            held = self._drain_outer()
            try:
                for i in mine:
                    values[i] = self._compute_entry(keys[i], parts[i][2], held)
            finally:
                # The locks go with the entries, in one transaction.
                locks = [f"{keys[i]}:computing" for i in mine]
                self.store.set_many(held, self.ttl_s, release=locks)
        for i in theirs:
            # Another worker is computing this very entry (twenty leaders opening the city
            # before a meeting): wait for its result rather than compute it once more each.
            values[i] = self._await(keys[i], f"{keys[i]}:computing")
            if values[i] is _MISSING:  # it failed or took too long: compute, take no lock
                held = self._drain_outer()
                try:
                    values[i] = self._compute_entry(keys[i], parts[i][2], held)
                finally:
                    self.store.set_many(held, self.ttl_s)
        return values

    def _compute_entry(
        self, key: str, compute: Callable[[], Any], held: list[tuple[str, bytes]]
    ) -> Any:
        """``compute()`` as a view part (part-local reads, its other reads' entries added to
        ``held``), its own entry added to ``held`` too."""
        computing, holding = _computing_part.set(True), _held_back.set(held)
        try:
            self.misses += 1
            value = compute()
        finally:
            _computing_part.reset(computing)
            _held_back.reset(holding)
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        held.append((key, raw))
        if self.near is not None:
            self.near.set(key, raw, self.near_ttl_s)
        return value

    @contextlib.contextmanager
    def holding_writes(self) -> Iterator[None]:
        """Hold back the entries that reads store in this block, until a :meth:`remember_all`
        sends them with its own or the block ends: a view's reads before its parts (the scope
        check, the lineage) cost no round trip each."""
        if _held_back.get() is not None:  # already inside such a block, or a part
            yield
            return
        held: list[tuple[str, bytes]] = []
        token = _held_back.set(held)
        try:
            yield
        finally:
            _held_back.reset(token)
            if held:
                self.store.set_many(held, self.ttl_s)

    @staticmethod
    def _drain_outer() -> list[tuple[str, bytes]]:
        """The entries :meth:`holding_writes` holds so far (handed over, not kept)."""
        outer = _held_back.get()
        if outer is None:
            return []
        taken = list(outer)
        outer.clear()
        return taken

    def _cached_call(
        self, method: str, arguments: tuple[Any, ...], compute: Callable[[], Any]
    ) -> Any:
        key = self.key(method, arguments)
        value = self._lookup(key, near=True)
        if value is not _MISSING:
            return value
        self.misses += 1
        value = compute()
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        held = _held_back.get()
        if held is not None:
            held.append((key, raw))
        else:
            self.store.set(key, raw, self.ttl_s)
        if self.near is not None:
            self.near.set(key, raw, self.near_ttl_s)
        return value

    def _near_call(
        self, near: CacheStore, method: str, arguments: tuple[Any, ...], compute: Callable[[], Any]
    ) -> Any:
        """A :data:`WORKER_LOCAL_METHODS` read: answered and kept in ``near`` only."""
        key = self.key(method, arguments)
        value = self._lookup_near(key)
        if value is not _MISSING:
            return value
        self.own_reads += 1
        value = compute()
        near.set(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), self.near_ttl_s)
        return value

    def _lookup(self, key: str, *, near: bool) -> Any:
        value = self._lookup_near(key) if near else _MISSING
        return value if value is not _MISSING else self._loaded(key, self.store.get(key))

    def _lookup_near(self, key: str) -> Any:
        raw = self.near.get(key) if self.near is not None else None
        return _MISSING if raw is None else self._unpickled(raw)

    def _loaded(self, key: str, raw: bytes | None) -> Any:
        """``raw`` as read from the shared store (kept near too)."""
        if raw is None:
            return _MISSING
        if self.near is not None:
            self.near.set(key, raw, self.near_ttl_s)
        return self._unpickled(raw)

    def _unpickled(self, raw: bytes) -> Any:
        try:
            value = pickle.loads(raw)
        except Exception:  # noqa: BLE001 - a damaged or foreign entry is just a miss
            return _MISSING
        self.hits += 1
        return value

    def _await(self, key: str, lock: str) -> Any:
        """The entry another worker is computing, once stored; ``_MISSING`` when it released
        its lock without storing one or took longer than :data:`SINGLE_FLIGHT_WAIT_S`."""
        deadline = time.monotonic() + SINGLE_FLIGHT_WAIT_S
        while time.monotonic() < deadline:
            time.sleep(SINGLE_FLIGHT_POLL_S)
            value = self._lookup(key, near=False)
            if value is _MISSING and self.store.get(lock) is None:
                # Stored between the two reads (the entry and the release go together), or
                # the computing worker failed.
                value = self._lookup(key, near=False)
                if value is _MISSING:
                    return _MISSING
            if value is not _MISSING:
                self.waits += 1
                return value
        return _MISSING


def remember(
    repo: Repository, name: str, arguments: tuple[Any, ...], compute: Callable[[], T]
) -> T:
    """:meth:`CachedRepository.remember` when ``repo`` has a cache, else just ``compute()``."""
    if isinstance(repo, CachedRepository):
        return repo.remember(name, arguments, compute)
    return compute()


def remember_all(
    repo: Repository, parts: Sequence[tuple[str, tuple[Any, ...], Callable[[], Any]]]
) -> list[Any]:
    """:meth:`CachedRepository.remember_all` when ``repo`` has a cache, else each computed."""
    if isinstance(repo, CachedRepository):
        return repo.remember_all(parts)
    return [compute() for _name, _arguments, compute in parts]


def holding_writes(repo: Repository) -> contextlib.AbstractContextManager[None]:
    """:meth:`CachedRepository.holding_writes` when ``repo`` has a cache, else nothing."""
    if isinstance(repo, CachedRepository):
        return repo.holding_writes()
    return contextlib.nullcontext()


def _database_namespace(engine: sa.Engine) -> str:
    ident = engine.url.render_as_string(hide_password=True)
    options = engine.url.query.get("options") or ""
    # Tests and multi-tenant installs point one URL at several PostgreSQL schemas.
    search_path = str(getattr(engine.dialect, "default_schema_name", "") or "")
    raw = f"{ident}|{options}|{search_path}"
    return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


def _cached_method(name: str) -> Callable[..., Any]:
    base = getattr(Repository, name)
    signature = inspect.signature(base)

    part_local = name in PART_LOCAL_METHODS
    worker_local = name in WORKER_LOCAL_METHODS

    @functools.wraps(base)
    def method(self: CachedRepository, *args: Any, **kwargs: Any) -> Any:
        if part_local and _computing_part.get():
            return base(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        try:
            arguments = tuple(_canonical(v) for v in list(bound.arguments.values())[1:])
        except TypeError:  # an argument we cannot key on: ask the database
            return base(self, *args, **kwargs)
        compute = functools.partial(base, self, *args, **kwargs)
        if worker_local and self.local_store is not None:
            return self._near_call(self.local_store, name, arguments, compute)
        return self._cached_call(name, arguments, compute)

    return method


for _name in CACHED_METHODS:
    if hasattr(Repository, _name):  # the repository may be older than this list
        setattr(CachedRepository, _name, _cached_method(_name))
del _name
