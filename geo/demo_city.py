"""Deterministic fictional demo city: 云岚市 (code 359800) with all five unit levels.

``build_city`` returns one GeoDataFrame row per unit (city, 区县, 乡镇街道, 村社区, 网格) in
EPSG:4326 with the columns of the *Units GeoDataFrame* contract (docs/architecture.md). The city
is invented: it sits inland in south-east China (around 117.2°E, 25.75°N) but its name, codes and
boundaries are fictional.

How the geometry is made, and why
---------------------------------
1. **Micro-cells.** Random points are scattered with a density that is high in the urban core
   and at county seats and low in the countryside, and their Voronoi diagram is taken. The city
   is the set of cells whose point lies inside a smooth, lobed outline. Every unit at every level
   is a union of micro-cells, so all levels nest *exactly* and each level is a valid coverage
   (Voronoi cells share identical vertices, and ``shapely.coverage_union_all`` keeps them).
2. **Top-down partition.** The cells of each parent are split among its children by a
   competitive shortest-path growth on the cell adjacency graph (one Dijkstra from a virtual
   source joined to every child's seed). Each region is the set of cells reached first from one
   seed, so it is connected by construction. Additive per-seed offsets are tuned over a few
   rounds so that each child gets a number of cells proportional to its number of grids; as
   cells are small where people live densely, urban units come out small and rural ones large.
3. **Natural edges.** Edge costs are scaled by smooth random noise (a different field per level),
   so boundaries meander like ridges and rivers instead of following straight bisectors, and
   they follow micro-cell edges, which adds fine-scale wiggle.

Populations are drawn per grid (urban 1,200-2,500, rural 400-1,000 people) and summed upwards
exactly. Everything is driven by one ``numpy.random.Generator`` seeded by ``seed``, so the same
preset and seed always give an identical frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import Delaunay

from data.levels import Level
from geo.coverage import reading_order, union_by_group

__all__ = ["COLUMNS", "PRESETS", "CityPreset", "build_city"]

#: Column order of the returned frame (the Units GeoDataFrame contract).
COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "level",
    "parent_code",
    "population",
    "households",
    "urban_rural",
    "grid_type",
    "sort_key",
    "geometry",
)

# Kilometres per degree at the city's latitude (spherical approximation is plenty for a demo).
_KM_PER_DEG_LAT = 110.574

# NBS 城乡分类 codes, ordered from most to least urban. The rank decides which child gets the
# densest seed, so 社区 land in town centres and 街道 in the urban core.
_UR_RANK = {"111": 6, "112": 5, "121": 4, "122": 3, "210": 2, "220": 1}
# Codes whose grids get urban population sizes (城镇 = 1xx); the rest are 乡村.
_URBAN_UR = frozenset({"111", "112", "121"})
_TOWN_RANK = {"street": 3, "town": 2, "xiang": 1}

_DISTRICT_SUFFIX = {"urban": "区", "county": "县", "county_city": "市"}
_TOWN_SUFFIX = {"street": "街道", "town": "镇", "xiang": "乡"}
# First code of each class: 街道 001-099, 镇 100-199, 乡 200-399 (GB/T 10114);
# 社区居委会 001-199, 村委会 200-399 (NBS 统计用区划代码).
_TOWN_CODE_RANGE = {"street": (1, 99), "town": (100, 199), "xiang": (200, 399)}
_VILLAGE_CODE_RANGE = {"community": (1, 199), "village": (200, 399)}


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class CityPreset:
    """Size and make-up of a generated city.

    Count ranges are inclusive ``(low, high)`` pairs drawn uniformly per parent.

    Attributes
    ----------
    key : str
        Preset name.
    n_urban, n_county, n_county_city : int
        Numbers of 市辖区, 县 and county-level 市.
    area_km2 : float
        Approximate land area of the city.
    towns : Mapping[str, tuple[int, int]]
        Towns per district, by district kind (``urban``, ``county``, ``county_city``).
    streets : Mapping[str, tuple[int, int]]
        How many of those towns are 街道, by district kind.
    xiang_share : Mapping[str, float]
        Share of the non-街道 towns that are 乡 rather than 镇, by district kind.
    villages : Mapping[str, tuple[tuple[int, int], tuple[int, int]]]
        ``(communities, villages)`` ranges per town, by town class: ``street`` (街道 of a 区 or
        county-level 市), ``street_county`` (街道 of a 县), ``town_urban`` (镇 of a 区),
        ``town`` (other 镇) and ``xiang`` (乡).
    grids : Mapping[str, tuple[int, int]]
        Grids per village, by the village's 城乡分类 code.
    cells_per_grid : int
        Micro-cells per grid; more gives finer boundaries and takes longer.
    core_grid_km2 : float
        Typical area of a grid in the densest urban core.
    county_city_base : int
        District digits of the first county-level 市. Real GB/T 2260 practice numbers
        prefecture-administered county-level cities 81-99 (福清市 350181, 漳平市 350881), so
        ``81`` keeps the demo like real imports.
    """

    key: str
    n_urban: int
    n_county: int
    n_county_city: int
    area_km2: float
    towns: Mapping[str, tuple[int, int]]
    streets: Mapping[str, tuple[int, int]]
    xiang_share: Mapping[str, float]
    villages: Mapping[str, tuple[tuple[int, int], tuple[int, int]]]
    grids: Mapping[str, tuple[int, int]]
    cells_per_grid: int = 12
    core_grid_km2: float = 0.3
    county_city_base: int = 81
    city_name: str = "云岚市"
    city_code: str = "359800"
    center: tuple[float, float] = field(default=(117.25, 25.75))


_DEMO_GRIDS = _frozen(
    {"111": (2, 5), "112": (2, 3), "121": (1, 3), "122": (2, 3), "210": (2, 3), "220": (2, 4)}
)

PRESETS: dict[str, CityPreset] = {
    "tiny": CityPreset(
        key="tiny",
        n_urban=1,
        n_county=1,
        n_county_city=0,
        area_km2=500.0,
        towns=_frozen({"urban": (3, 3), "county": (3, 3)}),
        streets=_frozen({"urban": (2, 2), "county": (0, 0)}),
        xiang_share=_frozen({"urban": 0.0, "county": 0.34}),
        villages=_frozen(
            {
                "street": ((6, 7), (0, 0)),
                "street_county": ((3, 4), (0, 0)),
                "town_urban": ((2, 2), (5, 6)),
                "town": ((1, 1), (6, 8)),
                "xiang": ((0, 1), (5, 6)),
            }
        ),
        grids=_frozen(
            {
                "111": (3, 6),
                "112": (2, 5),
                "121": (2, 5),
                "122": (2, 5),
                "210": (2, 5),
                "220": (2, 5),
            }
        ),
        cells_per_grid=10,
    ),
    "demo": CityPreset(
        key="demo",
        n_urban=3,
        n_county=3,
        n_county_city=1,
        area_km2=10_000.0,
        towns=_frozen({"urban": (10, 13), "county": (22, 26), "county_city": (20, 24)}),
        streets=_frozen({"urban": (7, 10), "county": (0, 2), "county_city": (4, 6)}),
        xiang_share=_frozen({"urban": 0.0, "county": 0.35, "county_city": 0.25}),
        villages=_frozen(
            {
                "street": ((5, 8), (0, 1)),
                "street_county": ((3, 5), (0, 1)),
                "town_urban": ((2, 3), (10, 14)),
                "town": ((1, 2), (16, 22)),
                "xiang": ((0, 1), (11, 16)),
            }
        ),
        grids=_DEMO_GRIDS,
        cells_per_grid=12,
    ),
    "large": CityPreset(
        key="large",
        n_urban=4,
        n_county=6,
        n_county_city=2,
        area_km2=16_000.0,
        towns=_frozen({"urban": (12, 15), "county": (20, 24), "county_city": (26, 32)}),
        streets=_frozen({"urban": (9, 12), "county": (1, 2), "county_city": (6, 8)}),
        xiang_share=_frozen({"urban": 0.0, "county": 0.35, "county_city": 0.25}),
        villages=_frozen(
            {
                "street": ((7, 10), (0, 1)),
                "street_county": ((3, 5), (0, 1)),
                "town_urban": ((2, 3), (11, 15)),
                "town": ((1, 2), (16, 22)),
                "xiang": ((0, 1), (10, 15)),
            }
        ),
        grids=_frozen(
            {
                "111": (5, 9),
                "112": (4, 6),
                "121": (3, 5),
                "122": (4, 6),
                "210": (4, 6),
                "220": (4, 6),
            }
        ),
        cells_per_grid=9,
    ),
}


# --------------------------------------------------------------------------------------------
# Hierarchy plan (no geometry yet)
# --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    district_kind: list[str]
    town_parent: np.ndarray
    town_kind: list[str]
    village_parent: np.ndarray
    village_kind: list[str]  # "community" or "village"
    village_ur: list[str]
    village_grids: np.ndarray


def _draw(rng: np.random.Generator, lo_hi: tuple[int, int]) -> int:
    lo, hi = lo_hi
    return int(rng.integers(lo, hi + 1))


def _plan(preset: CityPreset, rng: np.random.Generator) -> _Plan:
    """Draw how many towns, villages and grids each unit has, and their classes."""
    kinds = (
        ["urban"] * preset.n_urban
        + ["county"] * preset.n_county
        + ["county_city"] * preset.n_county_city
    )
    town_parent: list[int] = []
    town_kind: list[str] = []
    town_class: list[str] = []
    for d, kind in enumerate(kinds):
        n = _draw(rng, preset.towns[kind])
        n_street = min(_draw(rng, preset.streets[kind]), n)
        if kind == "urban":
            # A 区 keeps at least one 镇 on its outskirts, as real ones do.
            n_street = min(n_street, n - 1) if n > 1 else n
        n_xiang = round((n - n_street) * preset.xiang_share[kind])
        for t in range(n):
            tk = "street" if t < n_street else ("xiang" if t >= n - n_xiang else "town")
            town_parent.append(d)
            town_kind.append(tk)
            if tk == "street":
                town_class.append("street_county" if kind == "county" else "street")
            elif tk == "town":
                town_class.append("town_urban" if kind == "urban" else "town")
            else:
                town_class.append("xiang")

    village_parent: list[int] = []
    village_kind: list[str] = []
    village_ur: list[str] = []
    for t, cls in enumerate(town_class):
        comm_range, vill_range = preset.villages[cls]
        n_comm = _draw(rng, comm_range)
        n_vill = _draw(rng, vill_range)
        if n_comm + n_vill == 0:
            n_vill = 1
        for _ in range(n_comm):
            village_parent.append(t)
            village_kind.append("community")
            village_ur.append(
                {
                    "street": "111",
                    "street_county": "121",
                    "town_urban": "112",
                    "town": "121",
                    "xiang": "210",
                }[cls]
            )
        for v in range(n_vill):
            village_parent.append(t)
            village_kind.append("village")
            if cls == "street":
                ur = "112"
            elif cls == "street_county":
                ur = "122"
            elif cls == "town_urban":
                ur = "112" if rng.random() < 0.4 else "220"
            elif cls == "town":
                ur = "122" if v < 2 else "220"
            else:
                ur = "210" if v == 0 and n_comm == 0 else "220"
            village_ur.append(ur)

    village_grids = np.array([_draw(rng, preset.grids[ur]) for ur in village_ur], dtype=np.int64)
    return _Plan(
        district_kind=kinds,
        town_parent=np.array(town_parent, dtype=np.int64),
        town_kind=town_kind,
        village_parent=np.array(village_parent, dtype=np.int64),
        village_kind=village_kind,
        village_ur=village_ur,
        village_grids=village_grids,
    )


# --------------------------------------------------------------------------------------------
# Micro-cells
# --------------------------------------------------------------------------------------------


@dataclass
class _Cells:
    xy: np.ndarray  # (n, 2) generator points, km from the city centre
    polygons: np.ndarray  # Voronoi cells in lon/lat
    area: np.ndarray  # km²
    edges: np.ndarray  # (m, 2) undirected adjacency, i < j
    edge_mid: np.ndarray  # (m, 2)
    edge_len: np.ndarray  # (m,) km between generators


class _Noise:
    """Smooth random field: a sum of plane waves with random directions and wavelengths."""

    def __init__(self, rng: np.random.Generator, lam_min: float, lam_max: float, n: int = 14):
        lam = np.exp(rng.uniform(np.log(lam_min), np.log(lam_max), n))
        theta = rng.uniform(0, 2 * np.pi, n)
        self.k = np.stack([np.cos(theta), np.sin(theta)], axis=1) * (2 * np.pi / lam)[:, None]
        self.phase = rng.uniform(0, 2 * np.pi, n)
        # Larger waves weigh more (reddish spectrum), normalised so the field is about N(0, 1).
        w = lam / lam.sum()
        self.w = w / np.sqrt((w**2).sum() / 2)

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        return np.cos(xy @ self.k.T + self.phase) @ self.w


def _outline(rng: np.random.Generator, radius: float) -> shapely.Polygon:
    """A lobed, smooth city outline centred on the origin with about the given mean radius."""
    theta = np.linspace(0, 2 * np.pi, 721)[:-1]
    r = np.ones_like(theta)
    amps = []
    for k in range(2, 7):
        a = rng.uniform(0.03, 0.10) * 2 / k
        amps.append(a)
        r += a * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    # Keep the area: the mean of r² is 1 + Σa²/2.
    r *= radius / np.sqrt(1 + np.sum(np.square(amps)) / 2)
    return shapely.Polygon(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))


def _sample_inside(
    rng: np.random.Generator, outline: shapely.Polygon, n: int, center: np.ndarray, sigma: float
) -> np.ndarray:
    """Draw ``n`` Gaussian points around ``center`` that fall inside ``outline``."""
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        pts = rng.normal(center, sigma, size=(max(2 * (n - got), 16), 2))
        pts = pts[shapely.contains_xy(outline, pts[:, 0], pts[:, 1])]
        out.append(pts)
        got += len(pts)
    return np.concatenate(out)[:n]


def _micro_cells(
    preset: CityPreset,
    plan: _Plan,
    rng: np.random.Generator,
) -> tuple[_Cells, np.ndarray]:
    """Scatter points, take their Voronoi cells, keep those inside the outline.

    Returns the cells and the district seed positions (km), which also anchor the dense
    clusters so that each district's urban grids sit around its seat.
    """
    radius = np.sqrt(preset.area_km2 / np.pi)
    outline = _outline(rng, radius)

    # Grids that need small cells: 111 communities (and 街道 of counties, 121) cluster around
    # their district's seat; everything else is spread over the countryside.
    town_of_village = plan.village_parent
    district_of_village = plan.town_parent[town_of_village]
    dense_village = np.array(
        [plan.town_kind[t] == "street" for t in town_of_village], dtype=bool
    ) & np.array([k == "community" for k in plan.village_kind], dtype=bool)
    n_districts = len(plan.district_kind)
    dense_grids = np.bincount(
        district_of_village[dense_village],
        weights=plan.village_grids[dense_village],
        minlength=n_districts,
    )
    n_grids = int(plan.village_grids.sum())
    cpg = preset.cells_per_grid

    # District seats: the 区 share one core slightly off the outline's centre (they are split
    # later); 县 and county-level 市 sit on a ring at about half the radius, evenly spaced with
    # jitter.
    urban = [d for d, k in enumerate(plan.district_kind) if k == "urban"]
    rural = [d for d, k in enumerate(plan.district_kind) if k != "urban"]
    core_grids = float(dense_grids[urban].sum())
    core_sigma = np.sqrt(max(core_grids, 1.0) * preset.core_grid_km2 / (2 * np.pi))
    core = rng.uniform(-0.08, 0.08, 2) * radius
    seats = np.zeros((n_districts, 2))
    seats[urban] = core
    phi = rng.uniform(0, 2 * np.pi)
    for i, d in enumerate(rural):
        a = phi + 2 * np.pi * (i + rng.uniform(-0.15, 0.15)) / max(len(rural), 1)
        direction = np.array([np.cos(a), np.sin(a)])
        # Distance to the outline along this direction, so seats stay well inside.
        ray = shapely.LineString([core, core + direction * 3 * radius])
        edge = shapely.intersection(ray, outline.exterior)
        reach = shapely.distance(shapely.Point(core), edge)
        seats[d] = core + direction * reach * rng.uniform(0.45, 0.6)

    parts = []
    if urban:
        parts.append(_sample_inside(rng, outline, int(core_grids * cpg), core, core_sigma))
    for d in rural:
        n_dense = int(dense_grids[d] * cpg)
        if n_dense:
            sigma = np.sqrt(dense_grids[d] * preset.core_grid_km2 * 1.5 / (2 * np.pi))
            parts.append(_sample_inside(rng, outline, n_dense, seats[d], sigma))
    n_dense_total = sum(len(p) for p in parts)
    base_density = max(n_grids * cpg - n_dense_total, n_grids * 2) / preset.area_km2
    # The background extends past the outline so that every kept cell is bounded by others.
    xmin, ymin, xmax, ymax = np.array(outline.bounds) + np.array([-1, -1, 1, 1]) * 0.1 * radius
    n_base = int(base_density * (xmax - xmin) * (ymax - ymin))
    parts.append(rng.uniform((xmin, ymin), (xmax, ymax), size=(n_base, 2)))
    pts = np.concatenate(parts)

    inside = shapely.contains_xy(outline, pts[:, 0], pts[:, 1])

    tri = Delaunay(pts)
    s = tri.simplices
    e = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    e.sort(axis=1)
    e = np.unique(e, axis=0)

    # Fill holes (outside cells enclosed by inside ones) and keep only the largest inside piece,
    # so the city is one polygon without holes.
    n_pts = len(pts)

    def components(mask: np.ndarray) -> np.ndarray:
        keep = mask[e[:, 0]] & mask[e[:, 1]]
        g = sparse.coo_matrix((np.ones(keep.sum()), (e[keep, 0], e[keep, 1])), shape=(n_pts, n_pts))
        return csgraph.connected_components(g, directed=False)[1]

    lab = components(~inside)
    hull = np.zeros(n_pts, dtype=bool)
    hull[np.unique(tri.convex_hull)] = True
    open_comps = np.unique(lab[~inside & hull])
    inside |= ~inside & ~np.isin(lab, open_comps)
    lab = components(inside)
    big = np.bincount(lab[inside]).argmax()
    inside &= lab == big

    bbox = shapely.box(xmin - radius, ymin - radius, xmax + radius, ymax + radius)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=bbox, ordered=True)
    )
    if len(cells) != n_pts:  # pragma: no cover - only with duplicate points
        raise RuntimeError("Voronoi cells do not match the generator points")

    idx = np.flatnonzero(inside)
    remap = np.full(n_pts, -1)
    remap[idx] = np.arange(len(idx))
    keep = inside[e[:, 0]] & inside[e[:, 1]]
    edges = remap[e[keep]]
    xy = pts[idx]
    polys = cells[idx]
    area = shapely.area(polys)

    lon0, lat0 = preset.center
    km_per_deg_lon = _KM_PER_DEG_LAT * np.cos(np.radians(lat0)) * 1.0067  # WGS-84 ≈ 111.32 cos φ

    def to_lonlat(c: np.ndarray) -> np.ndarray:
        # The same affine map for every vertex keeps shared vertices identical.
        return np.stack([lon0 + c[:, 0] / km_per_deg_lon, lat0 + c[:, 1] / _KM_PER_DEG_LAT], 1)

    polys = shapely.transform(polys, to_lonlat)
    edge_vec = xy[edges[:, 1]] - xy[edges[:, 0]]
    return (
        _Cells(
            xy=xy,
            polygons=polys,
            area=area,
            edges=edges,
            edge_mid=(xy[edges[:, 0]] + xy[edges[:, 1]]) / 2,
            edge_len=np.hypot(edge_vec[:, 0], edge_vec[:, 1]),
        ),
        seats,
    )


# --------------------------------------------------------------------------------------------
# Partition of a level
# --------------------------------------------------------------------------------------------


def _kmeans_seeds(rng: np.random.Generator, pts: np.ndarray, k: int, n_iter: int = 8) -> np.ndarray:
    """Indices of ``k`` distinct points near the centres of a k-means clustering of ``pts``."""
    n = len(pts)
    if k == 1:
        return np.array([np.argmin(((pts - pts.mean(0)) ** 2).sum(1))])
    # k-means++ initialisation spreads the seeds; a few Lloyd steps then even them out.
    centres = [pts[rng.integers(n)]]
    d2 = ((pts - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        i = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
        centres.append(pts[i])
        d2 = np.minimum(d2, ((pts - pts[i]) ** 2).sum(1))
    c = np.array(centres)
    for _ in range(n_iter):
        lab = (((pts[:, None, :] - c[None, :, :]) ** 2).sum(2)).argmin(1)
        for j in range(k):
            members = pts[lab == j]
            if len(members):
                c[j] = members.mean(0)
    dist = ((pts[:, None, :] - c[None, :, :]) ** 2).sum(2)
    chosen: list[int] = []
    used: set[int] = set()
    for j in range(k):
        for i in np.argsort(dist[:, j]):
            if int(i) not in used:
                chosen.append(int(i))
                used.add(int(i))
                break
    return np.array(chosen)


def _partition(
    cells: _Cells,
    cell_parent: np.ndarray,
    child_parent: np.ndarray,
    child_weight: np.ndarray,
    child_rank: np.ndarray,
    noise: _Noise,
    rng: np.random.Generator,
    seed_xy: np.ndarray | None = None,
    roughness: float = 0.8,
    n_rounds: int = 20,
) -> np.ndarray:
    """Split every parent's cells among its children; return each cell's child index.

    Each child's region is grown from a seed cell by a shortest-path competition restricted to
    the parent's cells, so it is connected. Additive offsets per seed are adjusted over
    ``n_rounds`` rounds so region sizes approach ``child_weight`` shares of the parent.
    """
    n = len(cell_parent)
    n_children = len(child_parent)
    order = np.argsort(cell_parent, kind="stable")
    n_parents = int(child_parent.max()) + 1
    counts = np.bincount(cell_parent, minlength=n_parents)
    starts = np.concatenate([[0], np.cumsum(counts)])
    density = 1.0 / cells.area

    seeds = np.empty(n_children, dtype=np.int64)
    quota = np.empty(n_children)
    radius = np.empty(n_children)
    kids_by_parent = np.argsort(child_parent, kind="stable")
    kid_counts = np.bincount(child_parent, minlength=n_parents)
    kid_starts = np.concatenate([[0], np.cumsum(kid_counts)])
    for p in range(n_parents):
        kids = kids_by_parent[kid_starts[p] : kid_starts[p + 1]]
        members = order[starts[p] : starts[p + 1]]
        if len(kids) > len(members):
            raise RuntimeError("a unit has fewer micro-cells than children; raise cells_per_grid")
        if seed_xy is not None:
            # Fixed seats: the nearest free cell to each requested position.
            taken: set[int] = set()
            for c in kids:
                d = ((cells.xy[members] - seed_xy[c]) ** 2).sum(1)
                for i in np.argsort(d):
                    if int(members[i]) not in taken:
                        seeds[c] = members[i]
                        taken.add(int(members[i]))
                        break
        else:
            local = _kmeans_seeds(rng, cells.xy[members], len(kids))
            cand = members[local]
            # Most urban child ↔ densest seed: 街道 take the core, 社区 the town centre.
            by_density = cand[np.argsort(-density[cand], kind="stable")]
            by_rank = kids[np.argsort(-child_rank[kids], kind="stable")]
            seeds[by_rank] = by_density
        w = child_weight[kids] / child_weight[kids].sum()
        quota[kids] = w * len(members)
        mean_area = cells.area[members].mean()
        radius[kids] = np.sqrt(quota[kids] * mean_area / np.pi)

    # Graph restricted to edges inside one parent, plus a virtual source V → every seed.
    ei, ej = cells.edges[:, 0], cells.edges[:, 1]
    same = cell_parent[ei] == cell_parent[ej]
    # Noise scales the cost of crossing each edge; normalised to mean 1 so that offsets stay in
    # kilometre-like units.
    mult = np.exp(roughness * noise(cells.edge_mid[same]))
    cost = cells.edge_len[same] * (mult / mult.mean())
    big = 1e6
    v = n
    rows = np.concatenate([ei[same], ej[same], np.full(n_children, v)])
    cols = np.concatenate([ej[same], ei[same], seeds])
    data = np.concatenate([cost, cost, np.full(n_children, big)])
    graph = sparse.csr_matrix((data, (rows, cols)), shape=(n + 1, n + 1))
    v_slice = slice(graph.indptr[v], graph.indptr[v + 1])
    # Columns in row V are sorted, i.e. in the order of sorted seeds.
    seed_sort = np.argsort(seeds)
    child_of_seed = np.full(n + 1, -1, dtype=np.int64)
    child_of_seed[seeds] = np.arange(n_children)

    offset = np.zeros(n_children)
    best: np.ndarray | None = None
    best_err = np.inf
    for _ in range(n_rounds):
        graph.data[v_slice] = (big + offset)[seed_sort]
        _, pred = csgraph.dijkstra(graph, directed=True, indices=v, return_predecessors=True)
        root = pred[:n].astype(np.int64)
        if (root < 0).any():  # pragma: no cover - parents are connected by construction
            raise RuntimeError("micro-cell graph of a unit is not connected")
        root[seeds] = seeds
        while True:  # pointer jumping up the shortest-path tree to the seed
            nxt = root[root]
            if np.array_equal(nxt, root):
                break
            root = nxt
        labels = child_of_seed[root]
        size = np.bincount(labels, minlength=n_children)
        ratio = np.maximum(size, 0.25) / quota
        # Typical imbalance counts most; a little weight on the worst child avoids slivers.
        miss = np.abs(np.log(ratio))
        err = miss.mean() + 0.05 * miss.max()
        if size.min() > 0 and err < best_err:
            best, best_err = labels, err
        # Too big → raise its offset (costlier to reach), too small → lower it. Moving a
        # boundary by dr changes log(area) by about 2·dr/r, and both sides of a boundary move,
        # so a step of r·log(ratio)/2, damped, converges without oscillating. r comes from the
        # region's current area because cells are far smaller in the urban core.
        area_now = np.bincount(labels, weights=cells.area, minlength=n_children)
        r_now = np.where(size > 0, np.sqrt(area_now / np.pi), radius)
        offset += 0.25 * r_now * np.clip(np.log(ratio), -0.7, 0.7)
        offset = np.clip(offset, -big / 2, big / 2)
    assert best is not None  # round 0 (no offsets) always keeps every seed
    return best


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

_RURAL_FIRST = (
    "东西南北上下前后大小古高长双三五石岩青白黄红金银玉松竹梅桃李杏柳枫桂茶樟杉龙凤鹤鹿"
    "马牛云雾霞溪河江湖塘泉源坑坪岭峰岗坂洋湾洲田林山岐埔桥亭寨堡"
)
_RURAL_SECOND = "山岭峰坑坪田洋溪口头岩湖塘洲坂厝林源亭桥埔垄寨坊洞湾庄园里岗墩下尾背畲"
_TOWN_SECOND = "溪阳安和丰兴宁平山坪口田洋城岭湖源桥埔岩塘"
_MODERN_FIRST = "和建幸新华锦翠滨金紫阳春光明文兴育胜利东西南北中朝振康乐福瑞嘉怡清"
_MODERN_SECOND = "平福华江园苑城阳光明兴安康乐丰宁和泰祥景湖桥晖"
_DISTRICT_FIRST = "云岚丰安永长清宁泰和建兴华溪凤临汀梅桂松翠金玉鹤屏"
_DISTRICT_SECOND = "城山溪江湖阳安宁丰源平川泉峰华洲"
# Real county-level names that the syllables above could produce; skipped so that the demo
# does not look like an existing place.
_REAL_NAMES_TEXT = """
永安 长汀 建宁 泰宁 安溪 永定 龙岩 宁化 清流 建阳 永春 长泰 华安 云霄 龙海 云城 金平 龙华
丰泽 梅江 桂平 玉山 永丰 兴宁 安宁 华山 和平 长安 新华 建华 清城 龙川 丰城 永和 长宁 泰和
安源 龙泉 金华 华阳 龙江 永川 清江 宁安 松溪 屏山 金山 玉溪 临川 凤城 凤阳 鹤山 华城 兴城
安阳 丰宁 长阳 清华 建安 宁阳 平山 梅州 金湖 江城 泉州 永泰 东山 南平 三明 上杭 武平 连城
漳平 尤溪 大田 沙县 将乐 明溪 仙游 德化 南安 石狮 晋江 福清 长乐 闽清 连江 罗源 南靖 平和
诏安 云和 丽水 临江 东城 西城 南山 北山
"""
_REAL_NAMES = frozenset(_REAL_NAMES_TEXT.split())


def _unique_names(
    rng: np.random.Generator, n: int, first: str, second: str, used: set[str]
) -> list[str]:
    """Draw ``n`` distinct two-character stems not in ``used`` (which is updated)."""
    out: list[str] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        stem = first[rng.integers(len(first))] + second[rng.integers(len(second))]
        if stem[0] == stem[1] or stem in used or stem in _REAL_NAMES:
            if attempts > 50 * (n + 10):  # pragma: no cover - pools are far larger than needs
                raise RuntimeError("name pool exhausted")
            continue
        used.add(stem)
        out.append(stem)
    return out


_FACILITIES = ("实验小学", "第二中学", "中心医院", "人民公园", "农贸市场", "职业学校", "妇幼保健院")


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def _grid_population(rng: np.random.Generator, ur: np.ndarray, special: np.ndarray) -> np.ndarray:
    """People per grid: right-skewed within the urban or rural band; 专属 grids are smaller."""
    urban = np.isin(ur, list(_URBAN_UR))
    pop = np.where(
        urban,
        1200 + 1300 * rng.beta(1.1, 4.5, size=len(ur)),
        400 + 600 * rng.beta(1.0, 6.0, size=len(ur)),
    )
    # 专属网格 (schools, hospitals, parks) hold few residents: staff, boarders, patients.
    pop = np.where(special, 150 + 650 * rng.random(len(ur)), pop)
    return np.rint(pop).astype(np.int64)


def build_city(preset: str | CityPreset = "demo", seed: int = 7) -> gpd.GeoDataFrame:
    """Generate the fictional demo city with all five levels of units.

    Parameters
    ----------
    preset : str or CityPreset, default "demo"
        A key of :data:`PRESETS` (``"tiny"``, ``"demo"``, ``"large"``) or a custom preset.
    seed : int, default 7
        Seed of the random generator; the same preset and seed give an identical frame.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit, ordered by level (city, district, town, village, grid) then code,
        CRS EPSG:4326, columns ``code, name, level, parent_code, population, households,
        urban_rural, grid_type, sort_key, geometry``. Polygons of each level form a valid
        coverage and the union of a unit's children equals the unit.

    Raises
    ------
    KeyError
        If ``preset`` names no preset.

    Examples
    --------
    >>> units = build_city("tiny", seed=1)
    >>> units.loc[units["level"] == "city", "code"].item()
    '359800'
    """
    p = PRESETS[preset] if isinstance(preset, str) else preset
    rng = np.random.default_rng([seed, 0x59800])
    plan = _plan(p, rng)
    cells, seats = _micro_cells(p, plan, rng)
    radius = np.sqrt(p.area_km2 / np.pi)
    n_cells = len(cells.xy)
    n_d = len(plan.district_kind)
    n_t = len(plan.town_parent)
    n_v = len(plan.village_parent)

    grids_per_town = np.bincount(plan.village_parent, weights=plan.village_grids, minlength=n_t)
    grids_per_district = np.bincount(plan.town_parent, weights=grids_per_town, minlength=n_d)

    # District → town → village, each level with its own noise so boundaries don't coincide.
    # Districts in two steps: first the 区 together (seeded at the core) against each 县/市
    # (seeded at its seat), then the 区 split their shared area. Seeding the 区 separately at
    # the core would put their seeds so close that balancing their sizes is unstable.
    urban = np.array([k == "urban" for k in plan.district_kind])
    group_of_district = np.cumsum(~urban) - (0 if urban.any() else 1)
    group_of_district[urban] = 0
    n_groups = int(group_of_district.max()) + 1
    group_seat = np.zeros((n_groups, 2))
    group_seat[group_of_district] = seats
    cell_group = _partition(
        cells,
        np.zeros(n_cells, dtype=np.int64),
        np.zeros(n_groups, dtype=np.int64),
        np.bincount(group_of_district, weights=grids_per_district, minlength=n_groups),
        np.zeros(n_groups),
        _Noise(rng, 0.15 * radius, 1.2 * radius),
        rng,
        seed_xy=group_seat,
        roughness=1.0,
    )
    cell_district = _partition(
        cells,
        cell_group,
        group_of_district,
        grids_per_district,
        np.zeros(n_d),
        _Noise(rng, 0.06 * radius, 0.6 * radius),
        rng,
        roughness=0.8,
    )
    cell_town = _partition(
        cells,
        cell_district,
        plan.town_parent,
        grids_per_town,
        np.array([_TOWN_RANK[k] for k in plan.town_kind], dtype=float),
        _Noise(rng, 0.06 * radius, 0.5 * radius),
        rng,
        roughness=0.8,
    )
    cell_village = _partition(
        cells,
        cell_town,
        plan.village_parent,
        plan.village_grids.astype(float),
        np.array([_UR_RANK[u] for u in plan.village_ur], dtype=float),
        _Noise(rng, 0.02 * radius, 0.2 * radius),
        rng,
        roughness=0.6,
    )
    # A village can't have more grids than micro-cells; trim the rare overflow.
    cells_per_village = np.bincount(cell_village, minlength=n_v)
    village_grids = np.minimum(plan.village_grids, cells_per_village)
    grid_parent = np.repeat(np.arange(n_v), village_grids)
    n_g = len(grid_parent)
    cell_grid = _partition(
        cells,
        cell_village,
        grid_parent,
        np.ones(n_g),
        np.zeros(n_g),
        _Noise(rng, 0.01 * radius, 0.1 * radius),
        rng,
        roughness=0.4,
    )

    grid_geom = union_by_group(cells.polygons, cell_grid, n_g)
    village_geom = union_by_group(grid_geom, grid_parent, n_v)
    town_geom = union_by_group(village_geom, plan.village_parent, n_t)
    district_geom = union_by_group(town_geom, plan.town_parent, n_d)
    city_geom = union_by_group(district_geom, np.zeros(n_d, dtype=np.int64), 1)

    # ---- codes, in reading order of centroids within each code class ----------------------
    def centroids(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = shapely.centroid(geoms)
        return shapely.get_x(c), shapely.get_y(c)

    prefix = p.city_code[:4]
    dx, dy = centroids(district_geom)
    district_code = np.empty(n_d, dtype=object)
    district_name = np.empty(n_d, dtype=object)
    next_digits = {"urban": 2, "county": 21, "county_city": p.county_city_base}
    for d in reading_order(dx, dy):
        kind = plan.district_kind[d]
        district_code[d] = f"{prefix}{next_digits[kind]:02d}"
        next_digits[kind] += 1
    used_district: set[str] = {p.city_name[:2]}
    for d in np.argsort(district_code.astype(str)):
        stem = _unique_names(rng, 1, _DISTRICT_FIRST, _DISTRICT_SECOND, used_district)[0]
        district_name[d] = stem + _DISTRICT_SUFFIX[plan.district_kind[d]]

    def child_codes(
        parent_codes: np.ndarray,
        child_parent: np.ndarray,
        child_class: list[str],
        ranges: Mapping[str, tuple[int, int]],
        geoms: np.ndarray,
    ) -> np.ndarray:
        """Three more digits per child: class ranges, reading order within parent and class."""
        x, y = centroids(geoms)
        codes = np.empty(len(child_parent), dtype=object)
        groups: dict[tuple[int, str], list[int]] = {}
        for i, (par, cls) in enumerate(zip(child_parent, child_class, strict=True)):
            groups.setdefault((int(par), cls), []).append(i)
        for (par, cls), members in groups.items():
            lo, hi = ranges[cls]
            if len(members) > hi - lo + 1:
                raise ValueError(f"too many {cls} units under one parent for the code range")
            idx = np.array(members)
            for seq, i in enumerate(idx[reading_order(x[idx], y[idx])], start=lo):
                codes[i] = f"{parent_codes[par]}{seq:03d}"
        return codes

    town_code = child_codes(
        district_code, plan.town_parent, plan.town_kind, _TOWN_CODE_RANGE, town_geom
    )
    village_code = child_codes(
        town_code, plan.village_parent, plan.village_kind, _VILLAGE_CODE_RANGE, village_geom
    )
    grid_code = child_codes(
        village_code, grid_parent, ["grid"] * n_g, {"grid": (1, 999)}, grid_geom
    )

    # ---- names ------------------------------------------------------------------------------
    town_name = np.empty(n_t, dtype=object)
    used_town: set[str] = set()
    for t in np.argsort(town_code.astype(str)):
        kind = plan.town_kind[t]
        first, second = (
            (_MODERN_FIRST, _MODERN_SECOND) if kind == "street" else (_RURAL_FIRST, _TOWN_SECOND)
        )
        town_name[t] = _unique_names(rng, 1, first, second, used_town)[0] + _TOWN_SUFFIX[kind]
    village_name = np.empty(n_v, dtype=object)
    used_in_town: dict[int, set[str]] = {}
    for v in np.argsort(village_code.astype(str)):
        used = used_in_town.setdefault(int(plan.village_parent[v]), set())
        if plan.village_kind[v] == "community":
            village_name[v] = _unique_names(rng, 1, _MODERN_FIRST, _MODERN_SECOND, used)[0] + "社区"
        else:
            village_name[v] = _unique_names(rng, 1, _RURAL_FIRST, _RURAL_SECOND, used)[0] + "村"

    # ---- grid attributes --------------------------------------------------------------------
    village_ur = np.array(plan.village_ur, dtype=object)
    grid_ur = village_ur[grid_parent]
    grid_seq = np.array([int(c[-3:]) for c in grid_code])
    # 专属网格 for schools, hospitals, parks and markets: a few in urban communities, never the
    # only grid of a village (every village keeps a 综合 grid).
    has_sibling = village_grids[grid_parent] > 1
    special = (
        np.isin(grid_ur, ["111", "112", "121"])
        & has_sibling
        & (grid_seq > 1)
        & (rng.random(n_g) < 0.06)
    )
    grid_type = np.where(special, "专属", "综合").astype(object)
    grid_name = np.empty(n_g, dtype=object)
    facility_used: dict[int, set[str]] = {}
    for g in np.argsort(grid_code.astype(str)):
        v = int(grid_parent[g])
        if special[g]:
            used = facility_used.setdefault(v, set())
            options = [f for f in _FACILITIES if f not in used]
            fac = options[rng.integers(len(options))]
            used.add(fac)
            grid_name[g] = f"{village_name[v]}{fac}专属网格"
        else:
            grid_name[g] = f"{village_name[v]}第{grid_seq[g]}网格"

    grid_pop = _grid_population(rng, grid_ur.astype(str), special)
    # Urban households are a little smaller than rural ones; both around 2.8 people.
    per_household = np.where(np.isin(grid_ur, list(_URBAN_UR)), 2.65, 2.95) * np.exp(
        rng.normal(0, 0.06, n_g)
    )
    grid_hh = np.maximum(1, np.rint(grid_pop / per_household)).astype(np.int64)

    def up(values: np.ndarray, parent: np.ndarray, n: int) -> np.ndarray:
        return np.bincount(parent, weights=values, minlength=n).round().astype(np.int64)

    village_pop, village_hh = up(grid_pop, grid_parent, n_v), up(grid_hh, grid_parent, n_v)
    town_pop = up(village_pop, plan.village_parent, n_t)
    town_hh = up(village_hh, plan.village_parent, n_t)
    district_pop = up(town_pop, plan.town_parent, n_d)
    district_hh = up(town_hh, plan.town_parent, n_d)

    # ---- assemble -----------------------------------------------------------------------------
    def frame(level, code, name, parent, pop, hh, ur, gtype, geoms) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "code": pd.array(code, dtype=object),
                "name": pd.array(name, dtype=object),
                "level": level.value,
                "parent_code": pd.array(parent, dtype=object),
                "population": np.asarray(pop, dtype=np.int64),
                "households": np.asarray(hh, dtype=np.int64),
                "urban_rural": pd.array(ur, dtype=object),
                "grid_type": pd.array(gtype, dtype=object),
                "geometry": np.asarray(geoms, dtype=object),
            }
        )

    parts = [
        frame(
            Level.CITY,
            [p.city_code],
            [p.city_name],
            [None],
            [district_pop.sum()],
            [district_hh.sum()],
            [None],
            [None],
            city_geom,
        ),
        frame(
            Level.DISTRICT,
            district_code,
            district_name,
            np.full(n_d, p.city_code, dtype=object),
            district_pop,
            district_hh,
            np.full(n_d, None),
            np.full(n_d, None),
            district_geom,
        ),
        frame(
            Level.TOWN,
            town_code,
            town_name,
            district_code[plan.town_parent],
            town_pop,
            town_hh,
            np.full(n_t, None),
            np.full(n_t, None),
            town_geom,
        ),
        frame(
            Level.VILLAGE,
            village_code,
            village_name,
            town_code[plan.village_parent],
            village_pop,
            village_hh,
            village_ur,
            np.full(n_v, None),
            village_geom,
        ),
        frame(
            Level.GRID,
            grid_code,
            grid_name,
            village_code[grid_parent],
            grid_pop,
            grid_hh,
            grid_ur,
            grid_type,
            grid_geom,
        ),
    ]
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values(["level", "code"], key=_level_then_code, kind="stable").reset_index(
        drop=True
    )
    # Order among siblings; codes already encode class and reading order.
    df.insert(
        8,
        "sort_key",
        df.groupby(df["parent_code"].fillna(""), sort=False).cumcount().astype(np.int64) + 1,
    )
    return gpd.GeoDataFrame(df[list(COLUMNS)], geometry="geometry", crs="EPSG:4326")


def _level_then_code(col: pd.Series) -> pd.Series:
    if col.name == "level":
        rank = {lvl.value: i for i, lvl in enumerate(Level)}
        return col.map(rank)
    return col
