"""Fixtures for the importer tests: a small fictional hierarchy on the shared ``engine``."""

from __future__ import annotations

from pathlib import Path

import pytest
from _importer_support import UNITS, write_csv

# The ``engine`` fixture (SQLite, and PostgreSQL in a throw-away schema) comes from tests/conftest.py.


@pytest.fixture
def units_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "units.csv", UNITS)


@pytest.fixture
def seeded(engine, units_csv):
    """``engine`` with the fictional city imported."""
    from data.importers import import_units

    import_units(engine, units_csv, vintage=2025)
    return engine
