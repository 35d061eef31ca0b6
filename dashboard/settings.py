"""Settings from ``SHIYU_*`` environment variables (or a ``.env`` file), with demo defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting has a value Shiyu cannot use."""


def _load_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


@dataclass(frozen=True)
class Settings:
    #: Folder for runtime files: the embedded demo database, caches, exports. Never committed.
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    #: SQLAlchemy URL. Empty means the embedded SQLite demo under ``instance_path``.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8050
    debug: bool = False
    title: str = "市域社会治理指挥中心"
    #: 数据来源 line on exports and footers.
    data_source: str = "市综治中心（矛调中心）"
    #: Internal XYZ tile server, e.g. http://tiles.intra/{z}/{x}/{y}.png. Empty: no basemap.
    tiles_url: str = ""
    #: Coordinate system of those tiles: ``wgs84`` (天地图 _w, self-hosted OSM) or ``gcj02`` (高德-style).
    tiles_crs: str = "wgs84"
    #: CJK font file used for map labels and checked at start-up for exports.
    cjk_font: str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    # ---- security (see dashboard.security) ----
    #: Signs session cookies. Required when ``production``; otherwise a random key is kept in
    #: ``instance_path/secret_key``. Not shown in ``repr`` so it never lands in a log line.
    secret_key: str = field(default="", repr=False)
    #: Production: refuse to start without a secret key or accounts, Secure cookies (TLS), HSTS,
    #: and plain error pages.
    production: bool = False
    #: Counts 1 … N-1 are shown as "<N" on shared screens and in exports (0: show everything).
    small_count_threshold: int = 0
    #: A signed-in session ends this many hours after sign-in (and after as long idle).
    session_hours: int = 12
    #: This many wrong passwords in a row lock an account for ``login_lock_minutes``.
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    #: Failed sign-ins from one address within ``login_lock_minutes`` before it must wait.
    login_ip_max_failures: int = 20
    #: Reverse proxies in front of Shiyu whose X-Forwarded-For/-Proto/-Host are trusted (nginx: 1).
    trusted_proxies: int = 0
    # ---- big screen at /screen/ (see dashboard.screen_app) ----
    #: Design canvas: ``1920x1080`` (16:9 walls) or ``3840x1080`` (32:9 walls, two maps).
    screen_canvas: str = "1920x1080"
    #: Auto-tour: ``districts``, ``top5:<metric>``, a comma-separated list of codes, or ``off``.
    screen_tour: str = "districts"
    #: Seconds per tour stop, between data refreshes, and of idleness before the tour resumes.
    screen_tour_interval_s: int = 20
    screen_refresh_s: int = 60
    screen_idle_resume_s: int = 60
    # ---- speed (see data.cache, dashboard.prod, docs/performance.md) ----
    #: Shared read cache: ``redis://host:6379/0``; empty keeps a cache inside each worker.
    cache_url: str = ""
    #: Lifetime of a cache entry in seconds (new data invalidates at once; 0 turns the cache off).
    cache_ttl_s: int = 300
    #: Worker processes of ``shiyu serve --prod`` (0: one per CPU core, plus one).
    workers: int = 0

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.demo_database_path}"

    @property
    def demo_database_path(self) -> Path:
        return self.instance_path / "shiyu-demo.sqlite"

    @property
    def uses_embedded_demo(self) -> bool:
        return not self.database_url

    @classmethod
    def from_env(
        cls, environ: dict[str, str] | None = None, dotenv: Path | None = None
    ) -> Settings:
        """Read ``SHIYU_<FIELD>`` variables; a ``.env`` in the working folder fills the gaps."""
        env = dict(_load_dotenv(dotenv or Path.cwd() / ".env"))
        env.update(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"SHIYU_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        settings = cls(**values)  # type: ignore[arg-type]
        for name in ("session_hours", "login_max_failures", "login_lock_minutes"):
            if getattr(settings, name) < 1:
                raise SettingsError(f"SHIYU_{name.upper()} 必须大于 0 / must be at least 1")
        if settings.screen_canvas.lower() not in ("1920x1080", "3840x1080"):
            raise SettingsError(
                "SHIYU_SCREEN_CANVAS 只能是 1920x1080 或 3840x1080 / must be 1920x1080 or "
                f"3840x1080, got {settings.screen_canvas!r}"
            )
        for name in ("screen_tour_interval_s", "screen_refresh_s", "screen_idle_resume_s"):
            if getattr(settings, name) < 1:
                raise SettingsError(f"SHIYU_{name.upper()} 必须大于 0 / must be at least 1")
        if settings.tiles_crs not in ("wgs84", "gcj02"):
            raise SettingsError(
                f"SHIYU_TILES_CRS 只能是 wgs84 或 gcj02 / must be wgs84 or gcj02, got {settings.tiles_crs!r}"
            )
        return settings

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(name: str, annotation: object, raw: str) -> object:
    kind = str(annotation)
    if "Path" in kind:
        return Path(raw).expanduser()
    if "int" in kind:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(
                f"SHIYU_{name.upper()} 应为整数 / must be an integer, got {raw!r}"
            ) from None
    if "bool" in kind:
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(
            f"SHIYU_{name.upper()} 应为 true/false / must be true or false, got {raw!r}"
        )
    return raw
