"""The Shiyu database schema (SQLAlchemy Core), identical on SQLite and PostgreSQL.

Only aggregated counts are stored, never person-level records.

Facts come in pairs of tables:

* ``*_daily`` holds what was recorded, at the lowest unit it was recorded for (a grid, or a
  town when a case was only known at town level). Loaders write here.
* ``*_rollup`` holds, for every unit, the total of itself and all its descendants. It is
  derived (see :mod:`data.rollup`) and is what the dashboard reads: "children of U over P" is an
  index range scan per child instead of a tree walk.

``case_stream_rollup`` is ``case_rollup`` summed over category and channel. Most views filter on
no category, and a district's or the city's unit-day holds about a hundred category × channel
rows but only three streams, so there this table moves an order of magnitude fewer rows (a grid's
few records per day gain little).

``unit_closure`` lists every (ancestor, descendant) pair including each unit with itself at
depth 0; it drives the roll-ups and every jurisdiction-scoped query.
"""

from __future__ import annotations

import sqlalchemy as sa

#: 2 added ``case_stream_rollup`` (:func:`data.db.upgrade_schema` fills it in an older database).
SCHEMA_VERSION = 2

metadata = sa.MetaData()

CODE = sa.String(20)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

units = sa.Table(
    "units",
    metadata,
    sa.Column("code", CODE, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("parent_code", CODE, nullable=True),
    sa.Column("population", sa.Integer, nullable=True),
    sa.Column("households", sa.Integer, nullable=True),
    sa.Column("urban_rural", sa.String(3), nullable=True),  # NBS 城乡分类 code, e.g. 111, 220
    sa.Column("grid_type", sa.String(8), nullable=True),  # 综合 / 专属, grids only
    sa.Column("vintage", sa.Integer, nullable=False),  # year of the code set (codes change yearly)
    # Geometry is WGS-84 WKB. ``geometry_display`` is simplified together with the unit's
    # siblings so that the map's coverage stays free of gaps and overlaps.
    sa.Column("geometry", sa.LargeBinary, nullable=True),
    sa.Column("geometry_display", sa.LargeBinary, nullable=True),
    sa.Column("label_lon", sa.Float, nullable=True),
    sa.Column("label_lat", sa.Float, nullable=True),
    sa.Column("area_km2", sa.Float, nullable=True),
    sa.Column("sort_key", sa.Integer, nullable=False, server_default="0"),
)
sa.Index("ix_units_parent", units.c.parent_code, units.c.sort_key)
sa.Index("ix_units_level", units.c.level)

unit_closure = sa.Table(
    "unit_closure",
    metadata,
    sa.Column("ancestor_code", CODE, primary_key=True),
    sa.Column("descendant_code", CODE, primary_key=True),
    sa.Column("depth", sa.Integer, nullable=False),
)
sa.Index("ix_closure_descendant", unit_closure.c.descendant_code, unit_closure.c.depth)

#: Count columns of the case tables, with what each means.
CASE_MEASURES: dict[str, str] = {
    "received": "受理数/件次/上报数",
    "persons": "人次(信访)",
    "mediated_ok": "调解成功数(矛盾纠纷)",
    "resolved": "化解数(矛盾纠纷, 各渠道)",
    "closed": "办结数",
    "closed_on_time": "按期办结数",
    "overdue": "超期数",
    "repeated": "重复件数(信访)",
    "escalated": "越级件数(到省/进京)",
    "rated": "参评数",
    "satisfied": "满意数",
    "handling_days": "办理天数合计(已办结)",
}

PATROL_MEASURES: dict[str, str] = {
    "groups": "巡逻组次",
    "officers": "警力人次",
    "vehicles": "车辆台次",
    "hours": "巡逻时长(小时)",
    "km": "巡逻里程(公里)",
    "dispatches": "处警数",
    "arrived_1min": "1分钟内到达数",
    "arrived_3min": "3分钟内到达数(含1分钟)",
    "arrived_5min": "5分钟内到达数(含3分钟)",
}

RISK_MEASURES: dict[str, str] = {
    "new": "新增",
    "closed": "销号",
    "open_end": "日末在册",
}


# Fact tables are declared WITHOUT ROWID on SQLite: the composite primary key is the table, which
# halves the file and turns "unit U between two days" into one contiguous B-tree range.


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def _case_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("unit_code", CODE, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("stream", sa.String(16), primary_key=True),
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(32), primary_key=True),
        *[_count(m) for m in CASE_MEASURES],
        sqlite_with_rowid=False,
    )


