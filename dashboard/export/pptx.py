"""PowerPoint deck of a briefing: a title slide, then one 16:9 slide per panel.

The KPI slide is a native table (editable, and its numbers can be copied); every other panel
is its rendered image. Each slide carries the briefing's heading, a red rule, and the stamps
(统计截止时间, 口径, 数据来源, 生成时间) in its foot, so a single slide lifted into another
deck still says where its numbers come from.

Text is set in 微软雅黑 for East Asian script: a deck is opened on the office's Windows
machines, where that face exists; LibreOffice substitutes Noto Sans CJK through fontconfig.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from dashboard.export.panels import PANEL_ORDER, Panel
from data.briefing import Briefing

__all__ = ["EA_FONT", "SLIDE_HEIGHT", "SLIDE_WIDTH", "build_deck"]

SLIDE_WIDTH = Inches(13.333)
SLIDE_HEIGHT = Inches(7.5)
#: East Asian typeface of every run.
EA_FONT = "微软雅黑"
LATIN_FONT = "Arial"
RED = RGBColor(0xC0, 0x00, 0x00)
INK = RGBColor(0x1A, 0x1A, 0x1A)
GREY = RGBColor(0x5A, 0x5A, 0x5A)
GOOD = RGBColor(0x2B, 0x8A, 0x3E)
MARGIN = Inches(0.45)


def _font(run, size: float, *, bold: bool = False, colour: RGBColor = INK) -> None:  # noqa: ANN001
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = colour
    run.font.name = LATIN_FONT
    # python-pptx sets only the Latin face; Chinese needs the <a:ea> typeface too.
    rpr = run._r.get_or_add_rPr()
    for tag in ("a:ea", "a:cs"):
        el = rpr.find(qn(tag))
        if el is None:
            el = rpr.makeelement(qn(tag), {})
            rpr.append(el)
        el.set("typeface", EA_FONT)


def _text(
    slide,  # noqa: ANN001
    x: int,
    y: int,
    w: int,
    h: int,
    lines: Sequence[str],
    size: float,
    *,
    bold: bool = False,
    colour: RGBColor = INK,
    align: PP_ALIGN = PP_ALIGN.LEFT,
    anchor: MSO_ANCHOR = MSO_ANCHOR.TOP,
    name: str = "",
):  # noqa: ANN202
    box = slide.shapes.add_textbox(x, y, w, h)
    if name:
        box.name = name
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    frame.margin_left = frame.margin_right = Inches(0.05)
    for i, line in enumerate(lines):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.alignment = align
        run = para.add_run()
        run.text = line
        _font(run, size, bold=bold, colour=colour)
    return box


def _rule(slide, y: int) -> None:  # noqa: ANN001
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, MARGIN, y, SLIDE_WIDTH - 2 * MARGIN, Pt(2.5))
    bar.fill.solid()
    bar.fill.fore_color.rgb = RED
    bar.line.fill.background()


def _slide_frame(prs: Any, b: Briefing, title: str, extra_foot: Sequence[str] = ()):  # noqa: ANN202
    slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    _text(
        slide,
        MARGIN,
        Inches(0.25),
        SLIDE_WIDTH - 2 * MARGIN,
        Inches(0.6),
        [title],
        24,
        bold=True,
        anchor=MSO_ANCHOR.MIDDLE,
        name="标题",
    )
    _rule(slide, Inches(0.88))
    foot = [*extra_foot, "　".join([b.unit_line, b.cutoff_line, b.source_line, b.generated_line])]
    _text(
        slide,
        MARGIN,
        SLIDE_HEIGHT - Inches(0.75),
        SLIDE_WIDTH - 2 * MARGIN,
        Inches(0.7),
        foot,
        9,
        colour=GREY,
        anchor=MSO_ANCHOR.BOTTOM,
        name="页脚",
    )
    if b.internal_mark:
        _text(
            slide,
            SLIDE_WIDTH - MARGIN - Inches(2.2),
            Inches(0.02),
            Inches(2.2),
            Inches(0.3),
            [b.internal_mark],
            9,
            bold=True,
            colour=RED,
            align=PP_ALIGN.RIGHT,
        )
    return slide


def _picture(
    slide,
    image: Image.Image,
    top: int,
    bottom: int,
    left: int = MARGIN,  # noqa: ANN001
    width: int | None = None,
) -> None:
    """Add ``image`` fitted (aspect kept) and centred in the box."""
    box_w = width if width is not None else SLIDE_WIDTH - 2 * MARGIN
    box_h = bottom - top
    k = min(box_w / image.width, box_h / image.height)
    w, h = int(image.width * k), int(image.height * k)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    buf.seek(0)
    slide.shapes.add_picture(
        buf, Emu(left + (box_w - w) // 2), Emu(top + (box_h - h) // 2), Emu(w), Emu(h)
    )


def _title_slide(prs: Any, b: Briefing) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    if b.internal_mark:
        _text(
            slide,
            MARGIN,
            Inches(0.3),
            Inches(3),
            Inches(0.4),
            [b.internal_mark],
            12,
            bold=True,
            colour=RED,
        )
    _text(
        slide,
        MARGIN,
        Inches(1.2),
        SLIDE_WIDTH - 2 * MARGIN,
        Inches(1.3),
        [b.title],
        34,
        bold=True,
        align=PP_ALIGN.CENTER,
        anchor=MSO_ANCHOR.MIDDLE,
        name="标题",
    )
    _rule(slide, Inches(2.6))
    _text(
        slide,
        MARGIN,
        Inches(2.75),
        SLIDE_WIDTH - 2 * MARGIN,
        Inches(0.9),
        [b.meta_line, b.comparison_line],
        13,
        colour=GREY,
        align=PP_ALIGN.CENTER,
    )
    _text(
        slide,
        Inches(1.0),
        Inches(3.8),
        SLIDE_WIDTH - Inches(2.0),
        Inches(2.3),
        ["综述：" + b.summary],
        15,
        name="综述",
    )
    _text(
        slide,
        MARGIN,
        SLIDE_HEIGHT - Inches(1.2),
        SLIDE_WIDTH - 2 * MARGIN,
        Inches(1.1),
        [b.caliber_line, "　".join([b.source_line, b.generated_line])],
        9,
        colour=GREY,
        anchor=MSO_ANCHOR.BOTTOM,
        name="页脚",
    )


def _kpi_slide(prs: Any, b: Briefing, title: str) -> None:
    slide = _slide_frame(prs, b, title, ["口径：" + "；".join(b.calibers[:5])])
    rows = b.kpi_rows
    top = Inches(1.05)
    height = SLIDE_HEIGHT - top - Inches(0.95)
    shape = slide.shapes.add_table(len(rows) + 1, 5, MARGIN, top, SLIDE_WIDTH - 2 * MARGIN, height)
    table = shape.table
    widths = [0.14, 0.34, 0.18, 0.17, 0.17]
    for i, w in enumerate(widths):
        table.columns[i].width = int((SLIDE_WIDTH - 2 * MARGIN) * w)
    heads = ["类别", "指标", "本期", "环比", "同比"]
    for j, head in enumerate(heads):
        _cell(table.cell(0, j), head, bold=True, colour=INK, right=j >= 2)
    previous = None
    for i, row in enumerate(rows, start=1):
        _cell(table.cell(i, 0), row.group if row.group != previous else "", bold=True, colour=RED)
        previous = row.group
        _cell(table.cell(i, 1), row.label)
        _cell(table.cell(i, 2), row.value_text, bold=True, right=True)
        for j, (txt, fav) in enumerate(
            ((row.mom, row.mom_favourable), (row.yoy, row.yoy_favourable)), 3
        ):
            colour = GREY if fav is None else (GOOD if fav else RED)
            _cell(table.cell(i, j), txt, colour=colour, right=True)


def _cell(
    cell, text: str, *, bold: bool = False, colour: RGBColor = INK, right: bool = False
) -> None:  # noqa: ANN001
    cell.text = ""
    frame = cell.text_frame
    para = frame.paragraphs[0]
    para.alignment = PP_ALIGN.RIGHT if right else PP_ALIGN.LEFT
    run = para.add_run()
    run.text = text
    _font(run, 11, bold=bold, colour=colour)
    cell.margin_top = cell.margin_bottom = Pt(1)
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    cell.fill.solid()
    cell.fill.fore_color.rgb = RGBColor(0xFF, 0xFF, 0xFF)


def build_deck(
    b: Briefing, panels: Mapping[str, Panel], images: Mapping[str, Image.Image], path: str | Path
) -> Path:
    """Write the deck: title slide + one slide per panel of :data:`PANEL_ORDER`.

    Parameters
    ----------
    b : Briefing
    panels : mapping of str to Panel
        Headings, captions and 口径 of the panels.
    images : mapping of str to PIL.Image.Image
        Rendered panel images (not the KPI table, which is a native table). The two trends
        share one slide, side by side.
    path : str or Path

    Returns
    -------
    Path
    """
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    prs.core_properties.title = b.title
    prs.core_properties.subject = b.summary[:250]
    prs.core_properties.author = b.source_line.removeprefix("数据来源：")
    _title_slide(prs, b)
    top, bottom = Inches(1.05), SLIDE_HEIGHT - Inches(0.95)
    for key in PANEL_ORDER:
        if key == "trend_petition":
            continue  # shares the dispute trend's slide
        panel = panels[key]
        if key == "kpis":
            _kpi_slide(prs, b, b.heading(panel.title))
            continue
        foot = [t for t in (panel.caption, f"口径：{panel.caliber}" if panel.caliber else "") if t]
        if key == "trend_dispute":
            other = panels["trend_petition"]
            slide = _slide_frame(prs, b, b.heading("矛盾纠纷与信访受理趋势"), foot)
            half = (SLIDE_WIDTH - 2 * MARGIN - Inches(0.3)) // 2
            for i, p in enumerate((panel, other)):
                left = MARGIN + i * (half + Inches(0.3))
                _text(slide, left, top, half, Inches(0.4), [p.title], 14, bold=True)
                _picture(slide, images[p.key], top + Inches(0.45), bottom, left, half)
            continue
        slide = _slide_frame(prs, b, b.heading(panel.title), foot)
        _picture(slide, images[key], top, bottom)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prs.save(str(path))
    return path
