"""Soak benchmark: the big screen left running with a fast tour and refresh; does anything grow?

Run: ``.venv/bin/python -m bench.soak_screen --minutes 30``. It builds (or reuses) a demo
database, starts ``shiyu serve`` on it, signs a headless Chromium in and opens
``/screen/?tour=districts&interval=3&refresh=5`` — a tour stop every 3 s and a data refresh
every 5 s, i.e. a week of a real wall's 20 s / 60 s cadence compressed into hours. Every
``--sample-s`` seconds (default 60) it records:

* JS heap used, after a forced garbage collection (CDP ``HeapProfiler.collectGarbage`` then
  ``Performance.getMetrics`` → ``JSHeapUsedSize``) — what the page retains;
* DOM element count (``document.getElementsByTagName('*').length``) and CDP ``Nodes``,
  ``JSEventListeners``;
* the server's resident memory (``VmRSS`` from ``/proc/<pid>/status``);
* the screen's own counters: tour stops shown, successful refreshes, failed ones.

It prints the samples, a start/end/min/median/max summary, and writes everything to
``bench/results/soak_screen-<timestamp>.json``. ``--url`` measures an already running server
instead (server RSS only with ``--server-pid``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CHROMIUM = os.environ.get("SHIYU_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-precise-memory-info",
    # A wall's tab is always in front; headless must not throttle its timers either.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
METRICS = ("heap_mb", "dom_elements", "cdp_nodes", "listeners", "server_rss_mb")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_db(url: str, preset: str) -> None:
    from data import db

    path = Path(url.removeprefix("sqlite:///"))
    if url.startswith("sqlite:///") and path.exists() and path.stat().st_size > 100_000:
        return
    from data.demo.build import build_demo_database

    print(f"building the {preset} demo into {url} …", flush=True)
    engine = db.make_engine(url, create=True)
    build_demo_database(engine, preset=preset)
    engine.dispose()


def _start_server(db_url: str, port: int) -> subprocess.Popen[bytes]:
    log = open(Path(tempfile.gettempdir()) / f"soak-screen-server-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "serve", "--db", db_url, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early, see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not answer in time")


def _rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+)\s+kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def _sign_in(context, base: str, username: str, password: str) -> None:  # noqa: ANN001
    page = context.request.get(base + "/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text())
    if page.status != 200 or not match:
        return  # a server without the sign-in wall
    response = context.request.post(
        base + "/login",
        form={"username": username, "password": password, "csrf_token": match.group(1)},
        max_redirects=0,
    )
    if response.status != 302:
        raise RuntimeError(f"sign-in as {username} failed: HTTP {response.status}")


def _sample(page, cdp, server_pid: int | None, t0: float) -> dict:  # noqa: ANN001
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    js = page.evaluate(
        """() => {
            const s = window.shiyuScreenState || {};
            return {
                dom: document.getElementsByTagName('*').length,
                used: performance.memory ? performance.memory.usedJSHeapSize : null,
                stops: s.stops || 0, oks: s.oks || 0, failures: s.failures || 0,
                stale: document.documentElement.classList.contains('is-stale'),
                unit: (document.getElementById('screen-unit-title') || {}).textContent || '',
            };
        }"""
    )
    rss = _rss_mb(server_pid)
    return {
        "t_min": round((time.monotonic() - t0) / 60, 2),
        "heap_mb": round(metrics.get("JSHeapUsedSize", js["used"] or 0) / 2**20, 2),
        "dom_elements": js["dom"],
        "cdp_nodes": int(metrics.get("Nodes", 0)),
        "listeners": int(metrics.get("JSEventListeners", 0)),
        "server_rss_mb": None if rss is None else round(rss, 1),
        "tour_stops": js["stops"],
        "refresh_ok": js["oks"],
        "refresh_failed": js["failures"],
        "stale": js["stale"],
        "unit": js["unit"][:40],
    }


def _summary(samples: list[dict]) -> dict:
    out = {}
    for key in METRICS:
        values = [s[key] for s in samples if s.get(key) is not None]
        if not values:
            continue
        out[key] = {
            "start": values[0],
            "end": values[-1],
            "min": min(values),
            "median": round(statistics.median(values), 2),
            "max": max(values),
        }
    return out


def _print_table(samples: list[dict], summary: dict) -> None:
    head = f"{'min':>6} {'heap MB':>8} {'DOM':>6} {'nodes':>7} {'listen':>7} {'srv MB':>7} {'stops':>6} {'ok':>5} {'fail':>5}"
    print(head)
    for s in samples:
        print(
            f"{s['t_min']:>6.1f} {s['heap_mb']:>8.2f} {s['dom_elements']:>6} {s['cdp_nodes']:>7} "
            f"{s['listeners']:>7} {s['server_rss_mb'] if s['server_rss_mb'] is not None else '-':>7} "
            f"{s['tour_stops']:>6} {s['refresh_ok']:>5} {s['refresh_failed']:>5}"
        )
    print()
    print(f"{'metric':<14} {'start':>9} {'end':>9} {'min':>9} {'median':>9} {'max':>9}")
    for key, v in summary.items():
        print(
            f"{key:<14} {v['start']:>9} {v['end']:>9} {v['min']:>9} {v['median']:>9} {v['max']:>9}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--sample-s", type=float, default=60)
    parser.add_argument(
        "--db", default=f"sqlite:///{Path(tempfile.gettempdir()) / 'shiyu-soak.sqlite'}"
    )
    parser.add_argument("--preset", default="tiny", help="demo preset when the database is built")
    parser.add_argument("--url", help="measure this running server instead of starting one")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's pid for RSS")
    parser.add_argument("--tour-s", type=int, default=3)
    parser.add_argument("--refresh-s", type=int, default=5)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--canvas", default="std")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    server = None
    server_pid = args.server_pid
    base = args.url.rstrip("/") if args.url else None
    if base is None:
        _ensure_db(args.db, args.preset)
        port = _free_port()
        server = _start_server(args.db, port)
        server_pid = server.pid
        base = f"http://127.0.0.1:{port}"
    query = (
        f"?tour=districts&interval={args.tour_s}&refresh={args.refresh_s}"
        f"&canvas={args.canvas}&kiosk=1"
    )
    samples: list[dict] = []
    started = dt.datetime.now().isoformat(timespec="seconds")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            context = browser.new_context(
                viewport={"width": args.width, "height": args.height}, locale="zh-CN"
            )
            _sign_in(context, base, args.user, args.password)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)[:300]))
            page.goto(base + "/screen/" + query)
            page.wait_for_selector(".kpi-value[data-value]", timeout=60_000)
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            t0 = time.monotonic()
            end = t0 + args.minutes * 60
            next_at = t0
            while True:
                now = time.monotonic()
                if now >= next_at:
                    sample = _sample(page, cdp, server_pid, t0)
                    samples.append(sample)
                    print(json.dumps(sample, ensure_ascii=False), flush=True)
                    next_at += args.sample_s
                if now >= end:
                    break
                # Keep Playwright's event loop turning while the page runs on its own.
                page.wait_for_timeout(min(1000, max(next_at - now, 0) * 1000))
            browser.close()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    summary = _summary(samples)
    _print_table(samples, summary)
    result = {
        "benchmark": "soak_screen",
        "started": started,
        "minutes": args.minutes,
        "tour_s": args.tour_s,
        "refresh_s": args.refresh_s,
        "viewport": [args.width, args.height],
        "canvas": args.canvas,
        "db": args.db if args.url is None else None,
        "url": base + "/screen/" + query,
        "page_errors": errors[:20],
        "summary": summary,
        "samples": samples,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"soak_screen-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
