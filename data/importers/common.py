"""Shared machinery: header aliases, the portable upsert, the transaction and roll-up hooks.

The upsert reads the existing rows for the keys the file covers, then bulk-inserts the new
ones and updates only the changed ones.  That is the same code on SQLite and PostgreSQL,
needs no unique-constraint syntax, and yields the inserted/updated/unchanged counts the
report (and ``--dry-run``) need, which ``INSERT … ON CONFLICT`` cannot tell apart.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from data import db, schema
from data.importers.reading import default_rejects_path, write_rejects
from data.importers.report import ImportFailed, ImportReport, RowError

#: Rows per INSERT/UPDATE batch and codes per ``IN (...)`` lookup.
CHUNK = 1000

UNIT_ALIASES: dict[str, list[str]] = {
    "code": [
        "区划代码",
        "行政区划代码",
        "统计用区划代码",
        "代码",
        "编码",
        "单位代码",
        "单位编码",
        "网格编码",
        "网格代码",
        "code",
        "adcode",
        "unit_code",
    ],
    "name": ["名称", "单位名称", "区划名称", "行政区划名称", "网格名称", "name"],
    "level": ["级别", "层级", "行政级别", "区划级别", "level"],
    "parent_code": [
        "上级代码",
        "父级代码",
        "上级区划代码",
        "上级编码",
        "父级编码",
        "上级单位代码",
        "parent",
        "parent_code",
        "parentcode",
        "parent_adcode",
    ],
    "population": ["人口", "常住人口", "户籍人口", "人口数", "population", "pop"],
    "households": ["户数", "总户数", "households"],
    "urban_rural": ["城乡分类代码", "城乡分类", "城乡属性", "urban_rural"],
    "grid_type": ["网格类型", "grid_type"],
    "sort_key": ["排序", "排序号", "sort_key"],
    "vintage": ["年份", "年度", "vintage"],
}

_UNIT_CODE = [
    "单位代码",
    "单位编码",
    "区划代码",
    "行政区划代码",
    "代码",
    "编码",
    "网格编码",
    "网格代码",
    "unit_code",
    "code",
    "unit",
]
_DAY = ["日期", "统计日期", "date", "月份", "统计月份", "年月", "month"]

FACT_ALIASES: dict[str, dict[str, list[str]]] = {
    "cases": {
        "unit_code": _UNIT_CODE,
        "day": _DAY,
        "stream": ["数据类别", "业务类别", "业务类型", "数据流", "stream"],
        "category": [
            "类型",
            "纠纷类型",
            "事件类型",
            "问题类型",
            "信访类型",
            "类别",
            "category",
            "type",
        ],
        "channel": [
            "渠道",
            "来源渠道",
            "受理渠道",
            "受理方式",
            "信访形式",
            "信访方式",
            "上报方式",
            "来源",
            "channel",
        ],
        "received": ["受理数", "件数", "件次", "上报数", "受理件数", "数量", "count"],
        "persons": ["人次", "人数", "信访人次"],
        "mediated_ok": ["调解成功数", "调解成功", "mediated"],
        "resolved": ["化解数", "化解"],
        "closed": ["办结数", "办结"],
        "closed_on_time": ["按期办结数", "按期办结"],
        "overdue": ["超期数", "超期"],
        "repeated": ["重复件数", "重复访", "重复"],
        "escalated": ["越级件数", "越级访", "越级"],
        "rated": ["参评数", "参评"],
        "satisfied": ["满意数", "满意"],
        "handling_days": ["办理天数合计", "办理天数", "办理时长"],
    },
    "patrols": {
        "unit_code": _UNIT_CODE,
        "day": _DAY,
        "groups": ["巡逻组次", "组次", "巡组"],
        "officers": ["警力人次", "警力", "投入警力"],
        "vehicles": ["车辆台次", "车辆", "巡逻车辆"],
        "hours": ["巡逻时长", "时长", "小时"],
        "km": ["巡逻里程", "里程", "公里"],
        "dispatches": ["处警数", "警情数", "出警数"],
        "arrived_1min": ["1分钟到达数", "1分钟内到达数", "一分钟到达数"],
        "arrived_3min": ["3分钟到达数", "3分钟内到达数", "三分钟到达数"],
        "arrived_5min": ["5分钟到达数", "5分钟内到达数", "五分钟到达数"],
    },
    "risks": {
        "unit_code": _UNIT_CODE,
        "day": _DAY,
        "domain": ["领域", "风险领域", "风险类别", "domain"],
        "level": ["等级", "风险等级", "预警等级", "级别", "level"],
        "new": ["新增", "新增数"],
        "closed": ["销号", "销号数"],
        "open_end": ["在册", "在册数", "日末在册", "期末在册"],
    },
}


@dataclass
class Upsert:
    """What an upsert would do: rows to insert, rows to update and how many are unchanged."""

    new: list[dict]
    changed: list[dict]
    unchanged: int


def same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)  # type: ignore[arg-type]
    return a == b


def plan_upsert(
    existing: dict[tuple, dict], rows: Iterable[dict], keys: Sequence[str], columns: Sequence[str]
) -> Upsert:
    """Compare ``rows`` with ``existing`` (key tuple → row) on ``columns`` only.

    Columns the file does not carry are not in ``columns`` and are therefore never
    overwritten: re-importing a units file without population keeps the stored population.
    """
    new, changed, unchanged = [], [], 0
    for row in rows:
        key = tuple(row[k] for k in keys)
        old = existing.get(key)
        if old is None:
            new.append(row)
        elif all(same(row[c], old[c]) for c in columns):
            unchanged += 1
        else:
            changed.append(row)
    return Upsert(new, changed, unchanged)


def apply_upsert(
    conn: sa.Connection, table: sa.Table, plan: Upsert, keys: Sequence[str], columns: Sequence[str]
) -> None:
    """Insert ``plan.new`` and update ``plan.changed`` (only ``columns``), in batches."""
    for lo in range(0, len(plan.new), CHUNK):
        conn.execute(sa.insert(table), plan.new[lo : lo + CHUNK])
    if plan.changed and columns:
        stmt = (
            sa.update(table)
            .where(*[table.c[k] == sa.bindparam(f"k_{k}") for k in keys])
            .values({c: sa.bindparam(f"v_{c}") for c in columns})
        )
        params = [
            {**{f"k_{k}": r[k] for k in keys}, **{f"v_{c}": r[c] for c in columns}}
            for r in plan.changed
        ]
        for lo in range(0, len(params), CHUNK):
            conn.execute(stmt, params[lo : lo + CHUNK])


def has_schema(conn: sa.Connection) -> bool:
    return sa.inspect(conn).has_table(schema.meta.name)


def ensure_schema(conn: sa.Connection) -> None:
    """Create the schema inside the import's transaction when the database is empty, or bring
    an older Shiyu's database up to date (the refresh after the write needs the new tables)."""
    if not has_schema(conn):
        schema.metadata.create_all(conn)
        db.set_meta(conn, {"schema_version": str(schema.SCHEMA_VERSION), "data_version": "0"})
    else:
        db.upgrade_schema(conn)


