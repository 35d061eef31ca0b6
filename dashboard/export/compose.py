"""Pillow composition of briefing images: the slide (3840×2160) and the document figure.

The look follows the house style of a 政府简报: white page, a serif bold title centred over a
red double rule (红色反线), a grey line with unit, period and cut-off, a boxed 综述
paragraph, panels with a short red marker before each heading, and the stamps (口径,
数据来源, 生成时间, optional 内部资料 marking) in small grey type at the foot.

Charts and the map are rendered by Kaleido at exactly the pixel size of their slot (see
:class:`PanelSource`), so nothing is scaled after rendering except the map, which is
rendered once per briefing and fitted into each slot (a map render costs ~3 s).

Every text is drawn with the CJK font named by ``SHIYU_CJK_FONT`` (Noto Sans CJK SC from
``fonts-noto-cjk``); :func:`load_fonts` fails loudly when it is missing, because Pillow,
like Chromium, would otherwise draw boxes or nothing for Chinese.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from dashboard.settings import SettingsError
from data.briefing import Briefing, KpiRow

__all__ = [
    "DOC_DPI",
    "DOC_WIDTH",
    "SLIDE_DPI",
    "SLIDE_SIZE",
    "FontMissing",
    "Fonts",
    "compose_document",
    "compose_slide",
    "kpi_table",
    "load_fonts",
    "require_font",
    "save_png",
    "stamp_panel",
    "wrap",
]

#: 1920×1080 at 2×.
SLIDE_SIZE = (3840, 2160)
#: 3840 px over a 13.333-inch 16:9 slide: inserted at 288 dpi the image fills the slide.
SLIDE_DPI = 288
#: GB/T 9704 text block 156 mm at 300 dpi.
DOC_WIDTH = 1843
DOC_DPI = 300
#: A4 text block height (225 mm at 300 dpi): the document figure aims to fit one page.
DOC_PAGE_HEIGHT = 2657

RED = (192, 0, 0)
INK = (26, 26, 26)
GREY = (90, 90, 90)
LIGHT = (150, 150, 150)
RULE = (210, 210, 210)
BAND = (246, 246, 246)
GOOD = (43, 138, 62)
BAD = (192, 0, 0)
WHITE = (255, 255, 255)

# Chinese line-breaking: these never start a line (they hang at the end of the previous
# one), and these never end one.
_NO_START = set("，。、；：！？）》」』”’%…—·,.;:!?)]}")
_NO_END = set("（《「『“‘([{")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,%+\-/:_]*|\s+|.", re.S)


class FontMissing(SettingsError):
    """The CJK font file is not installed (install the Debian package fonts-noto-cjk).

    A :class:`~dashboard.settings.SettingsError`, so ``shiyu`` prints it as one line and
    exits non-zero like any other unusable setting (``SHIYU_CJK_FONT``).
    """


def require_font(path: str | Path) -> Path:
    """Return ``path`` if it is a readable font file, else raise :class:`FontMissing`.

    One line, in Chinese and English, for ``create_app`` and the CLI to print.
    """
    p = Path(path)
    if not p.is_file():
        raise FontMissing(
            f"缺少中文字体 {p}：请安装 fonts-noto-cjk（make system-deps）或设置 SHIYU_CJK_FONT"
            f" / CJK font not found: {p}"
        )
    return p


@functools.lru_cache(maxsize=16)
def _face_index(path: str, preferred: str = "SC") -> int:
    """Index of the Simplified Chinese face in a CJK collection (0 for a single font)."""
    for i in range(12):
        try:
            family, _ = ImageFont.truetype(path, 12, index=i).getname()
        except OSError:
            break
        if family and family.split()[-1] == preferred and "Mono" not in family:
            return i
    return 0


@functools.lru_cache(maxsize=128)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=_face_index(path))


@dataclass(frozen=True)
class Fonts:
    """Font files: body sans, bold sans and the serif bold of titles."""

    regular: str
    bold: str
    title: str

    def sans(self, size: int) -> ImageFont.FreeTypeFont:
        return _font(self.regular, int(size))

    def sans_bold(self, size: int) -> ImageFont.FreeTypeFont:
        return _font(self.bold, int(size))

    def serif_bold(self, size: int) -> ImageFont.FreeTypeFont:
        return _font(self.title, int(size))


def load_fonts(cjk_font: str | Path) -> Fonts:
    """Fonts for composition, from the configured CJK font and its siblings.

    The regular face is required; bold and serif bold are taken from the same folder
    (``NotoSansCJK-Bold.ttc``, ``NotoSerifCJK-Bold.ttc`` in ``fonts-noto-cjk``) and fall back
    to the regular face when absent.
    """
    regular = require_font(cjk_font)
    folder = regular.parent
    bold = folder / regular.name.replace("Regular", "Bold")
    serif = folder / regular.name.replace("Sans", "Serif").replace("Regular", "Bold")
    bold_path = bold if bold.is_file() else regular
    return Fonts(str(regular), str(bold_path), str(serif if serif.is_file() else bold_path))


# ---------------------------------------------------------------------------------------
# Text


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (Chinese rules).

    Characters break anywhere except inside runs of Latin letters and digits ("3,363件"
    keeps "3,363" whole); closing punctuation hangs at the line end rather than starting
    the next line; opening brackets never end a line. Newlines in ``text`` are kept.
    """
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for token in _TOKEN.findall(para):
            candidate = line + token
            if not line or font.getlength(candidate) <= width or token[0] in _NO_START:
                line = candidate
                continue
            carry = ""
            while line and line[-1] in _NO_END:
                carry = line[-1] + carry
                line = line[:-1]
            lines.append(line.rstrip())
            line = (carry + token).lstrip()
        lines.append(line)
    return lines


