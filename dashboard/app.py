"""The Dash app factory."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from dashboard.settings import Settings

ASSETS = Path(__file__).parent / "assets"


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
    from callbacks.services import Services
    from dashboard.glyphs import register_glyph_route
    from data import db
    from data.repository import Repository
    from layouts import dashboard as dashboard_layout

    settings = settings or Settings.from_env()
    engine = db.make_engine(settings.effective_database_url)
    meta = db.require_schema(engine)
    repo = Repository(engine)
    repo.root()  # an empty database fails here with one clear line, not on first page view
    services = Services(
        repo=repo,
        title=settings.title,
        data_source=settings.data_source,
        is_demo=meta.get("source") == "demo",
        tiles_url=settings.tiles_url,
        tiles_crs=settings.tiles_crs,
    )
    app = Dash(
        __name__,
        title=settings.title,
        assets_folder=str(ASSETS),
        serve_locally=True,
        compress=True,
        update_title=None,
        external_stylesheets=[],
    )
    app.layout = dashboard_layout.page
    app.validation_layout = dashboard_layout.validation_layout()
    register_glyph_route(app.server, settings.cjk_font)
    dashboard_callbacks.register(app, services)
    return app
