"""A/B of first visits' server time: two checkouts served side by side on one database.

Run: ``.venv/bin/python -m bench.ab_server --variant before=DIR --variant after=DIR
[--backend sqlite|postgresql] [--rounds 10]``.

Starts the production server (gunicorn, Redis cache) from each ``--variant`` directory on the
``large`` database of :mod:`bench.interactions`, records the tour's callback requests once in
Chromium, then, ``--rounds`` times, for each variant in turn (the order alternating by round):
bumps the data version as an import does, so every view is a first visit, and replays the
tour one request at a time. Each interaction's time is the workers' own (``Server-Timing``)
summed over its callbacks, as the benchmark's first-visit column. Prints medians and their
ratio. Two runs of the same checkout (an A/A) show how much the machine alone moves them.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
from pathlib import Path

from bench import interactions as bi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.ab_server", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variant",
        action="append",
        required=True,
        metavar="NAME=DIR",
        help="a checkout to serve (twice: A, then B)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/shiyu-bench"))
    args = parser.parse_args(argv)
    variants = [v.split("=", 1) for v in args.variant]
    if len(variants) != 2 or any(len(v) != 2 for v in variants):
        parser.error("give exactly two --variant NAME=DIR")

    url = bi.ensure_database(args.backend, args.data_dir, "large")
    steps, _others = bi.plan_tour(url)
    times: list[dict[str, list[float]]] = [{s.name: [] for s in steps} for _ in variants]
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                bi.Server(
                    url,
                    cache="redis",
                    workers=args.workers,
                    log_path=bi.RESULTS / f"ab-{name}.log",
                    root=Path(directory).resolve(),
                )
            )
            for name, directory in variants
        ]
        captured = bi.browser_tour(servers[0].base, steps, 1, capture=True)[0]
        cookies = [bi.sign_in_cookie(server.base) for server in servers]
        for round_ in range(args.rounds):
            for i in (0, 1) if round_ % 2 == 0 else (1, 0):
                bi.fresh_cache(url)
                for obs in captured:
                    calls = sorted(obs.calls, key=lambda c: c.wave)
                    results = [bi.post(servers[i].base, cookies[i], c.body) for c in calls]
                    failed = [r[1] for r in results if r[1] != 200]
                    if failed:
                        raise RuntimeError(f"{variants[i][0]}: {obs.step} answered {failed}")
                    times[i][obs.step].append(1000 * sum(r[4] for r in results))
            bi.log(f"round {round_ + 1} of {args.rounds}")

    (a, _), (b, _) = variants
    print(f"\nfirst visits, server ms (medians of {args.rounds} rounds, {args.backend})")
    print(f"{'interaction':<26}{a:>12}{b:>12}{'ratio':>8}")
    for step in steps:
        ma, mb = (statistics.median(t[step.name]) for t in times)
        print(f"{step.name:<26}{ma:>12.1f}{mb:>12.1f}{mb / ma:>7.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
