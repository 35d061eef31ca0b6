"""Read access for the dashboard, the big screen and the briefings.

Every query takes bound parameters, returns plain DataFrames or dataclasses, and runs unchanged
on SQLite and PostgreSQL. All fact reads go to the ``*_rollup`` tables, keyed (unit, day, …);
case sums that filter on no category read ``case_stream_rollup`` (see :func:`_case_source`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles

from data import db, schema
from data.levels import LEVEL_RANK, RiskLevel, Stream

U = schema.units


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    parent_code: str | None
    population: int | None
    households: int | None
    has_geometry: bool
    child_count: int = 0

    @property
    def level_rank(self) -> int:
        return LEVEL_RANK.get(self.level, 99)  # type: ignore[call-overload]


class UnknownUnit(LookupError):
    """A unit code that is not in the database."""

    def __init__(self, code: str) -> None:
        super().__init__(f"未找到单位代码 {code} / unknown unit code {code!r}")
        self.code = code


def _case_source(categories: Sequence[str] | None = None) -> sa.Table:
    """The table case sums are read from: per stream unless a category filter needs the column.

    ``case_stream_rollup`` holds the same sums as ``case_rollup`` over category and channel, in
    one row per (unit, day, stream) instead of about a hundred, so without a filter it gives
    identical results from an order of magnitude fewer rows.
    """
    return schema.case_rollup if categories else schema.case_stream_rollup


def _number(value: object) -> float:
    """A summed measure as float (SQL SUM gives None over no rows, Decimal on some servers)."""
    return 0.0 if value is None else float(value)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4096)
def _display_shape(wkb: bytes) -> tuple[str, tuple[float, float, float, float]]:
    """GeoJSON text of a stored display polygon rounded to 1e-5° (~1 m: five decimals are
    plenty on screen), and its bounds.

    Kept per polygon, by its bytes, across data versions: the facts change with every import
    while the boundaries rarely do, and the rounding was ~3 ms of a district's first visit.
    A polygon imported anew has other bytes and is rounded again.
    """
    shape = shapely.from_wkb(wkb)
    text = shapely.to_geojson(shapely.set_precision(shape, 1e-5))
    return text, shape.bounds


class _SharedConnection:
    """The connection the reads inside :meth:`Repository.reading` share, checked out at the
    first of them (a view answered from the cache reads nothing)."""

    def __init__(self, engine: sa.Engine, reads: sa.Engine) -> None:
        self.engine, self._reads = engine, reads
        self._conn: sa.Connection | None = None

    def connect(self) -> AbstractContextManager[sa.Connection]:
        if self._conn is None or self._conn.invalidated:
            self._conn = self._reads.connect()
        return contextlib.nullcontext(self._conn)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_shared: ContextVar[_SharedConnection | None] = ContextVar("shiyu_shared_reads", default=None)


class Repository:
    """Queries over one Shiyu database.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A connected engine whose database has the Shiyu schema.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        # Every method here only reads, one statement or a few independent ones: without a
        # transaction around them, PostgreSQL answers each read in one round trip instead of
        # three (BEGIN, the read, the pool's ROLLBACK when the connection is returned).
        # Under READ COMMITTED each statement saw its own snapshot anyway.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Reads made inside share one connection (per thread; nested uses share the outer).

        A view makes ~20 reads; each checked a connection out of the pool and back (a ping,
        the isolation level set and reset: 0.1 ms on SQLite, 0.2 ms on PostgreSQL, where the
        ping is a round trip). Writes still take their own connection and transaction.
        """
        if _shared.get() is not None:
            yield
            return
        shared = _SharedConnection(self.engine, self._reads)
        token = _shared.set(shared)
        try:
            yield
        finally:
            _shared.reset(token)
            shared.close()

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        shared = _shared.get()
        if shared is not None and shared.engine is self.engine:
            return shared.connect()
        return self._reads.connect()

    # ---- meta -------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        with self._connect() as conn:
            return db.all_meta(conn)

    def data_version(self) -> str:
        """A token that changes whenever any loader (ours or another system) changes data."""
        with self._connect() as conn:
            return db.get_meta(conn, "data_version") or "0"

    def anchor_date(self) -> dt.date:
        """The latest day with recorded cases (periods such as 本月 end here)."""
        with self._connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(_case_source().c.day))).scalar()
        if latest is None:
            return dt.date.today() - dt.timedelta(days=1)
        return latest if isinstance(latest, dt.date) else dt.date.fromisoformat(str(latest))

    def data_span(self) -> tuple[dt.date | None, dt.date | None]:
        cs = _case_source()
        with self._connect() as conn:
            lo, hi = conn.execute(sa.select(sa.func.min(cs.c.day), sa.func.max(cs.c.day))).one()
        return lo, hi

    def unit_data_span(self, code: str) -> tuple[dt.date | None, dt.date | None]:
        """First and last day with case data for one unit (its roll-up), via the primary key.

        At the root this equals :meth:`data_span` but reads one unit's index range instead of
        scanning the whole roll-up table, so it is cheap enough for every page view.
        """
        cs = _case_source()
        # Two subqueries: SQLite answers a lone MIN or MAX from the index's ends, but scans
        # every row of the unit for both in one SELECT.
        first = sa.select(sa.func.min(cs.c.day)).where(cs.c.unit_code == code).scalar_subquery()
        last = sa.select(sa.func.max(cs.c.day)).where(cs.c.unit_code == code).scalar_subquery()
        with self._connect() as conn:
            lo, hi = conn.execute(sa.select(first, last)).one()
        return _as_date(lo), _as_date(hi)

    # ---- units ------------------------------------------------------------------------------
    def _unit_select(self) -> sa.Select:
        child = U.alias("child")
        n_children = (
            sa.select(sa.func.count()).where(child.c.parent_code == U.c.code).scalar_subquery()
        )
        return sa.select(
            U.c.code,
            U.c.name,
            U.c.level,
            U.c.parent_code,
            U.c.population,
            U.c.households,
            (U.c.geometry.is_not(None)).label("has_geometry"),
            n_children.label("child_count"),
        )

    def root(self) -> Unit:
        with self._connect() as conn:
            row = conn.execute(self._unit_select().where(U.c.parent_code.is_(None))).first()
        if row is None:
            raise db.DatabaseError("数据库中没有单位 / the database holds no units")
        return Unit(**row._asdict())

    def unit(self, code: str) -> Unit:
        with self._connect() as conn:
            row = conn.execute(self._unit_select().where(U.c.code == code)).first()
        if row is None:
            raise UnknownUnit(code)
        return Unit(**row._asdict())

    def lineage(self, code: str) -> list[Unit]:
        """The unit and its ancestors, root first (skipped levels simply do not appear)."""
        c = schema.unit_closure
        with self._connect() as conn:
            rows = conn.execute(
                self._unit_select()
                .join(c, c.c.ancestor_code == U.c.code)
                .where(c.c.descendant_code == code)
                .order_by(c.c.depth.desc())
            ).all()
        if not rows:
            raise UnknownUnit(code)
        return [Unit(**r._asdict()) for r in rows]

    def is_within(self, code: str, scope_code: str) -> bool:
        """True when ``code`` is ``scope_code`` or one of its descendants."""
        c = schema.unit_closure
        with self._connect() as conn:
            hit = conn.execute(
                sa.select(c.c.depth).where(
                    c.c.ancestor_code == scope_code, c.c.descendant_code == code
                )
            ).first()
        return hit is not None

    def children(self, code: str) -> pd.DataFrame:
        """Children of ``code`` in display order, with population and label points."""
        query = (
            sa.select(
                U.c.code,
                U.c.name,
                U.c.level,
                U.c.population,
                U.c.households,
                U.c.urban_rural,
                U.c.label_lon,
                U.c.label_lat,
                U.c.area_km2,
                (U.c.geometry_display.is_not(None)).label("has_geometry"),
            )
            .where(U.c.parent_code == code)
            .order_by(U.c.sort_key, U.c.code)
        )
        with self._connect() as conn:
            rows = conn.execute(query).all()
        return _rows_frame(rows, list(query.selected_columns.keys()))

    def units_at_level(self, level: str, within: str | None = None) -> pd.DataFrame:
        c = schema.unit_closure
        query = sa.select(U.c.code, U.c.name, U.c.parent_code, U.c.population).where(
            U.c.level == level
        )
        if within is not None:
            query = query.join(c, c.c.descendant_code == U.c.code).where(
                c.c.ancestor_code == within
            )
        with self._connect() as conn:
            rows = conn.execute(query.order_by(U.c.code)).all()
        return _rows_frame(rows, ["code", "name", "parent_code", "population"])

    def children_features(self, code: str) -> dict | None:
        """GeoJSON FeatureCollection of the children's display polygons (WGS-84).

        Returns None when no child has a polygon (the UI then shows a ranked chart).
        """
        query = (
            sa.select(U.c.code, U.c.name, U.c.geometry_display)
            .where(U.c.parent_code == code, U.c.geometry_display.is_not(None))
            .order_by(U.c.sort_key, U.c.code)
        )
        with self._connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return None
        shapes = [_display_shape(bytes(r.geometry_display)) for r in rows]
        features = [
            {
                "type": "Feature",
                "id": r.code,
                "properties": {"code": r.code, "name": r.name},
                "geometry": json.loads(text),
            }
            for r, (text, _) in zip(rows, shapes, strict=True)
        ]
        boxes = np.array([box for _, box in shapes])
        minx, miny = boxes[:, :2].min(axis=0)
        maxx, maxy = boxes[:, 2:].max(axis=0)
        return {
            "type": "FeatureCollection",
            "features": features,
            "bbox": [float(minx), float(miny), float(maxx), float(maxy)],
        }

    def unit_bounds(self, code: str) -> tuple[float, float, float, float] | None:
        with self._connect() as conn:
            wkb = conn.execute(sa.select(U.c.geometry_display).where(U.c.code == code)).scalar()
        if wkb is None:
            return None
        return tuple(shapely.from_wkb(wkb).bounds)  # type: ignore[return-value]

    # ---- facts ------------------------------------------------------------------------------
    def totals(
        self,
        codes: Sequence[str],
        start: dt.date,
        end: dt.date,
        categories: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Summed measures per unit over ``[start, end]``, one row per code, keys as columns.

        Columns follow ``docs/architecture.md``: ``dispute.received``, ``patrol.dispatches``,
        ``risk.red.open_end`` (open on ``end``), ``population`` … Units with no data get zeros.
        ``categories`` narrows the case measures only; without it they are read from
        ``case_stream_rollup``.
        """
        return self.totals_over(codes, [(start, end)], categories)[0]

    def totals_over(
        self,
        codes: Sequence[str],
        spans: Sequence[tuple[dt.date, dt.date]],
        categories: Sequence[str] | None = None,
        facts: Collection[str] | None = None,
    ) -> list[pd.DataFrame]:
        """:meth:`totals` for each ``(start, end)`` of ``spans``, in that order.

        One statement for all the roll-up tables, all the spans and the population (a
        ``UNION ALL`` of one read each, :func:`_totals_statement`): a view's KPIs over its
        period, 环比 and 同比 cost one round trip, not fifteen.

        ``facts`` (a subset of :data:`FACTS`: ``"case"``, ``"patrol"``, ``"risk"``) reads only
        those roll-ups; the other groups' columns are left out. A map shows one metric for
        every child: its patrol and risk sums were most of a long period's reading (a
        district's towns over 本年 on PostgreSQL: 84 of 110 ms).
        """
        codes = list(dict.fromkeys(codes))
        index = pd.Index(codes, name="code")
        if not codes:
            return [pd.DataFrame(index=index) for _ in spans]
        unknown = set(facts or ()) - set(FACTS)
        if unknown:
            raise ValueError(f"facts must be among {FACTS}, got {sorted(unknown)}")
        wanted = FACTS if facts is None else tuple(f for f in FACTS if f in facts)
        unique = list(dict.fromkeys((s, e) for s, e in spans))
        params: dict[str, Any] = {"codes": codes, **_span_params(unique)}
        if categories:
            params["cats"] = list(categories)
        tables = tuple(t for t, fact in enumerate(_TOTALS_FACTS) if fact in wanted)
        statement = _totals_statement(len(unique), bool(categories), tables)
        # On SQLite every branch binds each code again (an expanded IN): the codes go in
        # batches that keep a statement under SQLite's limit of bound values.
        per_batch = len(codes)
        if self.engine.dialect.name != "postgresql":
            per_batch = max(1, _MAX_BOUND // (len(unique) * len(tables) + 1))
        rows: list[Any] = []
        with self._connect() as conn:
            for at in range(0, len(codes), per_batch):
                params["codes"] = codes[at : at + per_batch]
                rows += conn.execute(statement, params).all()
        by_span: list[list[list[Any] | None]] = [
            [[] if t in tables else None for t in range(len(_TOTALS_FACTS))] for _ in unique
        ]
        pops: dict[str, Any] = {}
        for read, span, code, key, *sums in rows:
            if read == _POPULATION_READ:
                pops[code] = sums[0]
            else:
                by_span[span][read].append(_TOTALS_ROW[read](code, key, sums))  # type: ignore[union-attr]
        population = np.array([np.nan if pops.get(c) is None else float(pops[c]) for c in codes])
        frames = {
            span: _totals_frame(codes, index, by_span[i], population)
            for i, span in enumerate(unique)
        }
        # Equal spans (a year's 环比 is its 同比) share one read; each gets its own frame.
        out: list[pd.DataFrame] = []
        for start, end in spans:
            frame = frames[(start, end)]
            out.append(frame.copy() if any(f is frame for f in out) else frame)
        return out

    def case_series(
        self,
        code: str,
        start: dt.date,
        end: dt.date,
        stream: str,
        categories: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Daily sums of every case measure for one unit and stream; missing days filled with 0.

        ``categories`` narrows the sums to those categories (read from ``case_rollup``); without
        it they are read from ``case_stream_rollup``.
        """
        return self.case_series_each(code, start, end, [(stream, categories)])[0]

    def case_series_each(
        self,
        code: str,
        start: dt.date,
        end: dt.date,
        series: Sequence[tuple[str, Sequence[str] | None]],
    ) -> list[pd.DataFrame]:
        """:meth:`case_series` for each ``(stream, categories)`` of ``series``, in that order,
        read in one statement (a view's two trends: one round trip, not two)."""
        if not series:
            return []
        params: dict[str, Any] = {"code": code, "s0": start, "e0": end}
        for k, (stream, categories) in enumerate(series):
            params[f"stream{k}"] = stream
            if categories:
                params[f"cats{k}"] = list(categories)
        statement = _case_series_statement(tuple(bool(cats) for _, cats in series))
        with self._connect() as conn:
            rows = conn.execute(statement, params).all()
        measures = list(schema.CASE_MEASURES)
        mine: list[list[Any]] = [[] for _ in series]
        for row in rows:
            mine[row[0]].append(row[1:])
        return [_daily_frame(each, start, end, measures) for each in mine]

    def case_breakdown(
        self,
        code: str,
        start: dt.date,
        end: dt.date,
        stream: str,
        by: str = "category",
    ) -> pd.DataFrame:
        """Measures of one unit and stream grouped by ``category`` or ``channel``, largest first."""
        if by not in ("category", "channel"):
            raise ValueError(f"cannot group cases by {by!r}")
        m = list(schema.CASE_MEASURES)
        params = {"code": code, "stream": stream, "s0": start, "e0": end}
        with self._connect() as conn:
            found = conn.execute(_breakdown_statement(by), params).all()
        frame = _rows_frame(found, [by, *m])
        return frame.sort_values("received", ascending=False, ignore_index=True)

    def categories(self, stream: str | None = None) -> pd.DataFrame:
        """Every (stream, category) seen at the root, most frequent first."""
        cr = schema.case_rollup
        root = self.root().code
        query = (
            sa.select(cr.c.stream, cr.c.category, sa.func.sum(cr.c.received).label("received"))
            .where(cr.c.unit_code == root)
            .group_by(cr.c.stream, cr.c.category)
        )
        if stream:
            query = query.where(cr.c.stream == stream)
        with self._connect() as conn:
            frame = pd.DataFrame(
                conn.execute(query).all(), columns=["stream", "category", "received"]
            )
        return frame.sort_values(["stream", "received"], ascending=[True, False], ignore_index=True)

    def patrol_series(self, code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        params = {"code": code, "s0": start, "e0": end}
        with self._connect() as conn:
            rows = conn.execute(_PATROL_SERIES, params).all()
        return _daily_frame(rows, start, end, list(schema.PATROL_MEASURES))

    def patrol_totals(self, code: str, start: dt.date, end: dt.date) -> dict[str, float]:
        """Summed patrol measures of one unit over ``[start, end]``, under the totals keys.

        The patrol part of :meth:`totals` for one unit (``patrol.dispatches`` …, zeros without
        data) from a single range read of ``patrol_rollup``, for views that need nothing else.

        Parameters
        ----------
        code : str
        start, end : datetime.date

        Returns
        -------
        dict of str to float
            One key ``patrol.<m>`` per measure of :data:`data.schema.PATROL_MEASURES`.
        """
        return self.patrol_totals_over(code, [(start, end)])[0]

    def patrol_totals_over(
        self, code: str, spans: Sequence[tuple[dt.date, dt.date]]
    ) -> list[dict[str, float]]:
        """:meth:`patrol_totals` for each ``(start, end)`` of ``spans``, in one statement."""
        if not spans:
            return []
        m = list(schema.PATROL_MEASURES)
        params = {"code": code, **_span_params(spans)}
        with self._connect() as conn:
            found = conn.execute(_patrol_totals_statement(len(spans)), params).all()
        rows = {row[0]: row[1:] for row in found}
        return [
            {f"patrol.{x}": _number(v) for x, v in zip(m, rows[i], strict=True)}
            for i in range(len(spans))
        ]

    def risk_matrix(self, code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Five domains × four levels: new and closed within the period, open on ``end``.

        Twenty rows, always, in the order of ``RISK_DOMAINS`` × ``RiskLevel``.
        """
        params = {"code": code, "s0": start, "e0": end}
        with self._connect() as conn:
            found = conn.execute(_RISK_MATRIX, params).all()
        flow = {(d, lv): (n, c) for is_open, d, lv, n, c in found if not is_open}
        open_end = {(d, lv): n for is_open, d, lv, n, _ in found if is_open}
        from data.levels import RISK_DOMAINS

        # Twenty rows assembled in Python: indexing frames for them cost more than the queries.
        rows = [
            (
                domain,
                level.value,
                int(_number(flow.get((domain, level.value), (0, 0))[0])),
                int(_number(flow.get((domain, level.value), (0, 0))[1])),
                int(_number(open_end.get((domain, level.value), 0))),
            )
            for domain in RISK_DOMAINS
            for level in RiskLevel
        ]
        return _rows_frame(rows, ["domain", "level", "new", "closed", "open_end"])

    def hotspot_cells(
        self, code: str, start: dt.date, end: dt.date, streams: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Events per fine cell inside ``code`` over the period (lon, lat, events)."""
        hc, hd, c = schema.hotspot_cells, schema.hotspot_daily, schema.unit_closure
        query = (
            sa.select(hc.c.cell_id, hc.c.lon, hc.c.lat, sa.func.sum(hd.c.events).label("events"))
            .select_from(
                hd.join(hc, hc.c.cell_id == hd.c.cell_id).join(
                    c, c.c.descendant_code == hc.c.unit_code
                )
            )
            .where(c.c.ancestor_code == code, hd.c.day.between(start, end))
            .group_by(hc.c.cell_id, hc.c.lon, hc.c.lat)
        )
        if streams:
            query = query.where(hd.c.stream.in_(list(streams)))
        with self._connect() as conn:
            return pd.DataFrame(
                conn.execute(query).all(), columns=["cell_id", "lon", "lat", "events"]
            )


class _OneOf(sa.sql.expression.ColumnElement[bool]):
    """``column`` is one of the list bound as ``name``.

    PostgreSQL gets one array parameter (``= ANY(%(name)s::VARCHAR[])``); elsewhere it is
    ``IN`` with one parameter per value. With ``IN`` every length of list is its own statement
    text, so psycopg, which prepares a statement at its fifth use on a connection, rarely
    prepared a view's reads (one per number of children); PostgreSQL parsed and planned
    each again, the totals' ``UNION ALL`` of seventy sums included.
    """

    inherit_cache = True
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a condition already: no "= 1" where booleans are ints
    _traverse_internals = [
        ("column", sa.sql.visitors.InternalTraversal.dp_clauseelement),
        ("name", sa.sql.visitors.InternalTraversal.dp_string),
    ]

    def __init__(self, column: sa.ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name


@compiles(_OneOf)
def _one_of_in(element: _OneOf, compiler: Any, **kw: Any) -> str:
    listed = element.column.in_(sa.bindparam(element.name, expanding=True))
    return str(compiler.process(listed, **kw))


@compiles(_OneOf, "postgresql")
def _one_of_any(element: _OneOf, compiler: Any, **kw: Any) -> str:
    array = sa.bindparam(element.name, type_=postgresql.ARRAY(sa.String))
    return str(compiler.process(element.column == sa.any_(array), **kw))


def _span_params(spans: Sequence[tuple[dt.date, dt.date]]) -> dict[str, dt.date]:
    """Bound values of :func:`_in_span` for each span, by position."""
    out: dict[str, dt.date] = {}
    for i, (start, end) in enumerate(spans):
        out[f"s{i}"], out[f"e{i}"] = start, end
    return out


def _in_span(day: sa.ColumnElement[Any], i: int) -> sa.ColumnElement[bool]:
    return day.between(sa.bindparam(f"s{i}"), sa.bindparam(f"e{i}"))


def _per_span(n: int, build: Any) -> sa.Select[Any] | sa.CompoundSelect:
    """``build(span_column, i)`` for each of ``n`` spans, as one statement (``UNION ALL``)."""
    selects = [build(sa.literal(i, sa.Integer).label("span"), i) for i in range(n)]
    return selects[0] if n == 1 else sa.union_all(*selects)


#: The fact groups :meth:`Repository.totals_over` can read (``facts``).
FACTS = ("case", "patrol", "risk")
#: The group each of :func:`_totals_statement`'s four reads belongs to.
_TOTALS_FACTS = ("case", "patrol", "risk", "risk")


#: The read of :func:`_totals_statement` that answers the units' population.
_POPULATION_READ = len(_TOTALS_FACTS)
#: SQLite binds at most 32,766 values in one statement (since 3.32; 999 before): a margin.
_MAX_BOUND = 30_000
#: A row of :func:`_totals_statement` (code, key, padded sums) as :func:`_totals_frame` takes
#: it, per read: cases (code, stream, sums), patrols (code, sums), risk flows (code, level,
#: new, closed), risks open (code, level, open_end).
_TOTALS_ROW: tuple[Any, ...] = (
    lambda code, key, sums: (code, key, *sums[: len(schema.CASE_MEASURES)]),
    lambda code, key, sums: (code, *sums[: len(schema.PATROL_MEASURES)]),
    lambda code, key, sums: (code, key, sums[0], sums[1]),
    lambda code, key, sums: (code, key, sums[0]),
)


@functools.cache
def _totals_statement(n_spans: int, narrowed: bool, reads: tuple[int, ...]) -> sa.Executable:
    """:meth:`Repository.totals_over`'s reads as one statement, built once: for each of
    ``reads`` (positions in :data:`_TOTALS_FACTS`) and each of ``n_spans`` spans a branch,
    and the units' population, as one ``UNION ALL``.

    Every row is (read, span, unit, key, sums …): the key is the stream, the risk level or
    NULL, the sums are padded with NULLs to the widest read's. Bound: ``codes``,
    ``s<i>``/``e<i>`` per span and, when ``narrowed``, ``cats``. Building it (about seventy
    SUMs for three spans) cost several times more than running it for a grid.
    """
    cr = _case_source(["narrowed"] if narrowed else None)
    pr, rr = schema.patrol_rollup, schema.risk_rollup
    case_m, patrol_m = list(schema.CASE_MEASURES), list(schema.PATROL_MEASURES)
    widths = (len(case_m), len(patrol_m), 2, 1)
    width = max((widths[r] for r in reads), default=1)

    def branch(read: int, i: int, unit: Any, key: Any, sums: list[Any]) -> sa.Select[Any]:
        # Constants rendered in the SQL, not bound: one statement text whatever the values.
        tag = sa.literal_column(str(read), sa.Integer).label("read")
        span = sa.literal_column(str(i), sa.Integer).label("span")
        values = [*sums, *[sa.null()] * (width - len(sums))]
        return sa.select(
            tag,
            span,
            unit.label("code"),
            key.label("key"),
            *[value.label(f"v{k}") for k, value in enumerate(values)],
        )

    def cases(i: int) -> sa.Select[Any]:
        sums = [sa.func.sum(cr.c[m]) for m in case_m]
        q = (
            branch(0, i, cr.c.unit_code, cr.c.stream, sums)
            .where(_OneOf(cr.c.unit_code, "codes"), _in_span(cr.c.day, i))
            .group_by(cr.c.unit_code, cr.c.stream)
        )
        return q.where(_OneOf(cr.c.category, "cats")) if narrowed else q

    def patrols(i: int) -> sa.Select[Any]:
        sums = [sa.func.sum(pr.c[m]) for m in patrol_m]
        return (
            branch(1, i, pr.c.unit_code, sa.null(), sums)
            .where(_OneOf(pr.c.unit_code, "codes"), _in_span(pr.c.day, i))
            .group_by(pr.c.unit_code)
        )

    def risk_flows(i: int) -> sa.Select[Any]:
        sums = [sa.func.sum(rr.c.new), sa.func.sum(rr.c.closed)]
        return (
            branch(2, i, rr.c.unit_code, rr.c.level, sums)
            .where(_OneOf(rr.c.unit_code, "codes"), _in_span(rr.c.day, i))
            .group_by(rr.c.unit_code, rr.c.level)
        )

    def risks_open(i: int) -> sa.Select[Any]:
        return (
            branch(3, i, rr.c.unit_code, rr.c.level, [sa.func.sum(rr.c.open_end)])
            .where(_OneOf(rr.c.unit_code, "codes"), rr.c.day == sa.bindparam(f"e{i}"))
            .group_by(rr.c.unit_code, rr.c.level)
        )

    build = (cases, patrols, risk_flows, risks_open)
    population = branch(_POPULATION_READ, 0, U.c.code, sa.null(), [U.c.population]).where(
        _OneOf(U.c.code, "codes")
    )
    return sa.union_all(*[build[r](i) for r in reads for i in range(n_spans)], population)


@functools.cache
def _breakdown_statement(by: str) -> sa.Select[Any]:
    """Summed case measures of one unit and stream over a span, grouped by ``by``
    (``category`` or ``channel``, columns of ``case_rollup`` only), built once. Bound:
    ``code``, ``stream``, ``s0``, ``e0``."""
    cr = schema.case_rollup
    return (
        sa.select(cr.c[by], *[sa.func.sum(cr.c[m]).label(m) for m in schema.CASE_MEASURES])
        .where(
            cr.c.unit_code == sa.bindparam("code"),
            cr.c.stream == sa.bindparam("stream"),
            _in_span(cr.c.day, 0),
        )
        .group_by(cr.c[by])
    )


@functools.cache
def _case_series_statement(narrowed: tuple[bool, ...]) -> sa.Executable:
    """Daily case sums of one unit for several streams (:meth:`Repository.case_series_each`),
    one ``UNION ALL`` branch per stream, each row led by its branch's position. Bound:
    ``code``, ``s0``, ``e0``, and per branch ``stream<k>`` and, when narrowed, ``cats<k>``."""
    branches = []
    for k, narrow in enumerate(narrowed):
        cr = _case_source(["narrowed"] if narrow else None)
        query = (
            sa.select(
                sa.literal_column(str(k), sa.Integer).label("series"),
                cr.c.day,
                *[sa.func.sum(cr.c[m]).label(m) for m in schema.CASE_MEASURES],
            )
            .where(
                cr.c.unit_code == sa.bindparam("code"),
                cr.c.stream == sa.bindparam(f"stream{k}"),
                _in_span(cr.c.day, 0),
            )
            .group_by(cr.c.day)
        )
        branches.append(query.where(_OneOf(cr.c.category, f"cats{k}")) if narrow else query)
    return branches[0] if len(branches) == 1 else sa.union_all(*branches)


@functools.cache
def _patrol_totals_statement(n_spans: int) -> sa.Select[Any] | sa.CompoundSelect:
    pr = schema.patrol_rollup
    return _per_span(
        n_spans,
        lambda span, i: sa.select(
            span, *[sa.func.sum(pr.c[m]) for m in schema.PATROL_MEASURES]
        ).where(pr.c.unit_code == sa.bindparam("code"), _in_span(pr.c.day, i)),
    )


_PR, _RR = schema.patrol_rollup, schema.risk_rollup
_PATROL_SERIES = sa.select(_PR.c.day, *[_PR.c[m] for m in schema.PATROL_MEASURES]).where(
    _PR.c.unit_code == sa.bindparam("code"), _in_span(_PR.c.day, 0)
)
#: New and closed per domain and level over the span (``is_open`` 0), and open on its last
#: day (``is_open`` 1, in ``new``): one statement for :meth:`Repository.risk_matrix`.
_RISK_MATRIX = sa.union_all(
    sa.select(
        sa.literal_column("0", sa.Integer).label("is_open"),
        _RR.c.domain,
        _RR.c.level,
        sa.func.sum(_RR.c.new).label("new"),
        sa.func.sum(_RR.c.closed).label("closed"),
    )
    .where(_RR.c.unit_code == sa.bindparam("code"), _in_span(_RR.c.day, 0))
    .group_by(_RR.c.domain, _RR.c.level),
    sa.select(
        sa.literal_column("1", sa.Integer),
        _RR.c.domain,
        _RR.c.level,
        sa.func.sum(_RR.c.open_end),
        sa.null(),
    )
    .where(_RR.c.unit_code == sa.bindparam("code"), _RR.c.day == sa.bindparam("e0"))
    .group_by(_RR.c.domain, _RR.c.level),
)


def _floats(sums: list[Any]) -> np.ndarray:
    """Rows of SQL SUMs as floats, None (a SUM over no rows) as 0, in one conversion."""
    return np.nan_to_num(np.array(sums, dtype=float), nan=0.0)


_STREAM_VALUES = tuple(stream.value for stream in Stream)
_RISK_LEVEL_VALUES = tuple(level.value for level in RiskLevel)
_RISK_PARTS = ("new", "closed", "open_end")


@functools.cache
def _totals_columns(cases: bool, patrols: bool, risks: bool) -> pd.Index:
    """The columns of a totals frame with those groups read (``population`` last)."""
    names: list[str] = []
    if cases:
        names += [f"{s}.{m}" for s in _STREAM_VALUES for m in schema.CASE_MEASURES]
    if patrols:
        names += [f"patrol.{m}" for m in schema.PATROL_MEASURES]
    if risks:
        names += [f"risk.{lv}.{part}" for lv in _RISK_LEVEL_VALUES for part in _RISK_PARTS]
    return pd.Index([*names, "population"])


def _totals_frame(
    codes: list[str],
    index: pd.Index,
    rows: list[list[Any] | None],
    population: np.ndarray,
) -> pd.DataFrame:
    """The frame of :meth:`Repository.totals` from the rows of its four reads (cases, patrols,
    risk flows, risks open at the end; None for one not made), span column removed.

    The sums are written into one preallocated block that becomes the frame as it is: ~60
    columns built one by one, or stacked, cost more than the queries themselves.
    """
    cases, patrols, flows, opens = rows
    risks = flows is not None and opens is not None
    columns = _totals_columns(cases is not None, patrols is not None, risks)
    row_of = {code: i for i, code in enumerate(codes)}
    block = np.zeros((len(codes), len(columns)))
    offset = 0
    if cases is not None:
        width = len(schema.CASE_MEASURES)
        stream_at = {stream: k * width for k, stream in enumerate(_STREAM_VALUES)}
        mine = [row for row in cases if row[0] in row_of and row[1] in stream_at]
        if mine:
            at_rows = np.array([row_of[row[0]] for row in mine])[:, None]
            at_columns = np.array([stream_at[row[1]] for row in mine])[:, None] + np.arange(width)
            block[at_rows, at_columns] = _floats([row[2:] for row in mine])
        offset += len(_STREAM_VALUES) * width
    if patrols is not None:
        width = len(schema.PATROL_MEASURES)
        mine = [row for row in patrols if row[0] in row_of]
        if mine:
            block[[row_of[row[0]] for row in mine], offset : offset + width] = _floats(
                [row[1:] for row in mine]
            )
        offset += width
    if flows is not None and opens is not None:
        level_at = {lv: offset + k * len(_RISK_PARTS) for k, lv in enumerate(_RISK_LEVEL_VALUES)}
        for code, lv, n_new, n_closed in flows:
            if lv in level_at and code in row_of:
                block[row_of[code], level_at[lv]] = _number(n_new)
                block[row_of[code], level_at[lv] + 1] = _number(n_closed)
        for code, lv, n_open in opens:
            if lv in level_at and code in row_of:
                block[row_of[code], level_at[lv] + 2] = _number(n_open)
    block[:, -1] = population
    return pd.DataFrame(block, index=index, columns=columns, copy=False)


def _rows_frame(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Result rows as a frame, built column by column.

    Equal to ``pd.DataFrame(rows, columns=columns)``, which first makes the rows one 2-D
    object array and infers every column from it again: slower for the tens to hundreds of
    rows of a unit's children, read on every view.
    """
    if not rows:
        return pd.DataFrame(list(rows), columns=list(columns))
    return pd.DataFrame(
        {name: list(values) for name, values in zip(columns, zip(*rows, strict=True), strict=True)}
    )


def _daily_frame(
    rows: Sequence[Sequence[Any]], start: dt.date, end: dt.date, columns: list[str]
) -> pd.DataFrame:
    """``(day, *sums)`` rows as one row per day of ``[start, end]``, float, missing days 0.

    Filled in NumPy by day number: a frame indexed and reindexed by date cost several times
    the query (trends and patrol series, on every page view).
    """
    days = pd.date_range(start, end, freq="D", name="day")
    values = np.zeros((len(days), len(columns)))
    if rows and len(days):
        offsets = (_day_array([r[0] for r in rows]) - np.datetime64(days[0].date(), "D")).astype(
            np.int64
        )
        inside = (offsets >= 0) & (offsets < len(days))
        values[offsets[inside]] = _floats([r[1:] for r in rows])[inside]
    return pd.DataFrame(values, index=days, columns=columns)


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _day_array(values: list[Any]) -> np.ndarray:
    """Days as ``datetime64[D]``, from what the driver returns for a date column.

    Converted in bulk: one Python date per row cost a trend's read (~700 days on SQLite,
    ISO strings there) more than its query.
    """
    if values and all(isinstance(v, dt.date) for v in values):  # PostgreSQL: dates
        ordinals = np.fromiter((v.toordinal() for v in values), np.int64, len(values))
        return (ordinals - _EPOCH_ORDINAL).astype("datetime64[D]")
    if values and all(isinstance(v, str) for v in values):  # SQLite: ISO text
        # The date part, as _as_date reads it (NumPy would move a time with an offset to UTC).
        return np.array([v[:10] for v in values], dtype="datetime64[D]")
    return np.array([_as_date(v) for v in values], dtype="datetime64[D]")


def _as_date(value: object) -> dt.date | None:
    """A date from what the driver returns (a date on PostgreSQL, maybe a string on SQLite)."""
    if value is None or isinstance(value, dt.date):
        return value  # type: ignore[return-value]
    return dt.date.fromisoformat(str(value)[:10])
