"""A briefing pack for one view: slide image, document figure, PPTX, panel images, manifest.

:func:`export_pack` is what the 导出简报 route and ``shiyu export`` both call. For a
:class:`~data.views.ViewState` it reads the numbers once (:func:`data.briefing.gather`),
builds the panels with the dashboard's figure code in the print theme, renders them with
the process's Kaleido, and writes into ``out_dir/<name>/``::

    临泉区-会议简报-2026年1—10月-幻灯片.png     3840×2160, 288 dpi (fills a 16:9 slide)
    临泉区-会议简报-2026年1—10月-文档插图.png   1843 px wide, 300 dpi (156 mm text block)
    临泉区-会议简报-2026年1—10月.pptx           title slide + one slide per panel
    临泉区-会议简报-2026年1—10月-综述.txt       the summary paragraph, for the document
    图表/临泉区-矛盾纠纷受理趋势（按月）-2026年1—10月.png …   each panel, stamped, 300 dpi
    manifest.json                                 state, stamps, numbers, files, timings
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from dashboard.export import compose
from dashboard.export.panels import MAP_SIZE, PANEL_ORDER, Panel, build_panels, sized
from dashboard.export.pptx import build_deck
from dashboard.export.render import Renderer, get_renderer
from data import briefing, views
from data.repository import Repository
from layouts.figures.download import download_name

__all__ = ["PackOptions", "PackResult", "export_pack", "pack_name", "zip_directory"]

#: Stand-alone panel images: 921 CSS px wide at 2× = 1842 px, the document text width.
PANEL_SIZE = (921, 460)
#: Type size (CSS px) of charts in each output.
FONT_SLIDE, FONT_DOC, FONT_PANEL = 12, 15, 15


@dataclass(frozen=True)
class PackOptions:
    """What goes around the numbers: source line, markings, basemap, font, renderer."""

    data_source: str = "市综治中心（矛调中心）"
    cjk_font: str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    internal: bool = True
    small_count_threshold: int = 0
    tiles_url: str = ""
    tiles_crs: str = "wgs84"
    #: Write the stand-alone panel images and the PPTX (the route's single-image downloads
    #: skip them).
    full: bool = True


@dataclass
class PackResult:
    directory: Path
    files: dict[str, Path]
    manifest: dict[str, Any]
    briefing: briefing.Briefing
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def pack_name(state: views.ViewState) -> str:
    """``"临泉区-会议简报-2026年1—10月"``: the pack's folder and file stem."""
    return download_name(state.unit.name, "会议简报", state.period.label)


def _png(img: Image.Image) -> Image.Image:
    return img.convert("RGB")


