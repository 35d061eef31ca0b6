"""Derived tables: the ancestor closure, the per-unit roll-ups of every fact table, and the
per-stream sums of the case roll-up.

All are rebuilt from ``units`` and the ``*_daily`` tables with set-based SQL, inside the
caller's transaction, so a loader's write and its roll-up refresh commit or fail together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from data import schema


class HierarchyError(ValueError):
    """The units do not form a tree (a missing parent or a cycle)."""


def closure_rows(parents: dict[str, str | None]) -> list[dict[str, object]]:
    """Every (ancestor, descendant, depth) pair of the tree given as ``code -> parent``.

    Raises
    ------
    HierarchyError
        If a parent is unknown or the parents form a cycle.
    """
    rows: list[dict[str, object]] = []
    for code in parents:
        seen = {code}
        node: str | None = code
        depth = 0
        while node is not None:
            rows.append({"ancestor_code": node, "descendant_code": code, "depth": depth})
            parent = parents.get(node)
            if parent is not None and parent not in parents:
                raise HierarchyError(
                    f"单位 {node} 的上级 {parent} 不存在 / parent {parent} of {node} not found"
                )
            if parent in seen:
                raise HierarchyError(f"单位 {code} 的上级链成环 / cycle through {parent}")
            if parent is not None:
                seen.add(parent)
            node = parent
            depth += 1
    return rows


def rebuild_closure(conn: sa.Connection) -> int:
    """Recompute ``unit_closure`` from ``units``; returns the number of pairs."""
    parents = dict(conn.execute(sa.select(schema.units.c.code, schema.units.c.parent_code)).all())
    rows = closure_rows(parents)
    conn.execute(sa.delete(schema.unit_closure))
    if rows:
        conn.execute(sa.insert(schema.unit_closure), rows)
    return len(rows)


def refresh(
    conn: sa.Connection,
    tables: Iterable[str] = ("cases", "patrols", "risks"),
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> None:
    """Rebuild the roll-ups of ``tables`` for days in ``[start, end]`` (all days when None).

    Each unit's roll-up row is the sum of the recorded rows of the unit itself and of every
    descendant, found through ``unit_closure`` (so towns' own records, e.g. walk-in petitions
    with no grid, are counted in the town and above). Rebuilding ``"cases"`` also rebuilds
    ``case_stream_rollup`` for the same days (:func:`refresh_case_streams`). The planner's
    statistics of every table written are refreshed too (:func:`refresh_statistics`).
    """
    written: list[sa.Table] = []
    for name in tables:
        daily, rollup, keys, measures = schema.FACT_PAIRS[name]
        where = []
        if start is not None:
            where.append(daily.c.day >= start)
        if end is not None:
            where.append(daily.c.day <= end)
        delete = sa.delete(rollup)
        if start is not None:
            delete = delete.where(rollup.c.day >= start)
        if end is not None:
            delete = delete.where(rollup.c.day <= end)
        conn.execute(delete)

        closure = schema.unit_closure
        group = [closure.c.ancestor_code, daily.c.day, *[daily.c[k] for k in keys]]
        select = (
            sa.select(*group, *[sa.func.sum(daily.c[m]) for m in measures])
            .select_from(daily.join(closure, closure.c.descendant_code == daily.c.unit_code))
            .where(*where)
            .group_by(*group)
        )
        conn.execute(sa.insert(rollup).from_select(["unit_code", "day", *keys, *measures], select))
        written += [daily, rollup]
        if name == "cases":
            refresh_case_streams(conn, start, end)
            written.append(schema.case_stream_rollup)
    refresh_statistics(conn, [schema.units, schema.unit_closure, *written])


def refresh_statistics(conn: sa.Connection, tables: Iterable[sa.Table]) -> None:
    """``ANALYZE`` the tables a loader has just written, on PostgreSQL.

    The dashboard's reads are small (a few units, a few periods); planned from PostgreSQL's
    default guesses they become parallel scans: after a three-year load, before autovacuum
    (off on some servers) got to the tables, each risk read of a grid's view took 7–9 ms
    instead of 0.5 ms. Costs ~2 s for the largest roll-up of the ``large`` preset, inside the
    loader's transaction. SQLite's planner takes the primary key for these reads without
    statistics, so nothing is done there.
    """
    if conn.dialect.name != "postgresql":
        return
    for table in dict.fromkeys(tables):
        conn.execute(sa.text(f'ANALYZE "{table.name}"'))


def refresh_case_streams(
    conn: sa.Connection, start: dt.date | None = None, end: dt.date | None = None
) -> None:
    """Rebuild ``case_stream_rollup`` for days in ``[start, end]`` from ``case_rollup``.

    Summing the finished roll-up over category and channel, rather than joining the recorded
    rows through the closure again, reads each ``case_rollup`` row of the span once (on SQLite
    in primary-key order, so the grouping needs no sort).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Inside the transaction that rebuilt ``case_rollup`` for these days.
    start, end : datetime.date, optional
        The day span; all days when None.
    """
    src, dst = schema.case_rollup, schema.case_stream_rollup
    measures = list(schema.CASE_MEASURES)
    delete = sa.delete(dst)
    where = []
    if start is not None:
        delete = delete.where(dst.c.day >= start)
        where.append(src.c.day >= start)
    if end is not None:
        delete = delete.where(dst.c.day <= end)
        where.append(src.c.day <= end)
    conn.execute(delete)
    group = [src.c.unit_code, src.c.day, src.c.stream]
    select = (
        sa.select(*group, *[sa.func.sum(src.c[m]) for m in measures]).where(*where).group_by(*group)
    )
    conn.execute(sa.insert(dst).from_select(["unit_code", "day", "stream", *measures], select))
