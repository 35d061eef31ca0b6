"""Fictional demo data. Only `shiyu build-demo` imports this package; no production code path does."""
