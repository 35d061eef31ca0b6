"""``shiyu export --unit CODE --period … --out DIR [--children]``: briefing packs from the shell.

The main CLI (:mod:`dashboard.cli`) calls :func:`add_parser` to register the sub-command and
:func:`run` with the database URL it resolved. Each pack is exactly what the dashboard's
导出简报 button gives for the same URL query (:func:`dashboard.export.pack.export_pack`).
With ``--children`` the unit's pack is followed by one pack per child unit (a city meeting:
one per district). One Chromium serves all packs of a run.

Exit codes: 0 all packs written, 1 a unit or period was refused (nothing rendered for it),
2 the database, font or browser could not be used.
"""

from __future__ import annotations

import argparse
import sys

from data.periods import PERIOD_CHOICES

EPILOG = """\
示例 / examples:
  shiyu export --unit 359802 --period year --out 简报/
  shiyu export --unit 359800 --period month --out 简报/ --children
  shiyu export --unit 359802 --period custom --start 2026-01-01 --end 2026-10-31 --out 简报/
  shiyu export --unit 359802 --period quarter --metric dispute_resolution_rate --out 简报/

Each pack holds a slide image (3840×2160), a document figure (1843 px wide, 300 dpi), a PPTX,
the summary paragraph as text, each panel as its own image, and manifest.json.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``export`` on the main CLI's sub-parsers and return its parser."""
    p = subparsers.add_parser(
        "export",
        help="export meeting briefings (images, PPTX) for a unit and period",
        description="导出会议简报 / export meeting briefings (PNG, PPTX)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", help="database URL (default: SHIYU_DATABASE_URL or the embedded demo)")
    p.add_argument("--unit", help="unit code (default: the root, e.g. the whole city)")
    p.add_argument(
        "--period",
        default="month",
        choices=list(PERIOD_CHOICES),
        help="reporting period (default month)",
    )
    p.add_argument("--start", help="custom period: first day, YYYY-MM-DD")
    p.add_argument("--end", help="custom period: last day, YYYY-MM-DD")
    p.add_argument("--metric", help="map and ranking metric (default dispute_received)")
    p.add_argument("--stream", choices=("dispute", "petition", "grid_event"), help="focus stream")
    p.add_argument("--out", required=True, help="folder for the packs (created if missing)")
    p.add_argument("--children", action="store_true", help="also one pack per child unit")
    p.add_argument("--no-internal", action="store_true", help="omit the 内部资料 marking")
    p.add_argument(
        "--images-only",
        action="store_true",
        help="only the slide image and document figure (no PPTX, no panel images)",
    )
    return p


def _query(args: argparse.Namespace) -> dict[str, str]:
    query = {"period": args.period}
    for key in ("unit", "start", "end", "metric", "stream"):
        value = getattr(args, key, None)
        if value:
            query[key] = value
    return query


def run(args: argparse.Namespace, db_url: str) -> int:
    """Write the packs and print one line per pack; returns the exit code."""
    from dashboard.export import compose  # noqa: PLC0415 - keep `shiyu --help` fast
    from dashboard.export.pack import PackOptions, export_pack, iter_states
    from dashboard.export.render import ExportUnavailable, get_renderer, shutdown_renderer
    from dashboard.settings import Settings
    from data import db, views
    from data.repository import Repository

    settings = Settings.from_env()
    try:
        compose.require_font(settings.cjk_font)
        engine = db.make_engine(db_url)
        db.require_schema(engine)
    except (compose.FontMissing, db.DatabaseError) as exc:
        print(f"shiyu: {exc}", file=sys.stderr)
        return 2
    repo = Repository(engine)
    state = views.resolve_state(repo, _query(args))
    if state.messages:
        # A wrong code or period must not silently export the whole city instead.
        for message in state.messages:
            print(f"shiyu: {message}", file=sys.stderr)
        if args.unit and state.unit.code != args.unit or any("已改为" in m for m in state.messages):
            return 1
    options = PackOptions(
        data_source=settings.data_source,
        cjk_font=settings.cjk_font,
        internal=not args.no_internal,
        small_count_threshold=settings.small_count_threshold,
        tiles_url=settings.tiles_url,
        tiles_crs=settings.tiles_crs,
        full=not args.images_only,
    )
    try:
        renderer = get_renderer(settings.cjk_font)
        for each in iter_states(repo, state, args.children):
            result = export_pack(repo, each, args.out, options, renderer=renderer)
            print(f"{result.directory}  ({len(result.files)} 个文件, {result.seconds:.1f} s)")
    except ExportUnavailable as exc:
        print(f"shiyu: {exc}", file=sys.stderr)
        return 2
    finally:
        shutdown_renderer()
        engine.dispose()
    return 0
