"""List the benchmarks: ``python -m bench``."""

BENCHMARKS = {
    "bench.import_cases": "import one million daily case rows from CSV (SQLite, PostgreSQL)",
    "bench.interactions": "every dashboard interaction on a 20,000-grid city: server, bytes, "
    "browser, floors, 20 users (--quick for a shorter run)",
    "bench.first_visits": "each drill's first visit in one process: time, statements, Redis "
    "round trips",
    "bench.ab_server": "first visits' server time of two checkouts served side by side",
    "bench.trace_drill": "one drill or choice under a Chromium trace: where click → rendered goes",
    "bench.soak_screen": "the wall screen touring and refreshing for --minutes: JS heap, DOM, "
    "server RSS at start and end",
    "bench.export_briefing": "one full briefing pack for a district, cold and warm",
}

if __name__ == "__main__":
    print("Shiyu benchmarks (run with .venv/bin/python -m <name> [--help]):")
    for name, what in BENCHMARKS.items():
        print(f"  {name:<22} {what}")