def _paragraph(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    width: float,
    *,
    fill: tuple[int, int, int] = INK,
    leading: float = 1.5,
    align: str = "left",
    indent: int = 0,
) -> float:
    """Draw wrapped text; returns the y below the last line."""
    x, y = xy
    step = font.size * leading
    first_prefix = "\u3000" * indent
    for line in wrap(first_prefix + text, font, width):
        if align == "center":
            lx = x + (width - font.getlength(line)) / 2
        elif align == "right":
            lx = x + width - font.getlength(line)
        else:
            lx = x
        draw.text((lx, y), line, font=font, fill=fill)
        y += step
    return y


def _text_height(text: str, font: ImageFont.FreeTypeFont, width: float, leading: float) -> float:
    return len(wrap(text, font, width)) * font.size * leading


# ---------------------------------------------------------------------------------------
# Building blocks


def kpi_table(
    rows: Sequence[KpiRow], size: tuple[int, int], fonts: Fonts, font_px: int
) -> Image.Image:
    """The KPI table: 类别 | 指标 | 本期 | 环比 | 同比, one band per group.

    Changes are green when favourable, red when not, grey when undefined or flat — the same
    reading as the dashboard's KPI cards.
    """
    width, height = size
    img = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(img)
    n = len(rows) + 1
    row_h = height / n
    fpx = int(min(font_px, row_h * 0.62))
    cols = [0.13, 0.27, 0.18, 0.21, 0.21]
    xs = [0.0]
    for c in cols:
        xs.append(xs[-1] + c * width)
    heads = ["类别", "指标", "本期", "环比", "同比"]
    # One type size per column, the largest at which its widest entry fits: a table whose
    # cells shrink one by one looks ragged.
    columns = [
        [r.group for r in rows],
        [r.label for r in rows],
        [r.value_text for r in rows],
        [r.mom for r in rows],
        [r.yoy for r in rows],
    ]
    sizes: list[int] = []
    for i, texts in enumerate(columns):
        px = fpx
        probe = fonts.sans_bold(px)
        room = (xs[i + 1] - xs[i]) - fpx * 0.8
        widest = max((probe.getlength(t) for t in [heads[i], *texts]), default=0)
        if widest > room:
            px = max(8, int(px * room / widest))
        sizes.append(px)
    body = [fonts.sans(px) for px in sizes]
    bold = [fonts.sans_bold(px) for px in sizes]
    head_font = fonts.sans_bold(fpx)
    draw.rectangle([0, 0, width, row_h], fill=(240, 240, 240))
    for i, head in enumerate(heads):
        _cell(draw, head, head_font, xs[i], xs[i + 1], 0, row_h, GREY, "left" if i < 2 else "right")
    draw.line([0, row_h, width, row_h], fill=INK, width=max(1, fpx // 14))
    group_start = 1
    for r, row in enumerate(rows, start=1):
        y0, y1 = r * row_h, (r + 1) * row_h
        _cell(draw, row.label, body[1], xs[1], xs[2], y0, y1, INK, "left")
        _cell(draw, row.value_text, bold[2], xs[2], xs[3], y0, y1, INK, "right")
        for j, (txt, fav) in enumerate(
            ((row.mom, row.mom_favourable), (row.yoy, row.yoy_favourable)), start=3
        ):
            colour = GREY if fav is None else (GOOD if fav else BAD)
            _cell(draw, txt, body[j], xs[j], xs[j + 1], y0, y1, colour, "right")
        last = r == len(rows) or rows[r].group != row.group
        if last:
            gy0, gy1 = group_start * row_h, y1
            _cell(draw, row.group, bold[0], xs[0], xs[1], gy0, gy1, RED, "left")
            draw.line([0, y1, width, y1], fill=RULE, width=max(1, fpx // 16))
            group_start = r + 1
        else:
            draw.line([xs[1], y1, width, y1], fill=(236, 236, 236), width=1)
    return img


def _cell(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont,
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    fill: tuple[int, int, int],
    align: str,
) -> None:
    pad = font.size * 0.4
    # Shrink a text that does not fit its column rather than overflow into the next one.
    while font.getlength(text) > (x1 - x0) - 2 * pad and font.size > 8:
        font = font.font_variant(size=font.size - 1)
    y = (y0 + y1) / 2
    if align == "right":
        draw.text((x1 - pad, y), text, font=font, fill=fill, anchor="rm")
    else:
        draw.text((x0 + pad, y), text, font=font, fill=fill, anchor="lm")


def fit(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``img`` scaled to fit ``size`` (never enlarged past 1×), centred on white."""
    w, h = size
    k = min(w / img.width, h / img.height, 1.0)
    scaled = (
        img
        if k == 1.0
        else img.resize((round(img.width * k), round(img.height * k)), Image.Resampling.LANCZOS)
    )
    out = Image.new("RGB", size, WHITE)
    out.paste(scaled.convert("RGB"), ((w - scaled.width) // 2, (h - scaled.height) // 2))
    return out


def _panel_head(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    w: float,
    title: str,
    font: ImageFont.FreeTypeFont,
) -> float:
    """Red marker, bold heading and a hairline; returns the y where the content starts."""
    size = font.size
    draw.rectangle([x, y + size * 0.18, x + size * 0.22, y + size * 1.08], fill=RED)
    title_font = font
    while title_font.getlength(title) > w - size * 0.6 and title_font.size > 10:
        title_font = title_font.font_variant(size=title_font.size - 1)
    draw.text((x + size * 0.5, y + size * 0.63), title, font=title_font, fill=INK, anchor="lm")
    rule_y = y + size * 1.45
    draw.line([x, rule_y, x + w, rule_y], fill=RULE, width=int(max(1, size // 14)))
    return rule_y + size * 0.35


def _internal_mark(
    draw: ImageDraw.ImageDraw, x: float, y: float, text: str, font: ImageFont.FreeTypeFont
) -> None:
    if not text:
        return
    pad = font.size * 0.35
    w = font.getlength(text)
    draw.rectangle(
        [x, y, x + w + 2 * pad, y + font.size * 1.5],
        outline=RED,
        width=int(max(2, font.size // 10)),
    )
    draw.text((x + pad, y + font.size * 0.75), text, font=font, fill=RED, anchor="lm")


def _header(
    img: Image.Image, b: Briefing, fonts: Fonts, *, margin: int, title_px: int, meta_px: int
) -> float:
    """Internal mark, title, red double rule, meta lines; returns the y below them."""
    draw = ImageDraw.Draw(img)
    width = img.width - 2 * margin
    _internal_mark(draw, margin, margin * 0.6, b.internal_mark, fonts.sans_bold(int(meta_px * 0.9)))
    y = margin * 0.6 + (meta_px * 1.6 if b.internal_mark else 0)
    title_font = fonts.serif_bold(title_px)
    y = _paragraph(draw, (margin, y), b.title, title_font, width, align="center", leading=1.35)
    y += title_px * 0.15
    thick = max(3, title_px // 12)
    draw.rectangle([margin, y, img.width - margin, y + thick], fill=RED)
    draw.rectangle(
        [margin, y + thick * 2, img.width - margin, y + thick * 2 + max(1, thick // 3)], fill=RED
    )
    y += thick * 2 + meta_px * 0.6
    meta_font = fonts.sans(meta_px)
    y = _paragraph(draw, (margin, y), b.meta_line, meta_font, width, fill=GREY, align="center")
    y = _paragraph(
        draw, (margin, y), b.comparison_line, meta_font, width, fill=GREY, align="center"
    )
    return y


def _summary_box(
    img: Image.Image, b: Briefing, fonts: Fonts, *, x: float, y: float, w: float, px: int
) -> float:
    draw = ImageDraw.Draw(img)
    font = fonts.sans(px)
    label_font = fonts.sans_bold(px)
    pad = px * 0.7
    label = "综述："
    text = label + b.summary + ("（" + "；".join(b.notes) + "）" if b.notes else "")
    h = _text_height(text, font, w - 2 * pad - px * 0.4, 1.6) + 2 * pad - px * 0.6
    draw.rectangle([x, y, x + w, y + h], fill=BAND)
    draw.rectangle([x, y, x + px * 0.3, y + h], fill=RED)
    _paragraph(draw, (x + pad + px * 0.4, y + pad), text, font, w - 2 * pad - px * 0.4, leading=1.6)
    # Re-draw the label in bold over the regular one (same advance widths in Noto CJK).
    draw.text((x + pad + px * 0.4, y + pad), label, font=label_font, fill=RED)
    return y + h


def _footer(
    img: Image.Image, b: Briefing, fonts: Fonts, *, margin: int, px: int, bottom: float
) -> float:
    """Stamps at the foot, bottom-aligned at ``bottom``; returns their top y."""
    width = img.width - 2 * margin
    font = fonts.sans(px)
    lines = [
        b.caliber_line,
        "　".join([b.unit_line, b.cutoff_line, b.source_line, b.generated_line]),
    ]
    height = sum(_text_height(line, font, width, 1.45) for line in lines)
    top = bottom - height
    draw = ImageDraw.Draw(img)
    draw.line(
        [margin, top - px * 0.5, img.width - margin, top - px * 0.5],
        fill=RULE,
        width=max(1, px // 12),
    )
    y = top
    for line in lines:
        y = _paragraph(draw, (margin, y), line, font, width, fill=GREY, leading=1.45)
    return top - px * 0.8


def footer_height(b: Briefing, fonts: Fonts, width: int, px: int) -> float:
    font = fonts.sans(px)
    lines = [
        b.caliber_line,
        "　".join([b.unit_line, b.cutoff_line, b.source_line, b.generated_line]),
    ]
    return sum(_text_height(line, font, width, 1.45) for line in lines) + px * 0.8


# ---------------------------------------------------------------------------------------
# Compositions

#: ``render(key, width_px, height_px) -> Image`` gives a panel image of exactly that size.
Render = Callable[[str, int, int], Image.Image]


@dataclass(frozen=True)
class Slot:
    key: str
    x: int
    y: int
    w: int
    h: int


def _place(
    img: Image.Image,
    slots: Sequence[Slot],
    titles: dict[str, str],
    render: Render,
    fonts: Fonts,
    head_px: int,
    rows: Sequence[KpiRow],
    table_px: int,
) -> None:
    draw = ImageDraw.Draw(img)
    for s in slots:
        top = _panel_head(draw, s.x, s.y, s.w, titles.get(s.key, s.key), fonts.sans_bold(head_px))
        h = int(s.y + s.h - top)
        if s.key == "kpis":
            img.paste(kpi_table(rows, (s.w, h), fonts, table_px), (s.x, int(top)))
        else:
            img.paste(fit(render(s.key, s.w, h), (s.w, h)), (s.x, int(top)))


def compose_slide(b: Briefing, titles: dict[str, str], render: Render, fonts: Fonts) -> Image.Image:
    """The 16:9 slide image, 3840×2160 px (1920×1080 at 2×).

    Layout: header; 综述; a row with the KPI table, the map and the ranking; a row with the
    dispute and petition trends, the category breakdown and the risk matrix; stamps.
    """
    u = 2  # physical pixels per design pixel
    W, H = SLIDE_SIZE
    img = Image.new("RGB", (W, H), WHITE)
    m = 36 * u
    y = _header(img, b, fonts, margin=m, title_px=38 * u, meta_px=15 * u)
    y = _summary_box(img, b, fonts, x=m, y=y + 6 * u, w=W - 2 * m, px=16 * u) + 14 * u
    bottom = _footer(img, b, fonts, margin=m, px=11 * u, bottom=H - 18 * u)
    gap = 18 * u
    avail = bottom - y
    row_a = int(avail * 0.57)
    row_b = int(avail - row_a - gap)
    inner = W - 2 * m
    kpi_w, rank_w = 520 * u, 470 * u
    map_w = inner - kpi_w - rank_w - 2 * gap
    y0 = int(y)
    slots = [
        Slot("kpis", m, y0, kpi_w, row_a),
        Slot("map", m + kpi_w + gap, y0, map_w, row_a),
        Slot("ranking", m + kpi_w + map_w + 2 * gap, y0, rank_w, row_a),
    ]
    keys_b = ["trend_dispute", "trend_petition", "breakdown", "risk"]
    bw = (inner - gap * (len(keys_b) - 1)) // len(keys_b)
    y1 = y0 + row_a + gap
    slots += [Slot(k, m + i * (bw + gap), y1, bw, row_b) for i, k in enumerate(keys_b)]
    _place(img, slots, titles, render, fonts, 15 * u, b.kpi_rows, 13 * u)
    return img


def compose_document(
    b: Briefing, titles: dict[str, str], render: Render, fonts: Fonts
) -> Image.Image:
    """The document figure: 1843 px wide (156 mm at 300 dpi), aiming at one A4 text block.

    Layout: header; 综述; the KPI table in two halves; the map beside the ranking; the
    dispute trend, category breakdown and risk matrix; stamps. The map row takes whatever
    height the rest leaves of :data:`DOC_PAGE_HEIGHT` (at least 620 px).
    """
    W = DOC_WIDTH
    m = 40
    gap = 30
    head_px, table_px, foot_px = 34, 29, 25
    probe = Image.new("RGB", (W, 4000), WHITE)
    y = _header(probe, b, fonts, margin=m, title_px=60, meta_px=30)
    y = _summary_box(probe, b, fonts, x=m, y=y + 10, w=W - 2 * m, px=34) + gap
    rows = list(b.kpi_rows)
    groups = list(dict.fromkeys(r.group for r in rows))
    # Split the table between whole groups, as evenly as the groups allow.
    best, split = None, 1
    for i in range(1, len(groups)):
        left = sum(1 for r in rows if r.group in groups[:i])
        diff = abs(len(rows) - 2 * left)
        if best is None or diff < best:
            best, split = diff, i
    left_rows = [r for r in rows if r.group in groups[:split]]
    right_rows = [r for r in rows if r.group in groups[split:]]
    row_h = 46
    table_h = (max(len(left_rows), len(right_rows)) + 1) * row_h
    head_h = int(head_px * 1.8)
    bottom_h = 470
    foot_h = footer_height(b, fonts, W - 2 * m, foot_px)
    fixed = y + head_h + table_h + gap + (head_h + gap) + (bottom_h + head_h) + gap + foot_h + m
    map_h = max(620, int(DOC_PAGE_HEIGHT - fixed))
    H = int(fixed + map_h)
    img = Image.new("RGB", (W, H), WHITE)
    y = _header(img, b, fonts, margin=m, title_px=60, meta_px=30)
    y = _summary_box(img, b, fonts, x=m, y=y + 10, w=W - 2 * m, px=34) + gap
    draw = ImageDraw.Draw(img)
    inner = W - 2 * m
    top = _panel_head(draw, m, y, inner, titles.get("kpis", "主要指标"), fonts.sans_bold(head_px))
    half = (inner - gap) // 2
    img.paste(kpi_table(left_rows, (half, table_h), fonts, table_px), (m, int(top)))
    img.paste(kpi_table(right_rows, (half, table_h), fonts, table_px), (m + half + gap, int(top)))
    y = int(top + table_h + gap)
    map_w = int(inner * 0.58)
    slots = [
        Slot("map", m, y, map_w, map_h + head_h),
        Slot("ranking", m + map_w + gap, y, inner - map_w - gap, map_h + head_h),
    ]
    y += map_h + head_h + gap
    keys = ["trend_dispute", "breakdown", "risk"]
    widths = [int(inner * 0.35), int(inner * 0.30)]
    widths.append(inner - sum(widths) - gap * 2)
    x = m
    for key, w in zip(keys, widths, strict=True):
        slots.append(Slot(key, x, y, w, bottom_h + head_h))
        x += w + gap
    _place(img, slots, titles, render, fonts, head_px, b.kpi_rows, table_px)
    _footer(img, b, fonts, margin=m, px=foot_px, bottom=H - m * 0.6)
    return img


def stamp_panel(
    image: Image.Image,
    b: Briefing,
    title: str,
    fonts: Fonts,
    *,
    caption: str = "",
    caliber: str = "",
) -> Image.Image:
    """One panel as a stand-alone figure: heading above, stamps below, same width.

    The heading reads "临泉区 · 矛盾纠纷受理趋势（按月）（2026年1—10月）"; the foot
    carries unit and code, cut-off, 口径 of the panel's rate, source and generation time.
    """
    W = image.width
    px = max(22, W // 60)
    m = px
    font = fonts.sans(px)
    head_font = fonts.sans_bold(int(px * 1.25))
    heading = b.heading(title)
    foot = [caption] if caption else []
    if caliber:
        foot.append(f"口径：{caliber}")
    foot.append("　".join([b.unit_line, b.cutoff_line]))
    foot.append("　".join([b.source_line, b.generated_line, b.internal_mark]).strip("　"))
    head_h = int(head_font.size * 1.9)
    foot_h = int(sum(_text_height(t, font, W - 2 * m, 1.45) for t in foot) + px)
    out = Image.new("RGB", (W, head_h + image.height + foot_h), WHITE)
    draw = ImageDraw.Draw(out)
    _panel_head(draw, m, px * 0.3, W - 2 * m, heading, head_font)
    out.paste(image.convert("RGB"), (0, head_h))
    y = head_h + image.height + px * 0.4
    for t in foot:
        y = _paragraph(draw, (m, y), t, font, W - 2 * m, fill=GREY, leading=1.45)
    return out


def save_png(img: Image.Image, path: str | Path, dpi: int) -> Path:
    """Write ``img`` as PNG with its physical resolution (pHYs) set to ``dpi``.

    Plotly/Kaleido never set it, so Word would insert a 1843-px image at 96 dpi, 49 cm wide.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", dpi=(dpi, dpi), optimize=False)
    return path
