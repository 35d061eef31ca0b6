"""First visits in one process: each drill's server time, its statements and Redis round trips.

Run: ``.venv/bin/python -m bench.first_visits [--backend sqlite|postgresql] [--rounds 10]
[--verbose] [--variant NAME=DIR --variant NAME=DIR]``.

Builds the services a worker builds (:func:`dashboard.app.make_services`, Redis cache) on the
``large`` database of :mod:`bench.interactions`, then, ``--rounds`` times: bumps the data
version as an import does (every view a first visit) and renders the tour's page load and
drills one after another with the view callback's own function
(:func:`callbacks.dashboard.show_view`), as a city-wide user. Prints per step the median
time, the median time of its statements (from the cursor's execute to its result), and how
many statements and Redis round trips (a pipeline or script counts once) a visit made;
``--verbose`` lists them for the last round.

No HTTP, no gunicorn, no Chromium: what is left is the worker's own work. With two
``--variant`` options, each checkout runs in a process of its own (this interpreter, started
in its directory, each with its own cache keys) and every step is visited by both in turn,
the order alternating by round: this machine's speed drifts by 10–15 % over minutes, so
runs of two checkouts one after the other disagreed by more than what they compared. A
checkout older than this file needs a copy of it (``bench/first_visits.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from bench import interactions as bi


@contextmanager
def counting_redis(trips: list[str]) -> Any:
    """Record each round trip a Redis client makes (a command, or a pipeline's execute)."""
    command, pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def one(self: redis.Redis, *args: Any, **options: Any) -> Any:
        name = str(args[0])
        # A GET's key ends in "<method>:<hash>": the method says which read it was.
        trips.append(f"{name} {str(args[1]).split(':')[-2]}" if name == "GET" else name)
        return command(self, *args, **options)

    def batch(self: redis.client.Pipeline, *args: Any, **options: Any) -> Any:
        trips.append("pipeline " + " ".join(str(c[0][0]) for c in self.command_stack))
        return pipeline(self, *args, **options)

    redis.Redis.execute_command = one  # type: ignore[method-assign]
    redis.client.Pipeline.execute = batch  # type: ignore[method-assign]
    try:
        yield
    finally:
        redis.Redis.execute_command = command  # type: ignore[method-assign]
        redis.client.Pipeline.execute = pipeline  # type: ignore[method-assign]


def timing_statements(engine: sa.Engine, statements: list[tuple[str, float]]) -> None:
    """Record each statement the engine runs with its milliseconds (execute to result)."""
    started: dict[int, float] = {}

    def before(_conn: Any, cursor: Any, *_args: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        ms = 1000 * (time.perf_counter() - started.pop(id(cursor), time.perf_counter()))
        statements.append((" ".join(statement.split()), ms))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)


class Visitor:
    """Renders first visits the way a worker does and measures each."""

    def __init__(self, url: str, root: str, name: str = "") -> None:
        from dashboard.app import make_services
        from dashboard.settings import Settings
        from data.auth import Principal
        from data.cache import CachedRepository

        settings = Settings(database_url=url, cache_url=bi.REDIS_URL)
        viewer = Principal("bench", "admin", root)
        self.services = make_services(settings, current_user=lambda: viewer)
        if name and isinstance(self.services.repo, CachedRepository):
            # Two checkouts of the same code share a fingerprint: keep their entries apart.
            self.services.repo.prefix += f":{name}"
        self.statements: list[tuple[str, float]] = []
        self.trips: list[str] = []
        timing_statements(self.services.repo.engine, self.statements)

    def visit(self, code: str) -> dict[str, Any]:
        from callbacks.dashboard import show_view

        self.statements.clear()
        self.trips.clear()
        with counting_redis(self.trips):
            started = time.perf_counter()
            show_view(self.services, f"?unit={code}")
            ms = 1000 * (time.perf_counter() - started)
        return {
            "ms": ms,
            "sql_ms": sum(ms for _, ms in self.statements),
            "statements": [f"{ms:6.2f} ms  {text[:110]}" for text, ms in self.statements],
            "trips": list(self.trips),
        }


def serve(url: str, root: str, name: str) -> int:
    """A variant's process: one JSON line per unit code read, one JSON line answered."""
    visitor = Visitor(url, root, name)
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(visitor.visit(line.strip())), flush=True)
    return 0


class Remote:
    """A variant served by :func:`serve` in a process started in its own checkout."""

    def __init__(self, name: str, directory: Path, url: str) -> None:
        command = [sys.executable, "-m", "bench.first_visits", "--serve", name, "--url", url]
        self.process = subprocess.Popen(
            command, cwd=directory, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        if self.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name} ({directory}) did not start")

    def visit(self, code: str) -> dict[str, Any]:
        self.stdin.write(code + "\n")
        self.stdin.flush()
        return dict(json.loads(self.stdout.readline()))

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.first_visits", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/shiyu-bench"))
    parser.add_argument(
        "--url", default="", help="the same database reached another way (bench.latency_proxy)"
    )
    parser.add_argument("--verbose", action="store_true", help="list the last round's reads")
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME=DIR", help="a checkout (twice)"
    )
    parser.add_argument("--serve", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    pairs = [v.split("=", 1) for v in args.variant]
    if args.variant and (len(pairs) != 2 or any(len(p) != 2 for p in pairs)):
        parser.error("give no --variant, or exactly two NAME=DIR")

    url = args.url or bi.ensure_database(args.backend, args.data_dir, "large")
    steps, _ = bi.plan_tour(url)
    visits = [s for s in steps if s.kind in ("load", "drill")]
    root = visits[0].target
    if args.serve is not None:
        return serve(url, root, args.serve)
    names = [name for name, _ in pairs] or [""]
    runners: list[Visitor | Remote] = (
        [Remote(n, Path(d).resolve(), url) for n, d in pairs] if pairs else [Visitor(url, root)]
    )
    got: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {s.name: [] for s in visits} for n in names
    }
    try:
        for round_ in range(args.rounds):
            bi.fresh_cache(url)
            order = list(zip(names, runners, strict=True))
            for step in visits:
                for name, runner in order if round_ % 2 == 0 else order[::-1]:
                    got[name][step.name].append(runner.visit(step.target))
            bi.log(f"round {round_ + 1} of {args.rounds}")
    finally:
        for runner in runners:
            if isinstance(runner, Remote):
                runner.close()
    if args.verbose:
        for name in names:
            for step in visits:
                last = got[name][step.name][-1]
                print(f"== {name} {step.name}".replace("  ", " "))
                print("\n".join(f"  {line}" for line in last["statements"]))
                print("\n".join(f"  redis  {trip}" for trip in last["trips"]))
    print(f"\nfirst visits in process (medians of {args.rounds} rounds, {args.backend})")
    header = f"{'interaction':<22}"
    for name in names:
        header += f"{(name + ' ms').strip():>12}{'SQL ms':>8}{'statements':>12}{'Redis trips':>13}"
    print(header + ("   ratio" if pairs else ""))
    for step in visits:
        line = f"{step.name:<22}"
        medians = []
        for name in names:
            runs = got[name][step.name]
            medians.append(statistics.median(r["ms"] for r in runs))
            sql = statistics.median(r["sql_ms"] for r in runs)
            line += f"{medians[-1]:>12.1f}{sql:>8.1f}"
            line += f"{len(runs[-1]['statements']):>12}{len(runs[-1]['trips']):>13}"
        print(line + (f"{medians[1] / medians[0]:>7.2f}×" if pairs else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
