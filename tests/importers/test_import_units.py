"""Units import: formats, encodings, inferred levels, idempotence and the bad-file suite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from _importer_support import UNITS, snapshot, write_csv, write_xlsx

from data import schema
from data.importers import ImportFailed, import_units


def _units(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["code"]: dict(r) for r in conn.execute(sa.select(schema.units)).mappings()}


def _closure(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.unit_closure)).scalar()


def test_csv_utf8_chinese_headers(engine, units_csv):
    report = import_units(engine, units_csv, vintage=2025)
    assert (report.inserted, report.updated, report.unchanged) == (10, 0, 0)
    units = _units(engine)
    assert units["359803"]["level"] == "district"  # 县
    assert units["359802001"]["level"] == "town"  # 街道
    assert units["359802001001001"]["level"] == "grid"
    assert units["359800"]["parent_code"] is None
    assert units["359802001001"]["urban_rural"] == "111"
    assert units["359802"]["population"] == 500000
    assert units["359802"]["vintage"] == 2025
    # 10 units, depths 0..4 along the longest chain: self pairs + ancestor pairs.
    assert _closure(engine) == 10 + 9 + 7 + 4 + 1


def test_reimport_is_idempotent_and_dry_run_writes_nothing(engine, units_csv):
    import_units(engine, units_csv, vintage=2025)
    before = snapshot(engine)
    report = import_units(engine, units_csv, vintage=2025)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 10)
    assert snapshot(engine) == before  # not even the data version moves

    changed = [row[:] for row in UNITS]
    changed[2][1] = "东城区"
    fixed = write_csv(units_csv.with_name("fixed.csv"), changed)
    dry = import_units(engine, fixed, vintage=2025, dry_run=True)
    assert (dry.inserted, dry.updated, dry.unchanged) == (0, 1, 9)
    assert snapshot(engine) == before
    report = import_units(engine, fixed, vintage=2025)
    assert report.updated == 1
    assert _units(engine)["359802"]["name"] == "东城区"


def test_gbk_csv_english_headers_auto_encoding(engine, tmp_path):
    rows = [["code", "name", "level", "parent_code"]] + [r[:4] for r in UNITS[1:]]
    path = write_csv(tmp_path / "units_gbk.csv", rows, encoding="gbk")
    report = import_units(engine, path, vintage=2025)
    assert report.inserted == 10
    assert _units(engine)["359802100"]["name"] == "万安镇"


def test_excel_numeric_codes_and_title_row(engine, tmp_path):
    rows = [["示范市行政区划表（2025年）"], ["代码", "单位名称", "层级", "父级代码", "户数"]]
    for code, name, level, parent, *_ in UNITS[1:]:
        # Excel turned the code columns into numbers: ints and floats both happen.
        rows.append([float(code), name, level, int(parent) if parent else None, 10])
    path = write_xlsx(tmp_path / "units.xlsx", rows)
    report = import_units(engine, path, vintage=2025)
    assert report.inserted == 10
    units = _units(engine)
    assert "359802100200" in units and units["359802100200"]["parent_code"] == "359802100"
    assert units["359802"]["households"] == 10


def test_missing_county_level_inferred_from_codes(engine, tmp_path):
    # Towns directly under the city (no 区县), level column present but blank.
    rows = [
        ["code", "name", "level", "parent_code"],
        ["620200", "嘉峪关市", "", ""],
        ["620200001", "雄关街道", "", "620200"],
        ["620200100", "新城镇", "", "620200"],
        ["620200100200", "新城村", "", "620200100"],
    ]
    report = import_units(engine, write_csv(tmp_path / "u.csv", rows), vintage=2025)
    assert report.inserted == 4
    units = _units(engine)
    assert [units[c]["level"] for c in ("620200", "620200001", "620200100200")] == [
        "city",
        "town",
        "village",
    ]


def test_parent_inferred_without_parent_column(engine, tmp_path):
    rows = [["区划代码", "名称"]] + [[r[0], r[1]] for r in UNITS[1:]]
    import_units(engine, write_csv(tmp_path / "u.csv", rows), vintage=2025)
    units = _units(engine)
    assert units["359803100200"]["parent_code"] == "359803100"
    assert units["359802"]["level"] == "district"


def test_mapping_file_renames_columns_and_levels(engine, tmp_path):
    rows = [["单位编号", "单位全称", "类别", "隶属"]]
    words = {
        "市": "地市",
        "区": "区县级",
        "县": "区县级",
        "街道": "街镇",
        "镇": "街镇",
        "社区": "村居级",
        "村": "村居级",
        "网格": "格",
    }
    for code, name, level, parent, *_ in UNITS[1:]:
        rows.append([code, name, words[level], parent])
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\n"单位编号" = "code"\n"单位全称" = "name"\n"类别" = "level"\n"隶属" = "parent_code"\n'
        '[values.level]\n"地市" = "city"\n"区县级" = "district"\n"街镇" = "town"\n"村居级" = "village"\n"格" = "grid"\n',
        encoding="utf-8",
    )
    report = import_units(
        engine, write_csv(tmp_path / "u.csv", rows), mapping=mapping, vintage=2025
    )
    assert report.inserted == 10
    assert _units(engine)["359802100"]["level"] == "town"


# --- the bad-file suite: each names its reason, row and column, and writes nothing -----------


def _edit(rows, row_index, col, value):
    out = [r[:] for r in rows]
    out[row_index][col] = value
    return out


BAD_CASES = {
    "unknown level": (_edit(UNITS, 4, 2, "大队"), "unknown level name", 5, "级别"),
    "missing parent": (
        _edit(UNITS, 7, 3, "359802999"),
        "parent unit does not exist",
        8,
        "上级代码",
    ),
    "negative population": (_edit(UNITS, 2, 4, "-5"), "negative count", 3, "常住人口"),
    "non-integer population": (
        _edit(UNITS, 2, 4, "12.5"),
        "count is not a whole number",
        3,
        "常住人口",
    ),
    "duplicate code": (UNITS + [UNITS[5][:]], "duplicate code", 12, "区划代码"),
    "two roots": (_edit(UNITS, 3, 3, ""), "more than one root", 4, "上级代码"),
    "level not below parent": (
        _edit(UNITS, 7, 2, "区"),
        "level is not below the parent",
        8,
        "级别",
    ),
    "bad urban-rural": (_edit(UNITS, 7, 5, "999"), "unknown urban-rural code", 8, "城乡分类代码"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_rows_refused_and_nothing_written(engine, tmp_path, units_csv, case):
    import_units(engine, units_csv, vintage=2025)
    before = snapshot(engine)
    rows, reason, row, column = BAD_CASES[case]
    rows = [r[:] for r in rows]
    rows[1][1] = "示范市(改)"  # a good change that must NOT be written either
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportFailed) as exc:
        import_units(engine, path, vintage=2025)
    errors = [e for e in exc.value.report.errors if reason in e.reason_en]
    assert errors, exc.value.report.format()
    assert any(e.row == row and e.column == column for e in errors), exc.value.report.format()
    assert all(e.file == str(path) for e in errors)
    assert snapshot(engine) == before
    text = exc.value.report.format()
    assert reason in text and "nothing was written" in text


def test_cycle_is_reported(engine, tmp_path):
    rows = [
        ["code", "name", "level", "parent_code"],
        ["359800", "示范市", "city", ""],
        ["359802", "东区", "district", "359802100"],
        ["359802100", "万安镇", "town", "359802"],
    ]
    with pytest.raises(ImportFailed) as exc:
        import_units(engine, write_csv(tmp_path / "c.csv", rows), vintage=2025)
    cyc = [e for e in exc.value.report.errors if "cycle" in e.reason_en]
    assert {e.row for e in cyc} == {3, 4}
    assert snapshot(engine)["units"] == []


def test_truncated_csv(engine, tmp_path, units_csv):
    import_units(engine, units_csv, vintage=2025)
    before = snapshot(engine)
    text = units_csv.read_text(encoding="utf-8")
    cut = text[: text.rindex("东街一网格") + 2]  # the last line is cut off mid-name
    (tmp_path / "cut.csv").write_text(cut + "\n新行,only-two-fields\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as exc:
        import_units(engine, tmp_path / "cut.csv", vintage=2025)
    errs = [e for e in exc.value.report.errors if "fewer fields" in e.reason_en]
    assert {e.row for e in errs} == {11, 12}
    assert snapshot(engine) == before


def test_unclosed_quote_at_end(engine, tmp_path):
    (tmp_path / "q.csv").write_text(
        'code,name,level,parent_code\n359800,示范市,city,\n359802,"东区,district,359800\n',
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed) as exc:
        import_units(engine, tmp_path / "q.csv", vintage=2025)
    assert any("unclosed quote" in e.reason_en and e.row == 3 for e in exc.value.report.errors)


def test_undecodable_file(engine, tmp_path):
    data = (
        "code,name,level,parent_code\n359800,示范市,city,\n".encode()
        + b"359802,\xff\xfe\xff,district,359800\n"
    )
    (tmp_path / "enc.csv").write_bytes(data)
    with pytest.raises(ImportFailed) as exc:
        import_units(engine, tmp_path / "enc.csv", vintage=2025)
    (err,) = exc.value.report.errors
    assert "cannot decode" in err.reason_en and err.row == 3
    assert snapshot(engine)["units"] == []


def test_wrong_declared_encoding(engine, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", UNITS, encoding="gbk")
    with pytest.raises(ImportFailed) as exc:
        import_units(engine, path, encoding="utf-8", vintage=2025)
    assert "cannot decode" in exc.value.report.errors[0].reason_en
    assert exc.value.report.errors[0].row == 1  # the Chinese header is the first bad byte


def test_missing_required_column(engine, tmp_path):
    rows = [[r[0], r[2], r[3]] for r in UNITS]
    with pytest.raises(ImportFailed) as exc:
        import_units(engine, write_csv(tmp_path / "m.csv", rows), vintage=2025)
    (err,) = exc.value.report.errors
    assert err.column == "name" and "missing required column" in err.reason_en


def test_corrupt_xlsx(engine, tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", UNITS)
    data = good.read_bytes()
    (tmp_path / "broken.xlsx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportFailed) as exc:
        import_units(engine, tmp_path / "broken.xlsx", vintage=2025)
    assert "damaged" in exc.value.report.errors[0].reason_en


def test_skip_bad_writes_good_rows_and_rejects(engine, tmp_path):
    rows = _edit(UNITS, 5, 2, "大队")  # 359802100 万安镇: bad level; its village must go too
    path = write_csv(tmp_path / "units.csv", rows)
    rejects = tmp_path / "out" / "rejects.csv"
    report = import_units(engine, path, vintage=2025, skip_bad=True, rejects=rejects)
    assert report.inserted == 8 and report.counts["rejected"] == 2
    units = _units(engine)
    assert "359802100" not in units and "359802100200" not in units
    lines = rejects.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("区划代码,名称,级别,上级代码")
    assert lines[1].startswith("359802100,万安镇,大队,359802,30000,")
    assert "unknown level name" in lines[1]
    assert "parent's row was rejected" in lines[2]


def test_failure_mid_write_rolls_back(engine, units_csv, tmp_path, monkeypatch):
    import_units(engine, units_csv, vintage=2025)
    before = snapshot(engine)
    rows = UNITS + [["359803100201", "新村村委会", "村", "359803100", "10", "220"]]
    rows = _edit(rows, 1, 1, "示范市(新)")

    from data import rollup

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rollup, "rebuild_closure", boom)
    with pytest.raises(RuntimeError):
        import_units(engine, write_csv(tmp_path / "u2.csv", rows), vintage=2025)
    assert snapshot(engine) == before
