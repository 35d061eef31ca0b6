"""The Dash app factory."""

from __future__ import annotations

import functools
import gc
import hashlib
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import flask
from dash import Dash
from flask_compress import Compress

from dashboard.settings import Settings

if TYPE_CHECKING:
    from callbacks.services import Services
    from data.auth import Principal

ASSETS = Path(__file__).parent / "assets"
#: Loaded in place of Dash's @babel/polyfill (see :class:`ShiyuDash`); in ``ASSETS``.
REGENERATOR_RUNTIME = "vendor/regenerator-runtime.js"
#: Per-worker copy of recently used shared-cache entries (see data.cache.CachedRepository).
NEAR_CACHE_BYTES = 64 * 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def code_fingerprint() -> str:
    """A hash of the code whose results go into the shared cache.

    Part of every cache key: after an upgrade, workers never read what the previous release
    stored in Redis (a view of another shape) while its entries live out their time-to-live.
    """
    digest = hashlib.blake2b(digest_size=5)
    for package in ("data", "geo", "layouts", "callbacks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


#: What Flask-Compress may answer with, best first, of what the browser accepts. zstd
#: (Chromium 123+, Firefox 126+) packs a view's answer as small as gzip -6 in a seventh of the
#: worker's time (a district's: 0.5 against 3.5 ms); brotli for browsers without it; gzip for
#: the older browser cores still found on government desktops.
COMPRESS_ALGORITHMS = ["zstd", "br", "gzip"]


class ShiyuDash(Dash):
    """Dash whose page loads no @babel/polyfill, the first script Dash gives every page.

    That polyfill is core-js 2. Every browser plotly.js 4 runs in (it uses optional chaining:
    Chromium 80+, Firefox 74+) has everything it adds, but core-js 2 misjudges some natives
    (its whitespace test still counts U+180E) and puts its own JavaScript in their place:
    ``String.prototype.trim`` and its kin, ``parseInt`` and ``parseFloat``, which plotly.js
    calls for every SVG attribute and label it sets; and it defines ``setImmediate``, which
    React's scheduler then prefers to its own. plotly.js alone drew the benchmark tour's views
    in 1.12× the time with it loaded (``docs/performance.md``, round 21). What Dash's own
    bundles need of it, the ``regeneratorRuntime`` their lazy-loaded components (the graphs,
    the dropdowns) call, comes from :data:`REGENERATOR_RUNTIME` (regenerator-runtime 0.14.1,
    MIT), an asset of this app that the wall screen's page names too.
    """

    def interpolate_index(
        self,
        metas: str = "",
        title: str = "",
        css: str = "",
        config: str = "",
        scripts: str = "",
        app_entry: str = "",
        favicon: str = "",
        renderer: str = "",
    ) -> str:
        return super().interpolate_index(
            metas=metas,
            title=title,
            css=css,
            config=config,
            scripts=_POLYFILL.sub("", scripts, count=1),
            app_entry=app_entry,
            favicon=favicon,
            renderer=renderer,
        )


_POLYFILL = re.compile(r'<script src="[^"]*/deps/polyfill@[^"]*"></script>\s*')


def _packaged_file(request: flask.Request) -> str:
    """Flask-Compress's cache key: a packaged file's path, "" for anything else.

    With the query string: an asset's URL carries its modification time (``?m=…``), so an
    asset edited under the development server is compressed afresh.
    """
    path = request.path
    if request.method == "GET" and ("/_dash-component-suites/" in path or "/assets/" in path):
        return request.full_path
    return ""


class PackagedCompressCache:
    """Compressed bytes of the files Dash serves from packages and ``assets``, per worker.

    Flask-Compress gzips every answer, and Dash serves plotly.js (4.8 MB) under a path with no
    version in it, so each page load's revalidation made the worker gzip it again (~160 ms of
    CPU, ahead of the map) before answering 304. Those files change only with a deployment,
    which restarts the workers. Callback answers and pages (key "") are never kept.
    """

    def __init__(self) -> None:
        self._items: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        return None if key.endswith(";") else self._items.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";"):  # "<algorithm>;" + an empty key
            with self._lock:
                self._items[key] = value


