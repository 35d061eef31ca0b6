"""Import the unit hierarchy (code, name, level, parent, population …) from CSV or Excel."""

from __future__ import annotations

import datetime as dt
import os

import sqlalchemy as sa

from data import db, schema
from data.importers import validate as v
from data.importers.common import (
    UNIT_ALIASES,
    apply_upsert,
    errors_by_row,
    existing_codes,
    file_level_errors,
    finish_rejects,
    plan_upsert,
    rollup_module,
    run_write,
)
from data.importers.reading import load_mapping_or_fail, read_table, resolve_columns
from data.importers.report import ImportFailed, ImportReport
from data.levels import LEVEL_RANK, Level

OPTIONAL_COUNTS = ("population", "households")


def import_units(
    engine: sa.Engine,
    path: str | os.PathLike,
    *,
    encoding: str = "auto",
    sheet: str | None = None,
    mapping: str | os.PathLike | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    vintage: int | None = None,
    skip_bad: bool = False,
    rejects: str | os.PathLike | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Insert or update units from a table with code, name, level and parent columns.

    Units already stored and absent from the file are kept; a stored unit present in the
    file is updated only in the columns the file has (a file without population keeps the
    stored population).  Geometry is never touched here (see :func:`import_boundaries`).

    Parameters
    ----------
    engine : sqlalchemy.Engine
    path : path-like
        CSV (UTF-8 or GBK) or ``.xlsx``.  Headers may be Chinese or English (see
        ``UNIT_ALIASES``).  ``level`` may be blank or absent (inferred from the code length
        and the parent); ``parent_code`` may be absent (inferred as the longest code in the
        file or database that is a prefix of the code).
    encoding, sheet, mapping, code_field, name_field
        Reading options; ``mapping`` is a TOML/YAML file renaming columns and level names.
    vintage : int, optional
        Year of the code set; defaults to a ``年份``/``vintage`` column, else this year.
    skip_bad : bool
        Write the good rows and put the bad ones (and their descendants) in a rejects file.
    rejects : path-like, optional
        Where to write the rejects (default ``<name>.rejects.csv`` beside the input).
    dry_run : bool
        Validate and count, write nothing.

    Returns
    -------
    ImportReport

    Raises
    ------
    ImportFailed
        When the file cannot be read, or any row is bad and ``skip_bad`` is false; nothing
        is written.
    """
    report = ImportReport("units", str(path), dry_run=dry_run)
    user_map = load_mapping_or_fail(mapping, report)
    table = read_table(path, report, UNIT_ALIASES, user_map, encoding, sheet)
    if table is None:
        raise ImportFailed(report)
    pos, unused = resolve_columns(
        table.header, UNIT_ALIASES, user_map, {"code": code_field, "name": name_field}
    )
    for col in ("code", "name"):
        if col not in pos:
            report.add_error(
                None,
                col,
                None,
                f"缺少必需的列（{'代码' if col == 'code' else '名称'}）",
                f"missing required column ({col})",
            )
    if file_level_errors(report):
        raise ImportFailed(report)
    if unused:
        report.warn("未使用的列", "columns not used", tuple(unused))
    report.counts["read"] = len(table.rows)
    level_words = user_map.values_for("level")

    def cell(values: list[object], name: str) -> object:
        return values[pos[name]] if name in pos and pos[name] < len(values) else None

    parsed: dict[int, dict] = {}
    raw: dict[int, list[object]] = {}
    first_row: dict[str, int] = {}
    for order, (n, values) in enumerate(table.rows):
        raw[n] = values
        if n in table.bad_rows:
            continue
        rec: dict = {"_row": n, "sort_key": order}
        for name, parse in (
            ("code", v.parse_code),
            ("parent_code", lambda x: None if v.is_blank(x) else v.parse_code(x)),
            ("level", lambda x: v.parse_level(x, level_words)),
            ("population", lambda x: v.parse_count(x, blank=None)),
            ("households", lambda x: v.parse_count(x, blank=None)),
            ("urban_rural", v.parse_urban_rural),
            ("sort_key", lambda x: v.parse_count(x, blank=None)),
            ("vintage", lambda x: v.parse_count(x, blank=None)),
        ):
            if name not in pos:
                continue
            value = cell(values, name)
            try:
                parsed_value = parse(value)
            except v.Invalid as exc:
                report.add_error(n, table.header[pos[name]], value, exc.reason_zh, exc.reason_en)
                continue
            if name == "sort_key" and parsed_value is None:
                continue
            rec[name] = parsed_value
        name_value = cell(values, "name")
        if v.is_blank(name_value):
            report.add_error(n, table.header[pos["name"]], name_value, "名称为空", "name is empty")
        elif len(str(name_value).strip()) > 100:
            report.add_error(
                n,
                table.header[pos["name"]],
                name_value,
                "名称超过100个字符",
                "name longer than 100 characters",
            )
        else:
            rec["name"] = str(name_value).strip()
        gt = cell(values, "grid_type")
        rec["grid_type"] = None if v.is_blank(gt) else str(gt).strip()[:8]
        # A row whose code parsed still "exists" for the tree checks even if another cell is
        # bad, so its children do not collect secondary errors.
        if "code" in rec:
            code = rec["code"]
            if code in first_row:
                report.add_error(
                    n,
                    table.header[pos["code"]],
                    code,
                    "代码重复（同一代码出现多次）",
                    "duplicate code (the same code appears more than once)",
                )
                first = first_row[code]
                if first in parsed:
                    report.add_error(
                        first,
                        table.header[pos["code"]],
                        code,
                        "代码重复（同一代码出现多次）",
                        "duplicate code (the same code appears more than once)",
                    )
                    del parsed[first]
                continue
            first_row[code] = n
            parsed[n] = rec

    stored: dict[str, dict] = {}
    with engine.connect() as conn:
        stored = existing_codes(conn)

    _check_tree(report, table.header, pos, parsed, stored, skip_bad)

    if report.errors and not skip_bad:
        raise ImportFailed(report)
    bad = errors_by_row(report)
    good = [rec for n, rec in parsed.items() if n not in bad]

    year = vintage
    if year is None and "vintage" in pos:
        years = {rec.get("vintage") for rec in good if rec.get("vintage")}
        year = years.pop() if len(years) == 1 else None
    if year is None:
        year = dt.date.today().year
        report.warn(
            f"未指定区划年份，按 {year} 年记录（可用 --vintage 指定）",
            f"no vintage given; recorded as {year} (use --vintage)",
        )

    columns = ["name", "level", "parent_code", "vintage", "sort_key"]
    columns += [c for c in ("population", "households", "urban_rural") if c in pos]
    if "grid_type" in pos:
        columns.append("grid_type")
    rows = []
    for rec in good:
        row = {c: rec.get(c) for c in ["code", *columns]}
        row["vintage"] = rec.get("vintage") or year
        rows.append(row)
    plan = plan_upsert({(c,): r for c, r in stored.items()}, rows, ["code"], columns)
    report.counts.update(
        inserted=len(plan.new), updated=len(plan.changed), unchanged=plan.unchanged
    )

    if skip_bad:
        finish_rejects(report, path, table.header, bad, raw, rejects)
    if dry_run:
        return report

    def write(conn: sa.Connection) -> bool:
        # Compare again inside the transaction: the rows may have moved since validation.
        current = existing_codes(conn)
        final = plan_upsert({(c,): r for c, r in current.items()}, rows, ["code"], columns)
        report.counts.update(
            inserted=len(final.new), updated=len(final.changed), unchanged=final.unchanged
        )
        if not final.new and not final.changed:
            return False
        apply_upsert(conn, schema.units, final, ["code"], columns)
        rollup = rollup_module()
        rollup.rebuild_closure(conn)
        # Moving a unit changes every ancestor's totals: refresh all roll-ups.
        rollup.refresh(conn)
        db.bump_data_version(conn)
        return True

    run_write(engine, report, write)
    return report


def _check_tree(
    report: ImportReport,
    header: list[str],
    pos: dict[str, int],
    parsed: dict[int, dict],
    stored: dict[str, dict],
    skip_bad: bool,
) -> None:
    """Parents exist, exactly one root, no cycles, levels go down; fill inferred levels."""
    code_col = header[pos["code"]]
    parent_col = header[pos["parent_code"]] if "parent_code" in pos else code_col
    level_col = header[pos["level"]] if "level" in pos else code_col
    by_code = {rec["code"]: rec for rec in parsed.values()}

    if "parent_code" not in pos:
        # No parent column: the parent is the longest other code that prefixes this one,
        # which holds for national statistical codes (not for custom grid codes).
        stems = {_stem(c): c for c in [*stored, *by_code]}
        for rec in parsed.values():
            rec["parent_code"] = _prefix_parent(rec["code"], stems)

    def fail(rec: dict, column: str, value: object, zh: str, en: str) -> None:
        report.add_error(rec["_row"], column, value, zh, en)

    rejected: set[str] = set()
    while True:
        bad_rows = set(errors_by_row(report))
        alive = {c: r for c, r in by_code.items() if r["_row"] not in bad_rows}
        # Rows with errors still count as existing when we refuse the whole file, so their
        # children do not pile up secondary errors; with skip_bad they are really gone.
        present = set(alive) if skip_bad else set(by_code)
        merged_parent = {c: r.get("parent_code") for c, r in stored.items()}
        merged_parent.update({c: r.get("parent_code") for c, r in by_code.items() if c in present})
        new_errors = False
        for code, rec in alive.items():
            parent = rec.get("parent_code")
            if parent is not None and parent not in merged_parent:
                if skip_bad and parent in rejected | (set(by_code) - present):
                    fail(
                        rec,
                        parent_col,
                        parent,
                        "上级单位所在行被拒",
                        "the parent's row was rejected",
                    )
                else:
                    fail(rec, parent_col, parent, "上级单位不存在", "parent unit does not exist")
                rejected.add(code)
                new_errors = True
            elif parent == code:
                fail(
                    rec,
                    parent_col,
                    parent,
                    "上级单位是其自身（成环）",
                    "unit is its own parent (cycle)",
                )
                new_errors = True
        if not new_errors:
            break
        if not skip_bad:
            break

    bad_rows = set(errors_by_row(report))
    alive = {c: r for c, r in by_code.items() if r["_row"] not in bad_rows}
    merged_parent = {c: r.get("parent_code") for c, r in stored.items()}
    merged_parent.update({c: r.get("parent_code") for c, r in alive.items()})
    merged_level = {c: r.get("level") for c, r in stored.items()}

    # Cycles: follow parents from each file unit; a walk that meets itself is a cycle.
    in_cycle: set[str] = set()
    for code in alive:
        seen: list[str] = []
        node: str | None = code
        while node is not None and node in merged_parent and node not in seen:
            seen.append(node)
            node = merged_parent[node]
        if node is not None and node in seen:
            in_cycle.update(seen[seen.index(node) :])
    for code in sorted(in_cycle & set(alive), key=lambda c: alive[c]["_row"]):
        rec = alive[code]
        fail(
            rec,
            parent_col,
            rec.get("parent_code"),
            "上级关系成环",
            "the parent chain forms a cycle",
        )

    roots = [c for c, p in merged_parent.items() if p is None]
    if len(roots) > 1:
        for code in roots:
            if code in alive:
                others = ", ".join(sorted(r for r in roots if r != code)[:5])
                fail(
                    alive[code],
                    parent_col,
                    f"(other roots / 其他顶级: {others})",
                    "出现多个顶级单位，只能有一个无上级的单位",
                    "more than one root; exactly one unit may have no parent",
                )
    elif not roots and merged_parent and not in_cycle:
        report.add_error(
            None, parent_col, None, "没有顶级单位", "no root unit (every unit has a parent)"
        )

    # Levels: infer the blanks top-down, then check that each level lies below its parent's.
    def depth_order(code: str) -> int:
        d, node = 0, merged_parent.get(code)
        while node is not None and d < 64:
            d, node = d + 1, merged_parent.get(node)
        return d

    bad_rows = set(errors_by_row(report))
    for code in sorted(alive, key=depth_order):
        rec = alive[code]
        if rec["_row"] in bad_rows:
            continue
        if rec.get("level") is None:
            try:
                rec["level"] = v.infer_level(code, rec.get("parent_code") is None)
            except v.Invalid as exc:
                fail(rec, level_col, code, exc.reason_zh, exc.reason_en)
                continue
        merged_level[code] = rec["level"]
        parent = rec.get("parent_code")
        parent_level = merged_level.get(parent) if parent else None
        if (
            parent_level is not None
            and LEVEL_RANK[Level(rec["level"])] <= LEVEL_RANK[Level(parent_level)]
        ):
            fail(
                rec,
                level_col,
                rec["level"],
                "层级不低于上级单位的层级",
                "level is not below the parent's level",
            )
    # Stored units keep their levels; Level values are stored as plain strings.
    for rec in parsed.values():
        if rec.get("level") is not None:
            rec["level"] = str(Level(rec["level"]))


def _stem(code: str) -> str:
    # A city 359800 prefixes its districts as 3598; a province 350000 as 35 (GB/T 2260 pads).
    while 2 < len(code) <= 6 and code.endswith("00"):
        code = code[:-2]
    return code


def _prefix_parent(code: str, stems: dict[str, str]) -> str | None:
    """The known code whose stem is the longest proper prefix of ``code``.

    Used only when the file has no parent column: it holds for national statistical codes
    (``359802`` under ``359800``, ``359802100`` under ``359802``), not for custom grid codes.
    """
    for k in range(len(code) - 1, 0, -1):
        parent = stems.get(code[:k])
        if parent is not None and parent != code:
            return parent
    return None
