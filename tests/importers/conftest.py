"""Fixtures for the importer tests: a fresh database per test (SQLite, and PostgreSQL when
reachable, each test in its own throw-away schema) and a small fictional hierarchy."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from _importer_support import PG_URL, UNITS, pg_available, write_csv

from data import db

_PG = pg_available()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    """An empty Shiyu schema on SQLite (a temp file) or in a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'shiyu.db'}", create=True)
        db.create_schema(eng)
        yield eng
        eng.dispose()
        return
    if not _PG:
        pytest.skip("PostgreSQL not reachable")
    name = f"imp_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    # search_path per connection keeps parallel test runs out of each other's tables.
    eng = db.make_engine(f"{PG_URL}?options=-csearch_path%3D{name}")
    try:
        db.create_schema(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def units_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "units.csv", UNITS)


@pytest.fixture
def seeded(engine, units_csv):
    """``engine`` with the fictional city imported."""
    from data.importers import import_units

    import_units(engine, units_csv, vintage=2025)
    return engine
