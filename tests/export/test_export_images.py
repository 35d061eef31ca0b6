"""Rendered briefings: pixel sizes, DPI, PPTX slides, CJK in Kaleido, offline, route, CLI.

One Chromium per session (``renderer`` fixture) and one pack per session (``pack``).
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageChops, ImageOps
from pptx import Presentation

from dashboard.export import compose
from dashboard.export.render import ExportUnavailable, assert_offline, external_urls
from dashboard.settings import Settings
from data import views
from layouts.figures import charts

CJK_FONT = Settings().cjk_font

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_exi001_slide_and_document_sizes_and_dpi(pack) -> None:  # noqa: ANN001
    with Image.open(pack.files["slide"]) as im:
        assert im.size == (3840, 2160)
        assert [round(d) for d in im.info["dpi"]] == [compose.SLIDE_DPI] * 2
    with Image.open(pack.files["document"]) as im:
        assert im.width == 1843
        assert 1800 < im.height < 3600
        assert [round(d) for d in im.info["dpi"]] == [300, 300]
    for key, path in pack.files.items():
        if key.startswith("panel:"):
            with Image.open(path) as im:
                assert im.width == 1842 and [round(d) for d in im.info["dpi"]] == [300, 300]
                assert pack.briefing.unit_name in path.name


def test_exi002_pptx_opens_with_title_slide_and_one_slide_per_panel(pack) -> None:  # noqa: ANN001
    prs = Presentation(str(pack.files["pptx"]))
    assert (prs.slide_width, prs.slide_height) == (12191695, 6858000)  # 13.333 × 7.5 in, 16:9
    titles = []
    for slide in prs.slides:
        names = {s.name: s for s in slide.shapes}
        titles.append(names["标题"].text_frame.text)
    b = pack.briefing
    assert titles[0] == b.title
    assert len(titles) == 8  # title + KPIs, map, trends, breakdown, ranking, risk, patrol
    expect = [
        "主要指标",
        "各乡镇街道 · ",
        "矛盾纠纷与信访受理趋势",
        "类别构成",
        "排名",
        "风险隐患",
        "巡逻防控",
    ]
    for title, part in zip(titles[1:], expect, strict=True):
        assert part in title and title.endswith(f"（{b.period_label}）"), title
    kpi_table = next(s for s in prs.slides[1].shapes if s.has_table).table
    cells = [[c.text for c in row.cells] for row in kpi_table.rows]
    row = next(r for r in cells if r[1] == "化解率")
    kpi = {r.key: r for r in b.kpi_rows}["dispute_resolution_rate"]
    assert row[2:] == [kpi.value_text, kpi.mom, kpi.yoy]
    summary = next(s for s in prs.slides[0].shapes if s.name == "综述").text_frame.text
    assert b.summary in summary


def test_exi003_manifest_and_summary_match_dashboard(pack, tiny_repo, district_state) -> None:  # noqa: ANN001
    manifest = json.loads(pack.files["manifest"].read_text(encoding="utf-8"))
    groups = views.kpis(tiny_repo, district_state)
    for kpi in (k for g in groups for k in g.items):
        assert manifest["kpis"][kpi.key] == {
            "text": kpi.text,
            "mom": kpi.mom.text,
            "yoy": kpi.yoy.text,
        }
    assert manifest["unit"]["code"] == district_state.unit.code
    assert manifest["files"]["slide"]["pixels"] == [3840, 2160]
    assert manifest["files"]["document"]["dpi"] == [300, 300]
    assert pack.files["summary"].read_text(encoding="utf-8").strip() == pack.briefing.summary


def _trend(font_family: str | None) -> dict:
    import pandas as pd

    idx = pd.date_range("2026-01-01", periods=6, freq="MS")
    fig = charts.trend_figure(
        pd.DataFrame({"current": [5, 7, 6, 9, 4, 8], "last_year": [6, 6, 7, 8, 5, 7]}, index=idx),
        "M",
        title="矛盾纠纷受理趋势（按月）",
        theme="print",
    )
    if font_family:
        fig["layout"]["font"] = {"family": font_family}
        fig["layout"]["title"]["font"] = {"family": font_family}
        fig["layout"]["template"]["layout"]["title"]["font"]["family"] = font_family
    return fig


_DEJAVU_ONLY = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{cache}</cachedir></fontconfig>
"""


