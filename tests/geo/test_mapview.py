"""Tests for geo.mapview.view_for_bounds against hand-computed Web-Mercator views."""

import math

import pytest

from geo.mapview import MAX_LATITUDE, view_for_bounds


def test_mv001_whole_world_in_one_tile_is_zoom_zero():
    center, zoom = view_for_bounds(-180, -MAX_LATITUDE, 180, MAX_LATITUDE, 512, 512, padding=0)
    assert zoom == pytest.approx(0.0, abs=1e-9)
    assert center["lon"] == pytest.approx(0.0, abs=1e-9)
    assert center["lat"] == pytest.approx(0.0, abs=1e-9)


def test_mv002_width_bound_box_at_equator():
    # 360/256 degrees of longitude is 1/256 of the world: 512 px at zoom 8.
    center, zoom = view_for_bounds(0, -0.001, 1.40625, 0.001, 512, 512, padding=0)
    assert zoom == pytest.approx(8.0, abs=1e-9)
    assert center["lon"] == pytest.approx(0.703125, abs=1e-12)
    assert center["lat"] == pytest.approx(0.0, abs=1e-9)


def test_mv003_height_bound_box():
    # ±1° latitude spans 2*asinh(tan 1°)/(2π) = 0.00555570 of the world's height:
    # zoom = log2(512 / (512 * 0.00555570)) = 7.49183.
    center, zoom = view_for_bounds(0, -1, 0.0001, 1, 512, 512, padding=0)
    assert zoom == pytest.approx(7.49183, abs=1e-4)
    assert center["lat"] == pytest.approx(0.0, abs=1e-9)


def test_mv004_padding_quarter_each_side_halves_the_space_one_zoom_level():
    _, z0 = view_for_bounds(0, -0.001, 1.40625, 0.001, 512, 512, padding=0)
    _, z1 = view_for_bounds(0, -0.001, 1.40625, 0.001, 512, 512, padding=0.25)
    assert z0 - z1 == pytest.approx(1.0, abs=1e-9)


def test_mv005_center_is_the_mercator_midpoint():
    # Mid-y of 0° and 60°: atan(sinh(asinh(tan 60°) / 2)) = atan(1/√2) = 35.2644°.
    center, _ = view_for_bounds(0, 0, 1, 60, 800, 600)
    assert center["lat"] == pytest.approx(math.degrees(math.atan(1 / math.sqrt(2))), abs=1e-9)
    assert center["lon"] == pytest.approx(0.5, abs=1e-12)


def test_mv006_a_point_gets_the_max_zoom():
    center, zoom = view_for_bounds(119.5, 26.6, 119.5, 26.6, 800, 600, max_zoom=16)
    assert zoom == 16
    assert center == pytest.approx({"lon": 119.5, "lat": 26.6})


def test_mv007_doubling_the_viewport_adds_one_level():
    _, z_small = view_for_bounds(119.0, 26.0, 120.0, 27.0, 400, 300)
    _, z_big = view_for_bounds(119.0, 26.0, 120.0, 27.0, 800, 600)
    assert z_big - z_small == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    "args",
    [
        (120, 26, 119, 27, 800, 600),  # inverted x
        (119, 27, 120, 26, 800, 600),  # inverted y
        (119, 26, 120, 27, 0, 600),  # no width
        (119, 26, float("nan"), 27, 800, 600),
    ],
)
def test_mv008_rejects_bad_input(args):
    with pytest.raises(ValueError):
        view_for_bounds(*args)


def test_mv009_rejects_bad_padding():
    with pytest.raises(ValueError):
        view_for_bounds(119, 26, 120, 27, 800, 600, padding=0.5)
