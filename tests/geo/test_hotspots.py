"""Getis-Ord Gi* hotspots: z-scores against the textbook formula computed by hand.

The expected z-scores use binary weights including self, built here from lattice positions
(|Δrow| ≤ 1 and |Δcol| ≤ 1) — not from libpysal — and the formula

    Gi* = (Σ_j w_ij x_j − X̄ Σ_j w_ij) / (S √((n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1)))

with X̄ the mean and S the population standard deviation of all n values.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.hotspots import (
    HOTSPOT_LABELS,
    METHOD_TEXT,
    HotspotUnavailable,
    benjamini_hochberg,
    gi_star,
    gi_star_points,
    method_text,
)

# 5×5 lattice: a high 2×2 block in the top-left corner, low small values elsewhere.
GRID = np.array(
    [
        [9, 8, 3, 2, 1],
        [10, 9, 2, 1, 2],
        [3, 2, 1, 2, 1],
        [2, 1, 2, 1, 1],
        [1, 2, 1, 1, 2],
    ],
    dtype=float,
)
N = 5


def textbook_gi_star(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    n = len(x)
    mean = x.mean()
    s = math.sqrt((x**2).sum() / n - mean**2)
    lag = w @ x
    sw = w.sum(axis=1)
    sw2 = (w**2).sum(axis=1)
    return (lag - mean * sw) / (s * np.sqrt((n * sw2 - sw**2) / (n - 1)))


def lattice_weights() -> np.ndarray:
    cells = [(r, c) for r in range(N) for c in range(N)]
    return np.array(
        [[1.0 if abs(r1 - r2) <= 1 and abs(c1 - c2) <= 1 else 0.0 for r2, c2 in cells]
         for r1, c1 in cells]
    )  # fmt: skip


def lattice_gdf(order: list[int] | None = None) -> gpd.GeoDataFrame:
    """Unit squares; row 0 at the top. ``order`` shuffles the rows of the frame."""
    cells = [(r, c) for r in range(N) for c in range(N)]
    gdf = gpd.GeoDataFrame(
        {"code": [f"3598{r}{c}" for r, c in cells], "value": GRID.ravel()},
        geometry=[box(c, N - 1 - r, c + 1, N - r) for r, c in cells],
        crs="EPSG:4326",
    ).set_index("code")
    return gdf if order is None else gdf.iloc[order]


@pytest.fixture(scope="module")
def expected_z() -> pd.Series:
    z = textbook_gi_star(GRID.ravel(), lattice_weights())
    return pd.Series(z, index=lattice_gdf().index)


def test_z_matches_textbook_formula(expected_z):
    gdf = lattice_gdf()
    out = gi_star(gdf, gdf["value"].to_numpy())
    assert list(out.columns[:3]) == ["z", "p", "q"]
    assert "label" in out.columns
    np.testing.assert_allclose(out["z"].to_numpy(), expected_z.to_numpy(), atol=1e-6)


def test_hand_value_of_the_corner():
    # Corner (0,0): itself and 3 neighbours, 9+8+10+9 = 36; n = 25; row sums 23+24+9+7+7,
    # so Σx = 70; Σx² = 159+190+19+11+11 = 390. X̄ = 2.8, S = √(390/25 − 7.84) = √7.76;
    # denominator factor √((25·4 − 4²)/24) = √3.5.
    z00 = (36 - 2.8 * 4) / (math.sqrt(7.76) * math.sqrt(3.5))
    out = gi_star(lattice_gdf(), GRID.ravel())
    assert out["z"].iloc[0] == pytest.approx(z00, abs=1e-9)
    assert z00 == pytest.approx(4.7587, abs=1e-4)


def test_result_is_aligned_with_the_frame_index_whatever_the_row_order(expected_z):
    order = list(np.random.default_rng(7).permutation(N * N))
    gdf = lattice_gdf(order)
    out = gi_star(gdf, gdf["value"])
    assert list(out.index) == list(gdf.index)
    np.testing.assert_allclose(out["z"].to_numpy(), expected_z.loc[gdf.index].to_numpy(), atol=1e-6)


def test_corner_block_is_hot_and_opposite_corner_is_not_hot():
    out = gi_star(lattice_gdf(), GRID.ravel())
    for code in ("359800", "359801", "359810", "359811"):
        assert out.loc[code, "label"].startswith("热点"), out.loc[code]
        assert out.loc[code, "q"] <= 0.05
    far = out.loc["359844"]
    assert far["z"] < 0
    assert far["label"] == "不显著" or far["label"].startswith("冷点")
    assert set(out["label"]) <= set(HOTSPOT_LABELS)


def test_permutations_are_reproducible_with_a_seed():
    a = gi_star(lattice_gdf(), GRID.ravel(), seed=1)
    b = gi_star(lattice_gdf(), GRID.ravel(), seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert (a["p"] >= 1 / 1000).all() and (a["p"] <= 0.5 + 1e-12).all()


def test_fdr_adjusts_and_can_be_switched_off():
    with_fdr = gi_star(lattice_gdf(), GRID.ravel())
    without = gi_star(lattice_gdf(), GRID.ravel(), fdr=False)
    np.testing.assert_allclose(without["q"], without["p"])
    assert (with_fdr["q"] >= with_fdr["p"] - 1e-12).all()
    assert (with_fdr["q"] > with_fdr["p"]).any()


def test_benjamini_hochberg_by_hand():
    # Sorted 0.005, 0.01, 0.03, 0.04 → ×4/rank = 0.02, 0.02, 0.04, 0.04 (already monotone).
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.005, np.nan])
    np.testing.assert_allclose(q[:4], [0.02, 0.04, 0.04, 0.02])
    assert math.isnan(q[4])
    # Step-up: 0.04·3/2 = 0.06 is lowered to the next rank's 0.05·3/3 = 0.05.
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.04, 0.05]), [0.03, 0.05, 0.05])


def test_alpha_controls_the_coarsest_label():
    strict = gi_star(lattice_gdf(), GRID.ravel(), alpha=0.01, fdr=False)
    loose = gi_star(lattice_gdf(), GRID.ravel(), alpha=0.10, fdr=False)
    assert not strict["label"].str.contains("95%|90%").any()
    for frame, top in ((strict, 0.01), (loose, 0.10)):
        significant = frame["label"].str.startswith(("热点", "冷点"))
        assert (frame.loc[significant, "q"] <= top).all()
        assert (frame.loc[~significant, "q"] > top).all()
    with pytest.raises(ValueError):
        gi_star(lattice_gdf(), GRID.ravel(), alpha=0.2)


def test_island_is_not_significant_and_not_tested():
    gdf = lattice_gdf()
    # The island still counts in the global mean and spread (it is one of the siblings),
    # but it is not tested: its Gi* would only restate its own value.
    island = gpd.GeoDataFrame(
        {"value": [3.0]},
        geometry=[box(50, 50, 51, 51)],
        index=pd.Index(["island"], name="code"),
        crs="EPSG:4326",
    )
    both = pd.concat([gdf, island])
    out = gi_star(both, both["value"])
    assert out.loc["island", "label"] == "不显著"
    assert math.isnan(out.loc["island", "z"])
    assert math.isnan(out.loc["island", "q"])
    assert out.loc["359800", "label"].startswith("热点")
    # By hand: 26 values, the island's weight row is itself alone.
    w = np.zeros((26, 26))
    w[:25, :25] = lattice_weights()
    w[25, 25] = 1.0
    z = textbook_gi_star(np.r_[GRID.ravel(), 3.0], w)
    np.testing.assert_allclose(out["z"].to_numpy()[:25], z[:25], atol=1e-6)


def test_missing_value_or_geometry_is_no_data():
    gdf = lattice_gdf()
    values = GRID.ravel().copy()
    values[24] = np.nan
    gdf.loc["359843", "geometry"] = None
    out = gi_star(gdf, values)
    assert out.loc["359844", "label"] == "无数据"
    assert out.loc["359843", "label"] == "无数据"
    assert out[["z", "p"]].loc[["359843", "359844"]].isna().all().all()
    # The rest is computed on the 23 remaining units, by hand.
    keep = np.ones(N * N, bool)
    keep[[23, 24]] = False
    z = textbook_gi_star(GRID.ravel()[keep], lattice_weights()[np.ix_(keep, keep)])
    np.testing.assert_allclose(out["z"].to_numpy()[keep], z, atol=1e-6)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda g: (g.iloc[:4], g["value"].iloc[:4]), "少于5个"),
        (lambda g: (g.set_geometry([None] * len(g)), g["value"]), "边界"),
        (lambda g: (pd.DataFrame(g.drop(columns="geometry")), g["value"]), "边界"),
        (lambda g: (g, np.full(len(g), 3.0)), "相同"),
        (lambda g: (g, -g["value"]), "负值"),
        (lambda g: (g, np.r_[g["value"].to_numpy()[:4], np.full(len(g) - 4, np.nan)]), "少于5个"),
    ],
    ids=["too-few", "no-geometry", "no-geometry-column", "all-equal", "negative", "few-values"],
)
def test_unavailable_with_chinese_message(make, message):
    gdf, values = make(lattice_gdf())
    with pytest.raises(HotspotUnavailable, match=message):
        gi_star(gdf, values)


def test_wrong_length_is_a_programming_error():
    with pytest.raises(ValueError, match="entries"):
        gi_star(lattice_gdf(), [1.0, 2.0])


def test_method_text_states_the_method():
    for phrase in ("Getis-Ord Gi*", "Queen", "999", "错误发现率(FDR)", "99%、95%", "不显著"):
        assert phrase in METHOD_TEXT
    assert "未做多重检验校正" in method_text(fdr=False)
    assert "99次" in method_text(permutations=99)
    assert "90%" in method_text(alpha=0.10)


# --- point variant ---------------------------------------------------------------------


def test_points_knn_matches_textbook_formula():
    rng = np.random.default_rng(2026)
    n, k = 30, 4
    lon = 119.5 + rng.uniform(0, 0.3, n)
    lat = 26.0 + rng.uniform(0, 0.3, n)
    x = rng.integers(0, 20, n).astype(float)
    # Hand KNN on the same local projection the docstring promises: km east, km north.
    lat0 = math.radians(lat.mean())
    xy = np.column_stack([lon * 111.32 * math.cos(lat0), lat * 111.32])
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    w = np.eye(n)
    for i in range(n):
        w[i, np.argsort(d[i])[:k]] = 1.0
    expected = textbook_gi_star(x, w)
    values = pd.Series(x, index=[f"g{i:02d}" for i in range(n)])
    out = gi_star_points(lon, lat, values, k=k)
    assert list(out.index) == list(values.index)
    np.testing.assert_allclose(out["z"].to_numpy(), expected, atol=1e-6)


def test_points_hot_cluster_and_too_few():
    lon = np.r_[np.linspace(0, 0.01, 6), np.linspace(1, 1.2, 14)] + 110
    lat = np.r_[np.linspace(30, 30.01, 6), np.linspace(30.5, 30.7, 14)]
    x = np.r_[np.full(6, 50.0), np.arange(14) % 3 + 1.0]
    out = gi_star_points(lon, lat, x, k=5)
    assert out["label"].iloc[:6].str.startswith("热点").all()
    with pytest.raises(HotspotUnavailable):
        gi_star_points(lon[:4], lat[:4], x[:4])
