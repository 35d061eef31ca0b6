"""Statistics import (cases, patrols, risks): formats, upsert, roll-ups and the bad-file suite."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from _importer_support import snapshot, write_csv, write_xlsx

from data import db, schema
from data.importers import ImportFailed, import_facts

CASES = [
    ["单位代码", "日期", "数据类别", "纠纷类型", "受理数", "调解成功数"],
    ["359802001001001", "2025-10-01", "矛盾纠纷", "婚姻家庭", "5", "3"],
    ["359802001001001", "2025-10-02", "矛盾纠纷", "邻里", "2", "1"],
    ["359802100200", "2025/10/02", "矛盾纠纷", "邻里", "4", "4"],
    ["359803100", "2025年10月3日", "信访", "征地拆迁", "7", ""],
]


def _rows(engine, table, **where):
    with engine.connect() as conn:
        q = sa.select(table).where(*[table.c[k] == v for k, v in where.items()])
        return [dict(r) for r in conn.execute(q).mappings()]


def _received(engine, unit, day=None):
    t = schema.case_rollup
    q = sa.select(sa.func.coalesce(sa.func.sum(t.c.received), 0)).where(t.c.unit_code == unit)
    if day is not None:
        q = q.where(t.c.day == day)
    with engine.connect() as conn:
        return conn.execute(q).scalar()


def test_cases_csv_rollups_and_idempotence(seeded, tmp_path):
    path = write_csv(tmp_path / "cases.csv", CASES)
    report = import_facts(seeded, "cases", path)
    assert (report.inserted, report.updated, report.unchanged) == (4, 0, 0)
    assert report.day_range == (dt.date(2025, 10, 1), dt.date(2025, 10, 3))
    row = _rows(seeded, schema.case_daily, unit_code="359803100")[0]
    assert (
        row["stream"],
        row["category"],
        row["channel"],
        row["received"],
        row["mediated_ok"],
    ) == ("petition", "征地拆迁", "未注明", 7, 0)
    assert _received(seeded, "359800") == 18
    assert _received(seeded, "359802") == 11

    before = snapshot(seeded)
    again = import_facts(seeded, "cases", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert snapshot(seeded) == before

    corrected = [r[:] for r in CASES[:3]]
    corrected[2][4] = "20"  # one corrected count; the other rows of the first file stay
    report = import_facts(seeded, "cases", write_csv(tmp_path / "fix.csv", corrected))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    assert _received(seeded, "359800") == 36
    assert len(_rows(seeded, schema.case_daily)) == 4


def test_gbk_monthly_with_stream_option(seeded, tmp_path):
    rows = [
        ["区划代码", "统计月份", "类型", "件数"],
        ["359802", "2025年9月", "劳资纠纷", "12"],
        ["359803", "2025-09", "劳资纠纷", "3"],
    ]
    path = write_csv(tmp_path / "monthly.csv", rows, encoding="gbk")
    report = import_facts(seeded, "cases", path, stream="dispute")
    assert report.inserted == 2
    assert any("first day" in w.message_en for w in report.warnings)
    stored = _rows(seeded, schema.case_daily, unit_code="359802")[0]
    assert stored["day"] == dt.date(2025, 9, 1) and stored["stream"] == "dispute"
    assert _received(seeded, "359800", dt.date(2025, 9, 1)) == 15


def test_patrols_excel(seeded, tmp_path):
    rows = [
        ["单位代码", "日期", "巡逻组次", "警力人次", "巡逻时长(小时)", "巡逻里程(公里)", "处警数"],
        [359802001, dt.datetime(2025, 10, 1), 4, 12, 7.5, 31.2, 3],
        [359803100.0, dt.date(2025, 10, 1), 2, 5, 3, 10, None],
    ]
    report = import_facts(
        seeded, "patrols", write_xlsx(tmp_path / "p.xlsx", rows, sheet="巡逻"), sheet="巡逻"
    )
    assert report.inserted == 2
    (row,) = _rows(seeded, schema.patrol_daily, unit_code="359802001")
    assert row["hours"] == 7.5 and row["km"] == pytest.approx(31.2) and row["dispatches"] == 3
    (city,) = _rows(seeded, schema.patrol_rollup, unit_code="359800")
    assert city["groups"] == 6 and city["hours"] == pytest.approx(10.5)


def test_risks_csv_with_mapping(seeded, tmp_path):
    rows = [
        ["单位代码", "日期", "隐患类别", "风险等级", "新增", "销号", "在册"],
        ["359802", "2025-10-01", "治安", "红色", "1", "0", "3"],
        ["359802", "2025-10-01", "社会治安", "三级", "2", "1", "5"],
    ]
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[columns]\n"隐患类别" = "domain"\n[values.domain]\n"治安" = "社会治安"\n', encoding="utf-8"
    )
    report = import_facts(seeded, "risks", write_csv(tmp_path / "r.csv", rows), mapping=mapping)
    assert report.inserted == 2
    levels = {
        r["level"]: r["open_end"] for r in _rows(seeded, schema.risk_rollup, unit_code="359800")
    }
    assert levels == {"red": 3, "yellow": 5}


def _bad(rows_edit):
    rows = [r[:] for r in CASES]
    rows_edit(rows)
    return rows


TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()

BAD = {
    "unknown unit": (lambda r: r[2].__setitem__(0, "359899"), "unknown unit code", 3, "单位代码"),
    "negative count": (lambda r: r[3].__setitem__(4, "-1"), "negative count", 4, "受理数"),
    "non-integer count": (
        lambda r: r[3].__setitem__(5, "1.5"),
        "count is not a whole number",
        4,
        "调解成功数",
    ),
    "text count": (lambda r: r[3].__setitem__(5, "三"), "not a number", 4, "调解成功数"),
    "future date": (lambda r: r[4].__setitem__(1, TOMORROW), "date is in the future", 5, "日期"),
    "unparseable date": (lambda r: r[2].__setitem__(1, "十月一日"), "unparseable date", 3, "日期"),
    "impossible date": (lambda r: r[2].__setitem__(1, "2025-02-30"), "impossible date", 3, "日期"),
    "unknown stream": (lambda r: r[2].__setitem__(2, "治安"), "unknown stream", 3, "数据类别"),
    "duplicate row": (lambda r: r.append(r[1][:]), "duplicate row", 6, None),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_rows_refused_and_database_unchanged(seeded, tmp_path, case):
    import_facts(seeded, "cases", write_csv(tmp_path / "first.csv", CASES))
    before = snapshot(seeded)
    edit, reason, row, column = BAD[case]
    rows = _bad(edit)
    rows[1][4] = "99"  # a valid correction that must not be written either
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportFailed) as exc:
        import_facts(seeded, "cases", path)
    report = exc.value.report
    matching = [e for e in report.errors if reason in e.reason_en]
    assert matching and matching[0].row == row and matching[0].column == column, report.format()
    assert matching[0].file == str(path)
    assert snapshot(seeded) == before
    assert reason in report.format()


def test_missing_required_column(seeded, tmp_path):
    rows = [[r[0], r[2], r[3], r[4]] for r in CASES]  # no date column
    with pytest.raises(ImportFailed) as exc:
        import_facts(seeded, "cases", write_csv(tmp_path / "m.csv", rows))
    (err,) = exc.value.report.errors
    assert err.column == "day" and "missing required column" in err.reason_en


def test_truncated_last_line(seeded, tmp_path):
    path = write_csv(tmp_path / "cases.csv", CASES)
    data = path.read_bytes().rstrip(b"\r\n")
    path.write_bytes(data[: data.rindex(",征地拆迁".encode())])  # the transfer stopped mid-row
    before = snapshot(seeded)
    with pytest.raises(ImportFailed) as exc:
        import_facts(seeded, "cases", path)
    (err,) = exc.value.report.errors
    assert err.row == 5 and "fewer fields" in err.reason_en
    assert snapshot(seeded) == before


def test_skip_bad_writes_good_rows(seeded, tmp_path):
    rows = _bad(lambda r: r[3].__setitem__(4, "-1"))
    path = write_csv(tmp_path / "cases.csv", rows, encoding="gbk")
    report = import_facts(seeded, "cases", path, skip_bad=True)
    assert report.inserted == 3 and report.counts["rejected"] == 1
    text = report.rejects_path.read_text(encoding="utf-8-sig")
    assert "359802100200,2025/10/02,矛盾纠纷,邻里,-1,4" in text and "negative count" in text
    assert _received(seeded, "359800") == 14


def test_failure_mid_write_leaves_database_unchanged(seeded, tmp_path, monkeypatch):
    import_facts(seeded, "cases", write_csv(tmp_path / "first.csv", CASES))
    before = snapshot(seeded)
    rows = [r[:] for r in CASES] + [["359803100200", "2025-10-04", "网格事件", "安全隐患", "1", ""]]
    rows[1][4] = "50"  # an update and an insert, then the roll-up refresh fails

    from data import rollup

    def boom(*args, **kwargs):
        raise RuntimeError("refresh failed")

    monkeypatch.setattr(rollup, "refresh", boom)
    with pytest.raises(RuntimeError):
        import_facts(seeded, "cases", write_csv(tmp_path / "second.csv", rows))
    assert snapshot(seeded) == before


def test_dry_run_counts_and_writes_nothing(seeded, tmp_path):
    path = write_csv(tmp_path / "cases.csv", CASES)
    before = snapshot(seeded)
    report = import_facts(seeded, "cases", path, dry_run=True)
    assert report.inserted == 4 and report.dry_run and not report.written
    assert snapshot(seeded) == before
    with seeded.connect() as conn:
        assert db.get_meta(conn, "data_version") == dict(before["meta"])["data_version"]
