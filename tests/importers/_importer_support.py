"""Helpers shared by the importer tests.

A module of its own so that test files never ``import conftest``, which is ambiguous when
several test folders have one.
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from data import schema


def _find_realdata() -> Path | None:
    # The real data lives beside the repository (../shared), never inside it.
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "realdata" / "ningde"
        if candidate.is_dir():
            return candidate
    return None


NINGDE = _find_realdata()


def snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table, in key order: equal snapshots mean an unchanged database."""
    out = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return out


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]], sheet: str = "Sheet1") -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


#: A small fictional city: two districts each with a 万安镇 (same name, different parents),
#: a street, villages and one grid.
UNITS = [
    ["区划代码", "名称", "级别", "上级代码", "常住人口", "城乡分类代码"],
    ["359800", "示范市", "市", "", "900000", ""],
    ["359802", "东区", "区", "359800", "500000", ""],
    ["359803", "西区", "县", "359800", "400000", ""],
    ["359802001", "东街街道", "街道", "359802", "80000", ""],
    ["359802100", "万安镇", "镇", "359802", "30000", ""],
    ["359803100", "万安镇", "镇", "359803", "20000", ""],
    ["359802001001", "东街社区居委会", "社区", "359802001", "8000", "111"],
    ["359802100200", "上村村委会", "村", "359802100", "1500", "220"],
    ["359803100200", "下村村委会", "村", "359803100", "1200", "220"],
    ["359802001001001", "东街一网格", "网格", "359802001001", "900", ""],
]
