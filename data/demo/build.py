"""Build the fictional demo city into a database: units, facts, roll-ups and meta."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import sqlalchemy as sa

from data import db, facts, rollup, schema, units


def build_demo_database(
    engine: sa.Engine,
    *,
    preset: str = "demo",
    seed: int = 7,
    end: dt.date | None = None,
    years: int = 3,
    progress: Callable[[str], None] = lambda _msg: None,
) -> dict[str, object]:
    """Generate the demo city and write it into ``engine`` (replacing what is there).

    Runs as one transaction: an interrupted build leaves the database as it was.

    Returns
    -------
    dict
        Row counts per table and the seconds each step took.
    """
    from data.demo.facts import generate_facts
    from geo.demo_city import build_city

    end = end or dt.date.today() - dt.timedelta(days=1)
    timings: dict[str, object] = {}
    t0 = time.perf_counter()
    city = build_city(preset, seed=seed)
    timings["geometry_s"] = round(time.perf_counter() - t0, 1)
    progress(f"城市单位 {len(city)} 个 / units built in {timings['geometry_s']} s")

    t0 = time.perf_counter()
    generated = generate_facts(city, seed=seed, end=end, years=years)
    timings["facts_s"] = round(time.perf_counter() - t0, 1)
    progress(f"示例数据 {len(generated.cases)} 行 / facts generated in {timings['facts_s']} s")

    db.create_schema(engine)
    t0 = time.perf_counter()
    with db.bulk_load(engine), engine.begin() as conn:
        # Replace the city and its facts; users and the audit trail are not the demo's to drop.
        conn.execute(sa.delete(schema.case_stream_rollup))
        for daily, roll, _keys, _measures in schema.FACT_PAIRS.values():
            conn.execute(sa.delete(roll))
            conn.execute(sa.delete(daily))
        for table in (schema.hotspot_daily, schema.hotspot_cells, schema.unit_closure):
            conn.execute(sa.delete(table))
        counts: dict[str, object] = {"units": units.replace_units(conn, city, vintage=end.year)}
        for name, table in facts.TABLE_FOR.items():
            counts[name] = facts.insert_frame(conn, table, getattr(generated, name))
        progress("正在计算各级汇总 / rolling up")
        rollup.refresh(conn)
        root = city.loc[city["parent_code"].isna()].iloc[0]
        start, last = facts.day_span(generated.cases)
        db.set_meta(
            conn,
            {
                "source": "demo",
                "demo_preset": preset,
                "demo_seed": str(seed),
                "city_code": str(root["code"]),
                "city_name": str(root["name"]),
                "data_start": str(start),
                "data_end": str(last),
                "built_at": dt.datetime.now().isoformat(timespec="seconds"),
                "incidents": "; ".join(
                    f"{i.start}~{i.end} {i.description}" for i in generated.incidents
                ),
            },
        )
        db.bump_data_version(conn)
    timings["write_s"] = round(time.perf_counter() - t0, 1)
    progress(f"写入完成 / written in {timings['write_s']} s")
    ensure_demo_account(engine, str(root["code"]))
    progress("示例账户 / demo account: demo / demo（全市范围 city-wide）")
    return {**counts, **timings}


def ensure_demo_account(engine: sa.Engine, city_code: str) -> None:
    """The fictional city's sign-in: user ``demo``, password ``demo``, the whole city.

    The sign-in page names it only when the database is the demo (``meta.source == "demo"``),
    and a production start refuses while it still has this password.
    """
    from data import auth

    if auth.get_user(engine, "demo") is None:
        auth.create_user(
            engine,
            "demo",
            "demo",
            role="leader",
            scope_code=city_code,
            display_name="示例用户",
            allow_short_password=True,
        )
    else:  # a rebuilt city may have another code; keep the account pointing at it
        with engine.begin() as conn:
            conn.execute(
                sa.update(schema.users)
                .where(schema.users.c.username == "demo")
                .values(scope_code=city_code)
            )
