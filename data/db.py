"""Engines, schema creation and the ``meta`` key/value table.

The same code runs on SQLite (embedded demo) and PostgreSQL; only the URL differs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import sqlalchemy as sa

from data import rollup, schema

log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """A database problem phrased for the person running Shiyu (one line, no traceback)."""


#: Exceptions meaning "the database cannot answer right now" (server down, file gone), for
#: callers that keep showing their last good data instead of failing.
UNAVAILABLE: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError, DatabaseError, OSError)


def make_engine(url: str, *, create: bool = False) -> sa.Engine:
    """Create an engine for ``url`` and check that it answers.

    A SQLite file that does not exist is an error unless ``create`` is true, so a mistyped
    path is reported instead of silently creating an empty database.

    Raises
    ------
    DatabaseError
        When the URL is malformed or the server cannot be reached.
    """
    try:
        parsed = sa.engine.make_url(url)
        parsed, connect_args = _driver_options(parsed)
        engine = sa.create_engine(
            parsed, future=True, pool_pre_ping=True, connect_args=connect_args
        )
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(
            f"数据库地址无效 / invalid database URL {_without_password(url)!r}: {exc}"
        ) from exc
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if path and path != ":memory:" and not create and not Path(path).exists():
            raise DatabaseError(f"数据库文件不存在 / database file not found: {path}")
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        sa.event.listen(engine, "connect", _postgres_settings)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(
            f"无法连接数据库 / cannot connect to {engine.url.render_as_string()}: {reason}"
        ) from exc
    return engine


def _without_password(url: str) -> str:
    """``url`` as an error message may show it: the password masked, even when SQLAlchemy
    cannot parse the rest (the message goes to logs and terminals)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)


#: ``?prepare_threshold=`` on a PostgreSQL URL: after how many runs on a connection psycopg
#: prepares a statement (its default: 5), or ``none`` never. A pooler in transaction mode
#: that does not follow prepared statements (PgBouncer before 1.21, or without
#: ``max_prepared_statements``) hands the next transaction another server connection, where
#: the statement does not exist or another client's has its name ("prepared statement
#: _pg3_0 already exists" behind PgBouncer 1.18): such a deployment needs ``none``.
PREPARE_THRESHOLD = "prepare_threshold"


def _driver_options(url: sa.URL) -> tuple[sa.URL, dict[str, object]]:
    """Our own URL query options taken out of ``url``, as ``connect_args``."""
    if PREPARE_THRESHOLD not in url.query:
        return url, {}
    if url.get_backend_name() != "postgresql" or url.get_driver_name() != "psycopg":
        raise ValueError(f"{PREPARE_THRESHOLD} applies to postgresql+psycopg URLs only")
    raw = url.query[PREPARE_THRESHOLD]
    text = (raw if isinstance(raw, str) else raw[-1]).strip().lower()
    if text in ("none", "off", "never"):
        threshold: int | None = None
    elif text.isdigit():
        threshold = int(text)
    else:
        raise ValueError(
            f"{PREPARE_THRESHOLD}={raw!r}: expected a number of runs (0: at once) or 'none'"
        )
    return url.difference_update_query([PREPARE_THRESHOLD]), {"prepare_threshold": threshold}


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects
    cur = dbapi_conn.cursor()
    # WAL lets the dashboard keep reading while a loader writes; foreign keys are not declared,
    # integrity is checked by `shiyu check` instead.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _postgres_settings(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects
    cur = dbapi_conn.cursor()
    # Our reads are small (a few units, a few periods, from the roll-ups): a parallel plan's
    # worker start-up cost more than the read itself (the children's totals of a city for two
    # periods, 7.8 ms of which 0.8 ms reading). Loaders' INSERT … SELECT never run in parallel.
    cur.execute("SET max_parallel_workers_per_gather = 0")
    cur.close()
    dbapi_conn.commit()  # psycopg began a transaction for the SET; end it before pooling


@contextlib.contextmanager
def bulk_load(engine: sa.Engine) -> Iterator[None]:
    """Let SQLite write a large load once instead of twice.

    In WAL mode every page of a big transaction is written to the log and then copied into the
    database; a rollback journal only saves pages that already existed, which for a fresh build is
    almost none. Atomicity is the same in both modes. Other databases are left alone.
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    try:
        yield
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def create_schema(engine: sa.Engine) -> None:
    """Create every table and index that does not exist yet, and stamp the schema version.

    A database made by an older Shiyu is upgraded first (:func:`upgrade_schema`): left to
    ``create_all``, a new derived table would be created empty beside filled roll-ups.
    """
    if has_schema(engine):
        with engine.begin() as conn:
            upgrade_schema(conn)
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        set_meta(conn, {"schema_version": str(schema.SCHEMA_VERSION)})
        if get_meta(conn, "data_version") is None:
            set_meta(conn, {"data_version": "0"})


def has_schema(engine: sa.Engine) -> bool:
    return sa.inspect(engine).has_table(schema.meta.name)


def get_meta(conn: sa.Connection, key: str) -> str | None:
    row = conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == key)).first()
    return None if row is None else row[0]


def all_meta(conn: sa.Connection) -> dict[str, str]:
    return dict(conn.execute(sa.select(schema.meta.c.key, schema.meta.c.value)).all())


def set_meta(conn: sa.Connection, values: Mapping[str, str]) -> None:
    """Upsert ``values`` into ``meta`` inside the caller's transaction."""
    for key, value in values.items():
        updated = conn.execute(
            sa.update(schema.meta).where(schema.meta.c.key == key).values(value=value)
        ).rowcount
        if not updated:
            conn.execute(sa.insert(schema.meta).values(key=key, value=value))


