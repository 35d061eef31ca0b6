"""Server floor: the plain SQL behind the numbers one dashboard view shows, timed directly.

What the page shows for a unit and a period is, at minimum: the unit's lineage; its KPI totals
for the period, the 环比 and the 同比 period; the children's metric for the period and the 环比
period with their display polygons; the daily counts behind the two trend charts; the category
breakdown; the patrol series; the risk matrix. :func:`view_queries` writes those as the fewest
plain SELECTs (one per fact table and panel, conditional sums instead of one query per
period), and :func:`time_view` runs them one after another on one connection and fetches every
row. No pandas, no figures, no Dash: what is left when the application adds nothing.

The floor reads the same tables the application does: a view has no category filter here, so
every case sum except the category breakdown comes from ``case_stream_rollup`` (one row per
unit, day and stream), as in :class:`data.repository.Repository`. Reading ``case_rollup``
instead would make the floor slower than it needs to be and the ratio look better than it is.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import sqlalchemy as sa

from data import anomalies, periods, schema

CASE_SUMS = ", ".join(f"SUM({m})" for m in schema.CASE_MEASURES)
PATROL_SUMS = ", ".join(f"SUM({m})" for m in schema.PATROL_MEASURES)


@dataclass(frozen=True)
class ViewSpec:
    """One dashboard view: a unit (the map unit: its parent at the lowest level) and a period."""

    unit: str
    map_unit: str
    period: str
    anchor: dt.date


def _between(prefix: str, p: periods.Period) -> dict[str, dt.date]:
    return {f"{prefix}s": p.start, f"{prefix}e": p.end}


def view_queries(spec: ViewSpec) -> list[tuple[str, str, dict[str, object]]]:
    """(name, SQL, parameters) of every SELECT the view needs."""
    cur = periods.resolve_period(spec.period, spec.anchor)
    mom, yoy = periods.previous_period(cur), periods.year_ago(cur)
    freq = periods.granularity(cur)
    hist = min(anomalies.history_start(cur.start, freq).date(), yoy.start)
    u: dict[str, object] = {"u": spec.unit}
    three = {**u, **_between("c", cur), **_between("m", mom), **_between("y", yoy)}

    def by_period(cols: str, which: str = "cmy", alias: str = "") -> str:
        return ", ".join(
            f"SUM(CASE WHEN {alias}day BETWEEN :{p}s AND :{p}e THEN {alias}{c} END)"
            for p in which
            for c in cols.split(",")
        )

    case_cols = ",".join(schema.CASE_MEASURES)
    patrol_cols = ",".join(schema.PATROL_MEASURES)
    lo = min(cur.start, mom.start, yoy.start)
    span = {"lo": lo, "hi": cur.end}
    return [
        (
            "lineage",
            "SELECT u.code, u.name, u.level FROM unit_closure c JOIN units u "
            "ON u.code = c.ancestor_code WHERE c.descendant_code = :u ORDER BY c.depth DESC",
            u,
        ),
        (
            "kpi cases",
            f"SELECT stream, {by_period(case_cols)} FROM case_stream_rollup "
            "WHERE unit_code = :u AND day BETWEEN :lo AND :hi GROUP BY stream",
            {**three, **span},
        ),
        (
            "kpi patrols",
            f"SELECT {by_period(patrol_cols)} FROM patrol_rollup "
            "WHERE unit_code = :u AND day BETWEEN :lo AND :hi",
            {**three, **span},
        ),
        (
            "kpi risks",
            "SELECT level, "
            + by_period("new,closed")
            + ", SUM(CASE WHEN day IN (:ce, :me, :ye) THEN open_end END) FROM risk_rollup "
            "WHERE unit_code = :u AND day BETWEEN :lo AND :hi GROUP BY level",
            {**three, **span},
        ),
        (
            "map polygons",
            "SELECT code, name, population, geometry_display FROM units "
            "WHERE parent_code = :m ORDER BY sort_key, code",
            {"m": spec.map_unit},
        ),
        (
            "map values",
            f"SELECT r.unit_code, r.stream, {by_period(case_cols, 'cm', 'r.')} "
            "FROM case_stream_rollup r JOIN units u ON u.code = r.unit_code "
            "WHERE u.parent_code = :m AND r.day BETWEEN :ms AND :ce "
            "GROUP BY r.unit_code, r.stream",
            {"m": spec.map_unit, **_between("c", cur), **_between("m", mom)},
        ),
        (
            "trends",
            "SELECT day, stream, SUM(received) FROM case_stream_rollup WHERE unit_code = :u "
            "AND stream IN ('dispute', 'petition') AND day BETWEEN :h AND :ce "
            "GROUP BY day, stream",
            {**u, "h": hist, "ce": cur.end},
        ),
        (
            "breakdown",
            "SELECT category, SUM(received) FROM case_rollup WHERE unit_code = :u "
            "AND stream = 'dispute' AND day BETWEEN :cs AND :ce GROUP BY category",
            {**u, **_between("c", cur)},
        ),
        (
            "patrol series",
            f"SELECT day, {patrol_cols} FROM patrol_rollup WHERE unit_code = :u "
            "AND day BETWEEN :cs AND :ce",
            {**u, **_between("c", cur)},
        ),
        (
            "risk matrix",
            "SELECT domain, level, SUM(new), SUM(closed), "
            "SUM(CASE WHEN day = :ce THEN open_end END) FROM risk_rollup "
            "WHERE unit_code = :u AND day BETWEEN :cs AND :ce GROUP BY domain, level",
            {**u, **_between("c", cur)},
        ),
    ]


def time_view(engine: sa.Engine, spec: ViewSpec) -> dict[str, float]:
    """Seconds per query (and ``total``) for one run of the view's SELECTs."""
    out: dict[str, float] = {}
    with engine.connect() as conn:
        for name, sql, params in view_queries(spec):
            t0 = time.perf_counter()
            conn.execute(sa.text(sql), params).fetchall()
            out[name] = time.perf_counter() - t0
    out["total"] = sum(out.values())
    return out