class _PanelRenderer:
    """Renders panels at exact slot sizes; the map once, fitted everywhere."""

    def __init__(self, renderer: Renderer, panels: dict[str, Panel]) -> None:
        self.renderer = renderer
        self.panels = panels
        self._map: Image.Image | None = None
        self.seconds = 0.0

    def _image(self, fig: dict[str, Any], w: int, h: int) -> Image.Image:
        started = time.perf_counter()
        data = self.renderer.png(fig, w, h, scale=2)
        self.seconds += time.perf_counter() - started
        return _png(Image.open(io.BytesIO(data)))

    def map_image(self) -> Image.Image:
        panel = self.panels["map"]
        if self._map is None:
            w, h = MAP_SIZE
            self._map = self._image(sized(panel, w, h, 14), w, h)
        return self._map

    def for_font(self, font_px: int):  # noqa: ANN201
        def render(key: str, w: int, h: int) -> Image.Image:
            panel = self.panels[key]
            if panel.is_map:
                return self.map_image()
            lw, lh = max(w // 2, 50), max(h // 2, 50)
            return self._image(sized(panel, lw, lh, font_px), lw, lh)

        return render

    def standalone(self, key: str) -> Image.Image:
        panel = self.panels[key]
        w, h = PANEL_SIZE
        if panel.is_map:
            return compose.fit(self.map_image(), (w * 2, MAP_SIZE[1] * 2))
        if key in ("ranking", "map") and panel.rows:
            h = max(h, 30 * panel.rows + 40)
        return self._image(sized(panel, w, h, FONT_PANEL), w, h)


def _file_entry(path: Path, root: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": str(path.relative_to(root)),
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    if path.suffix == ".png":
        with Image.open(path) as im:
            entry["pixels"] = list(im.size)
            dpi = im.info.get("dpi")
            entry["dpi"] = [round(float(d)) for d in dpi] if dpi else None
    return entry


def export_pack(
    repo: Repository,
    state: views.ViewState,
    out_dir: str | Path,
    options: PackOptions | None = None,
    *,
    renderer: Renderer | None = None,
    generated_at: dt.datetime | None = None,
) -> PackResult:
    """Write the briefing pack for ``state`` into ``out_dir/<pack_name>/``.

    Parameters
    ----------
    repo : Repository
    state : ViewState
        As resolved from the dashboard URL (:func:`data.views.resolve_state`).
    out_dir : str or Path
    options : PackOptions, optional
    renderer : Renderer, optional
        Defaults to the process-wide renderer (:func:`~dashboard.export.render.get_renderer`).
    generated_at : datetime, optional
        Printed as 生成时间 (default: now).

    Returns
    -------
    PackResult

    Raises
    ------
    dashboard.export.render.ExportUnavailable
        No Chromium, a render failed or timed out, or a figure referenced the internet.
    dashboard.export.compose.FontMissing
        The CJK font is not installed.
    """
    started = time.perf_counter()
    options = options or PackOptions()
    fonts = compose.load_fonts(options.cjk_font)
    tiles_host = urlsplit(options.tiles_url).hostname if options.tiles_url else None
    renderer = renderer or get_renderer(options.cjk_font, [tiles_host] if tiles_host else [])
    generated_at = generated_at or dt.datetime.now().replace(second=0, microsecond=0)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    data = briefing.gather(repo, state)
    brief = briefing.build(
        data,
        data_source=options.data_source,
        generated_at=generated_at,
        internal=options.internal,
        small_count_threshold=options.small_count_threshold,
    )
    # Map labels are the children's names (the siblings' at the lowest level).
    owner = state.lineage[-2] if state.is_lowest and len(state.lineage) > 1 else state.unit
    glyphs = renderer.glyphs_url(repo.children(owner.code)["name"].astype(str))
    panels = build_panels(
        repo,
        state,
        data,
        glyphs_url=glyphs,
        tiles_url=options.tiles_url,
        tiles_crs=options.tiles_crs,
    )
    timings["data_s"] = time.perf_counter() - t

    name = pack_name(state)
    root = Path(out_dir) / name
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    titles = {k: p.title for k, p in panels.items()}
    pr = _PanelRenderer(renderer, panels)

    t = time.perf_counter()
    slide = compose.compose_slide(brief, titles, pr.for_font(FONT_SLIDE), fonts)
    files["slide"] = compose.save_png(slide, root / f"{name}-幻灯片.png", compose.SLIDE_DPI)
    doc = compose.compose_document(brief, titles, pr.for_font(FONT_DOC), fonts)
    files["document"] = compose.save_png(doc, root / f"{name}-文档插图.png", compose.DOC_DPI)
    timings["compose_s"] = time.perf_counter() - t
    (root / f"{name}-综述.txt").write_text(brief.summary + "\n", encoding="utf-8")
    files["summary"] = root / f"{name}-综述.txt"

    if options.full:
        t = time.perf_counter()
        images: dict[str, Image.Image] = {}
        for key in PANEL_ORDER:
            if key == "kpis":
                continue
            panel = panels[key]
            images[key] = pr.standalone(key)
            stamped = compose.stamp_panel(
                images[key], brief, panel.title, fonts, caption=panel.caption, caliber=panel.caliber
            )
            stem = download_name(state.unit.name, panel.what, state.period.label)
            files[f"panel:{key}"] = compose.save_png(
                stamped, root / "图表" / f"{stem}.png", compose.DOC_DPI
            )
        files["pptx"] = build_deck(brief, panels, images, root / f"{name}.pptx")
        timings["panels_pptx_s"] = time.perf_counter() - t
    timings["render_s"] = pr.seconds

    seconds = time.perf_counter() - started
    manifest = {
        "title": brief.title,
        "unit": {"code": state.unit.code, "name": state.unit.name, "level": state.unit.level},
        "period": {
            "key": state.period.key,
            "label": state.period.label,
            "start": state.period.start.isoformat(),
            "end": state.period.end.isoformat(),
            "mom": [state.mom.start.isoformat(), state.mom.end.isoformat()],
            "yoy": [state.yoy.start.isoformat(), state.yoy.end.isoformat()],
        },
        "query": state.query(),
        "search": state.search(),
        "generated_at": generated_at.isoformat(timespec="minutes"),
        "stamps": list(brief.stamps()),
        "summary": brief.summary,
        "kpis": {r.key: {"text": r.text, "mom": r.mom, "yoy": r.yoy} for r in brief.kpi_rows},
        "messages": list(state.messages),
        "renderer": {"browser": renderer.browser, "mathjax": False, "offline": True},
        "seconds": round(seconds, 2),
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "files": {k: _file_entry(p, root) for k, p in files.items()},
    }
    (root / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    files["manifest"] = root / "manifest.json"
    return PackResult(root, files, manifest, brief, seconds, timings)


def zip_directory(directory: Path, extra_root: str | None = None) -> bytes:
    """The folder as a ZIP (UTF-8 names, so Chinese file names survive on Windows 10+)."""
    buf = io.BytesIO()
    prefix = extra_root or directory.name
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            zf.write(path, f"{prefix}/{path.relative_to(directory)}")
    return buf.getvalue()


def iter_states(
    repo: Repository, state: views.ViewState, children: bool
) -> Iterable[views.ViewState]:
    """The state, then (with ``children``) the same view for each child unit."""
    yield state
    if not children:
        return
    frame = repo.children(state.unit.code)
    for code in frame["code"].astype(str):
        query = dict(state.query(unit=code))
        yield views.resolve_state(repo, query)
