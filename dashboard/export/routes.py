"""Flask routes of 导出简报: the briefing of the current URL state as ZIP, PNG or PPTX.

``GET /_shiyu/export/<kind>?unit=…&period=…&…`` where ``kind`` is one of
:data:`layouts.figures.download.EXPORT_KINDS`. The query is the dashboard's own URL query,
resolved by :func:`data.views.resolve_state` exactly as the page resolves it, so the export
shows what the leader is looking at. ``internal=0`` drops the 内部资料 marking.

Jurisdiction: the resolved unit passes ``callbacks.scope.authorize_export`` (scope check +
audit row "导出", refused for read-only wall-screen tokens); a refusal raises
``ScopeRefused``, which the security layer answers with 403. The sign-in wall itself is
``dashboard.security``'s before-request guard, which covers these routes like any other.

At most :data:`MAX_CONCURRENT` exports run at once per process (each holds the one Chromium
for ~10 s); a further request gets 503 and a Chinese message instead of queueing forever.
"""

from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path
from typing import Any

from dashboard.export import compose
from dashboard.export.pack import PackOptions, export_pack, zip_directory
from dashboard.export.render import ExportUnavailable
from dashboard.settings import Settings
from data import views
from layouts.figures.download import EXPORT_KINDS, EXPORT_URL_PREFIX

__all__ = ["MAX_CONCURRENT", "register_export_routes"]

MAX_CONCURRENT = 2
_MIMETYPES = {
    "briefing.zip": "application/zip",
    "slide.png": "image/png",
    "document.png": "image/png",
    "briefing.pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_WHAT = {
    "briefing.zip": "简报全套",
    "slide.png": "简报幻灯片图片",
    "document.png": "简报文档插图",
    "briefing.pptx": "简报 PPTX",
}


def _authorize(services: Any, code: str, what: str) -> None:
    """Scope check and audit through callbacks.scope (fails closed when it cannot check)."""
    from callbacks import scope

    scope.authorize_export(services, code, what)


def _default_unit(services: Any) -> str | None:
    from callbacks import scope

    return scope.user_root(services)


def register_export_routes(server: Any, services: Any, settings: Settings) -> None:
    """Add the export routes to the Flask ``server``; checks the CJK font first.

    Parameters
    ----------
    server : flask.Flask
        The Dash app's server.
    services : callbacks.services.Services
        Repository, data source line, tiles, current user, small-count threshold.
    settings : Settings
        ``cjk_font`` (required: raises :class:`~dashboard.export.compose.FontMissing`, one
        line, when missing) and ``instance_path`` (scratch folder ``exports/``).
    """
    import flask

    compose.require_font(settings.cjk_font)
    slots = threading.BoundedSemaphore(MAX_CONCURRENT)
    scratch = Path(settings.instance_path) / "exports"

    def export(kind: str) -> Any:
        if kind not in EXPORT_KINDS:
            flask.abort(404)
        query: dict[str, Any] = dict(flask.request.args)
        internal = query.pop("internal", "1") not in ("0", "false", "no")
        if not query.get("unit"):
            query["unit"] = _default_unit(services)
        repo = services.repo
        state = views.resolve_state(repo, query)
        # Authorise the unit that will actually be exported: an unknown code resolves to the
        # root, which the user may not be allowed to see.
        _authorize(
            services, state.unit.code, f"{_WHAT[kind]} {state.unit.name} {state.period.label}"
        )
        if not slots.acquire(blocking=False):
            return flask.Response(
                "导出任务繁忙，请稍后再试 / export busy, retry shortly", 503, mimetype="text/plain"
            )
        try:
            scratch.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=scratch) as tmp:
                options = PackOptions(
                    data_source=services.data_source,
                    cjk_font=settings.cjk_font,
                    internal=internal,
                    small_count_threshold=services.small_count_threshold,
                    tiles_url=services.tiles_url,
                    tiles_crs=services.tiles_crs,
                    full=kind in ("briefing.zip", "briefing.pptx"),
                )
                result = export_pack(repo, state, tmp, options)
                if kind == "briefing.zip":
                    payload = zip_directory(result.directory)
                    name = f"{result.directory.name}.zip"
                else:
                    path = result.files[
                        {"slide.png": "slide", "document.png": "document"}.get(kind, "pptx")
                    ]
                    payload, name = path.read_bytes(), path.name
        except (ExportUnavailable, compose.FontMissing) as exc:
            return flask.Response(str(exc), 503, mimetype="text/plain")
        finally:
            slots.release()
        response = flask.send_file(
            io.BytesIO(payload),
            mimetype=_MIMETYPES[kind],
            as_attachment=True,
            download_name=name,
            max_age=0,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    server.add_url_rule(f"{EXPORT_URL_PREFIX}/<kind>", endpoint="shiyu_export", view_func=export)
