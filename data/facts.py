"""Bulk writes of fact frames into the recorded (``*_daily``) tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data import schema

CHUNK_ROWS = 50_000


def frame_records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, object]]:
    """Plain-Python records (int, float, str, date) that every DB-API driver accepts."""
    out = {}
    for col in columns:
        values = frame[col]
        if col == "day":
            days = pd.to_datetime(values)
            out[col] = [d.date() for d in days]
        elif pd.api.types.is_integer_dtype(values):
            out[col] = values.astype(np.int64).tolist()
        elif pd.api.types.is_float_dtype(values):
            out[col] = values.astype(float).tolist()
        else:
            out[col] = values.astype(str).tolist()
    return [dict(zip(columns, row, strict=True)) for row in zip(*out.values(), strict=True)]


def insert_frame(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> int:
    """Append ``frame`` to ``table``; columns are matched by name.

    Bulk loads bypass per-row SQLAlchemy processing: PostgreSQL gets ``COPY``, SQLite a plain
    DB-API ``executemany`` of tuples. Both run inside the caller's transaction.
    """
    columns = [c.name for c in table.columns if c.name in frame.columns]
    if frame.empty:
        return 0
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return _copy_postgres(conn, table, frame, columns)
    if dialect == "sqlite":
        placeholders = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({placeholders})'
        total = 0
        for lo in range(0, len(frame), CHUNK_ROWS):
            rows = _tuples(frame.iloc[lo : lo + CHUNK_ROWS], columns, iso_days=True)
            conn.exec_driver_sql(sql, rows)
            total += len(rows)
        return total
    total = 0
    for lo in range(0, len(frame), CHUNK_ROWS):
        records = frame_records(frame.iloc[lo : lo + CHUNK_ROWS], columns)
        conn.execute(sa.insert(table), records)
        total += len(records)
    return total


def _tuples(frame: pd.DataFrame, columns: list[str], *, iso_days: bool) -> list[tuple]:
    cols = []
    for col in columns:
        values = frame[col]
        if col == "day":
            days = pd.to_datetime(values)
            cols.append(
                days.dt.strftime("%Y-%m-%d").tolist() if iso_days else [d.date() for d in days]
            )
        elif pd.api.types.is_integer_dtype(values):
            cols.append(values.astype(np.int64).tolist())
        elif pd.api.types.is_float_dtype(values):
            cols.append(values.astype(float).tolist())
        else:
            cols.append(values.astype(str).tolist())
    return list(zip(*cols, strict=True))


def _copy_postgres(
    conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, columns: list[str]
) -> int:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    names = ", ".join(f'"{c}"' for c in columns)
    total = 0
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for lo in range(0, len(frame), CHUNK_ROWS):
            for row in _tuples(frame.iloc[lo : lo + CHUNK_ROWS], columns, iso_days=False):
                copy.write_row(row)
                total += 1
    return total


def day_span(*frames: pd.DataFrame) -> tuple[dt.date | None, dt.date | None]:
    days = [pd.to_datetime(f["day"]) for f in frames if len(f)]
    if not days:
        return None, None
    return min(d.min() for d in days).date(), max(d.max() for d in days).date()


TABLE_FOR = {
    "cases": schema.case_daily,
    "patrols": schema.patrol_daily,
    "risks": schema.risk_daily,
    "hotspot_cells": schema.hotspot_cells,
    "hotspot_daily": schema.hotspot_daily,
}
