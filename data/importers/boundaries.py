"""Import boundary polygons (GeoJSON, Shapefile, GeoPackage) onto existing units.

Boundaries are matched to stored units by code or by name within the parent, repaired where
that is safe, converted to WGS-84, checked against the hierarchy (child outside parent, gaps
and overlaps among siblings, in km²) and stored with their label point, area and a display
geometry simplified together with the siblings.  No unit is created here: import the unit
list first.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
import sqlalchemy as sa
from shapely.geometry import MultiPolygon, Polygon

from data import db, schema
from data.importers import validate as v
from data.importers.common import (
    apply_upsert,
    errors_by_row,
    file_level_errors,
    finish_rejects,
    has_schema,
    plan_upsert,
    run_write,
)
from data.importers.reading import AUTO_ENCODINGS, load_mapping_or_fail, resolve_columns
from data.importers.report import ImportFailed, ImportReport

#: Equal-area projection for km²: Asia North Albers, the same as :mod:`data.units`.
EQUAL_AREA = "ESRI:102025"

#: Gaps, overlaps and overhangs smaller than this are digitising noise, not findings.
AREA_TOLERANCE_KM2 = 0.01

#: Polygon parts smaller than this (in square degrees, ~1 m²) are dropped as degenerate.
MIN_PART_AREA_DEG2 = 1e-10

CRS_CHOICES = ("wgs84", "cgcs2000", "epsg:4490", "gcj02", "bd09")

BOUNDARY_ALIASES: dict[str, list[str]] = {
    "code": [
        "adcode",
        "code",
        "区划代码",
        "行政区划代码",
        "行政区代码",
        "代码",
        "编码",
        "xzqdm",
        "qhdm",
        "pac",
        "gb",
        "unit_code",
        "dm",
    ],
    "name": ["name", "名称", "区划名称", "行政区名称", "单位名称", "xzqmc", "qhmc", "mc"],
    "parent": [
        "parent",
        "parent_code",
        "parent_adcode",
        "上级代码",
        "父级代码",
        "上级编码",
        "上级",
        "上级名称",
        "所属区县",
        "所属乡镇",
        "所属街道",
        "pname",
        "pcode",
    ],
}

_LOOSE_SUFFIXES = (
    (re.compile(r"(社区居民委员会|社区居委会)$"), "社区"),
    (re.compile(r"(村民委员会|村委会)$"), "村"),
    (re.compile(r"(居民委员会|居委会)$"), "社区"),
)


def loose_name(name: str) -> str:
    """Committee names (…村委会, …社区居委会) and place names (…村, …社区) compare equal."""
    text = re.sub(r"\s+", "", name)
    for rx, repl in _LOOSE_SUFFIXES:
        text = rx.sub(repl, text)
    return text


def import_boundaries(
    engine: sa.Engine,
    path: str | os.PathLike,
    *,
    crs: str | None = None,
    join: str = "code",
    code_field: str | None = None,
    name_field: str | None = None,
    parent_field: str | None = None,
    layer: str | None = None,
    sheet: str | None = None,
    encoding: str = "auto",
    mapping: str | os.PathLike | None = None,
    dissolve_missing_parents: bool = False,
    skip_bad: bool = False,
    rejects: str | os.PathLike | None = None,
    dry_run: bool = False,
    vintage: int | None = None,
) -> ImportReport:
    """Attach boundary polygons to stored units.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    path : path-like
        GeoJSON, Shapefile (``.shp`` with ``.dbf``; a missing ``.cpg`` is handled by trying
        UTF-8 then GB18030 on the attribute table) or GeoPackage.
    crs : {"wgs84", "cgcs2000", "epsg:4490", "gcj02", "bd09"}, optional
        What the coordinates really are.  GCJ-02/BD-09 are never declared in a file, so say
        so here.  Without it, a declared CRS is used (EPSG:4490 and projected CGCS2000 are
        converted) and an undeclared one is taken as WGS-84.
    join : {"code", "name"}
        Match features to units by code, or by name within the parent (names repeat across
        districts; the parent field may hold a code, a name, or a DataV ``{"adcode": …}``).
    code_field, name_field, parent_field : str, optional
        Attribute names when the defaults (adcode/code/区划代码…, name/名称…, parent/上级…)
        do not fit.
    layer : str, optional
        Layer of a GeoPackage (``sheet`` is accepted as a synonym for the CLI).
    encoding : str
        Attribute encoding of a Shapefile; ``auto`` reads the ``.cpg`` or detects.
    mapping : path-like, optional
        Mapping file; its ``[columns]`` may name ``code``, ``name`` and ``parent``.
    dissolve_missing_parents : bool
        Give a parent without polygon (e.g. no city outline) the union of its children.
    skip_bad, rejects, dry_run
        As for :func:`data.importers.import_units`.
    vintage : int, optional
        Accepted for symmetry with the other importers; boundaries carry no code set year.

    Returns
    -------
    ImportReport
        ``updated`` counts units whose geometry, display geometry, label or area changed,
        including siblings whose display geometry was re-simplified with the new neighbours.

    Raises
    ------
    ImportFailed
        Unreadable file, unknown units, broken geometry (unless ``skip_bad``).
    """
    del vintage
    report = ImportReport("boundaries", str(path), dry_run=dry_run)
    layer = layer or sheet
    if join not in ("code", "name"):
        report.add_error(
            None, "--join", join, "--join 只能是 code 或 name", "--join must be code or name"
        )
        raise ImportFailed(report)
    source = None if crs is None else crs.strip().lower().replace("-", "").replace("_", "")
    if source is not None and source not in {c.replace("-", "") for c in CRS_CHOICES}:
        report.add_error(None, "--crs", crs, "未知的坐标系", "unknown coordinate system")
        raise ImportFailed(report)
    user_map = load_mapping_or_fail(mapping, report)

    gdf = _read_geo(Path(path), report, layer, encoding)
    if gdf is None:
        raise ImportFailed(report)
    report.counts["read"] = len(gdf)
    if (
        source is None
        and "adcode" in gdf.columns
        and ({"centroid", "acroutes", "childrenNum"} & set(gdf.columns))
    ):
        # DataV/AutoNavi "*_full.json" files are GCJ-02 but read as WGS-84 by every tool.
        report.warn(
            "该文件像是阿里云 DataV/高德导出（GCJ-02 坐标），如是请加 --crs gcj02",
            "this looks like an Aliyun DataV/AutoNavi file (GCJ-02): if so, pass --crs gcj02",
        )
    gdf = _to_wgs84(gdf, source, report)
    if gdf is None:
        raise ImportFailed(report)

    attrs = [c for c in gdf.columns if c != gdf.geometry.name]
    pos, _ = resolve_columns(
        attrs,
        BOUNDARY_ALIASES,
        user_map,
        {"code": code_field, "name": name_field, "parent": parent_field},
    )
    needed = ["code"] if join == "code" else ["name"]
    for col in needed:
        if col not in pos:
            report.add_error(
                None,
                col,
                ", ".join(attrs),
                f"缺少用于匹配的字段（{col}），请用 --{col}-field 指定",
                f"missing the attribute to join on ({col}); name it with --{col}-field",
            )
    with engine.connect() as conn:
        units = _stored_units(conn)
    if not units:
        report.add_error(
            None,
            None,
            None,
            "数据库中还没有单位，请先导入单位",
            "no units stored yet: import units first",
        )
    if file_level_errors(report):
        raise ImportFailed(report)

    def attr(i: int, name: str) -> object:
        return gdf.iloc[i][attrs[pos[name]]] if name in pos else None

    by_name: dict[str, list[str]] = {}
    by_loose: dict[str, list[str]] = {}
    for ucode, u in units.items():
        by_name.setdefault(u["name"].strip(), []).append(ucode)
        by_loose.setdefault(loose_name(u["name"]), []).append(ucode)

    matched: dict[str, int] = {}
    new_geom: dict[str, shapely.Geometry] = {}
    repaired: list[str] = []
    geoms = gdf.geometry.to_numpy()
    for i in range(len(gdf)):
        row = i + 1
        code: str | None
        if join == "code":
            col = attrs[pos["code"]]
            value = attr(i, "code")
            try:
                code = _find_code(v.parse_code(value), units)
            except v.Invalid as exc:
                report.add_error(row, col, value, exc.reason_zh, exc.reason_en)
                continue
            if code is None:
                report.add_error(row, col, value, "未知的单位代码", "unknown unit code")
                continue
        else:
            code = _match_by_name(
                report,
                row,
                attrs,
                pos,
                attr(i, "name"),
                attr(i, "parent"),
                units,
                by_name,
                by_loose,
            )
            if code is None:
                continue
        if code in matched:
            col = attrs[pos["code" if join == "code" else "name"]]
            report.add_error(
                row,
                col,
                code,
                "重复：多个要素对应同一单位",
                "duplicate: more than one feature for the same unit",
            )
            continue
        matched[code] = row
        geom, problem = clean_geometry(geoms[i])
        if problem is not None:
            report.add_error(row, "geometry", _wkt_head(geoms[i]), *problem)
            continue
        if geom is None:
            report.warn("要素没有几何图形，已跳过", "feature without geometry skipped", (code,))
            continue
        if geom is not geoms[i] and not _same_shape(geom, geoms[i]):
            repaired.append(code)
        new_geom[code] = geom

    if repaired:
        report.warn(
            "几何图形无效，已自动修复（make_valid）",
            "invalid geometry repaired (make_valid)",
            tuple(repaired),
        )
    if report.errors and not skip_bad:
        raise ImportFailed(report)
    bad = errors_by_row(report)
    for code, row in list(matched.items()):
        if row in bad:
            new_geom.pop(code, None)

    # Work on all stored geometry plus the new polygons.
    with engine.connect() as conn:
        stored = _stored_geometry(conn)
    geometry = {c: g for c, g in stored.items() if g is not None}
    geometry.update(new_geom)
    changed = set(new_geom)
    dissolved = _dissolve_parents(units, geometry, report) if dissolve_missing_parents else set()
    changed |= dissolved
    _check_hierarchy(units, geometry, changed, report, dissolved)

    rows = _unit_rows(units, geometry, changed)
    columns = ["geometry", "geometry_display", "label_lon", "label_lat", "area_km2"]
    with engine.connect() as conn:
        existing = _stored_rows(conn, [r["code"] for r in rows])
    plan = plan_upsert(existing, rows, ["code"], columns)
    report.counts.update(inserted=0, updated=len(plan.changed), unchanged=plan.unchanged)
    if skip_bad:
        raw = {
            n: [*(gdf.iloc[n - 1][a] for a in attrs), _wkt_head(geoms[n - 1], 10_000)] for n in bad
        }
        finish_rejects(report, path, [*attrs, "geometry_wkt"], bad, raw, rejects)
    if dry_run:
        return report

    def write(conn: sa.Connection) -> bool:
        if not plan.changed:
            return False
        apply_upsert(conn, schema.units, plan, ["code"], columns)
        db.bump_data_version(conn)
        return True

    run_write(engine, report, write)
    return report


# --- reading ---------------------------------------------------------------------------------


def dbf_encoding(dbf: Path) -> str | None:
    """Guess the text encoding of a ``.dbf`` without a ``.cpg``: UTF-8, else GB18030.

    The record area (after the header) holds the field values: numbers and flags are ASCII,
    so it decodes as UTF-8 exactly when every text value does.  Chinese GIS software writes
    GBK without a ``.cpg`` so often that GB18030 (a superset) is the only sensible fallback.
    """
    data = dbf.read_bytes()
    if len(data) < 32:
        return None
    header_len = struct.unpack("<H", data[8:10])[0]
    body = data[header_len:]
    for enc in ("utf-8", *AUTO_ENCODINGS[1:]):
        try:
            body.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    return None


def _read_geo(
    p: Path, report: ImportReport, layer: str | None, encoding: str
) -> gpd.GeoDataFrame | None:
    if not p.exists():
        report.add_error(None, None, str(p), "文件不存在", "file not found")
        return None
    kwargs: dict = {}
    if layer is not None:
        kwargs["layer"] = layer
    if p.suffix.lower() == ".shp":
        if encoding not in (None, "", "auto"):
            kwargs["encoding"] = encoding
        elif not p.with_suffix(".cpg").exists() and p.with_suffix(".dbf").exists():
            enc = dbf_encoding(p.with_suffix(".dbf"))
            if enc is None:
                report.add_error(
                    None,
                    None,
                    p.with_suffix(".dbf").name,
                    "属性表编码无法识别（已尝试 UTF-8、GB18030），请用 --encoding 指定",
                    "cannot decode the attribute table (tried UTF-8, GB18030); pass --encoding",
                )
                return None
            kwargs["encoding"] = enc
    elif p.suffix.lower() == ".gpkg" and layer is None:
        try:
            layers = pyogrio.list_layers(p)
        except Exception as exc:  # noqa: BLE001 - GDAL raises several types for a damaged file
            report.add_error(
                None,
                None,
                type(exc).__name__,
                "地理文件无法读取（损坏或格式不对）",
                "cannot read the geographic file (damaged or wrong format)",
            )
            return None
        if len(layers) > 1:
            report.warn(
                f"文件有多个图层，读取第一个（{layers[0][0]}），可用 --layer 指定",
                f"several layers; reading the first ({layers[0][0]}), choose with --layer",
            )
    try:
        gdf = pyogrio.read_dataframe(p, **kwargs)
    except Exception as exc:  # noqa: BLE001 - pyogrio/GDAL error types vary by driver
        report.add_error(
            None,
            None,
            str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
            "地理文件无法读取（损坏、截断或格式不对）",
            "cannot read the geographic file (damaged, truncated or wrong format)",
        )
        return None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        report.add_error(None, None, p.name, "文件没有几何图形", "the file has no geometry")
        return None
    return gdf


def _to_wgs84(
    gdf: gpd.GeoDataFrame, source: str | None, report: ImportReport
) -> gpd.GeoDataFrame | None:
    from geo.crs import to_wgs84  # noqa: PLC0415 - geo is imported only when boundaries are

    declared = gdf.crs
    if source in ("gcj02", "bd09"):
        out = to_wgs84(gdf, source)
    elif source in ("cgcs2000", "epsg:4490"):
        out = to_wgs84(gdf, "cgcs2000")
    elif declared is None:
        report.warn(
            "文件未声明坐标系，按 WGS-84 处理；高德/DataV 数据是 GCJ-02，请加 --crs gcj02",
            "no CRS declared: taken as WGS-84; AutoNavi/DataV files are GCJ-02 (--crs gcj02)",
        )
        out = to_wgs84(gdf, "wgs84")
    elif declared.to_epsg() == 4490:
        out = to_wgs84(gdf, "epsg:4490")
    else:
        out = gdf.to_crs(4326)
    coords = shapely.get_coordinates(out.geometry.dropna().to_numpy())
    if len(coords) and (
        not np.isfinite(coords).all()
        or np.abs(coords[:, 0]).max() > 180
        or np.abs(coords[:, 1]).max() > 90
    ):
        report.add_error(
            None,
            "geometry",
            None,
            "坐标超出经纬度范围（投影坐标未声明坐标系？）",
            "coordinates out of lon/lat range (projected coordinates without a declared CRS?)",
        )
        return None
    return out


# --- matching --------------------------------------------------------------------------------


def _find_code(code: str, units: dict[str, dict]) -> str | None:
    return next((c for c in v.code_candidates(code) if c in units), None)


def _parent_codes(
    value: object, units: dict[str, dict], by_name: dict[str, list[str]]
) -> list[str] | None:
    """Codes the parent attribute may mean: a code, a DataV ``{"adcode": …}``, or a name."""
    if v.is_blank(value):
        return None
    if isinstance(value, dict):
        value = value.get("adcode", value.get("code"))
    elif isinstance(value, str) and value.strip().startswith("{"):
        try:
            obj = json.loads(value)
            value = obj.get("adcode", obj.get("code"))
        except (ValueError, AttributeError):
            pass
    try:
        found = _find_code(v.parse_code(value), units)
    except v.Invalid:
        found = None
    if found is not None:
        return [found]
    return by_name.get(str(value).strip(), [])


def _match_by_name(
    report: ImportReport,
    row: int,
    attrs: list[str],
    pos: dict[str, int],
    name: object,
    parent: object,
    units: dict[str, dict],
    by_name: dict[str, list[str]],
    by_loose: dict[str, list[str]],
) -> str | None:
    col = attrs[pos["name"]]
    if v.is_blank(name):
        report.add_error(row, col, name, "名称为空", "name is empty")
        return None
    text = str(name).strip()
    candidates = by_name.get(text) or by_loose.get(loose_name(text), [])
    parents = _parent_codes(parent, units, by_name) if "parent" in pos else None
    if parents is not None:
        candidates = [c for c in candidates if units[c]["parent_code"] in parents]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        if parents is not None:
            report.add_error(
                row,
                col,
                text,
                "上级单位下没有此名称的单位",
                "no unit with this name under the given parent",
            )
        else:
            report.add_error(row, col, text, "没有此名称的单位", "no unit with this name")
        return None
    report.add_error(
        row,
        col,
        text,
        "名称不唯一，请提供上级字段（--parent-field）",
        "ambiguous name: several units have it; give the parent (--parent-field)",
    )
    return None


# --- geometry --------------------------------------------------------------------------------


def clean_geometry(
    geom: shapely.Geometry | None,
) -> tuple[shapely.Geometry | None, tuple[str, str] | None]:
    """A valid, 2-D, counter-clockwise MultiPolygon, or the reason it cannot be had.

    Returns
    -------
    (geometry, problem)
        ``(None, None)`` for a missing/empty geometry (allowed: a unit may have none);
        ``(None, (zh, en))`` when the geometry is not polygonal or cannot be repaired.
    """
    if geom is None or geom.is_empty:
        return None, None
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        return None, (
            "几何图形含无效坐标，无法修复",
            "geometry has non-finite coordinates and cannot be repaired",
        )
    if geom.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        return None, ("不是面要素", "not a polygon")
    out = shapely.force_2d(geom)
    if not out.is_valid:
        # make_valid keeps every part of the input; only its polygonal part is a boundary.
        out = shapely.make_valid(out)
    parts = [p for p in shapely.get_parts(out) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in (p.geoms if p.geom_type == "MultiPolygon" else [p])]
    # Parts under ~1 m² are collapsed rings or digitising specks, not territory.
    polys = [p for p in polys if p.area > MIN_PART_AREA_DEG2]
    if not polys:
        return None, (
            "几何图形损坏，无法修复（没有面积）",
            "broken geometry that cannot be repaired (no area)",
        )
    multi = MultiPolygon(polys)
    if not multi.is_valid:
        multi = shapely.union_all(polys)
        if multi.geom_type == "Polygon":
            multi = MultiPolygon([multi])
    # RFC 7946 winding (exterior counter-clockwise); DataV files come clockwise.
    multi = shapely.orient_polygons(multi, exterior_cw=False)
    if not multi.is_valid or multi.area <= 0:
        return None, ("几何图形损坏，无法修复", "broken geometry that cannot be repaired")
    return multi, None


def _same_shape(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    """True when cleaning only re-oriented/re-wrapped ``b`` (not a repair worth reporting)."""
    try:
        return bool(b.is_valid) and math.isclose(a.area, b.area, rel_tol=1e-9)
    except shapely.errors.GEOSException:
        return False


def _wkt_head(geom: shapely.Geometry | None, limit: int = 80) -> str | None:
    if geom is None:
        return None
    text = shapely.to_wkt(geom, rounding_precision=6)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ea(geoms: Iterable[shapely.Geometry]) -> np.ndarray:
    return gpd.GeoSeries(list(geoms), crs=4326).to_crs(EQUAL_AREA).to_numpy()


def _area_km2(geoms: Iterable[shapely.Geometry]) -> np.ndarray:
    return np.asarray(shapely.area(_ea(geoms)), dtype=float) / 1e6


def _dissolve_parents(
    units: dict[str, dict], geometry: dict[str, shapely.Geometry], report: ImportReport
) -> set[str]:
    """Union children into parents that have no polygon, deepest first."""
    children: dict[str, list[str]] = {}
    for code, u in units.items():
        if u["parent_code"] is not None:
            children.setdefault(u["parent_code"], []).append(code)

    def depth(code: str) -> int:
        d, node = 0, units[code]["parent_code"]
        while node is not None and node in units and d < 64:
            d, node = d + 1, units[node]["parent_code"]
        return d

    made: set[str] = set()
    for parent in sorted(children, key=depth, reverse=True):
        if parent in geometry or parent not in units:
            continue
        kids = [geometry[c] for c in children[parent] if c in geometry]
        if not kids:
            continue
        union = shapely.union_all(kids)
        union, _ = clean_geometry(union)
        if union is None:
            continue
        geometry[parent] = union
        made.add(parent)
        missing = [c for c in children[parent] if c not in geometry]
        report.warn(
            f"上级 {units[parent]['name']} 无边界，已由 {len(kids)} 个下级合并生成"
            + (f"（{len(missing)} 个下级无边界）" if missing else ""),
            f"parent {parent} had no polygon: dissolved from {len(kids)} children"
            + (f" ({len(missing)} children have none)" if missing else ""),
            (parent,),
        )
    return made


def _check_hierarchy(
    units: dict[str, dict],
    geometry: dict[str, shapely.Geometry],
    changed: set[str],
    report: ImportReport,
    dissolved: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Warn about children outside parents, sibling overlaps and gaps, with their km².

    A parent dissolved from its children is checked like one without outline (holes between
    the children), since comparing it with its own source would always find nothing.
    """
    groups: dict[str | None, list[str]] = {}
    for code, u in units.items():
        if code in geometry:
            groups.setdefault(u["parent_code"], []).append(code)
    for parent_or_none, kids in groups.items():
        if not (set(kids) & changed or parent_or_none in changed):
            continue
        if parent_or_none is None:
            continue  # the root has no siblings and no parent to compare with
        parent: str = parent_or_none
        kids = sorted(kids)
        projected = dict(zip(kids, _ea(geometry[c] for c in kids), strict=True))
        has_outline = parent in geometry and parent not in dissolved
        parent_geom = _ea([geometry[parent]])[0] if has_outline else None
        if parent_geom is not None:
            for c in kids:
                outside = projected[c].difference(parent_geom).area / 1e6
                if outside > AREA_TOLERANCE_KM2:
                    report.warn(
                        f"{units[c]['name']} 超出上级 {units[parent]['name']} 的边界",
                        f"{c} extends outside its parent {parent}",
                        (c, parent),
                        outside,
                    )
        geoms = [projected[c] for c in kids]
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for i, j in zip(left, right, strict=True):
            if i >= j:
                continue
            overlap = geoms[i].intersection(geoms[j]).area / 1e6
            if overlap > AREA_TOLERANCE_KM2:
                report.warn(
                    f"同级单位 {units[kids[i]]['name']} 与 {units[kids[j]]['name']} 重叠",
                    f"siblings {kids[i]} and {kids[j]} overlap",
                    (kids[i], kids[j]),
                    overlap,
                )
        union = shapely.union_all(geoms)
        if parent_geom is not None:
            missing = [
                c for c, u in units.items() if u["parent_code"] == parent and c not in geometry
            ]
            gap = parent_geom.difference(union).area / 1e6
            if gap > AREA_TOLERANCE_KM2:
                note_zh = f"（{len(missing)} 个下级无边界）" if missing else ""
                note_en = f" ({len(missing)} children have no polygon)" if missing else ""
                report.warn(
                    f"{units[parent]['name']} 内有未被下级覆盖的空隙{note_zh}",
                    f"gap inside {parent} not covered by its children{note_en}",
                    (parent,),
                    gap,
                )
        elif parent is not None:
            # No parent outline: holes enclosed by the siblings' union are gaps, unless a
            # sibling fills them (an enclave of one unit inside another is legitimate).
            holes = [Polygon(ring) for poly in shapely.get_parts(union) for ring in poly.interiors]
            if holes:
                hole_area = (
                    shapely.union_all(holes).area
                    - shapely.union_all(holes).intersection(union).area
                ) / 1e6
                if hole_area > AREA_TOLERANCE_KM2:
                    label = units[parent]["name"] if parent in units else parent
                    report.warn(
                        f"{label} 的下级之间有空隙",
                        f"gap between the children of {parent}",
                        tuple(kids[:5]),
                        hole_area,
                    )


