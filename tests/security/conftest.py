"""Fixtures for the security tests: a private copy of the tiny demo per test, secured apps."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from dash import Dash
from sec_helpers import build_secured_app, make_settings

from data import db, schema


@pytest.fixture
def demo_url(tiny_demo_url: str, tmp_path: Path) -> str:
    """A private copy of the tiny demo (users and audit rows differ per test)."""
    source = Path(tiny_demo_url.removeprefix("sqlite:///"))
    target = tmp_path / "demo.sqlite"
    shutil.copy(source, target)
    url = f"sqlite:///{target}"
    # The session's tiny demo also serves other tests, whose views and refusals are audited
    # into it: each security test starts from an empty trail.
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.delete(schema.audit_log))
    engine.dispose()
    return url


@pytest.fixture
def demo_engine(demo_url: str):
    engine = db.make_engine(demo_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app_factory(tmp_path: Path, demo_url: str, demo_engine: sa.Engine) -> Callable[..., Dash]:
    """Build the small secured app over the private demo, with settings overrides."""

    def make(**changes: object) -> Dash:
        return build_secured_app(make_settings(tmp_path, demo_url, **changes), demo_engine)

    return make
