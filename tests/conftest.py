"""Shared fixtures: databases (SQLite and the local PostgreSQL), the demo city, a live server."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from data import db

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
POSTGRES_URL = os.environ.get(
    "SHIYU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: Fixed so that tests asserting on periods are reproducible.
DEMO_END = dt.date(2026, 10, 31)


def _postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


_PG = _postgres_reachable()
REQUIRE_PG = os.environ.get("SHIYU_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    if not _PG and REQUIRE_PG:
        pytest.fail(
            f"PostgreSQL required (SHIYU_REQUIRE_POSTGRES=1) but not reachable at {POSTGRES_URL}"
        )
    return _PG


def _fresh_postgres_engine() -> tuple[sa.Engine, str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    engine = sa.create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={name}"})
    return engine, name


def _drop_postgres_schema(name: str) -> None:
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_available: bool
) -> Iterator[sa.Engine]:
    """An empty database with the Shiyu schema, on SQLite and on PostgreSQL when reachable."""
    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'test.sqlite'}", create=True)
        db.create_schema(eng)
        yield eng
        eng.dispose()
        return
    if not postgres_available:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    eng, name = _fresh_postgres_engine()
    try:
        db.create_schema(eng)
        yield eng
    finally:
        eng.dispose()
        _drop_postgres_schema(name)


@pytest.fixture(scope="session")
def tiny_city():
    from geo.demo_city import build_city

    return build_city("tiny", seed=3)


@pytest.fixture(scope="session")
def tiny_demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file holding the tiny demo city, built once per test session."""
    from data.demo.build import build_demo_database

    path = tmp_path_factory.mktemp("demo") / "tiny.sqlite"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url, create=True)
    build_demo_database(engine, preset="tiny", seed=3, end=DEMO_END)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def tiny_repo(tiny_demo_url: str):
    from data.repository import Repository

    return Repository(db.make_engine(tiny_demo_url))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