def _unit_rows(
    units: dict[str, dict], geometry: dict[str, shapely.Geometry], changed: set[str]
) -> list[dict]:
    """Stored columns for every unit in a sibling group touched by the import."""
    from geo.display import display_geometries  # noqa: PLC0415 - geo imported lazily

    touched_parents = {units[c]["parent_code"] for c in changed}
    codes = [c for c, u in units.items() if u["parent_code"] in touched_parents and c in geometry]
    codes = sorted(set(codes) | changed)
    if not codes:
        return []
    frame = gpd.GeoDataFrame(
        {
            "code": codes,
            "parent_code": [units[c]["parent_code"] for c in codes],
            "level": [units[c]["level"] for c in codes],
        },
        geometry=[geometry[c] for c in codes],
        crs=4326,
    )
    display = display_geometries(frame).to_numpy()
    areas = _area_km2(frame.geometry.to_numpy())
    labels = shapely.point_on_surface(frame.geometry.to_numpy())
    rows = []
    for i, code in enumerate(codes):
        disp = display[i]
        if disp is not None and disp.geom_type == "Polygon":
            disp = MultiPolygon([disp])
        rows.append(
            {
                "code": code,
                "geometry": shapely.to_wkb(geometry[code]),
                "geometry_display": None if disp is None else shapely.to_wkb(disp),
                "label_lon": float(labels[i].x),
                "label_lat": float(labels[i].y),
                "area_km2": float(areas[i]),
            }
        )
    return rows


