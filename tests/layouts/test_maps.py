"""Tests for layouts.figures.maps: offline style, choropleth and density figure dicts."""

import copy
import json

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.glyphs import GLYPH_URL_PREFIX
from geo.crs import wgs84_to_gcj02
from geo.mapview import view_for_bounds
from layouts.figures import maps
from layouts.figures.theme import PALETTES, SEQUENTIAL

STEP = 0.02


def grid(n=3, x0=119.50, y0=26.60):
    features, rows, k = [], [], 0
    for i in range(n):
        for j in range(n):
            k += 1
            code = f"350902001001{k:03d}"
            a, b = x0 + j * STEP, y0 + i * STEP
            ring = [[a, b], [a + STEP, b], [a + STEP, b + STEP], [a, b + STEP], [a, b]]
            features.append(
                {
                    "type": "Feature",
                    "id": code,
                    "properties": {"name": f"第{k}网格"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
            rows.append(
                {
                    "code": code,
                    "name": f"第{k}网格",
                    "value": float(k),
                    "text": f"{k}件",
                    "label_lon": a + STEP / 2,
                    "label_lat": b + STEP / 2,
                }
            )
    return {"type": "FeatureCollection", "features": features}, pd.DataFrame(rows)


def by_name(fig, name, kind=None):
    return next(t for t in fig["data"] if t.get("name") == name and kind in (None, t["type"]))


def test_map001_offline_style_has_no_external_url():
    style = maps.offline_style("#0b1a33")
    assert style["version"] == 8
    assert style["glyphs"].startswith(GLYPH_URL_PREFIX + "/")
    assert "{fontstack}" in style["glyphs"] and "{range}" in style["glyphs"]
    assert style["layers"][0] == {
        "id": "shiyu-background",
        "type": "background",
        "paint": {"background-color": "#0b1a33"},
    }
    # The rest mark where each kind of trace is drawn: hidden, so nothing is drawn for them.
    assert [layer["id"] for layer in style["layers"][1:]] == [
        f"shiyu-under-{kind}" for kind in maps.DRAW_ORDER
    ]
    assert all(layer["layout"] == {"visibility": "none"} for layer in style["layers"][1:])
    assert "http" not in json.dumps(style)
    # Plotly strips an empty ``sources`` on update and MapLibre then rejects the style.
    assert style["sources"], "the style must keep a non-empty sources member"


def test_map002_offline_style_with_internal_tiles():
    url = "http://10.8.0.5/tiles/{z}/{x}/{y}.png"
    style = maps.offline_style("#ffffff", url)
    assert style["sources"]["shiyu-tiles"]["tiles"] == [url]
    assert [layer["type"] for layer in style["layers"][:2]] == ["background", "raster"]
    assert style["id"] != maps.offline_style("#ffffff")["id"]
    assert style["id"] == maps.offline_style("#ffffff", url)["id"]
    with pytest.raises(ValueError):
        maps.offline_style("#fff", glyphs_url="/fonts/{fontstack}.pbf")


def test_map003_choropleth_traces_and_click_data():
    fc, df = grid()
    fig = maps.choropleth_figure(fc, df, title="受理数", colorbar_title="受理数", theme="light")
    assert isinstance(fig, dict)
    main = by_name(fig, "受理数")
    assert main["type"] == "choroplethmap"
    assert main["customdata"] == df["code"].tolist() == main["locations"]
    assert main["z"] == [float(k) for k in range(1, 10)]
    assert "%{hovertext}" in main["hovertemplate"]
    assert main["hovertext"][2] == "第3网格"
    assert main["text"][2] == "受理数：3件"
    assert main["colorbar"]["title"]["text"] == "受理数"
    assert main["colorscale"] == SEQUENTIAL["light"]
    labels = by_name(fig, "名称")
    assert labels["type"] == "scattermap" and labels["mode"] == "text"
    assert labels["text"][2] == "第3网格"
    assert labels["lon"][2] == pytest.approx(119.55)
    assert labels["textfont"]["family"] == maps.LABEL_FONT
    go.Figure(fig)  # every attribute is valid Plotly
    json.dumps(fig)


def test_map004_view_style_and_uirevision():
    fc, df = grid()
    fig = maps.choropleth_figure(fc, df, theme="dark", width=1000, height=700)
    layout = fig["layout"]
    center, zoom = view_for_bounds(119.5, 26.6, 119.56, 26.66, 1000, 700)
    assert layout["map"]["center"] == pytest.approx(center)
    assert layout["map"]["zoom"] == pytest.approx(zoom)
    style = layout["map"]["style"]
    assert isinstance(style, dict) and "http" not in json.dumps(style)
    assert style["layers"][0]["paint"]["background-color"] == PALETTES["dark"]["map_background"]
    assert layout["template"]["layout"]["paper_bgcolor"] == "#0b1a33"
    # Same area, new numbers: same uirevision (zoom kept). Another area: a new one.
    again = maps.choropleth_figure(fc, df.assign(value=df["value"] * 2), theme="dark")
    assert again["layout"]["uirevision"] == layout["uirevision"]
    assert again["layout"]["map"]["uirevision"] == layout["uirevision"]
    other = maps.choropleth_figure(fc, df, theme="dark", bounds=(119.5, 26.6, 119.52, 26.62))
    assert other["layout"]["uirevision"] != layout["uirevision"]


def test_map005_hotspots_selection_and_missing_data():
    fc, df = grid()
    df["hotspot"] = None
    df.loc[8, "hotspot"] = "热点(99%)"
    df.loc[0, "hotspot"] = "cold"
    partial = df[df["code"] != "350902001001005"]
    fig = maps.choropleth_figure(fc, partial, theme="light", selected_code="350902001001002")
    hot = by_name(fig, "热点（高值聚集）", "scattermap")
    cold = by_name(fig, "冷点（低值聚集）", "scattermap")
    hot_outline = next(
        t
        for t in fig["data"]
        if t["type"] == "choroplethmap" and t["locations"] == ["350902001001009"]
    )
    assert hot_outline["marker"]["line"]["color"] == PALETTES["light"]["hot"]
    assert hot_outline["hoverinfo"] == "skip"
    assert hot_outline["legendgroup"] == hot["legendgroup"] == "hot"
    assert hot["line"]["color"] == PALETTES["light"]["hot"]
    assert cold["line"]["color"] == PALETTES["light"]["cold"]
    assert fig["layout"]["showlegend"] is True
    nodata = by_name(fig, "暂无数据")
    assert nodata["locations"] == ["350902001001005"]
    assert nodata["customdata"] == ["350902001001005"]
    assert nodata["hovertext"] == ["第5网格"]  # from the feature properties
    selected = by_name(fig, "当前选中")
    assert selected["locations"] == ["350902001001002"]
    # Each trace carries only its own features, not the whole collection.
    assert [f["id"] for f in selected["geojson"]["features"]] == ["350902001001002"]
    main = by_name(fig, "数值")
    assert "热点(99%)" in main["text"][-1]
    go.Figure(fig)


def test_map006_gcj02_tiles_shift_polygons_and_labels():
    fc, df = grid()
    original = copy.deepcopy(fc)
    fig = maps.choropleth_figure(
        fc, df, tiles_crs="gcj02", tiles_url="http://10.0.0.9/{z}/{x}/{y}.png"
    )
    assert fc == original  # input not mutated
    main = by_name(fig, "数值")
    first = main["geojson"]["features"][0]["geometry"]["coordinates"][0][0]
    elon, elat = wgs84_to_gcj02(119.5, 26.6)
    assert first == pytest.approx([float(elon), float(elat)], abs=1e-12)
    labels = by_name(fig, "名称")
    llon, llat = wgs84_to_gcj02(119.51, 26.61)
    assert labels["lon"][0] == pytest.approx(float(llon), abs=1e-12)
    assert labels["lat"][0] == pytest.approx(float(llat), abs=1e-12)
    assert fig["layout"]["map"]["style"]["sources"]["shiyu-tiles"]["tiles"] == [
        "http://10.0.0.9/{z}/{x}/{y}.png"
    ]
    # The view is centred on the shifted polygons (GCJ-02 is east of WGS-84 here).
    assert fig["layout"]["map"]["center"]["lon"] > 119.53


def test_map007_labels_can_be_hidden_and_bad_options_rejected():
    fc, df = grid()
    fig = maps.choropleth_figure(fc, df, show_labels=False)
    assert all(t["type"] != "scattermap" for t in fig["data"])
    with pytest.raises(ValueError):
        maps.choropleth_figure(fc, df, theme="neon")
    with pytest.raises(ValueError):
        maps.choropleth_figure(fc, df, tiles_crs="bd09")


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("hot", "hot"),
        ("热点（95%）", "hot"),
        ("HH", "hot"),
        ("Cold Spot - 99% Confidence", "cold"),
        ("冷点", "cold"),
        ("低-低", "cold"),
        ("不显著", None),
        ("", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_map008_hotspot_kind(label, kind):
    assert maps.hotspot_kind(label) == kind


def test_map009_density_figure():
    fc, df = grid()
    cells = pd.DataFrame({"lon": df["label_lon"], "lat": df["label_lat"], "events": range(9)})
    fig = maps.density_figure(cells, fc, theme="print", title="事件密度")
    dens = fig["data"][0]
    assert dens["type"] == "densitymap"
    assert len(dens["lon"]) == 8  # the cell with 0 events is dropped
    assert dens["colorscale"][0][1].endswith(",0)")  # transparent low end
    outline = fig["data"][1]
    assert outline["type"] == "choroplethmap"
    assert outline["colorscale"] == [[0.0, "rgba(0,0,0,0)"], [1.0, "rgba(0,0,0,0)"]]
    assert len(outline["locations"]) == 9
    assert fig["layout"]["map"]["style"]["layers"][0]["paint"]["background-color"] == "#ffffff"
    assert fig["layout"]["title"]["text"] == "事件密度"
    go.Figure(fig)
    json.dumps(fig)


def _drawn_order(fig):
    """The traces' uids bottom to top as MapLibre draws them (each under its ``below``)."""
    layers = [layer["id"] for layer in fig["layout"]["map"]["style"]["layers"]]
    uids = [t["uid"] for t in fig["data"]]
    assert len(set(uids)) == len(uids), uids
    assert all(t["below"] in layers for t in fig["data"])
    assert len({t["below"] for t in fig["data"]}) == len(uids)  # shared: re-added each update
    return sorted(uids, key=lambda uid: layers.index(f"shiyu-under-{uid}"))


def test_map010_every_trace_keeps_its_name_and_place_from_one_figure_to_the_next():
    fc, df = grid()
    df["hotspot"] = None
    df.loc[8, "hotspot"] = "热点"
    df.loc[0, "hotspot"] = "冷点"
    full = maps.choropleth_figure(
        fc, df[df["code"] != "350902001001005"], theme="light", selected_code="350902001001002"
    )
    plain = maps.choropleth_figure(fc, df.drop(columns="hotspot"), theme="light")
    # Areas under outlines, outlines under the legend's lines and the labels on top: the
    # order plotly.js gave them when it placed them itself (choropleths, then scatter).
    assert _drawn_order(full) == [
        "nodata",
        "values",
        "hot",
        "cold",
        "selected",
        "hot-legend",
        "cold-legend",
        "labels",
    ]
    # A trace that comes and goes does not rename the others.
    assert _drawn_order(plain) == ["values", "labels"]
    assert by_name(plain, "数值")["uid"] == by_name(full, "数值")["uid"]
    cells = pd.DataFrame({"lon": df["label_lon"], "lat": df["label_lat"], "events": range(9)})
    assert _drawn_order(maps.density_figure(cells, fc, theme="dark")) == ["boundary", "density"]
    with pytest.raises(ValueError, match="kind"):
        maps._drawn_as("sea", {})
