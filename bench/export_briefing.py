"""Benchmark: export one full briefing pack for a district, cold and warm.

Run: ``.venv/bin/python -m bench.export_briefing [--db URL] [--unit CODE] [--runs 3]``.

* **cold** — a new process: Python start, imports, Chromium start, then the pack (what
  ``shiyu export`` costs for one unit). Measured as the wall time of a subprocess.
* **warm** — the process's renderer already started (what the 导出简报 button costs on a
  running server after its first export).

Prints the median of ``--runs`` runs of each and writes ``bench/results/export_briefing.json``.
Without ``--db`` the demo preset at ``/tmp/export-demo.sqlite`` is used when present, else
the tiny demo city is built into a temporary file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dashboard.settings import Settings

RESULTS = Path(__file__).parent / "results" / "export_briefing.json"
DEFAULT_DB = Path("/tmp/export-demo.sqlite")


def _database(url: str | None) -> str:
    if url:
        return url
    if DEFAULT_DB.is_file():
        return f"sqlite:///{DEFAULT_DB}"
    import datetime as dt

    from data import db
    from data.demo.build import build_demo_database

    path = Path(tempfile.mkdtemp(prefix="shiyu-bench-")) / "tiny.sqlite"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url, create=True)
    build_demo_database(engine, preset="tiny", seed=3, end=dt.date(2026, 10, 31))
    engine.dispose()
    return url


def _cold(url: str, unit: str, period: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "export",
            "--db",
            url,
            "--unit",
            unit,
            "--period",
            period,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL")
    parser.add_argument("--unit", help="district code (default: the first child of the root)")
    parser.add_argument("--period", default="year")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    from dashboard.export.pack import PackOptions, export_pack
    from dashboard.export.render import Renderer
    from data import db, views
    from data.repository import Repository

    url = _database(args.db)
    repo = Repository(db.make_engine(url))
    unit = args.unit or str(repo.children(repo.root().code)["code"].iloc[0])
    state = views.resolve_state(repo, {"unit": unit, "period": args.period})
    settings = Settings.from_env()
    options = PackOptions(data_source=settings.data_source, cjk_font=settings.cjk_font)

    with tempfile.TemporaryDirectory(prefix="shiyu-bench-export-") as tmp:
        cold = [_cold(url, unit, args.period, Path(tmp) / f"cold{i}") for i in range(args.runs)]
        renderer = Renderer(settings.cjk_font)
        t = time.perf_counter()
        renderer.start()
        start_s = time.perf_counter() - t
        first = export_pack(repo, state, Path(tmp) / "first", options, renderer=renderer)
        warm, timings = [], []
        for i in range(args.runs):
            t = time.perf_counter()
            result = export_pack(repo, state, Path(tmp) / f"warm{i}", options, renderer=renderer)
            warm.append(time.perf_counter() - t)
            timings.append(result.timings)
        renderer.close()

    report = {
        "unit": f"{state.unit.name} ({unit})",
        "period": state.period.label,
        "database": url,
        "runs": args.runs,
        "files_per_pack": len(first.files),
        "images_rendered_per_pack": renderer.images // (args.runs + 1),
        "cold_process_s": round(statistics.median(cold), 2),
        "chromium_start_s": round(start_s, 2),
        "first_pack_after_start_s": round(first.seconds, 2),
        "warm_pack_s": round(statistics.median(warm), 2),
        "warm_render_s": round(statistics.median(t["render_s"] for t in timings), 2),
        "warm_data_s": round(statistics.median(t["data_s"] for t in timings), 2),
    }
    print(
        f"export_briefing  {report['unit']} {report['period']}: "
        f"cold (new process) {report['cold_process_s']:.1f} s, "
        f"warm (renderer running) {report['warm_pack_s']:.1f} s "
        f"[of which Kaleido {report['warm_render_s']:.1f} s, data {report['warm_data_s']:.1f} s], "
        f"median of {args.runs}; {report['files_per_pack']} files, "
        f"{report['images_rendered_per_pack']} Kaleido images per pack"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
