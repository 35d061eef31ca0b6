"""Download settings of the dashboard's graphs: 2× PNGs named after what they show.

Plotly's mode-bar camera saves ``newplot.png`` at screen resolution by default. A leader who
pastes three of those into a meeting document cannot tell them apart and they print blurred,
so every ``dcc.Graph`` gets :func:`graph_config` with a file name from :func:`download_name`,
e.g. ``"临泉区-矛盾纠纷受理趋势-2026年1—10月.png"`` at twice the on-screen size.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = [
    "DOWNLOAD_SCALE",
    "EXPORT_KINDS",
    "EXPORT_URL_PREFIX",
    "download_name",
    "export_href",
    "graph_config",
]

#: Image scale of the camera button (2×: sharp when printed or projected).
DOWNLOAD_SCALE = 2
_MAX_LENGTH = 100
# Reserved on Windows/macOS/Linux file systems or awkward in URLs and shells.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f#%&{}$!\'`@=+^~\[\];,]')
_SPACES = re.compile(r"[\s\u3000]+")
_DASHES = re.compile(r"-{2,}")


def _clean(part: object) -> str:
    text = unicodedata.normalize("NFC", str(part or ""))
    text = _UNSAFE.sub("", text)
    text = _SPACES.sub("_", text.strip())
    return text.strip("._-")


def download_name(unit_name: str, what: str, period_label: str) -> str:
    """A safe file name (without extension) for an image of ``what`` for a unit and period.

    Parameters
    ----------
    unit_name : str
        e.g. ``"临泉区"``.
    what : str
        What the image shows, e.g. ``"矛盾纠纷受理趋势"`` or ``"地图-调解成功率(%)"``.
    period_label : str
        e.g. ``"2026年1—10月"`` (:attr:`data.periods.Period.label`).

    Returns
    -------
    str
        Parts joined by ``-``; Chinese kept; path separators, reserved and control
        characters removed; spaces as ``_``; at most 100 characters; ``"图表"`` when nothing
        usable is left.

    Examples
    --------
    >>> download_name("临泉区", "矛盾纠纷受理趋势", "2026年1—10月")
    '临泉区-矛盾纠纷受理趋势-2026年1—10月'
    >>> download_name("a/b", "x:y", "")
    'ab-xy'
    """
    parts = [p for p in (_clean(unit_name), _clean(what), _clean(period_label)) if p]
    name = _DASHES.sub("-", "-".join(parts))[:_MAX_LENGTH].rstrip("._-")
    return name or "图表"


def graph_config(filename: str, *, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``dcc.Graph`` config whose camera button saves ``filename.png`` at 2×.

    Parameters
    ----------
    filename : str
        Usually :func:`download_name`; cleaned again here, so any string is safe.
    base : dict, optional
        Other config keys to keep (``responsive``, ``scrollZoom`` …).

    Returns
    -------
    dict
        ``toImageButtonOptions`` ``{"format": "png", "filename": …, "scale": 2}``,
        ``displaylogo`` False, and a mode bar that holds only the camera button.
    """
    config: dict[str, Any] = dict(base or {})
    config.update(
        displaylogo=False,
        toImageButtonOptions={
            "format": "png",
            "filename": _clean(filename) or "图表",
            "scale": DOWNLOAD_SCALE,
        },
    )
    # The dashboard hides the mode bar; the download needs it (on hover), with only the
    # camera so leaders are not offered zoom tools they never use.
    if config.get("displayModeBar") is False:
        config["displayModeBar"] = "hover"
    config.setdefault(
        "modeBarButtonsToRemove",
        [
            "zoom2d",
            "pan2d",
            "select2d",
            "lasso2d",
            "zoomIn2d",
            "zoomOut2d",
            "autoScale2d",
            "resetScale2d",
            "hoverClosestCartesian",
            "hoverCompareCartesian",
            "toggleSpikelines",
            "resetViewMap",
            "zoomInMap",
            "zoomOutMap",
        ],
    )
    return config


#: Where the app serves briefing exports (``dashboard.export.routes``).
EXPORT_URL_PREFIX = "/_shiyu/export"
#: Export kinds: the whole pack, the slide image, the document figure, the deck.
EXPORT_KINDS = ("briefing.zip", "slide.png", "document.png", "briefing.pptx")


def export_href(search: str | None, kind: str = "briefing.zip") -> str:
    """Link of the 导出简报 button for the current URL query (``location.search``).

    The export route resolves the query exactly as the page does, so the pack shows the
    unit, period and filters on screen.

    >>> export_href("?unit=359802&period=month")
    '/_shiyu/export/briefing.zip?unit=359802&period=month'
    """
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}; expected one of {EXPORT_KINDS}")
    query = (search or "").lstrip("?")
    return f"{EXPORT_URL_PREFIX}/{kind}" + (f"?{query}" if query else "")
