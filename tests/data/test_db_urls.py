"""Options Shiyu reads off the database URL (``data.db.make_engine``).

``?prepare_threshold=none`` is for PostgreSQL behind a pooler in transaction mode that does not
follow prepared statements (PgBouncer before 1.21): psycopg prepares a statement at its fifth
run on a connection, and the pooler would run the next transaction on a server connection
where that statement does not exist.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from data import db

#: A read psycopg prepares at its fifth run unless told otherwise.
READ = sa.text("SELECT count(*) FROM pg_class WHERE relname = :n")
PREPARED = sa.text("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql")


def _prepared_after_ten_runs(url: str) -> int:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            for _ in range(10):
                conn.execute(READ, {"n": "pg_class"}).scalar()
            return int(conn.execute(PREPARED).scalar() or 0)
    finally:
        engine.dispose()


def test_db001_prepare_threshold_none_prepares_nothing(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    url = engine.url.render_as_string(hide_password=False)
    assert _prepared_after_ten_runs(url) >= 1  # psycopg's default: prepared at the fifth run
    assert _prepared_after_ten_runs(url + "?prepare_threshold=none") == 0
    ours = db.make_engine(url + "?prepare_threshold=2")
    try:
        with ours.connect() as conn:
            assert conn.connection.driver_connection.prepare_threshold == 2
            # Taken off the URL, not handed to the server as a connection parameter.
            assert "prepare_threshold" not in ours.url.query
    finally:
        ours.dispose()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql+psycopg://u@127.0.0.1:1/x?prepare_threshold=sometimes", "'none'"),
        ("postgresql+psycopg://u@127.0.0.1:1/x?prepare_threshold=-1", "'none'"),
        ("sqlite:///x.sqlite?prepare_threshold=none", "postgresql\\+psycopg URLs only"),
    ],
)
def test_db002_a_bad_prepare_threshold_is_named(url: str, reason: str) -> None:
    with pytest.raises(db.DatabaseError, match=f"prepare_threshold.*{reason}"):
        db.make_engine(url)


@pytest.mark.parametrize(
    "url",
    [
        # Parsed, then refused by our own option.
        "postgresql+psycopg://shiyu:s3cret-pw@127.0.0.1:1/x?prepare_threshold=often",
        # Not even parsed (a port that is no number).
        "postgresql+psycopg://shiyu:s3cret-pw@db.intranet:port/x",
    ],
)
def test_db003_an_invalid_url_is_shown_without_its_password(url: str) -> None:
    with pytest.raises(db.DatabaseError, match="invalid database URL") as caught:
        db.make_engine(url)
    assert "s3cret-pw" not in str(caught.value)
    assert "shiyu:***@" in str(caught.value)
