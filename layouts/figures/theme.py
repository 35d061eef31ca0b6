"""Figure themes: one Plotly layout template per display, as plain dicts.

* ``LIGHT``: laptops and office monitors (default pages).
* ``DARK``: the 数据大屏 big screen: navy background, cyan accent, light text (DataV style).
* ``PRINT``: exported images for 会议简报/专报: white, larger type, no hover furniture.

Fonts are named explicitly because static export (Kaleido) draws boxes instead of Chinese when
it falls back to a font without CJK glyphs. Templates are plain dicts (``{"layout": ...,
"data": ...}``) so figure builders can return figure dicts without ``go.Figure`` validation.
Colour scales live here too, one set per theme, so every figure of a theme agrees.
"""

from __future__ import annotations

import pickle
from typing import Any, Literal

__all__ = [
    "CJK_FONT",
    "DARK",
    "LIGHT",
    "PALETTES",
    "PRINT",
    "QUALITATIVE",
    "RISK_COLOURS",
    "SEQUENTIAL",
    "TEMPLATES",
    "ThemeName",
    "palette",
    "template",
]

ThemeName = Literal["light", "dark", "print"]

#: Font family for every text element: the server-side/export font first, then the usual
#: Windows and macOS CJK fonts found on client machines.
CJK_FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"

#: The four risk levels (§1a of the domain brief), fixed across themes.
RISK_COLOURS = {"red": "#e02020", "orange": "#fa8c16", "yellow": "#fadb14", "blue": "#1677ff"}

#: Qualitative colour sequences (categories, streams).
QUALITATIVE: dict[str, list[str]] = {
    "light": ["#1f6fd1", "#f08c00", "#2f9e44", "#d6336c", "#7048e8", "#0c8599", "#868e96"],
    "dark": ["#00baff", "#ffc53d", "#36cfc9", "#ff7a45", "#9254de", "#73d13d", "#adc6ff"],
    "print": ["#1f4e9c", "#d9480f", "#2b8a3e", "#a61e4d", "#5f3dc4", "#0b7285", "#495057"],
}

#: Sequential scales (low → high) for choropleths and density maps, as Plotly colorscales.
SEQUENTIAL: dict[str, list[list[Any]]] = {
    "light": [
        [0.0, "#fff5eb"],
        [0.25, "#fdd0a2"],
        [0.5, "#fd8d3c"],
        [0.75, "#d94801"],
        [1.0, "#7f2704"],
    ],
    # Dark: deep blue → cyan → amber → red, so white labels stay readable on every stop.
    "dark": [
        [0.0, "#0c2d55"],
        [0.25, "#0b5c8f"],
        [0.5, "#0e8fc4"],
        [0.75, "#e0901c"],
        [1.0, "#e8453c"],
    ],
    "print": [
        [0.0, "#f7fbff"],
        [0.25, "#c6dbef"],
        [0.5, "#6baed6"],
        [0.75, "#2171b5"],
        [1.0, "#08306b"],
    ],
}

#: Colours for map furniture and surfaces, per theme.
PALETTES: dict[str, dict[str, str]] = {
    "light": {
        "paper": "#ffffff",
        "map_background": "#f4f6f9",
        "text": "#1f2933",
        "muted": "#6b7785",
        "grid": "#e3e7ed",
        "accent": "#1f6fd1",
        "outline": "#ffffff",
        "nodata": "#dde2e8",
        "label": "#1f2933",
        "hot": "#d62728",
        "cold": "#1f5fd6",
        "selected": "#111111",
    },
    "dark": {
        "paper": "#0b1a33",
        "map_background": "#0b1a33",
        "text": "#e6f1ff",
        "muted": "#8aa4c8",
        "grid": "#1c3557",
        "accent": "#00baff",
        "outline": "#5d86b8",
        "nodata": "#15294a",
        "label": "#ffffff",
        "hot": "#ff4d4f",
        "cold": "#40a9ff",
        "selected": "#ffe58f",
    },
    "print": {
        "paper": "#ffffff",
        "map_background": "#ffffff",
        "text": "#000000",
        "muted": "#404040",
        "grid": "#d0d0d0",
        "accent": "#1f4e9c",
        "outline": "#606060",
        "nodata": "#e6e6e6",
        "label": "#000000",
        "hot": "#c00000",
        "cold": "#0040c0",
        "selected": "#000000",
    },
}


def _template(name: str, font_size: int, title_size: int) -> dict[str, Any]:
    colours = PALETTES[name]
    axis = {
        "gridcolor": colours["grid"],
        "linecolor": colours["grid"],
        "zerolinecolor": colours["grid"],
        "tickfont": {"color": colours["muted"]},
        "title": {"font": {"color": colours["muted"]}},
        "automargin": True,
    }
    return {
        "layout": {
            "font": {"family": CJK_FONT, "size": font_size, "color": colours["text"]},
            "title": {
                "font": {"family": CJK_FONT, "size": title_size, "color": colours["text"]},
                "x": 0.02,
                "xanchor": "left",
            },
            "paper_bgcolor": colours["paper"],
            "plot_bgcolor": colours["paper"],
            "colorway": QUALITATIVE[name],
            "colorscale": {"sequential": SEQUENTIAL[name]},
            "xaxis": axis,
            "yaxis": axis,
            "legend": {"font": {"color": colours["text"]}, "bgcolor": "rgba(0,0,0,0)"},
            "hoverlabel": {"font": {"family": CJK_FONT, "size": font_size}},
            "separators": ".,",
        },
        "data": {},
    }


LIGHT: dict[str, Any] = _template("light", font_size=13, title_size=16)
DARK: dict[str, Any] = _template("dark", font_size=16, title_size=22)
PRINT: dict[str, Any] = _template("print", font_size=18, title_size=24)
# Exports are static images: no hover labels or mode bar to style, but a visible frame helps.
PRINT["layout"]["legend"]["bgcolor"] = "rgba(255,255,255,0.85)"

TEMPLATES: dict[str, dict[str, Any]] = {"light": LIGHT, "dark": DARK, "print": PRINT}


#: The templates pickled once: unpickling makes a deep copy in a fifth of ``copy.deepcopy``'s
#: time (every figure of every view takes one).
_FROZEN = {name: pickle.dumps(t, protocol=pickle.HIGHEST_PROTOCOL) for name, t in TEMPLATES.items()}


def template(theme: str) -> dict[str, Any]:
    """A deep copy of the named template, safe to modify.

    Raises
    ------
    ValueError
        If ``theme`` is not ``"light"``, ``"dark"`` or ``"print"``.
    """
    try:
        frozen = _FROZEN[theme]
    except KeyError:
        raise ValueError(f"unknown theme {theme!r}; expected light, dark or print") from None
    copied: dict[str, Any] = pickle.loads(frozen)
    return copied


def palette(theme: str) -> dict[str, str]:
    """Surface and furniture colours of the named theme (a copy).

    Raises
    ------
    ValueError
        If ``theme`` is not ``"light"``, ``"dark"`` or ``"print"``.
    """
    try:
        return dict(PALETTES[theme])
    except KeyError:
        raise ValueError(f"unknown theme {theme!r}; expected light, dark or print") from None
