"""Consistency checks behind ``shiyu check``: schema, hierarchy, closure and roll-ups."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from data import db, rollup, schema
from data.levels import LEVEL_RANK


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        lines = [f"  {k}: {v}" for k, v in self.facts.items()]
        if self.problems:
            lines.append(f"发现 {len(self.problems)} 个问题 / {len(self.problems)} problem(s):")
            lines += [f"  ✗ {p}" for p in self.problems]
        else:
            lines.append("检查通过 / all checks passed")
        return "\n".join(lines)


def check_database(engine: sa.Engine, max_listed: int = 20) -> CheckReport:
    """Validate a Shiyu database; never raises for data problems, it reports them.

    Raises
    ------
    data.db.DatabaseError
        When the database has no Shiyu schema or the wrong schema version.
    """
    meta = db.require_schema(engine)
    report = CheckReport()
    report.facts["schema_version"] = meta.get("schema_version")
    report.facts["data_version"] = meta.get("data_version")
    with engine.connect() as conn:
        units = pd.DataFrame(
            conn.execute(
                sa.select(
                    schema.units.c.code,
                    schema.units.c.level,
                    schema.units.c.parent_code,
                    schema.units.c.population,
                )
            ).all(),
            columns=["code", "level", "parent_code", "population"],
        )
        report.facts["units"] = len(units)
        report.facts["units_by_level"] = units["level"].value_counts().to_dict()
        _check_hierarchy(units, report, max_listed)
        _check_closure(conn, units, report)
        for name in schema.FACT_PAIRS:
            _check_rollup(conn, name, report, max_listed)
        _check_stream_rollup(conn, report, max_listed)
    return report


def _check_hierarchy(units: pd.DataFrame, report: CheckReport, max_listed: int) -> None:
    if units.empty:
        report.problems.append("没有任何单位 / no units")
        return
    roots = units[units["parent_code"].isna()]
    if len(roots) != 1:
        report.problems.append(
            f"应有且仅有一个根单位，实有 {len(roots)} / expected one root, found {len(roots)}"
        )
    known = set(units["code"])
    bad_level = units[~units["level"].isin(list(LEVEL_RANK))]
    for row in bad_level.head(max_listed).itertuples():
        report.problems.append(f"单位 {row.code} 级别无效 {row.level!r} / invalid level")
    level_of = dict(zip(units["code"], units["level"], strict=True))
    missing = []
    inverted = []
    for row in units.dropna(subset=["parent_code"]).itertuples():
        if row.parent_code not in known:
            missing.append(f"单位 {row.code} 的上级 {row.parent_code} 不存在 / parent missing")
        elif LEVEL_RANK.get(level_of[row.parent_code], -1) >= LEVEL_RANK.get(row.level, 99):
            inverted.append(
                f"单位 {row.code}({row.level}) 不低于其上级 {row.parent_code}"
                f"({level_of[row.parent_code]}) / level not below its parent"
            )
    report.problems += missing[:max_listed] + inverted[:max_listed]
    parents = {
        code: (parent if isinstance(parent, str) else None)
        for code, parent in zip(units["code"], units["parent_code"], strict=True)
    }
    try:
        rollup.closure_rows(parents)
    except rollup.HierarchyError as exc:
        report.problems.append(str(exc))


def _check_closure(conn: sa.Connection, units: pd.DataFrame, report: CheckReport) -> None:
    c = schema.unit_closure
    self_pairs = conn.execute(sa.select(sa.func.count()).where(c.c.depth == 0)).scalar()
    if self_pairs != len(units):
        report.problems.append(
            f"祖先关系表不完整：{self_pairs} 个自身条目 vs {len(units)} 个单位 / closure out of date; "
            "run the loader again"
        )


def _check_rollup(conn: sa.Connection, name: str, report: CheckReport, max_listed: int) -> None:
    """rollup(U) must equal U's own records plus the roll-ups of U's children, per measure."""
    daily, roll, _keys, measures = schema.FACT_PAIRS[name]
    u = schema.units
    own = pd.DataFrame(
        conn.execute(
            sa.select(daily.c.unit_code, *[sa.func.sum(daily.c[m]) for m in measures]).group_by(
                daily.c.unit_code
            )
        ).all(),
        columns=["code", *measures],
    ).set_index("code")
    rolled = pd.DataFrame(
        conn.execute(
            sa.select(roll.c.unit_code, *[sa.func.sum(roll.c[m]) for m in measures]).group_by(
                roll.c.unit_code
            )
        ).all(),
        columns=["code", *measures],
    ).set_index("code")
    report.facts[f"{name}_recorded_rows"] = conn.execute(
        sa.select(sa.func.count()).select_from(daily)
    ).scalar()
    parents = pd.DataFrame(
        conn.execute(sa.select(u.c.code, u.c.parent_code)).all(), columns=["code", "parent_code"]
    )
    unknown = sorted(set(own.index) - set(parents["code"]))
    if unknown:
        report.problems.append(
            f"{name}: {len(unknown)} 个记录单位不存在 / unknown units, e.g. {unknown[:5]}"
        )
    child_sum = (
        rolled.join(parents.set_index("code"), how="inner")
        .groupby("parent_code")[list(measures)]
        .sum()
    )
    expected = (
        own.reindex(parents["code"]).fillna(0).add(child_sum.reindex(parents["code"]).fillna(0))
    )
    actual = rolled.reindex(parents["code"]).fillna(0)
    diff = (expected - actual).abs().max(axis=1)
    bad = diff[diff > 1e-6]
    for code in bad.index[:max_listed]:
        cols = [m for m in measures if abs(expected.at[code, m] - actual.at[code, m]) > 1e-6]
        report.problems.append(
            f"{name}: 单位 {code} 汇总不等于本级+下级之和 / roll-up differs from own+children in {cols}"
        )
    if len(bad) > max_listed:
        report.problems.append(
            f"{name}: …另有 {len(bad) - max_listed} 个单位 / and {len(bad) - max_listed} more"
        )
    # Per day at the root: catches rows rolled onto the wrong day.
    root = parents.loc[parents["parent_code"].isna(), "code"]
    if len(root) == 1 and measures:
        m = measures[0]
        per_day_roll = dict(
            conn.execute(
                sa.select(roll.c.day, sa.func.sum(roll.c[m]))
                .where(roll.c.unit_code == root.iloc[0])
                .group_by(roll.c.day)
            ).all()
        )
        per_day_own = dict(
            conn.execute(
                sa.select(daily.c.day, sa.func.sum(daily.c[m])).group_by(daily.c.day)
            ).all()
        )
        wrong = [
            d
            for d in set(per_day_roll) | set(per_day_own)
            if per_day_roll.get(d, 0) != per_day_own.get(d, 0)
        ]
        if wrong:
            report.problems.append(
                f"{name}: {len(wrong)} 天的全市汇总与记录不符 / root roll-up wrong on days, e.g. {sorted(map(str, wrong))[:3]}"
            )


def _check_stream_rollup(conn: sa.Connection, report: CheckReport, max_listed: int) -> None:
    """case_stream_rollup must equal case_rollup summed over category and channel, row by row.

    Checked per (unit, day, stream) rather than per unit like the roll-ups: the dashboard reads
    single days from it (trend series, data spans), so a row moved to another day or a stray
    all-zero row would show even where a unit's totals agree.
    """
    roll, streams = schema.case_rollup, schema.case_stream_rollup
    measures = list(schema.CASE_MEASURES)
    key = ["unit_code", "day", "stream"]
    summed = (
        sa.select(*[roll.c[k] for k in key], *[sa.func.sum(roll.c[m]).label(m) for m in measures])
        .group_by(*[roll.c[k] for k in key])
        .subquery("summed")
    )
    # Each case_rollup group looked up by primary key: one pass over each table in key order.
    differs = (
        sa.select(
            *[summed.c[k] for k in key],
            streams.c.unit_code.is_(None).label("missing"),
            *[summed.c[m] for m in measures],
            *[streams.c[m] for m in measures],
        )
        .select_from(
            summed.outerjoin(streams, sa.and_(*[streams.c[k] == summed.c[k] for k in key]))
        )
        .where(
            sa.or_(streams.c.unit_code.is_(None), *[streams.c[m] != summed.c[m] for m in measures])
        )
    )
    extra = sa.select(*[streams.c[k] for k in key]).where(
        ~sa.exists().where(*[roll.c[k] == streams.c[k] for k in key])
    )
    report.facts["case_stream_rows"] = conn.execute(
        sa.select(sa.func.count()).select_from(streams)
    ).scalar()
    problems: list[str] = []
    n_bad = 0
    # Streamed: a table nobody refreshed differs in millions of rows, of which few are listed.
    for row in conn.execute(differs.execution_options(stream_results=True)):
        n_bad += 1
        if len(problems) >= max_listed:
            continue
        unit, day, stream = row[0], row[1], row[2]
        if row[3]:
            problems.append(
                f"case_stream_rollup: 缺少 单位 {unit} {day} {stream} 一行 / row missing "
                "although case_rollup has rows for it"
            )
            continue
        want = row[4 : 4 + len(measures)]
        have = row[4 + len(measures) :]
        cols = [m for m, w, h in zip(measures, want, have, strict=True) if w != h]
        problems.append(
            f"case_stream_rollup: 单位 {unit} {day} {stream} 不等于各类别、渠道之和 / differs from "
            f"case_rollup summed over category and channel in {cols}"
        )
    for row in conn.execute(extra.execution_options(stream_results=True)):
        n_bad += 1
        if len(problems) < max_listed:
            problems.append(
                f"case_stream_rollup: 单位 {row[0]} {row[1]} {row[2]} 多出一行 / row with no "
                "case_rollup rows"
            )
    report.problems += problems
    if n_bad > len(problems):
        more = n_bad - len(problems)
        report.problems.append(f"case_stream_rollup: …另有 {more} 行 / and {more} more")
