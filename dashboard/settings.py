"""Settings from ``SHIYU_*`` environment variables (or a ``.env`` file), with demo defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


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
        if settings.tiles_crs not in ("wgs84", "gcj02"):
            raise SettingsError(
                f"SHIYU_TILES_CRS 只能是 wgs84 或 gcj02 / must be wgs84 or gcj02, got {settings.tiles_crs!r}"
            )
        return settings

    def with_overrides(self, **changes: object) -> Settings:
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