def bump_data_version(conn: sa.Connection) -> int:
    """Mark the data as changed so every cache keyed on the version is invalidated.

    Other systems that write the tables directly are expected to do the same
    (``UPDATE meta SET value = value + 1 WHERE key = 'data_version'``).
    """
    current = int(get_meta(conn, "data_version") or 0) + 1
    set_meta(
        conn,
        {
            "data_version": str(current),
            "data_changed_at": dt.datetime.now().isoformat(timespec="seconds"),
        },
    )
    return current


def require_schema(engine: sa.Engine) -> dict[str, str]:
    """Return the meta table, or raise :class:`DatabaseError` if the database is not Shiyu's.

    A database made by an older Shiyu is brought up to date first (:func:`upgrade_schema`,
    logged), so the dashboard, ``shiyu check`` and the other commands open it as it is.

    Raises
    ------
    DatabaseError
        No Shiyu schema, a schema version this Shiyu does not know, or an upgrade that failed
        (e.g. an account that may not create tables).
    """
    if not has_schema(engine):
        raise DatabaseError(
            f"数据库为空或不是市域数据库 / database {engine.url.render_as_string()} has no Shiyu "
            "schema: build one with `shiyu build-demo` or load data with `shiyu import`"
        )
    with engine.connect() as conn:
        values = all_meta(conn)
    version = values.get("schema_version")
    if version in UPGRADABLE:
        _upgrade(engine)
        with engine.connect() as conn:
            values = all_meta(conn)
        version = values.get("schema_version")
    if version != str(schema.SCHEMA_VERSION):
        raise DatabaseError(
            f"数据库结构版本不符 / schema version {version}, this Shiyu expects {schema.SCHEMA_VERSION}"
        )
    return values


#: Schema versions :func:`upgrade_schema` brings up to :data:`data.schema.SCHEMA_VERSION`.
UPGRADABLE = ("1",)

#: How long an upgrade waits for another process's write lock on SQLite (milliseconds): long
#: enough for a second dashboard worker to wait out the first one's upgrade of a large city.
_UPGRADE_BUSY_MS = 600_000
_BUSY_MS = 5_000  # pysqlite's default, restored afterwards


def upgrade_schema(conn: sa.Connection) -> list[str]:
    """Add what a database made by an older Shiyu lacks, inside the caller's transaction.

    Version 1 → 2 creates ``case_stream_rollup`` and fills it from ``case_rollup`` (one
    ``INSERT … SELECT``: 13–30 s for the ``large`` demo city on SQLite, 3.1 M rows).

    The version is claimed first with ``UPDATE … WHERE value = '1'``: that takes the write
    lock, so a second process upgrading at the same moment waits for the first and then finds
    nothing to do, and the new table commits together with the version that announces it.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Inside a transaction.

    Returns
    -------
    list of str
        One line per step done (also logged); empty when the database was up to date.
    """
    done: list[str] = []
    claimed = conn.execute(
        sa.update(schema.meta)
        .where(schema.meta.c.key == "schema_version", schema.meta.c.value == "1")
        .values(value="2")
    ).rowcount
    if claimed:
        t0 = time.perf_counter()
        schema.case_stream_rollup.create(conn, checkfirst=True)
        rollup.refresh_case_streams(conn)
        rollup.refresh_statistics(conn, [schema.case_stream_rollup])
        table = schema.case_stream_rollup
        rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        done.append(
            f"schema 1 → 2: case_stream_rollup filled from case_rollup "
            f"({rows} rows, {time.perf_counter() - t0:.1f} s)"
        )
    for line in done:
        log.warning("数据库结构已升级 / database upgraded: %s", line)
    return done


def _upgrade(engine: sa.Engine) -> None:
    """Run :func:`upgrade_schema` in its own transaction, phrased for the operator on failure."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {_UPGRADE_BUSY_MS}")
            conn.commit()  # ends SQLAlchemy's autobegun transaction; pysqlite began none
        try:
            with conn.begin():
                upgrade_schema(conn)
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0].rstrip(".")
            raise DatabaseError(
                f"数据库结构升级失败 / could not upgrade {engine.url.render_as_string()} to "
                f"schema version {schema.SCHEMA_VERSION}: {reason}. Run `shiyu check --db URL` "
                "once as a database user allowed to create tables."
            ) from exc
        finally:
            if sqlite:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {_BUSY_MS}")
                    conn.commit()
