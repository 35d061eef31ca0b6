"""Tests for dashboard.glyphs: decode the produced glyph PBFs with a hand-written reader."""

from pathlib import Path

import flask
import numpy as np
import pytest

from dashboard import glyphs

FONT = glyphs.DEFAULT_FONT_PATH
pytestmark = pytest.mark.skipif(not Path(FONT).is_file(), reason="fonts-noto-cjk not installed")


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Minimal protobuf reader: (field number, varint or bytes) for wire types 0 and 2."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            length, i = _varint(buf, i)
            value = buf[i : i + length]
            i += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((field, value))
    return out


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def decode(pbf: bytes) -> dict:
    (top,) = _fields(pbf)
    assert top[0] == 1, "glyphs.stacks is field 1"
    stack = {"glyphs": {}}
    for field, value in _fields(top[1]):
        if field == 1:
            stack["name"] = value.decode()
        elif field == 2:
            stack["range"] = value.decode()
        elif field == 3:
            g = {"bitmap": b""}
            for gf, gv in _fields(value):
                key = {1: "id", 2: "bitmap", 3: "width", 4: "height", 5: "left", 6: "top"}.get(
                    gf, "advance"
                )
                g[key] = _unzigzag(gv) if gf in (5, 6) else gv
            stack["glyphs"][g["id"]] = g
    return stack


def test_gly001_latin_range_has_digits_with_buffered_sdf_bitmaps():
    stack = decode(glyphs.render_glyph_range(FONT, 0))
    assert stack["range"] == "0-255"
    for cp in range(0x30, 0x3A):
        g = stack["glyphs"][cp]
        assert g["width"] > 0 and g["height"] > 0
        assert len(g["bitmap"]) == (g["width"] + 6) * (g["height"] + 6)
        sdf = np.frombuffer(g["bitmap"], np.uint8)
        assert sdf.max() >= 192, "no pixel inside the outline (edge value is 191)"
        assert sdf.min() == 0, "the 3 px buffer must fade to 0 outside"
        assert 8 <= g["advance"] <= 18  # 24 px Latin digits


def test_gly002_metrics_follow_fontnik_conventions():
    stack = decode(glyphs.render_glyph_range(FONT, 0))
    space = stack["glyphs"][0x20]
    assert space["width"] == space["height"] == 0 and space["bitmap"] == b""
    assert space["advance"] > 0
    three, g = stack["glyphs"][0x33], stack["glyphs"][ord("g")]
    # top = glyph top above baseline minus the ascender (28 px for Noto Sans CJK at 24 px).
    assert -14 <= three["top"] <= -6
    # A descender: 'g' reaches below the baseline, so height > top + ascender.
    assert g["height"] > g["top"] + 28


def test_gly003_cjk_range_has_zhong():
    stack = decode(glyphs.render_glyph_range(FONT, 0x4E00))
    assert stack["range"] == "19968-20223"
    assert len(stack["glyphs"]) == 256  # the SC face covers the whole block
    g = stack["glyphs"][0x4E2D]  # 中
    assert g["advance"] == 24
    blank = bytes((g["width"] + 6) * (g["height"] + 6))
    assert len(g["bitmap"]) == len(blank)
    assert g["bitmap"] != blank
    sdf = np.frombuffer(g["bitmap"], np.uint8).reshape(g["height"] + 6, g["width"] + 6)
    # The vertical stroke of 中 runs through the middle column: inside at its centre.
    assert sdf[sdf.shape[0] // 2, sdf.shape[1] // 2] >= 192
    # The corners are > 3 px from any stroke.
    assert sdf[0, 0] < 100


def test_gly004_distinct_glyphs_differ():
    stack = decode(glyphs.render_glyph_range(FONT, 0x4E00))
    assert stack["glyphs"][0x4E2D]["bitmap"] != stack["glyphs"][0x4E00]["bitmap"]


def test_gly005_uncovered_range_is_valid_and_empty():
    stack = decode(glyphs.render_glyph_range(FONT, 0xE000))  # private use area
    assert stack["range"] == "57344-57599"
    assert stack["glyphs"] == {}


@pytest.mark.parametrize("start", [-256, 100])
def test_gly006_bad_start_rejected(start):
    with pytest.raises(ValueError):
        glyphs.render_glyph_range(FONT, start)


def test_gly007_route_serves_any_fontstack_and_caches(tmp_path):
    app = flask.Flask(__name__)
    glyphs.register_glyph_route(app, FONT, cache_dir=str(tmp_path))
    client = app.test_client()
    resp = client.get("/_shiyu/glyphs/Open%20Sans%20Regular,Arial%20Unicode%20MS/0-255.pbf")
    assert resp.status_code == 200
    assert resp.mimetype == "application/x-protobuf"
    assert 0x33 in decode(resp.data)["glyphs"]
    cached = list(tmp_path.rglob("0-255.pbf"))
    assert len(cached) == 1 and cached[0].read_bytes() == resp.data
    again = client.get("/_shiyu/glyphs/Noto%20Sans%20Bold/0-255.pbf")
    assert again.data == resp.data


@pytest.mark.parametrize(
    "path", ["0-256.pbf", "1-256.pbf", "65536-65791.pbf", "abc.pbf", "0-255.png"]
)
def test_gly008_route_rejects_bad_ranges(path):
    app = flask.Flask(__name__)
    glyphs.register_glyph_route(app, FONT)
    assert app.test_client().get(f"/_shiyu/glyphs/Open%20Sans%20Regular/{path}").status_code == 404
