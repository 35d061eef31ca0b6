"""Helpers for polygon coverages: fast grouped unions, checks, and reading order.

A *coverage* is a set of polygons that tile an area without gaps or overlaps, with neighbours
sharing exactly the same vertices along their common edges (the administrative levels of a city
are coverages). GEOS has dedicated, much faster algorithms for coverages
(``shapely.coverage_union_all`` is 10-100x faster than a general ``unary_union``/``dissolve``),
so the functions here lean on those and only check the coverage property where it is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely


def union_by_group(geometries: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Union the members of each group of a valid coverage.

    Parameters
    ----------
    geometries : numpy.ndarray of shapely.Geometry
        Polygons that together form a valid coverage (shared edges have identical vertices).
    groups : numpy.ndarray of int
        Group number ``0 <= g < n_groups`` for every geometry.
    n_groups : int
        Number of groups; every group must have at least one member.

    Returns
    -------
    numpy.ndarray of shapely.Geometry
        One (Multi)Polygon per group, in group order.

    Raises
    ------
    ValueError
        If a group has no member.
    """
    geometries = np.asarray(geometries, dtype=object)
    groups = np.asarray(groups, dtype=np.int64)
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=n_groups)
    if len(counts) > n_groups or (counts == 0).any():
        raise ValueError("every group needs at least one member and groups must be < n_groups")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    sorted_geoms = geometries[order]
    out = np.empty(n_groups, dtype=object)
    for g in range(n_groups):
        members = sorted_geoms[bounds[g] : bounds[g + 1]]
        # A single member is already its own union; skipping GEOS saves most of the time for
        # the many one-child parents.
        out[g] = members[0] if len(members) == 1 else shapely.coverage_union_all(members)
    return out


def is_valid_coverage(geometries: Sequence[shapely.Geometry] | np.ndarray) -> bool:
    """Tell whether polygons form a valid coverage: valid, non-overlapping, edge-matched.

    Parameters
    ----------
    geometries : sequence of shapely.Geometry
        Polygons of one level.

    Returns
    -------
    bool
        ``True`` when every polygon is valid and ``shapely.coverage_is_valid`` holds (no
        overlaps, and shared edges use identical vertices). Gaps are not detected here; compare
        the union with the parent for that.
    """
    arr = np.asarray(geometries, dtype=object)
    return bool(shapely.is_valid(arr).all() and shapely.coverage_is_valid(arr))


def reading_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Order points west→east within rows, rows north→south (how grid codes are numbered).

    The points are split into ``round(sqrt(n))`` rows of nearly equal size by latitude, so the
    order stays stable for irregular layouts where no two points share a latitude exactly.

    Parameters
    ----------
    x, y : numpy.ndarray
        Longitudes (or eastings) and latitudes (or northings).

    Returns
    -------
    numpy.ndarray of int
        Indices into ``x``/``y`` in reading order.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n <= 1:
        return np.arange(n)
    n_rows = max(1, round(np.sqrt(n)))
    north_first = np.argsort(-y, kind="stable")
    row = np.empty(n, dtype=np.int64)
    row[north_first] = np.arange(n) * n_rows // n
    return np.lexsort((x, row))
