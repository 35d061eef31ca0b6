"""MapLibre glyph ranges (signed-distance-field PBFs) rendered locally from a CJK font.

MapLibre draws map text (unit names on the choropleth) from SDF glyph sheets that a style's
``glyphs`` URL serves as ``{fontstack}/{start}-{end}.pbf``, 256 code points per file. Plotly's
built-in styles point that URL at an internet host, which an intranet deployment cannot reach,
so the app serves the sheets itself from the Noto Sans CJK font installed on the server.

The output follows the format produced by Mapbox's ``node-fontnik``/``sdf-glyph-foundry``:
glyphs rendered at 24 px with a 3 px buffer; each bitmap byte is
``255 - clamp(d * 256 / 8 + 0.25 * 256)`` where ``d`` is the signed distance in pixels to the
outline (negative inside), i.e. radius 8 and cutoff 0.25; ``top`` is measured from the
baseline minus the font's ascender. The distance field is computed with
:func:`scipy.ndimage.distance_transform_edt` on a 4× supersampled rendering and averaged
down, which is much faster than fontnik's exact outline distance and visually equivalent.

Whatever font stack MapLibre asks for (Plotly requests ``"Open Sans Regular"`` for
``scattermap`` text) gets the CJK font, so Chinese and Latin text match. Plotly's font stack
is not MapLibre's default, so MapLibre's ``localIdeographFontFamily`` shortcut does not apply
and CJK ranges are requested from this route too.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import distance_transform_edt

__all__ = [
    "DEFAULT_FONT_PATH",
    "GLYPH_URL_PREFIX",
    "GLYPHS_URL_TEMPLATE",
    "register_glyph_route",
    "render_glyph_range",
]

#: Debian ``fonts-noto-cjk``: one collection holding JP/KR/SC/TC/HK faces.
DEFAULT_FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
#: URL path under which the app serves glyph ranges.
GLYPH_URL_PREFIX = "/_shiyu/glyphs"
#: The value for a MapLibre style's ``glyphs`` member.
GLYPHS_URL_TEMPLATE = GLYPH_URL_PREFIX + "/{fontstack}/{range}.pbf"

_SIZE = 24  # px, the em size MapLibre's glyph atlas expects
_BUFFER = 3  # px of distance field around each glyph bitmap
_RADIUS = 8.0  # px of distance mapped onto the 0..255 range
_CUTOFF = 0.25  # fraction of the range kept for the inside of the outline
_SUPERSAMPLE = 4  # the outline is rasterised at 4x before the distance transform
_PREFERRED_FACE = "SC"  # Simplified Chinese forms from a CJK collection
_RANGE_RE = re.compile(r"^(\d{1,5})-(\d{1,5})$")


# --- protobuf encoding (glyphs.proto of the Mapbox/MapLibre glyph format) -------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint((field << 3) | wire_type)


def _uint(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _sint(field: int, value: int) -> bytes:
    zigzag = value * 2 if value >= 0 else -value * 2 - 1
    return _key(field, 0) + _varint(zigzag)


def _bytes(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _encode_glyph(glyph: dict[str, Any]) -> bytes:
    parts = [_uint(1, glyph["id"])]
    if glyph["bitmap"]:
        parts.append(_bytes(2, glyph["bitmap"]))
    parts += [
        _uint(3, glyph["width"]),
        _uint(4, glyph["height"]),
        _sint(5, glyph["left"]),
        _sint(6, glyph["top"]),
        _uint(7, glyph["advance"]),
    ]
    return b"".join(parts)


def _encode_range(name: str, start: int, glyphs: list[dict[str, Any]]) -> bytes:
    stack = _bytes(1, name.encode("utf-8")) + _bytes(2, f"{start}-{start + 255}".encode())
    stack += b"".join(_bytes(3, _encode_glyph(g)) for g in glyphs)
    return _bytes(1, stack)


# --- font access ------------------------------------------------------------------------------


def _face_offsets(data: bytes) -> list[int]:
    """Offsets of the sfnt table directories in a TTF/OTF (one) or TTC (several)."""
    if data[:4] == b"ttcf":
        (count,) = struct.unpack_from(">I", data, 8)
        return list(struct.unpack_from(f">{count}I", data, 12))
    return [0]


def _cmap_ranges(data: bytes, face_offset: int) -> list[tuple[int, int]]:
    """Code point ranges ``(first, last)`` mapped to a real glyph by a face's cmap table.

    Reads a Unicode format-12 subtable if there is one, else format 4; returns ``[]`` if the
    font has neither (the caller then renders every code point).
    """
    (num_tables,) = struct.unpack_from(">H", data, face_offset + 4)
    cmap = None
    for i in range(num_tables):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, face_offset + 12 + 16 * i)
        if tag == b"cmap":
            cmap = offset
    if cmap is None:
        return []
    (n_sub,) = struct.unpack_from(">H", data, cmap + 2)
    subtables: dict[int, int] = {}
    for i in range(n_sub):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        if platform == 0 or (platform == 3 and encoding in (1, 10)):
            (fmt,) = struct.unpack_from(">H", data, cmap + offset)
            subtables.setdefault(fmt, cmap + offset)
    if 12 in subtables:
        base = subtables[12]
        (n_groups,) = struct.unpack_from(">I", data, base + 12)
        groups = np.frombuffer(data, dtype=">u4", count=3 * n_groups, offset=base + 16)
        groups = groups.reshape(-1, 3)
        return [(int(a), int(b)) for a, b, g in groups if not (a == b and g == 0)]
    if 4 in subtables:
        base = subtables[4]
        (seg_x2,) = struct.unpack_from(">H", data, base + 6)
        n = seg_x2 // 2
        ends = struct.unpack_from(f">{n}H", data, base + 14)
        starts = struct.unpack_from(f">{n}H", data, base + 16 + seg_x2)
        return [(s, e) for s, e in zip(starts, ends, strict=True) if s != 0xFFFF]
    return []


@functools.lru_cache(maxsize=4)
def _font(font_path: str) -> tuple[int, tuple[tuple[int, int], ...], str]:
    """Face index (Simplified Chinese where the file is a CJK collection), cmap, face name."""
    data = Path(font_path).read_bytes()
    offsets = _face_offsets(data)
    index, name = 0, ""
    for i in range(len(offsets)):
        family, _ = ImageFont.truetype(font_path, _SIZE, index=i).getname()
        family = family or ""
        if i == 0:
            name = family
        if family.split()[-1:] == [_PREFERRED_FACE] and "Mono" not in family:
            index, name = i, family
            break
    return index, tuple(sorted(_cmap_ranges(data, offsets[index]))), name


def _covers(ranges: tuple[tuple[int, int], ...], code_point: int) -> bool:
    if not ranges:
        return True
    i = bisect.bisect_right(ranges, (code_point, 0x7FFFFFFF)) - 1
    return i >= 0 and ranges[i][0] <= code_point <= ranges[i][1]


# --- rendering --------------------------------------------------------------------------------


def _render_glyph(
    code_point: int,
    font: ImageFont.FreeTypeFont,
    font_hi: ImageFont.FreeTypeFont,
    ascender: int,
) -> dict[str, Any]:
    """One glyph's metrics and SDF bitmap, in the 24 px units MapLibre expects."""
    char = chr(code_point)
    s = _SUPERSAMPLE
    advance = round(font.getlength(char))
    x0, y0, x1, y1 = (int(v) for v in font_hi.getbbox(char, anchor="ls"))
    ink = None
    if x1 > x0 and y1 > y0:
        probe = Image.new("L", (x1 - x0, y1 - y0))
        ImageDraw.Draw(probe).text((-x0, -y0), char, font=font_hi, fill=255, anchor="ls")
        ink = probe.getbbox()
    if ink is None:  # spaces and control characters: metrics only, no bitmap
        return {
            "id": code_point,
            "bitmap": b"",
            "width": 0,
            "height": 0,
            "left": 0,
            "top": -ascender,
            "advance": advance,
        }
    # Ink box relative to the pen origin on the baseline (x right, y down), at 4x.
    ix0, iy0, ix1, iy1 = ink[0] + x0, ink[1] + y0, ink[2] + x0, ink[3] + y0
    left, right = ix0 // s, -(-ix1 // s)
    top = -(iy0 // s)  # ceil(-iy0 / s): top edge in y-up pixels
    bottom = -(-iy1 // s)  # ceil(iy1 / s): depth below the baseline
    width, height = right - left, top + bottom
    cols, rows = width + 2 * _BUFFER, height + 2 * _BUFFER

    canvas = Image.new("L", (cols * s, rows * s))
    origin = ((_BUFFER - left) * s, (_BUFFER + top) * s)
    ImageDraw.Draw(canvas).text(origin, char, font=font_hi, fill=255, anchor="ls")
    inside = np.asarray(canvas) >= 128
    # Distances between pixel centres are half a (sub)pixel longer than to the edge itself.
    outside_dist = distance_transform_edt(~inside) - 0.5
    inside_dist = distance_transform_edt(inside) - 0.5
    signed = np.where(inside, -inside_dist, outside_dist) / s
    signed = signed.reshape(rows, s, cols, s).mean(axis=(1, 3))
    level = np.floor(signed * (256.0 / _RADIUS) + _CUTOFF * 256.0)
    bitmap = (255 - np.clip(level, 0, 255)).astype(np.uint8)
    return {
        "id": code_point,
        "bitmap": bitmap.tobytes(),
        "width": width,
        "height": height,
        "left": left,
        "top": top - ascender,
        "advance": advance,
    }


@functools.lru_cache(maxsize=64)
def _render_cached(font_path: str, start: int, fontstack: str) -> bytes:
    index, ranges, _ = _font(font_path)
    font = ImageFont.truetype(font_path, _SIZE, index=index, layout_engine=ImageFont.Layout.BASIC)
    font_hi = ImageFont.truetype(
        font_path, _SIZE * _SUPERSAMPLE, index=index, layout_engine=ImageFont.Layout.BASIC
    )
    ascender, _ = font.getmetrics()
    glyphs = [
        _render_glyph(cp, font, font_hi, ascender)
        for cp in range(start, start + 256)
        if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF and _covers(ranges, cp)
    ]
    return _encode_range(fontstack, start, glyphs)


def render_glyph_range(font_path: str, start: int, fontstack: str | None = None) -> bytes:
    """Render one 256-code-point MapLibre glyph range as protobuf bytes.

    Parameters
    ----------
    font_path : str
        A TrueType/OpenType font or collection; for a CJK collection the Simplified Chinese
        face is used.
    start : int
        First code point of the range; a multiple of 256 (0, 256, ..., 65280, ...).
    fontstack : str, optional
        Name written into the PBF's font stack (MapLibre ignores it); defaults to the face's
        family name.

    Returns
    -------
    bytes
        A ``glyphs`` protobuf message with one font stack holding every code point of the
        range that the font maps, each with SDF bitmap ``(width+6) * (height+6)`` bytes.
        Ranges the font does not cover give a valid message with no glyphs.

    Raises
    ------
    ValueError
        If ``start`` is negative or not a multiple of 256.
    """
    if start < 0 or start % 256:
        raise ValueError(f"glyph range start must be a non-negative multiple of 256: {start}")
    name = fontstack if fontstack is not None else _font(str(font_path))[2]
    return _render_cached(str(font_path), start, name)


def register_glyph_route(
    flask_server: Any, font_path: str = DEFAULT_FONT_PATH, cache_dir: str | None = None
) -> None:
    """Serve ``/_shiyu/glyphs/<fontstack>/<start>-<end>.pbf`` from one font on a Flask app.

    Parameters
    ----------
    flask_server : flask.Flask
        The Dash app's ``server``.
    font_path : str
        Font used for every requested font stack (see :data:`DEFAULT_FONT_PATH`).
    cache_dir : str, optional
        Directory (inside the instance folder) where rendered ranges are kept as files, so a
        restart does not render them again. Created on first use. Without it ranges are
        cached in memory only.
    """
    from flask import Response, abort

    font_key = Path(font_path).stem
    cache = Path(cache_dir) / "glyphs" / font_key if cache_dir else None

    def glyph_range(fontstack: str, range_: str) -> Any:
        match = _RANGE_RE.match(range_)
        if match is None:
            abort(404)
        start, end = int(match[1]), int(match[2])
        if start % 256 or end != start + 255 or end > 0xFFFF:
            abort(404)
        payload = None
        cached_file = cache / f"{start}-{end}.pbf" if cache else None
        if cached_file is not None and cached_file.is_file():
            payload = cached_file.read_bytes()
        if payload is None:
            payload = render_glyph_range(font_path, start, fontstack="Shiyu CJK")
            if cached_file is not None:
                cached_file.parent.mkdir(parents=True, exist_ok=True)
                # Write then rename, so a concurrent reader never sees half a file.
                fd, tmp = tempfile.mkstemp(dir=cached_file.parent, suffix=".part")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                os.replace(tmp, cached_file)
        response = Response(payload, mimetype="application/x-protobuf")
        response.headers["Cache-Control"] = "public, max-age=604800"
        return response

    flask_server.add_url_rule(
        f"{GLYPH_URL_PREFIX}/<path:fontstack>/<range_>.pbf",
        endpoint="shiyu_glyphs",
        view_func=glyph_range,
    )
