"""Production serving: gunicorn with several worker processes in front of ``dashboard.wsgi``.

``shiyu serve --prod`` (or ``python -m dashboard.prod``) replaces itself with::

    python -m gunicorn --worker-class gthread --workers N --threads 4 … dashboard.wsgi:server

* **Workers.** Callbacks are CPU-bound Python (pandas, figure building), so throughput comes
  from processes, not threads: ``SHIYU_WORKERS`` (default: one per core, plus one).
  Each worker also runs a few threads, so one leader's view and the audit of the same click (or
  other leaders' views) do not queue behind each other, and a slow database answer does not
  idle a core.
* **Cache.** Workers share the read cache named by ``SHIYU_CACHE_URL`` (Redis); without it each
  worker keeps its own (:mod:`data.cache`).
* **Compression.** The server has one Flask-Compress (:func:`dashboard.app.create_app`): every
  JSON callback response (``/_dash-update-component``) and page goes out as zstd, brotli or
  gzip, the first of those the browser accepts.
* **Memory.** A worker is replaced after ``max_requests`` requests (with jitter, so they do not
  all restart at once), which bounds slow growth; the app is imported in each worker (no
  ``--preload``) so no database connection or Redis socket is shared across a fork.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from dashboard.settings import Settings

__all__ = ["default_workers", "gunicorn_argv", "run"]

WSGI_APP = "dashboard.wsgi:server"
THREADS_PER_WORKER = 4


def default_workers(cpus: int | None = None) -> int:
    """One worker per CPU core plus one (a worker waiting on the database leaves a core idle)."""
    return max(2, (cpus or os.cpu_count() or 1) + 1)


def gunicorn_argv(settings: Settings, extra: Sequence[str] = ()) -> list[str]:
    """The command line that serves ``settings`` with gunicorn.

    Parameters
    ----------
    settings : Settings
        ``host``, ``port``, ``workers`` and ``trusted_proxies`` are used here; everything else
        reaches the workers through the ``SHIYU_*`` environment.
    extra : sequence of str
        More gunicorn options, appended last (they win).
    """
    workers = settings.workers or default_workers()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{settings.host}:{settings.port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(THREADS_PER_WORKER),
        # The largest map callback takes well under a second; a minute means a stuck worker.
        "--timeout",
        "60",
        "--graceful-timeout",
        "20",
        "--keep-alive",
        "5",
        "--max-requests",
        "5000",
        "--max-requests-jitter",
        "500",
        "--access-logfile",
        "-",
        "--name",
        "shiyu",
    ]
    if settings.trusted_proxies > 0:
        # The app applies ProxyFix itself (dashboard.security); gunicorn must not second-guess.
        argv += ["--forwarded-allow-ips", "*"]
    return [*argv, *extra, WSGI_APP]


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}"


def _environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    # Overrides given on the command line (``--db``) must reach the workers' create_app().
    env["SHIYU_DATABASE_URL"] = settings.database_url
    env["SHIYU_INSTANCE_PATH"] = str(settings.instance_path)
    return env


def _upgrade_database(settings: Settings) -> None:
    """Bring a database made by an older Shiyu up to date here, once, before the workers start.

    Left to the workers, every one would open it at the same moment: one upgrades (tens of
    seconds for a large city, close to gunicorn's boot timeout) while the others wait. A
    database that cannot be opened is only reported: the workers fail on it as before.
    """
    from data import db  # noqa: PLC0415 - keep `shiyu --help` fast

    try:
        engine = db.make_engine(settings.effective_database_url)
    except db.DatabaseError as exc:
        print(f"shiyu: {exc}", file=sys.stderr, flush=True)
        return
    try:
        db.require_schema(engine)
    except db.DatabaseError as exc:
        print(f"shiyu: {exc}", file=sys.stderr, flush=True)
    finally:
        engine.dispose()


def run(settings: Settings, extra: Sequence[str] = ()) -> int:
    """Replace this process with gunicorn serving ``settings`` (returns only on failure)."""
    try:
        import gunicorn  # noqa: F401 - only checking that it is installed
    except ImportError:
        print("shiyu: gunicorn 未安装 / gunicorn is not installed (pip install gunicorn)")
        return 2
    _upgrade_database(settings)
    argv = gunicorn_argv(settings, extra)
    workers = argv[argv.index("--workers") + 1]
    cache = _redacted(settings.cache_url) if settings.cache_url else "进程内 / per worker"
    print(
        f"市域 dashboard (gunicorn, {workers} workers × {THREADS_PER_WORKER} threads, "
        f"cache: {cache}) on http://{settings.host}:{settings.port}/",
        flush=True,
    )
    os.execve(argv[0], argv, _environment(settings))
    return 0  # pragma: no cover - execve does not return


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dashboard.prod [gunicorn options…]``: serve with the environment's settings."""
    return run(Settings.from_env(), list(argv if argv is not None else sys.argv[1:]))


if __name__ == "__main__":
    raise SystemExit(main())
