"""Briefing texts: numbers equal the dashboard's, wording, stamps, file names, glyph coverage.

Pure tests (no browser): the summary and stamps are compared with :func:`data.views.kpis`
for the same ViewState, as formatted strings.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from PIL import Image, ImageDraw, ImageFont

from dashboard.export import compose
from dashboard.settings import Settings
from data import briefing, views
from data.indicators import INDICATORS, Change
from layouts.figures.download import download_name, export_href, graph_config

CJK_FONT = Settings().cjk_font

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
NOW = dt.datetime(2026, 11, 2, 9, 30)


def _number(change_text: str) -> str:
    """The number of a change text: "↑12.5%" → "12.5%", "↓0.8个百分点" → "0.8个百分点"."""
    return change_text.lstrip("↑↓")


@pytest.fixture(scope="module", params=["year", "month", "30d"])
def state(request, tiny_repo):  # noqa: ANN001, ANN201
    code = tiny_repo.children(tiny_repo.root().code)["code"].iloc[0]
    return views.resolve_state(tiny_repo, {"unit": code, "period": request.param})


def test_exb001_summary_numbers_equal_dashboard_kpis(tiny_repo, state) -> None:  # noqa: ANN001
    groups = views.kpis(tiny_repo, state)  # what the dashboard's KPI cards show
    k = {i.key: i for g in groups for i in g.items}
    b = briefing.build(briefing.gather(tiny_repo, state), data_source="x", generated_at=NOW)
    s = b.summary
    assert s.startswith(f"{state.period.label}，{state.unit.name}受理矛盾纠纷")
    assert f"受理矛盾纠纷{k['dispute_received'].text}件" in s
    assert f"同比{briefing.change_words(k['dispute_received'].yoy)}" in s
    assert _number(k["dispute_received"].yoy.text) in s
    if (state.mom.start, state.mom.end) != (state.yoy.start, state.yoy.end):
        assert f"环比{briefing.change_words(k['dispute_received'].mom)}" in s
    assert f"化解率{k['dispute_resolution_rate'].text}" in s
    assert f"调解成功率{k['dispute_mediation_rate'].text}" in s
    assert f"受理信访{k['petition_received'].text}件次" in s
    assert f"按期办结率{k['petition_on_time_rate'].text}" in s
    assert f"上报事件{k['event_received'].text}件，办结率{k['event_close_rate'].text}" in s
    assert f"期末在册风险隐患{k['risk_open_total'].text}个" in s
    # Every KPI row of the images and slides carries the dashboard's strings.
    rows = {r.key: r for r in b.kpi_rows}
    assert set(rows) == set(k)
    for key, kpi in k.items():
        assert (rows[key].text, rows[key].mom, rows[key].yoy) == (
            kpi.text,
            kpi.mom.text,
            kpi.yoy.text,
        )


def test_exb002_summary_names_leading_children(tiny_repo, state) -> None:  # noqa: ANN001
    table = views.children_table(tiny_repo, views.with_query(state, metric="dispute_received"))
    top = table.sort_values("value", ascending=False).iloc[0]
    b = briefing.build(briefing.gather(tiny_repo, state), data_source="x", generated_at=NOW)
    assert f"{top['name']}（{top['text']}件" in b.summary


def test_exb003_stamps(tiny_repo, state) -> None:  # noqa: ANN001
    b = briefing.build(
        briefing.gather(tiny_repo, state),
        data_source="云岚市综治中心（矛调中心）",
        generated_at=NOW,
    )
    assert b.title == f"{state.unit.name}矛盾纠纷化解情况（{state.period.label}）"
    assert state.unit.code in b.unit_line and state.unit.name in b.unit_line
    end = state.period.end
    assert b.cutoff_line == f"统计截止时间：{end.year}年{end.month}月{end.day}日"
    assert b.source_line == "数据来源：云岚市综治中心（矛调中心）"
    assert b.generated_line == "生成时间：2026年11月2日 09:30"
    assert b.internal_mark == "内部资料 注意保管"
    for key in briefing.CALIBER_KEYS:
        assert INDICATORS[key].caliber in b.caliber_line
    plain = briefing.build(
        briefing.gather(tiny_repo, state), data_source="x", generated_at=NOW, internal=False
    )
    assert plain.internal_mark == "" and "内部资料" not in "".join(plain.stamps())


def test_exb004_small_counts_suppressed_only_when_asked(tiny_repo, state) -> None:  # noqa: ANN001
    data = briefing.gather(tiny_repo, state)
    b = briefing.build(data, data_source="x", generated_at=NOW, small_count_threshold=10**9)
    assert re.search(r"受理矛盾纠纷<1000000000件", b.summary)
    counts = [r.text for r in b.kpi_rows if INDICATORS[r.key].kind == "count"]
    # Zero stays zero ("none" identifies nobody); every other count is suppressed.
    assert all(t.startswith("<") or t in ("0", "—") for t in counts), counts


def test_exb005_change_words() -> None:
    assert briefing.change_words(Change("pct", 12.5, "↑12.5%", False)) == "增长12.5%"
    assert briefing.change_words(Change("pp", -0.8, "↓0.8个百分点", False)) == "下降0.8个百分点"
    assert briefing.change_words(Change("pp", 0.8, "↑0.8个百分点", True)) == "上升0.8个百分点"
    assert briefing.change_words(Change("pct", 0.0, "持平")) == "持平"
    assert briefing.change_words(Change("pct", None, "—")) == "无可比数据"


def test_exb006_download_names_and_graph_config() -> None:
    assert (
        download_name("临泉区", "矛盾纠纷受理趋势", "2026年1—10月")
        == "临泉区-矛盾纠纷受理趋势-2026年1—10月"
    )
    assert download_name("a/b\\c", 'x:y*?"<>|', "") == "abc-xy"
    assert download_name("", "", "") == "图表"
    assert len(download_name("区" * 300, "x", "y")) <= 100
    cfg = graph_config(download_name("临泉区", "地图-调解成功率(%)", "2026年10月"))
    assert cfg["displaylogo"] is False
    assert cfg["toImageButtonOptions"] == {
        "format": "png",
        "filename": "临泉区-地图-调解成功率()-2026年10月",
        "scale": 2,
    }
    kept = graph_config("x", base={"responsive": True, "displayModeBar": False})
    assert kept["responsive"] is True and kept["displayModeBar"] == "hover"
    assert export_href("?unit=1&period=month") == "/_shiyu/export/briefing.zip?unit=1&period=month"
    assert export_href(None, "slide.png") == "/_shiyu/export/slide.png"
    with pytest.raises(ValueError):
        export_href("", "evil")


def test_exb007_every_printed_character_has_a_glyph(tiny_repo, state) -> None:  # noqa: ANN001
    """Glyph coverage of the composition font for all stamps, summary and table texts.

    ``getmask`` of a character missing from the font is empty (or the .notdef box, which is
    identical for every missing character); compare with a private-use code point.
    """
    fonts = compose.load_fonts(CJK_FONT)
    b = briefing.build(
        briefing.gather(tiny_repo, state), data_source="云岚市综治中心", generated_at=NOW
    )
    for font in (fonts.sans(40), fonts.sans_bold(40), fonts.serif_bold(40)):
        notdef = bytes(font.getmask("\ue000"))
        missing = sorted(
            {
                ch
                for ch in b.all_text()
                if not ch.isspace()
                and (font.getmask(ch).getbbox() is None or bytes(font.getmask(ch)) == notdef)
            }
        )
        assert missing == [], f"{font.getname()} lacks {missing}"


def test_exb008_chinese_really_renders_with_the_cjk_font() -> None:
    title = "临泉区矛盾纠纷化解情况"

    def draw(font: ImageFont.FreeTypeFont) -> Image.Image:
        img = Image.new("L", (900, 80), 255)
        ImageDraw.Draw(img).text((10, 10), title, font=font, fill=0)
        return img

    cjk = draw(compose.load_fonts(CJK_FONT).sans(48))
    latin = draw(ImageFont.truetype(DEJAVU, 48))
    assert cjk.tobytes() != latin.tobytes()
    # DejaVu draws the same .notdef box for every character; Noto draws distinct glyphs.
    font = compose.load_fonts(CJK_FONT).sans(48)
    assert len({bytes(font.getmask(ch)) for ch in title}) == len(set(title))
    dejavu = ImageFont.truetype(DEJAVU, 48)
    assert len({bytes(dejavu.getmask(ch)) for ch in title}) == 1


def test_exb009_missing_font_fails_loudly(tmp_path) -> None:  # noqa: ANN001
    from dashboard.settings import SettingsError

    with pytest.raises(compose.FontMissing) as err:
        compose.load_fonts(tmp_path / "nope.ttc")
    assert isinstance(err.value, SettingsError)
    assert "fonts-noto-cjk" in str(err.value) and "\n" not in str(err.value)


def test_exb010_wrap_keeps_numbers_and_hangs_punctuation() -> None:
    font = compose.load_fonts(CJK_FONT).sans(20)
    lines = compose.wrap("受理矛盾纠纷3,363件，同比下降6.0%；化解率97.9%。" * 3, font, 200)
    assert all(not line.startswith(("，", "。", "；")) for line in lines)
    joined = "".join(lines)
    assert joined == "受理矛盾纠纷3,363件，同比下降6.0%；化解率97.9%。" * 3
    assert all("3,363" in line or "3,3" not in line for line in lines)


def test_exb011_cli_refuses_unknown_unit_without_rendering(tiny_demo_url, tmp_path, capsys) -> None:  # noqa: ANN001
    from dashboard.cli import main

    code = main(
        [
            "export",
            "--db",
            tiny_demo_url,
            "--unit",
            "999999",
            "--period",
            "month",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 1
    assert "未找到单位代码" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_exb012_cli_missing_font_is_one_line(tiny_demo_url, tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    from dashboard.cli import main

    monkeypatch.setenv("SHIYU_CJK_FONT", str(tmp_path / "missing.ttc"))
    code = main(["export", "--db", tiny_demo_url, "--period", "month", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "fonts-noto-cjk" in err and "\n" not in err