def _stored_units(conn: sa.Connection) -> dict[str, dict]:
    if not has_schema(conn):
        return {}
    u = schema.units
    return {
        r["code"]: dict(r)
        for r in conn.execute(sa.select(u.c.code, u.c.name, u.c.level, u.c.parent_code)).mappings()
    }


def _stored_geometry(conn: sa.Connection) -> dict[str, shapely.Geometry | None]:
    u = schema.units
    out: dict[str, shapely.Geometry | None] = {}
    for code, wkb in conn.execute(sa.select(u.c.code, u.c.geometry)):
        out[code] = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
    return out


def _stored_rows(conn: sa.Connection, codes: list[str]) -> dict[tuple, dict]:
    u = schema.units
    cols = [
        u.c.code,
        u.c.geometry,
        u.c.geometry_display,
        u.c.label_lon,
        u.c.label_lat,
        u.c.area_km2,
    ]
    out: dict[tuple, dict] = {}
    for lo in range(0, len(codes), 500):
        chunk = codes[lo : lo + 500]
        for r in conn.execute(sa.select(*cols).where(u.c.code.in_(chunk))).mappings():
            row = dict(r)
            for k in ("geometry", "geometry_display"):
                if row[k] is not None:
                    row[k] = bytes(row[k])
            out[(row["code"],)] = row
    return out