def existing_codes(conn: sa.Connection) -> dict[str, dict]:
    """Every stored unit (without geometry) by code; empty when there is no schema yet."""
    if not has_schema(conn):
        return {}
    u = schema.units
    cols = [c for c in u.columns if c.name not in ("geometry", "geometry_display")]
    return {r["code"]: dict(r) for r in conn.execute(sa.select(*cols)).mappings()}


def rollup_module():
    """:mod:`data.rollup`, imported when needed (it is written alongside the importers)."""
    from data import rollup  # noqa: PLC0415 - see docstring

    return rollup


def run_write(
    engine: sa.Engine, report: ImportReport, write: Callable[[sa.Connection], bool]
) -> None:
    """Run ``write(conn)`` in ONE transaction: all of it is committed, or none of it.

    ``write`` returns whether it changed anything; it is expected to refresh roll-ups and
    bump the data version itself, inside the same transaction.  A database error becomes
    :class:`ImportFailed`; any other exception propagates after the rollback.
    """
    try:
        with engine.begin() as conn:
            ensure_schema(conn)
            report.written = bool(write(conn))
    except sa.exc.SQLAlchemyError as exc:
        report.written = False
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        report.add_error(
            None,
            None,
            reason,
            "写入数据库失败，已全部回滚",
            "writing to the database failed; everything was rolled back",
        )
        raise ImportFailed(report) from exc


def finish_rejects(
    report: ImportReport,
    path: str | os.PathLike,
    header: list[str],
    bad: dict[int, list[RowError]],
    raw: dict[int, list[object]],
    rejects: str | os.PathLike | None,
) -> None:
    """Write the rejects file (every bad row unchanged + its reasons) for ``skip_bad``."""
    report.counts["rejected"] = len(bad)
    if not bad:
        return
    target = Path(rejects) if rejects else default_rejects_path(path)
    rows = []
    for n in sorted(bad):
        reasons = "; ".join(
            dict.fromkeys(
                f"{e.column + ': ' if e.column else ''}{e.reason_zh} / {e.reason_en}"
                for e in bad[n]
            )
        )
        rows.append((raw.get(n, []), f"第{n}行 row {n}: {reasons}"))
    report.rejects_path = write_rejects(target, header, rows)


def errors_by_row(report: ImportReport) -> dict[int, list[RowError]]:
    out: dict[int, list[RowError]] = {}
    for err in report.errors:
        if err.row is not None:
            out.setdefault(err.row, []).append(err)
    return out


def file_level_errors(report: ImportReport) -> list[RowError]:
    return [e for e in report.errors if e.row is None]
