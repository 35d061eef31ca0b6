"""The ``shiyu`` command: demo, build-demo, serve, check, warm, import.

Errors a user can cause (a wrong URL, an empty database, bad settings) print one readable line
and exit non-zero; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from dashboard.settings import Settings, SettingsError


def _fail(message: str) -> int:
    print(f"shiyu: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shiyu", description="市域社会治理指挥中心 dashboard")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="build the embedded demo database if missing, then serve")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--preset", default="demo", choices=["tiny", "demo", "large"])

    p = sub.add_parser("build-demo", help="generate the fictional demo city into a database")
    p.add_argument("--preset", default="demo", choices=["tiny", "demo", "large"])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", dest="db", help="database URL (default: the embedded SQLite demo)")
    p.add_argument("--end", help="last day of data, YYYY-MM-DD (default: yesterday)")

    p = sub.add_parser("serve", help="serve the dashboard")
    p.add_argument("--db", help="database URL (default: SHIYU_DATABASE_URL or the embedded demo)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--debug", action="store_true", default=None)
    p.add_argument(
        "--prod",
        action="store_true",
        help="serve with gunicorn: SHIYU_WORKERS processes, shared cache SHIYU_CACHE_URL",
    )

    p = sub.add_parser("check", help="validate a database: schema, hierarchy, roll-ups")
    p.add_argument("--db", help="database URL")

    p = sub.add_parser(
        "warm", help="render the city's and districts' views into the shared cache (Redis)"
    )
    p.add_argument("--db", help="database URL")
    p.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="keep running: check the data version every SECONDS and warm again when it changes",
    )

    try:
        from dashboard import cli_import
    except ImportError:  # the importer is optional while it is being built
        cli_import = None  # type: ignore[assignment]
    if cli_import is not None:
        cli_import.add_parser(sub)
    from dashboard import cli_export

    cli_export.add_parser(sub)

    try:
        from dashboard import cli_users
    except ImportError:  # accounts are optional while they are being built
        cli_users = None  # type: ignore[assignment]
    if cli_users is not None:
        cli_users.add_parser(sub)

    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return _fail(str(exc))
    from data.db import DatabaseError

    try:
        return _dispatch(args, settings)
    except (DatabaseError, SettingsError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from data import db

    if getattr(args, "db", None):
        settings = settings.with_overrides(database_url=args.db)
    if args.command == "build-demo":
        end = dt.date.fromisoformat(args.end) if args.end else None
        return _build_demo(settings, args.preset, args.seed, end)
    if args.command == "demo":
        settings = settings.with_overrides(host=args.host, port=args.port)
        if settings.uses_embedded_demo and not settings.demo_database_path.exists():
            code = _build_demo(settings, args.preset, 7, None)
            if code:
                return code
        return _serve(settings)
    if args.command == "serve":
        settings = settings.with_overrides(host=args.host, port=args.port, debug=args.debug)
        if args.prod:
            from dashboard import prod

            return prod.run(settings)
        return _serve(settings)
    if args.command == "check":
        from data.check import check_database

        engine = db.make_engine(settings.effective_database_url)
        report = check_database(engine)
        print(f"数据库 / database: {engine.url.render_as_string()}")
        print(report.format())
        return 0 if report.ok else 1
    if args.command == "export":
        from dashboard import cli_export

        return cli_export.run(args, settings.effective_database_url)
    if args.command == "warm":
        from dashboard import warm

        try:
            services = warm.shared_services(settings)
        except warm.NothingToWarm as exc:
            return _fail(str(exc))
        if args.watch is not None:
            if args.watch <= 0:
                return _fail(
                    "--watch 的间隔必须大于 0 / --watch needs a positive number of seconds"
                )
            warm.watch(services, args.watch, lambda line: print(line, flush=True))
            return 0
        print(warm.warm(services).format())
        return 0
    if args.command == "import":
        from dashboard import cli_import

        code = cli_import.run(args, settings.effective_database_url)
        if code == 0 and not args.dry_run and settings.cache_url:
            _warm_after_import(settings)
        return code
    if args.command in ("users", "audit"):
        from dashboard import cli_users

        return cli_users.run(args, settings.effective_database_url)
    raise AssertionError(args.command)


def _build_demo(settings: Settings, preset: str, seed: int, end: dt.date | None) -> int:
    import time

    from data import db
    from data.demo.build import build_demo_database

    url = settings.effective_database_url
    if settings.uses_embedded_demo:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(
        f"正在生成示例城市 / building the demo city ({preset}, seed {seed}) into {url}", flush=True
    )
    engine = db.make_engine(url, create=True)
    result = build_demo_database(
        engine,
        preset=preset,
        seed=seed,
        end=end,
        progress=lambda m: print("  " + m, flush=True),  # type: ignore[arg-type]
    )
    counts = ", ".join(f"{k}={v}" for k, v in result.items())
    print(f"完成 / done in {time.perf_counter() - started:.0f} s: {counts}")
    return 0


def _warm_after_import(settings: Settings) -> None:
    """New data is in: render the first views leaders open, so they do not wait for them.
    The import itself has succeeded whatever happens here."""
    from dashboard import warm

    try:
        print(warm.warm(warm.shared_services(settings)).format(), flush=True)
    except Exception as exc:  # noqa: BLE001 - the data is stored; a cold cache only costs time
        print(f"预热未完成 / warm-up skipped: {exc}", file=sys.stderr)


def _serve(settings: Settings) -> int:
    from dashboard.app import create_app, freeze_startup_heap

    app = create_app(settings)
    freeze_startup_heap()
    print(f"市域 dashboard on http://{settings.host}:{settings.port}/", flush=True)
    app.run(host=settings.host, port=settings.port, debug=settings.debug)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