def _patrol_table(name: str) -> sa.Table:
    cols = [
        sa.Column(
            m, sa.Float if m in ("hours", "km") else sa.Integer, nullable=False, server_default="0"
        )
        for m in PATROL_MEASURES
    ]
    return sa.Table(
        name,
        metadata,
        sa.Column("unit_code", CODE, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        *cols,
        sqlite_with_rowid=False,
    )


def _risk_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("unit_code", CODE, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("domain", sa.String(16), primary_key=True),
        sa.Column("level", sa.String(8), primary_key=True),
        *[_count(m) for m in RISK_MEASURES],
        sqlite_with_rowid=False,
    )


case_daily = _case_table("case_daily")
case_rollup = _case_table("case_rollup")
#: ``case_rollup`` without category and channel, for the many reads that filter on neither
#: (totals, map values, trend series, data spans). Derived from ``case_rollup`` by
#: :func:`data.rollup.refresh` in the same transaction, never written by loaders.
case_stream_rollup = sa.Table(
    "case_stream_rollup",
    metadata,
    sa.Column("unit_code", CODE, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("stream", sa.String(16), primary_key=True),
    *[_count(m) for m in CASE_MEASURES],
    sqlite_with_rowid=False,
)
patrol_daily = _patrol_table("patrol_daily")
patrol_rollup = _patrol_table("patrol_rollup")
risk_daily = _risk_table("risk_daily")
risk_rollup = _risk_table("risk_rollup")

# Rollup reads are "this unit (or these children) between two days": the primary key already
# starts (unit_code, day). Recorded facts are also read by day range when a loader refreshes.
for _t in (case_daily, patrol_daily, risk_daily):
    sa.Index(f"ix_{_t.name}_day", _t.c.day)

#: Fine spatial cells for hotspot density, so no person-level point is ever stored.
hotspot_cells = sa.Table(
    "hotspot_cells",
    metadata,
    sa.Column("cell_id", sa.String(20), primary_key=True),  # H3 index, resolution 8 (~0.7 km²)
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("unit_code", CODE, nullable=False),  # lowest unit holding the cell centre
)
sa.Index("ix_hotspot_cells_unit", hotspot_cells.c.unit_code)

hotspot_daily = sa.Table(
    "hotspot_daily",
    metadata,
    sa.Column("cell_id", sa.String(20), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("stream", sa.String(16), primary_key=True),
    _count("events"),
    sqlite_with_rowid=False,
)
sa.Index("ix_hotspot_daily_day", hotspot_daily.c.day, hotspot_daily.c.stream)

FACT_PAIRS: dict[str, tuple[sa.Table, sa.Table, tuple[str, ...], tuple[str, ...]]] = {
    # name: (recorded, rollup, extra key columns, measure columns)
    "cases": (case_daily, case_rollup, ("stream", "category", "channel"), tuple(CASE_MEASURES)),
    "patrols": (patrol_daily, patrol_rollup, (), tuple(PATROL_MEASURES)),
    "risks": (risk_daily, risk_rollup, ("domain", "level"), tuple(RISK_MEASURES)),
}

# ---- access control (who sees what) -----------------------------------------------------------
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column(
        "role", sa.String(16), nullable=False
    ),  # admin 管理员 / leader 领导 / duty 值班员 / analyst 分析员
    sa.Column("scope_code", CODE, nullable=False),  # the jurisdiction: this unit and below
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.DateTime, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("password_changed_at", sa.DateTime, nullable=True),
)

#: Long-lived read-only tokens for wall browsers in kiosk mode; only a hash is stored.
screen_tokens = sa.Table(
    "screen_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("scope_code", CODE, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("username", sa.String(64), nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("unit_code", CODE, nullable=True),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("remote_addr", sa.String(64), nullable=True),
)
sa.Index("ix_audit_at", audit_log.c.at)