def test_exi004_kaleido_renders_chinese_with_the_cjk_font(renderer, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The same chart with a Chinese title, drawn where Noto Sans CJK is and is not available.

    Chromium falls back glyph by glyph through fontconfig, so naming a family without CJK
    (``DejaVu Sans``) still finds Noto CJK on this machine. The failure the export must
    never show — boxes instead of Chinese, on a server without ``fonts-noto-cjk`` — is
    reproduced by a second Chromium whose fontconfig only knows DejaVu (no CJK glyphs).
    """
    from dashboard.export.render import Renderer

    title_box = (0, 0, 900, 80)
    good = Image.open(io.BytesIO(renderer.png(_trend(None), 600, 300))).convert("L")
    assert good.size == (1200, 600)
    conf = tmp_path / "fonts.conf"
    conf.write_text(_DEJAVU_ONLY.format(cache=tmp_path / "cache"), encoding="utf-8")
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    bare = Renderer(CJK_FONT).start()  # Chromium reads FONTCONFIG_FILE at launch
    monkeypatch.delenv("FONTCONFIG_FILE")
    try:
        tofu = Image.open(io.BytesIO(bare.png(_trend(None), 600, 300))).convert("L")
    finally:
        bare.close()
    a, b = good.crop(title_box), tofu.crop(title_box)
    assert ImageOps.invert(a).getbbox() is not None  # the title has ink
    assert ImageChops.difference(a, b).getbbox() is not None
    # Distinct characters give distinct ink in the CJK render; boxes are all alike.
    assert _column_profile_variety(a) > 2 * _column_profile_variety(b)
    # A family without CJK still renders Chinese here, through fallback to Noto CJK.
    fallback = Image.open(io.BytesIO(renderer.png(_trend("DejaVu Sans"), 600, 300))).convert("L")
    assert ImageChops.difference(fallback.crop(title_box), b).getbbox() is not None


def _column_profile_variety(img: Image.Image) -> int:
    """Number of distinct ink patterns among the image's pixel columns (a texture measure)."""
    ink = ImageOps.invert(img).point(lambda v: 255 if v > 96 else 0)
    w, h = ink.size
    data = ink.tobytes()
    return len({data[x::w] for x in range(w)})


def test_exi005_no_request_leaves_the_machine(pack, tiny_repo, district_state, renderer) -> None:  # noqa: ANN001
    from dashboard.export.panels import build_panels
    from data import briefing

    data = briefing.gather(tiny_repo, district_state)
    panels = build_panels(tiny_repo, district_state, data, glyphs_url=renderer.glyphs_url())
    for panel in panels.values():
        assert external_urls(panel.figure or {}) == []
    style = panels["map"].figure["layout"]["map"]["style"]
    assert style["glyphs"].startswith("file://")
    # No basemap configured: no source may point anywhere (tiles or URLs).
    assert all("tiles" not in src and "url" not in src for src in style["sources"].values())
    with pytest.raises(ExportUnavailable):
        assert_offline(
            {"layout": {"map": {"style": {"glyphs": "https://demotiles.maplibre.org/{range}"}}}}
        )
    assert_offline({"layout": {"images": [{"source": "http://127.0.0.1:8050/x.png"}]}})
    assert_offline({"x": "http://tiles.intra/{z}"}, allowed_hosts=["tiles.intra"])


def test_exi006_missing_browser_is_one_clear_error(monkeypatch) -> None:  # noqa: ANN001
    from dashboard.export.render import Renderer

    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    with pytest.raises(ExportUnavailable, match="Chromium"):
        Renderer(CJK_FONT).start()


def test_exi007_route_exports_with_scope_check(
    tiny_repo, district_state, renderer, tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    import flask

    from callbacks.services import Services
    from dashboard.export import render as render_mod
    from dashboard.export.routes import register_export_routes
    from dashboard.settings import Settings
    from data.auth import Principal

    monkeypatch.setattr(render_mod, "_DEFAULT", renderer)  # reuse the session's Chromium
    settings = Settings(instance_path=tmp_path)
    code = district_state.unit.code
    other = tiny_repo.children(tiny_repo.root().code)["code"].iloc[1]
    services = Services(
        repo=tiny_repo,
        title="t",
        data_source="云岚市综治中心",
        is_demo=True,
        current_user=lambda: Principal("leader", "leader", code),
    )
    app = flask.Flask("t")
    register_export_routes(app, services, settings)
    from data.auth import ScopeRefused

    app.register_error_handler(ScopeRefused, lambda e: ("refused", 403))
    client = app.test_client()
    resp = client.get(f"/_shiyu/export/slide.png?unit={code}&period=year")
    assert resp.status_code == 200, resp.data[:200]
    assert resp.mimetype == "image/png"
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    assert Image.open(io.BytesIO(resp.data)).size == (3840, 2160)
    assert client.get(f"/_shiyu/export/slide.png?unit={other}&period=year").status_code == 403
    assert client.get("/_shiyu/export/evil").status_code == 404
    from data import audit

    rows = audit.entries(tiny_repo.engine, action="export")
    assert any(str(u) == code for u in rows["unit_code"])
