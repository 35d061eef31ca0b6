"""Import daily or monthly statistics (cases, patrols, risks) from CSV or Excel.

A row names a unit by code, a day (``2026-10-05``) or a month (``2026-10``, ``2026年10月``),
the key columns of its table and any of the count columns.  **Monthly rows are stored on
the first day of the month**, so a month's total appears on e.g. 2026-10-01 and every
period that contains that day counts it.  Blank count cells mean 0; count columns absent
from the file are left as they are on rows already stored (and 0 on new rows).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from data import db, schema
from data.importers import validate as v
from data.importers.common import (
    CHUNK,
    FACT_ALIASES,
    apply_upsert,
    errors_by_row,
    existing_codes,
    file_level_errors,
    finish_rejects,
    has_schema,
    plan_upsert,
    rollup_module,
    run_write,
)
from data.importers.reading import load_mapping_or_fail, read_table, resolve_columns
from data.importers.report import ImportFailed, ImportReport

KINDS = ("cases", "patrols", "risks")

#: Key values used when a file has no such column.
DEFAULT_CATEGORY = "未分类"
DEFAULT_CHANNEL = "未注明"

#: Patrol measures stored as floats (hours, km); every other measure is a whole count.
AMOUNT_MEASURES = {"hours", "km"}

_LABELS_ZH = {
    "unit_code": "单位代码",
    "day": "日期",
    "stream": "数据类别",
    "domain": "风险领域",
    "level": "风险等级",
}


def import_facts(
    engine: sa.Engine,
    kind: str,
    path: str | os.PathLike,
    *,
    encoding: str = "auto",
    sheet: str | None = None,
    mapping: str | os.PathLike | None = None,
    stream: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    skip_bad: bool = False,
    rejects: str | os.PathLike | None = None,
    dry_run: bool = False,
    today: dt.date | None = None,
    vintage: int | None = None,
) -> ImportReport:
    """Upsert statistics rows into ``case_daily``, ``patrol_daily`` or ``risk_daily``.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    kind : {"cases", "patrols", "risks"}
    path : path-like
        CSV (UTF-8 or GBK) or ``.xlsx``; headers as in ``FACT_ALIASES`` or renamed by the
        mapping file.
    encoding, sheet, mapping, code_field
        Reading options.
    stream : {"dispute", "petition", "grid_event"}, optional
        Stream of every case row when the file has no stream column (or a blank cell).
    skip_bad, rejects, dry_run
        As for :func:`data.importers.import_units`.
    today : datetime.date, optional
        Rows after this day are refused (default: the real today).
    name_field, vintage
        Accepted for a uniform CLI; unused.

    Returns
    -------
    ImportReport
        ``day_range`` holds the first and last day written; the roll-ups of exactly that
        range are refreshed in the same transaction.

    Raises
    ------
    ImportFailed
        Unreadable file, missing columns or any bad row (unless ``skip_bad``).
    """
    del name_field, vintage
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    report = ImportReport(kind, str(path), dry_run=dry_run)
    table_obj, _, key_extra, measures = schema.FACT_PAIRS[kind]
    aliases = FACT_ALIASES[kind]
    user_map = load_mapping_or_fail(mapping, report)
    stream_default = None
    if stream is not None:
        try:
            stream_default = v.parse_stream(stream, user_map.values_for("stream"))
        except v.Invalid as exc:
            report.add_error(None, "--stream", stream, exc.reason_zh, exc.reason_en)
            raise ImportFailed(report) from exc

    table = read_table(path, report, aliases, user_map, encoding, sheet)
    if table is None:
        raise ImportFailed(report)
    pos, unused = resolve_columns(table.header, aliases, user_map, {"unit_code": code_field})
    required = ["unit_code", "day"]
    if kind == "cases" and stream_default is None:
        required.append("stream")
    if kind == "risks":
        required += ["domain", "level"]
    for col in required:
        if col not in pos:
            report.add_error(
                None,
                col,
                None,
                f"缺少必需的列（{_LABELS_ZH.get(col, col)}）",
                f"missing required column ({col})",
            )
    present = [m for m in measures if m in pos]
    if not present:
        report.add_error(
            None,
            None,
            ", ".join(table.header),
            "没有任何计数列（如 受理数）",
            "no count columns found (e.g. received)",
        )
    if file_level_errors(report):
        raise ImportFailed(report)
    if unused:
        report.warn("未使用的列", "columns not used", tuple(unused))
    report.counts["read"] = len(table.rows)

    with engine.connect() as conn:
        units = set(existing_codes(conn))
    if not units:
        report.add_error(
            None,
            None,
            None,
            "数据库中还没有单位，请先导入单位",
            "no units stored yet: import units first",
        )
        raise ImportFailed(report)

    keys = ["unit_code", "day", *key_extra]
    values = {
        name: user_map.values_for(name) for name in ("stream", "category", "channel", "domain")
    }
    values["level"] = user_map.values_for("risk_level") or user_map.values_for("level")
    parsers: dict[str, Callable[[object], Any]] = {
        "unit_code": lambda x: _unit(x, units),
        "day": lambda x: v.parse_day(x, today),
        "stream": lambda x: (
            stream_default
            if v.is_blank(x) and stream_default
            else v.parse_stream(x, values["stream"])
        ),
        "category": lambda x: v.parse_label(x, DEFAULT_CATEGORY, 32, values["category"]),
        "channel": lambda x: v.parse_label(x, DEFAULT_CHANNEL, 32, values["channel"]),
        "domain": lambda x: v.parse_domain(x, values["domain"]),
        "level": lambda x: str(v.parse_risk_level(x, values["level"])),
    }
    for m in measures:
        parsers[m] = v.parse_amount if m in AMOUNT_MEASURES else v.parse_count

    rows: dict[int, dict] = {}
    raw: dict[int, list[object]] = {}
    first_row: dict[tuple, int] = {}
    monthly_rows = daily_rows = 0
    for n, cells in table.rows:
        raw[n] = cells
        if n in table.bad_rows:
            continue
        rec: dict = {}
        ok = True
        for field in [*keys, *present]:
            if field not in pos:
                if field == "stream":
                    rec[field] = str(stream_default)
                else:
                    rec[field] = parsers[field](None)
                continue
            value = cells[pos[field]] if pos[field] < len(cells) else None
            try:
                parsed = parsers[field](value)
            except v.Invalid as exc:
                report.add_error(n, table.header[pos[field]], value, exc.reason_zh, exc.reason_en)
                ok = False
                continue
            if field == "day":
                parsed, monthly = parsed
                monthly_rows += monthly
                daily_rows += not monthly
            rec[field] = str(parsed) if field == "stream" else parsed
        if not ok:
            continue
        key = tuple(rec[k] for k in keys)
        if key in first_row:
            shown = " ".join(str(k) for k in key)
            report.add_error(
                n,
                None,
                f"{shown} (= 第{first_row[key]}行 / row {first_row[key]})",
                "重复行：同一单位、日期和分类出现多次",
                "duplicate row: the same unit, day and key appear more than once",
            )
            continue
        first_row[key] = n
        rows[n] = rec
    if monthly_rows:
        report.warn(
            f"{monthly_rows} 行为月度数据，记在当月1日",
            f"{monthly_rows} monthly rows are stored on the first day of their month",
        )
    if monthly_rows and daily_rows:
        report.warn("文件同时含日度和月度数据", "the file mixes daily and monthly rows")

    if report.errors and not skip_bad:
        raise ImportFailed(report)
    bad = errors_by_row(report)
    good = [rec for n, rec in rows.items() if n not in bad]
    if good:
        start = min(r["day"] for r in good)
        end = max(r["day"] for r in good)
        report.day_range = (start, end)
    with engine.connect() as conn:
        existing = _existing(conn, table_obj, keys, good)
    plan = plan_upsert(existing, good, keys, present)
    report.counts.update(
        inserted=len(plan.new), updated=len(plan.changed), unchanged=plan.unchanged
    )
    if skip_bad:
        finish_rejects(report, path, table.header, bad, raw, rejects)
    if dry_run:
        return report

    def write(conn: sa.Connection) -> bool:
        # Compare again inside the transaction: the rows may have moved since validation.
        final = plan_upsert(_existing(conn, table_obj, keys, good), good, keys, present)
        report.counts.update(
            inserted=len(final.new), updated=len(final.changed), unchanged=final.unchanged
        )
        if not final.new and not final.changed:
            return False
        apply_upsert(conn, table_obj, final, keys, present)
        changed_days = [r["day"] for r in (*final.new, *final.changed)]
        rollup_module().refresh(
            conn, tables=(kind,), start=min(changed_days), end=max(changed_days)
        )
        db.bump_data_version(conn)
        return True

    run_write(engine, report, write)
    return report


def _unit(value: object, units: set[str]) -> str:
    code = v.parse_code(value)
    for candidate in v.code_candidates(code):
        if candidate in units:
            return candidate
    raise v.Invalid("未知的单位代码", "unknown unit code")


def _existing(
    conn: sa.Connection, table: sa.Table, keys: list[str], rows: list[dict]
) -> dict[tuple, dict]:
    """Stored rows for the file's units within its day range, by natural key."""
    if not rows or not has_schema(conn):
        return {}
    start = min(r["day"] for r in rows)
    end = max(r["day"] for r in rows)
    codes = sorted({r["unit_code"] for r in rows})
    out: dict[tuple, dict] = {}
    for lo in range(0, len(codes), CHUNK):
        query = sa.select(table).where(
            table.c.unit_code.in_(codes[lo : lo + CHUNK]), table.c.day.between(start, end)
        )
        for r in conn.execute(query).mappings():
            out[tuple(r[k] for k in keys)] = dict(r)
    return out
