"""Hotspot analysis (热点分析) among sibling units with the Getis-Ord Gi* statistic.

Given the children of one unit (e.g. the towns of a district) and one indicator value per
child, :func:`gi_star` says which children sit in a statistically significant cluster of high
values (热点) or low values (冷点). Levels without polygons can use :func:`gi_star_points`,
which takes label points and k nearest neighbours instead of shared borders.

Method (also in :data:`METHOD_TEXT`, which the UI shows next to the map):

* weights: Queen contiguity on the units' polygons (two units are neighbours when their
  boundaries share at least one vertex), binary, with each unit also its own neighbour
  (the "star" in Gi*). Row-standardising would not change Gi* z-scores — a common factor
  in a row cancels — so the binary weights are kept, which also makes esda's analytical
  z-score the textbook one;
* statistic: ``esda.G_Local(star=True, transform="B")``; ``z`` is its analytical z-score;
* inference: conditional permutation (the unit's own value fixed, the others shuffled),
  999 permutations by default with a fixed seed so that a screen is reproducible; the
  pseudo p-value is one-sided in the observed direction (GeoDa's convention);
* multiple testing: every unit is a test, so the Benjamini–Hochberg False Discovery Rate is
  applied by default: a unit is significant at level α when its BH-adjusted p-value ``q``
  is ≤ α;
* units without neighbours (islands) and units without a value or a polygon are not tested.

No dash imports. CRS: Queen contiguity is topological and needs none; the point variant
projects lon/lat locally so that "nearest" is measured in kilometres, not degrees.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from esda.getisord import G_Local
from libpysal.weights import KNN, Queen, W

__all__ = [
    "HOTSPOT_LABELS",
    "METHOD_TEXT",
    "MIN_UNITS",
    "NO_DATA",
    "NOT_SIGNIFICANT",
    "HotspotUnavailable",
    "benjamini_hochberg",
    "gi_star",
    "gi_star_points",
    "method_text",
]

#: Fewest units with data for which the analysis is run; below that a "cluster" is noise.
MIN_UNITS = 5

#: Significance levels (p or q ≤ level) and the confidence they are labelled with.
_LEVELS: tuple[tuple[float, str], ...] = ((0.01, "99%"), (0.05, "95%"), (0.10, "90%"))

NOT_SIGNIFICANT = "不显著"
NO_DATA = "无数据"

#: Every label :func:`gi_star` can return, hottest first (for legends and colour scales).
HOTSPOT_LABELS: tuple[str, ...] = (
    *(f"热点({conf})" for _, conf in _LEVELS),
    NOT_SIGNIFICANT,
    *(f"冷点({conf})" for _, conf in reversed(_LEVELS)),
    NO_DATA,
)


class HotspotUnavailable(ValueError):
    """The analysis cannot be run; the message is Chinese and meant for the user."""


def method_text(permutations: int = 999, alpha: float = 0.05, fdr: bool = True) -> str:
    """Chinese description of the method, for the map's 口径 note.

    Parameters
    ----------
    permutations : int, default 999
    alpha : float, default 0.05
    fdr : bool, default True

    Returns
    -------
    str
    """
    levels = "、".join(conf for level, conf in _LEVELS if level <= alpha + 1e-12)
    correction = (
        "按Benjamini–Hochberg法控制错误发现率(FDR)，以校正后的p值判定显著性"
        if fdr
        else "未做多重检验校正，单元较多时会有部分“显著”结果出于偶然，请结合实际研判"
    )
    return (
        "热点分析采用Getis-Ord Gi*统计量：以同级单位边界的Queen邻接(共边或共点即为相邻)"
        "构建二值空间权重，并将单位自身计入(行标准化不改变Gi*的z值)；"
        f"采用条件置换检验({permutations}次随机置换，固定随机种子，结果可复现)计算伪p值，"
        f"{correction}；按{levels}置信度划分热点(高值集聚)与冷点(低值集聚)，"
        "其余为“不显著”。无相邻单位的孤立单位及无数据单位不参与检验。"
        f"参与分析的单位少于{MIN_UNITS}个时不做热点分析。"
    )


#: The method as run with the defaults of :func:`gi_star`.
METHOD_TEXT = method_text()


def benjamini_hochberg(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values).

    Parameters
    ----------
    p : array-like of float
        p-values; NaN entries are ignored and stay NaN.

    Returns
    -------
    numpy.ndarray
        ``q`` such that rejecting every test with ``q <= alpha`` controls the false discovery
        rate at ``alpha``.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    # Step-up: each q is the smallest adjusted value at its rank or above.
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(ranked, 1.0)
    q[ok] = adjusted
    return q


def _check_options(alpha: float, permutations: int) -> None:
    if not any(math.isclose(alpha, level) for level, _ in _LEVELS):
        raise ValueError(f"alpha must be one of 0.01, 0.05, 0.10, got {alpha!r}")
    # Below 99 permutations the smallest attainable pseudo p-value (1/(N+1)) exceeds 0.01.
    if permutations < 99:
        raise ValueError(f"permutations must be at least 99, got {permutations!r}")


def _clean_values(values: Sequence[float] | np.ndarray | pd.Series, n: int) -> np.ndarray:
    y = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce")
    y = y.to_numpy(dtype=float)
    if len(y) != n:
        raise ValueError(f"values has {len(y)} entries for {n} units")
    return y


def _run(
    y: np.ndarray,
    w: W,
    index: pd.Index,
    tested: np.ndarray,
    *,
    alpha: float,
    permutations: int,
    seed: int,
    fdr: bool,
) -> pd.DataFrame:
    """Gi* on the tested subset ``y``/``w``; results spread back over ``index``."""
    if np.any(y < 0):
        raise HotspotUnavailable("热点分析要求指标值非负，当前指标含负值，无法分析")
    if np.all(y == y[0]):
        raise HotspotUnavailable("各单位指标值相同，不存在热点或冷点")
    with warnings.catch_warnings():
        # esda warns that its default permutation alternative will change; we rely on the
        # documented current behaviour (one-sided in the observed direction).
        warnings.simplefilter("ignore", DeprecationWarning)
        # esda rebuilds the weights with self-loops without libpysal's silence flag; islands
        # and disconnected parts are expected among real siblings and handled below.
        warnings.filterwarnings(
            "ignore", message=".*(not fully connected|islands)", category=UserWarning
        )
        # A unit that touches every other sibling has the whole group as its neighbourhood:
        # its Gi* is the global mean, its expected variance zero and its z undefined (NaN,
        # labelled 不显著 below), which is the right answer, not a fault.
        warnings.filterwarnings(
            "ignore", message="invalid value encountered in divide", category=RuntimeWarning
        )
        # n_jobs=1: a web worker must not fork a process pool for a 1 ms computation, and a
        # single process keeps the seeded permutations reproducible.
        g = G_Local(
            y,
            w,
            transform="B",
            permutations=permutations,
            star=True,
            keep_simulations=False,
            n_jobs=1,
            seed=seed,
        )
    z = np.asarray(g.Zs, dtype=float)
    p = np.asarray(g.p_sim, dtype=float)
    # Islands have only themselves as "neighbour": their Gi* is the unit's own value and
    # says nothing about clustering, so they are not tested at all (nor counted by BH).
    island_pos = [w.id2i[i] for i in w.islands]
    z[island_pos] = np.nan
    p[island_pos] = np.nan
    q = benjamini_hochberg(p) if fdr else p.copy()

    labels = np.full(len(y), NOT_SIGNIFICANT, dtype=object)
    # Coarsest level first so that finer levels overwrite it.
    for level, conf in reversed(_LEVELS):
        if level > alpha + 1e-12:
            continue
        sig = q <= level  # NaN compares False: islands stay 不显著
        labels[sig & (z > 0)] = f"热点({conf})"
        labels[sig & (z < 0)] = f"冷点({conf})"

    out = pd.DataFrame(
        {"z": np.nan, "p": np.nan, "q": np.nan, "label": NO_DATA}, index=index
    ).astype({"z": float, "p": float, "q": float, "label": object})
    out.loc[tested, "z"] = z
    out.loc[tested, "p"] = p
    out.loc[tested, "q"] = q
    out.loc[tested, "label"] = labels
    return out


def gi_star(
    gdf: gpd.GeoDataFrame,
    values: Sequence[float] | np.ndarray | pd.Series,
    *,
    alpha: float = 0.05,
    permutations: int = 999,
    seed: int = 12345,
    fdr: bool = True,
) -> pd.DataFrame:
    """Getis-Ord Gi* hotspots among sibling units, with Queen contiguity on their polygons.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The sibling units, Polygon/MultiPolygon geometries (missing ones allowed).
    values : array-like of float
        One value per row of ``gdf``, in row order (a Series is taken by position, not by
        index). NaN means "no data". Must be non-negative.
    alpha : {0.01, 0.05, 0.10}, default 0.05
        Coarsest significance level labelled; 0.05 shows 99% and 95%, 0.10 adds 90%.
    permutations : int, default 999
        Conditional permutations for the pseudo p-value (at least 99).
    seed : int, default 12345
        Random seed of the permutations, so that the same data give the same map.
    fdr : bool, default True
        Apply the Benjamini–Hochberg False Discovery Rate across the tested units.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``gdf``; columns ``z`` (Gi* z-score), ``p`` (pseudo p-value), ``q``
        (BH-adjusted p, equal to ``p`` when ``fdr=False``) and ``label``, one of
        :data:`HOTSPOT_LABELS`. Islands: ``z``/``p``/``q`` NaN, ``"不显著"``. Units without
        a value or a polygon: NaN, ``"无数据"``.

    Raises
    ------
    HotspotUnavailable
        Fewer than :data:`MIN_UNITS` units with both a polygon and a value, no polygons at
        all, all values equal, or a negative value. The message is Chinese, for the UI.
    ValueError
        ``values`` of the wrong length, or an invalid ``alpha`` or ``permutations``.
    """
    _check_options(alpha, permutations)
    y = _clean_values(values, len(gdf))
    try:
        geometry = gdf.geometry
    except AttributeError:  # a frame without an active geometry column
        raise HotspotUnavailable("缺少单位边界数据，无法进行热点分析") from None
    has_geom = (~geometry.isna() & ~geometry.is_empty).to_numpy()
    if not has_geom.any():
        raise HotspotUnavailable("缺少单位边界数据，无法进行热点分析")
    tested = has_geom & ~np.isnan(y)
    if tested.sum() < MIN_UNITS:
        raise HotspotUnavailable(
            f"有数据的单位仅{int(tested.sum())}个，少于{MIN_UNITS}个，不做热点分析"
        )
    # A positional index makes the weights' ids line up with ``y`` whatever gdf's index is
    # (codes, duplicates, a filtered RangeIndex).
    subset = gpd.GeoDataFrame(geometry=geometry[tested].reset_index(drop=True))
    w = Queen.from_dataframe(subset, use_index=True, silence_warnings=True)
    if len(w.islands) == w.n:
        raise HotspotUnavailable("各单位边界互不相邻，无法进行热点分析")
    return _run(
        y[tested], w, gdf.index, tested, alpha=alpha, permutations=permutations, seed=seed, fdr=fdr
    )


def gi_star_points(
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray | pd.Series,
    *,
    k: int = 6,
    alpha: float = 0.05,
    permutations: int = 999,
    seed: int = 12345,
    fdr: bool = True,
) -> pd.DataFrame:
    """Getis-Ord Gi* on label points with k-nearest-neighbour weights.

    For levels without polygons (e.g. grids imported as points). Neighbours are the ``k``
    nearest other points (fewer if there are not enough units), measured on a local
    equirectangular projection in kilometres — adequate at city scale, where degrees of
    longitude are shorter than degrees of latitude by cos(latitude).

    Parameters
    ----------
    lon, lat : array-like of float
        WGS-84 label points, one per unit.
    values : array-like of float
        One value per unit; NaN means "no data". A Series lends its index to the result.
    k : int, default 6
    alpha, permutations, seed, fdr
        As in :func:`gi_star`.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``values`` if it is a Series, else 0…n−1; columns as :func:`gi_star`.
        Units with a missing coordinate or value are ``"无数据"``.

    Raises
    ------
    HotspotUnavailable
        Fewer than :data:`MIN_UNITS` units with a point and a value, all values equal, or a
        negative value.
    ValueError
        Inputs of different lengths, ``k < 1``, or an invalid ``alpha``/``permutations``.
    """
    _check_options(alpha, permutations)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k!r}")
    x = np.asarray(lon, dtype=float)
    yy = np.asarray(lat, dtype=float)
    if len(x) != len(yy):
        raise ValueError("lon and lat differ in length")
    v = _clean_values(values, len(x))
    index = values.index if isinstance(values, pd.Series) else pd.RangeIndex(len(x))
    tested = ~(np.isnan(x) | np.isnan(yy) | np.isnan(v))
    n = int(tested.sum())
    if n < MIN_UNITS:
        raise HotspotUnavailable(f"有数据的单位仅{n}个，少于{MIN_UNITS}个，不做热点分析")
    lat0 = math.radians(float(np.mean(yy[tested])))
    km_per_degree = 111.32
    coords = np.column_stack(
        [x[tested] * km_per_degree * math.cos(lat0), yy[tested] * km_per_degree]
    )
    w = KNN.from_array(coords, k=min(k, n - 1), silence_warnings=True)
    return _run(
        v[tested], w, index, tested, alpha=alpha, permutations=permutations, seed=seed, fdr=fdr
    )