def freeze_startup_heap() -> int:
    """Keep what start-up built out of the garbage collector's full passes; the count frozen.

    Once the app is built a worker holds ~230,000 objects the cyclic collector tracks (modules,
    Dash's registry and layout, plotly's validators, pandas' and SQLAlchemy's caches), and they
    live as long as the process. Every full collection walked all of them with the worker
    stopped: 110–135 ms, every few dozen views, landing on whichever answer was in flight (a
    cached ~20 ms view took 120 ms). Moved to the permanent generation after one collection,
    a full pass visits only what came after (~11,000 objects, 3 ms). For the serving process
    only: objects frozen here are never collected, which a test process creating many apps
    must not do.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def make_services(settings: Settings, *, current_user: Callable[[], Principal | None]) -> Services:
    """What the callbacks of an app built for ``settings`` receive, as ``current_user`` sees it.

    The app builds its own; ``shiyu warm`` builds one per jurisdiction so that the views it
    renders land under the very keys the app's workers look up (same cache, prefix, settings).

    Raises
    ------
    data.db.DatabaseError
        When the database cannot be reached or holds no Shiyu data.
    """
    from callbacks.services import Services
    from data import db
    from data.cache import CachedRepository, LocalStore, make_store
    from data.repository import Repository

    engine = db.make_engine(settings.effective_database_url)
    meta = db.require_schema(engine)
    # Reads are answered from a cache shared by the workers, keyed by meta.data_version.
    store = make_store(settings.cache_url)
    repo = CachedRepository.wrap(
        Repository(engine),
        store,
        ttl_s=settings.cache_ttl_s,
        prefix=f"shiyu:{code_fingerprint()}",
        # In front of Redis, what this worker just read is answered without a round trip.
        near=None if isinstance(store, LocalStore) else LocalStore(max_bytes=NEAR_CACHE_BYTES),
    )
    repo.root()  # an empty database fails here with one clear line, not on first page view
    return Services(
        repo=repo,
        title=settings.title,
        data_source=settings.data_source,
        is_demo=meta.get("source") == "demo",
        tiles_url=settings.tiles_url,
        tiles_crs=settings.tiles_crs,
        current_user=current_user,
        small_count_threshold=settings.small_count_threshold,
    )


def create_app(settings: Settings | None = None) -> Dash:
    """Build the Dash app for ``settings`` (default: from the environment).

    Everything the page loads is served by the app itself: Bootstrap CSS from ``assets``,
    plotly.js and Dash's own bundles locally, map glyphs from a local route.

    Raises
    ------
    data.db.DatabaseError
        When the database cannot be reached or holds no Shiyu data.
    """
    from callbacks import dashboard as dashboard_callbacks
    from dashboard.export.routes import register_export_routes
    from dashboard.glyphs import register_glyph_route
    from dashboard.screen_app import mount_screen
    from dashboard.security import current_principal, init_security
    from layouts import dashboard as dashboard_layout

    settings = settings or Settings.from_env()
    services = make_services(settings, current_user=current_principal)
    engine = services.repo.engine
    server = flask.Flask(__name__)
    # One Flask-Compress for the server, not Dash's compress=True: each Dash app (this one and
    # the wall screen's on the same server) would add its own hook set to gzip alone, and the
    # last one added answers first.
    server.config.update(
        COMPRESS_CACHE_KEY=_packaged_file,
        COMPRESS_CACHE_BACKEND=PackagedCompressCache,
        COMPRESS_ALGORITHM=COMPRESS_ALGORITHMS,
    )
    Compress(server)
    app = ShiyuDash(
        __name__,
        server=server,  # type: ignore[arg-type]  # Dash documents a Flask app here
        title=settings.title,
        assets_folder=str(ASSETS),
        serve_locally=True,
        compress=False,  # see Compress(server) above
        update_title=None,  # type: ignore[arg-type]  # Dash documents None: keep the title
        external_stylesheets=[],
    )
    init_security(app, settings, engine)  # sign-in wall, sessions, CSP: before any route is used
    app.layout = dashboard_layout.page  # type: ignore[assignment]  # a layout function is allowed
    app.validation_layout = dashboard_layout.validation_layout()  # type: ignore[assignment]
    register_glyph_route(app.server, settings.cjk_font)
    # 导出简报 routes; raises FontMissing (one line) when the CJK font is not installed.
    register_export_routes(app.server, services, settings)
    dashboard_callbacks.register(app, services)
    screen = mount_screen(app, settings, services)  # the wall screen (数据大屏) at /screen/
    for each in (app, screen):
        register_page_files(each)
    return app


def register_page_files(app: Dash) -> None:
    """Register the files ``app``'s page names (React, Dash's and the components' bundles,
    plotly.js), as rendering the page does, before the worker answers any request.

    Dash serves a package's file only once its worker has listed it while rendering a page,
    and lists the files one by one: a browser asking one thread of a worker for React while
    another thread of the same worker rendered its first page got a 500, and a leader a blank
    page (seen in the benchmark: "the path requested is not valid", the polyfill alone
    listed). Each worker, and each worker recycled after its requests, starts with none.
    """
    with app.server.test_request_context(app.config.requests_pathname_prefix):
        app.index()
