"""``shiyu import units|boundaries|cases|patrols|risks FILE [options]``.

The main CLI (:mod:`dashboard.cli`) calls :func:`add_parser` to register the sub-command and
:func:`run` with the database URL it resolved (``--db`` / ``SHIYU_DATABASE_URL``).  All the
work is in :mod:`data.importers`; this module only turns arguments into options and the
report into text and an exit code.

Exit codes: 0 imported (or dry run fine), 1 refused because of bad rows (nothing written),
2 the file or database could not be used.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

KINDS = ("units", "boundaries", "cases", "patrols", "risks")

EPILOG = """\
示例 / examples:
  shiyu import units 单位.csv --vintage 2020 --dry-run
  shiyu import boundaries districts.geojson --crs gcj02 --dissolve-missing-parents
  shiyu import boundaries towns.shp --join name --parent-field 所属区县
  shiyu import cases 矛盾纠纷2026年10月.xlsx --stream dispute --skip-bad
  shiyu import patrols patrols.csv --encoding gb18030 --mapping mapping.toml

By default nothing is written when any row is bad; --skip-bad writes the good rows and puts
the bad ones, unchanged plus a reason column, into a rejects file.  Monthly rows (2026-10,
2026年10月) are stored on the first day of the month.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``import`` on the main CLI's sub-parsers and return its parser."""
    p = subparsers.add_parser(
        "import",
        help="import real data: units, boundaries, cases, patrols, risks",
        description="导入真实数据 / import real data (CSV, Excel, GeoJSON, Shapefile, GeoPackage)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", choices=KINDS, help="what the file holds")
    p.add_argument("file", help="CSV / .xlsx / GeoJSON / .shp / .gpkg")
    p.add_argument("--db", help="database URL (default: SHIYU_DATABASE_URL or the embedded demo)")
    p.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    p.add_argument(
        "--encoding", default="auto", help="text encoding (default auto: utf-8-sig, then gb18030)"
    )
    p.add_argument("--sheet", help="Excel sheet name or 1-based number (GeoPackage: layer)")
    p.add_argument("--layer", help="GeoPackage layer")
    p.add_argument("--mapping", help="TOML/YAML file mapping source columns and values to ours")
    p.add_argument("--code-field", help="column/attribute holding the unit code")
    p.add_argument("--name-field", help="column/attribute holding the unit name")
    p.add_argument("--parent-field", help="boundaries: attribute holding the parent (code or name)")
    p.add_argument(
        "--crs",
        choices=("wgs84", "cgcs2000", "epsg:4490", "gcj02", "bd09"),
        help="boundaries: what the coordinates really are (GCJ-02/BD-09 are never declared)",
    )
    p.add_argument(
        "--join",
        choices=("code", "name"),
        default="code",
        help="boundaries: match units by code or by name within parent",
    )
    p.add_argument(
        "--dissolve-missing-parents",
        action="store_true",
        help="boundaries: build missing parent outlines from children",
    )
    p.add_argument(
        "--stream",
        choices=("dispute", "petition", "grid_event"),
        help="cases: stream of every row when the file has no stream column",
    )
    p.add_argument(
        "--skip-bad", action="store_true", help="write good rows, put bad rows in a rejects file"
    )
    p.add_argument("--rejects", help="where to write rejected rows (default <file>.rejects.csv)")
    p.add_argument("--vintage", type=int, help="units: year of the code set, e.g. 2020")
    return p


def options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword options for the importer of ``args.kind``."""
    common = {
        "encoding": args.encoding,
        "mapping": args.mapping,
        "code_field": args.code_field,
        "name_field": args.name_field,
        "skip_bad": args.skip_bad,
        "rejects": args.rejects,
        "dry_run": args.dry_run,
    }
    if args.kind == "units":
        return {**common, "sheet": args.sheet, "vintage": args.vintage}
    if args.kind == "boundaries":
        return {
            **common,
            "layer": args.layer or args.sheet,
            "crs": args.crs,
            "join": args.join,
            "parent_field": args.parent_field,
            "dissolve_missing_parents": args.dissolve_missing_parents,
        }
    opts: dict[str, Any] = {**common, "sheet": args.sheet}
    if args.kind == "cases":
        opts["stream"] = args.stream
    return opts


def run(args: argparse.Namespace, db_url: str) -> int:
    """Run one import and print its report; returns the exit code."""
    from data import db  # noqa: PLC0415 - keep `shiyu --help` fast
    from data.importers import ImportFailed, import_boundaries, import_facts, import_units

    if args.dry_run and args.kind == "units" and _missing_sqlite_file(db_url):
        # Nothing to compare with yet: check the file against an empty in-memory database.
        print(
            "数据库文件尚不存在，按空库试运行 / database file does not exist yet: dry run against an empty one"
        )
        db_url = "sqlite://"
    try:
        # Only a units import may start a new SQLite file; anything else needs units first.
        engine = db.make_engine(db_url, create=args.kind == "units" and not args.dry_run)
    except db.DatabaseError as exc:
        print(f"shiyu: {exc}", file=sys.stderr)
        return 2
    opts = options(args)
    try:
        if args.kind == "units":
            report = import_units(engine, args.file, **opts)
        elif args.kind == "boundaries":
            report = import_boundaries(engine, args.file, **opts)
        else:
            report = import_facts(engine, args.kind, args.file, **opts)
    except ImportFailed as exc:
        print(exc.report.format(), file=sys.stderr)
        row_errors = any(e.row is not None for e in exc.report.errors)
        return 1 if row_errors else 2
    except (OSError, ValueError) as exc:
        print(f"shiyu: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(report.format())
    return 0


def _missing_sqlite_file(url: str) -> bool:
    from pathlib import Path  # noqa: PLC0415

    import sqlalchemy as sa  # noqa: PLC0415

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return False
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return False
    return not Path(path).exists()
