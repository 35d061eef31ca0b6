"""List the benchmarks: ``python -m bench``."""

BENCHMARKS = {
    "bench.import_cases": "import one million daily case rows from CSV (SQLite, PostgreSQL)",
    "bench.interactions": "every dashboard interaction on a 20,000-grid city: server, bytes, "
    "browser, floors, 20 users (--quick for a shorter run)",
    "bench.soak_screen": "the wall screen touring and refreshing for --minutes: JS heap, DOM, "
    "server RSS at start and end",
    "bench.export_briefing": "one full briefing pack for a district, cold and warm",
}

if __name__ == "__main__":
    print("Shiyu benchmarks (run with .venv/bin/python -m <name> [--help]):")
    for name, what in BENCHMARKS.items():
        print(f"  {name:<22} {what}")
