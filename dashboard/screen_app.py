"""The big screen (数据大屏) at ``/screen/``: a second Dash app on the dashboard's Flask server.

A separate Dash app rather than a page of the laptop dashboard, because a wall runs for days
with nobody touching it and wants nothing of the laptop page: its own layout (a fixed design
canvas scaled as a whole), its own stylesheet and script (``screen_assets``: canvas scaling,
fullscreen, clock, count-up, idle detection, the stale-data watchdog) and its own callbacks.
Sharing the Flask server keeps one process, one port, one sign-in: the session cookie and the
security hooks registered on the server cover ``/screen/`` too, and a wall browser signs in
with a screen token (``/screen/?token=…&kiosk=1``).

URL options (all optional; defaults from settings ``SHIYU_SCREEN_*``)
--------------------------------------------------------------------
``kiosk=1``                 hide every control (for ``chromium --kiosk``)
``canvas=1920x1080|3840x1080``  16:9 or native 32:9 layout (``std``/``wide`` also accepted)
``tour=districts|top5:<metric>|<code>,<code>|off``  what the auto-tour visits
``interval=20``             seconds per tour stop (3–3600)
``refresh=60``              seconds between data refreshes (2–3600)
``idle=60``                 seconds without mouse/keys/touch before a paused tour resumes
``unit=<code>``             tour root (within the viewer's jurisdiction)
``metric=…``, ``period=…``  map/ranking metric and reporting period (as on the dashboard)
"""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from callbacks.services import Services
from dashboard.app import REGENERATOR_RUNTIME, ShiyuDash
from dashboard.settings import Settings

__all__ = ["SCREEN_ASSETS", "SCREEN_PATH", "mount_screen", "screen_defaults"]

SCREEN_PATH = "/screen/"
SCREEN_ASSETS = Path(__file__).parent / "screen_assets"


def screen_defaults(settings: Settings):  # noqa: ANN201 - data.screen.ScreenDefaults
    """The screen's defaults from settings (the URL may override each of them)."""
    from data.screen import ScreenDefaults, canvas_key

    return ScreenDefaults(
        canvas=canvas_key(settings.screen_canvas) or "std",
        tour=settings.screen_tour,
        interval_s=settings.screen_tour_interval_s,
        refresh_s=settings.screen_refresh_s,
        idle_s=settings.screen_idle_resume_s,
    )


def mount_screen(main_app: Dash, settings: Settings, services: Services) -> Dash:
    """Create the screen app on ``main_app``'s server at :data:`SCREEN_PATH`.

    Parameters
    ----------
    main_app : Dash
        The dashboard app; its Flask server (with its security hooks) serves the screen too.
    settings : Settings
    services : Services
        The same services the dashboard's callbacks receive.

    Returns
    -------
    Dash
        The screen app (already serving once the server runs).
    """
    from callbacks import screen as screen_callbacks
    from dashboard.security import protect_dash_app
    from layouts import screen as screen_layout

    defaults = screen_defaults(settings)
    app = ShiyuDash(
        __name__,
        server=main_app.server,
        url_base_pathname=SCREEN_PATH,
        assets_folder=str(SCREEN_ASSETS),
        external_scripts=[main_app.get_asset_url(REGENERATOR_RUNTIME)],
        serve_locally=True,
        compress=False,  # the server's own Flask-Compress answers for both apps
        title=f"{settings.title} · 数据大屏",
        update_title="",  # the tab title stays put while callbacks run
        external_stylesheets=[],
    )
    app.layout = screen_layout.page(
        title=settings.title,
        canvas=defaults.canvas,
        interval_s=defaults.interval_s,
        refresh_s=defaults.refresh_s,
    )
    screen_callbacks.register(app, services, defaults)
    # The sign-in wall covers the whole server already; this puts the screen's own inline
    # scripts into the Content-Security-Policy, so a clientside callback written inline there
    # would not be blocked on the wall while it runs on the dashboard.
    protect_dash_app(app)
    return app
