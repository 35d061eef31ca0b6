"""Benchmark: import one million daily case rows from CSV, on SQLite and on PostgreSQL.

Run: ``.venv/bin/python -m bench.import_cases [--rows 1000000] [--repeat 1]``. Prints a table of
rows per second (median over repeats) and writes ``bench/results/import_cases.json``.
Every run imports into a fresh database holding the demo city's units, so the numbers include
validation, the upsert, the roll-up refresh and the commit, as a real first import would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data import db, units
from data.importers import import_facts

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CATEGORIES = [
    "邻里纠纷",
    "婚姻家庭",
    "损害赔偿",
    "房屋宅基地",
    "合同纠纷",
    "劳动争议",
    "山林土地",
    "其它",
]
CHANNELS = ["主动调解", "申请调解", "委托移送"]


def make_csv(path: Path, grid_codes: np.ndarray, rows: int, end: dt.date, seed: int = 1) -> None:
    """A realistic daily table: unique (grid, day, category, channel) keys with small counts."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(end - dt.timedelta(days=3 * 365 - 1), end, freq="D")
    n_keys = len(grid_codes) * len(days) * len(CATEGORIES) * len(CHANNELS)
    picks = rng.choice(n_keys, size=rows, replace=False)
    picks.sort()
    ch, rest = picks % len(CHANNELS), picks // len(CHANNELS)
    cat, rest = rest % len(CATEGORIES), rest // len(CATEGORIES)
    day, grid = rest % len(days), rest // len(days)
    received = rng.integers(1, 4, size=rows)
    resolved = received - (rng.random(rows) < 0.03)
    frame = pd.DataFrame(
        {
            "网格编码": grid_codes[grid],
            "日期": days[day].strftime("%Y-%m-%d"),
            "纠纷类型": np.array(CATEGORIES)[cat],
            "受理方式": np.array(CHANNELS)[ch],
            "受理数": received,
            "调解成功数": resolved,
            "化解数": resolved,
        }
    )
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def fresh_database(kind: str, workdir: Path, city) -> tuple[sa.Engine, str | None]:
    if kind == "sqlite":
        engine = db.make_engine(f"sqlite:///{workdir / f'{uuid.uuid4().hex}.sqlite'}", create=True)
        schema_name = None
    else:
        schema_name = f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
        admin.dispose()
        engine = sa.create_engine(
            POSTGRES_URL, connect_args={"options": f"-csearch_path={schema_name}"}
        )
    db.create_schema(engine)
    with engine.begin() as conn:
        units.replace_units(conn, city, vintage=2026)
    return engine, schema_name


def drop(kind: str, engine: sa.Engine, schema_name: str | None) -> None:
    engine.dispose()
    if kind == "postgresql" and schema_name:
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)

    from geo.demo_city import build_city

    city = build_city("demo", seed=7)
    grids = city.loc[city["level"] == "grid", "code"].to_numpy()
    end = dt.date.today() - dt.timedelta(days=1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        csv = workdir / "cases.csv"
        make_csv(csv, grids, args.rows, end)
        size_mb = csv.stat().st_size / 1e6
        for kind in args.databases.split(","):
            seconds = []
            for _ in range(args.repeat):
                engine, schema_name = fresh_database(kind, workdir, city)
                try:
                    started = time.perf_counter()
                    report = import_facts(engine, "cases", csv, stream="dispute", today=end)
                    seconds.append(time.perf_counter() - started)
                    assert report.counts["inserted"] == args.rows, report.counts
                finally:
                    drop(kind, engine, schema_name)
            median = statistics.median(seconds)
            results.append(
                {
                    "database": kind,
                    "rows": args.rows,
                    "csv_mb": round(size_mb, 1),
                    "median_s": round(median, 1),
                    "rows_per_s": round(args.rows / median),
                }
            )
    print(f"{'database':<12}{'rows':>10}{'CSV MB':>9}{'median s':>10}{'rows/s':>10}")
    for r in results:
        print(
            f"{r['database']:<12}{r['rows']:>10}{r['csv_mb']:>9}{r['median_s']:>10}{r['rows_per_s']:>10}"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "import_cases.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
