"""The ranking table and the breakdown chart: order, ties, missing values, the "其他" tail.

Both are built from plain lists since round 17 (pandas' per-row cost on every first visit);
these pin what a leader reads in them, whatever builds them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layouts.dashboard import rank_row_id, ranking_table
from layouts.elements import El
from layouts.figures.charts import breakdown_figure


def _ranking_frame(rows: list[tuple[str, str, float | None, bool | None]]) -> pd.DataFrame:
    codes, names, values, favourable = zip(*rows, strict=True)
    frame = pd.DataFrame(
        {
            "code": list(codes),
            "name": list(names),
            "value": [np.nan if v is None else v for v in values],
            "mom_favourable": list(favourable),
        }
    )
    frame["text"] = [("—" if v is None else f"{v:,.0f}") for v in values]
    frame["rank"] = frame["value"].rank(method="min", ascending=False)
    frame["mom_text"] = [f"mom-{c}" for c in codes]
    return frame


def _cells(row: El) -> list[El]:
    return list(row.children)


def _rows(table: El) -> list[El]:
    _head, body = table.children
    return list(body.children)


def _row_name(row: El) -> str:
    name = _cells(row)[1].children[0]
    return name.children if isinstance(name, El) else name


def test_ly001_ranking_highest_first_ties_by_name_missing_last() -> None:
    frame = _ranking_frame(
        [
            ("a", "乙镇", 10.0, True),
            ("b", "丁镇", None, None),
            ("c", "甲镇", 30.0, False),
            ("d", "丙镇", 10.0, None),
            ("e", "戊镇", 0.0, True),
            ("f", "己镇", 0.3, True),
        ]
    )
    rows = _rows(ranking_table(frame, {}, metric_label="受理(件)"))
    names = [_row_name(r) for r in rows]
    # 10 and 10: by name (code-point order: 丙 U+4E19 before 乙 U+4E59).
    assert names == ["甲镇", "丙镇", "乙镇", "己镇", "戊镇", "丁镇"]
    ranks = [_cells(r)[0].children.children for r in rows]
    assert ranks == ["1", "2", "2", "4", "5", "—"]
    widths = [_cells(r)[2].children.children.style["width"] for r in rows]
    # Relative to the top value; a small value still shows a sliver, zero and missing none.
    assert widths == ["100.0%", "33.3%", "33.3%", "2.0%", "0.0%", "0.0%"]


def test_ly002_ranking_links_marks_and_change_colours() -> None:
    frame = _ranking_frame(
        [("a", "甲镇", 5.0, True), ("b", "乙镇", 4.0, False), ("c", "丙镇", 3.0, None)]
    )
    frame.loc[2, "mom_favourable"] = pd.NA
    frame["hotspot"] = ["热点（99%）", None, "冷点（95%）"]
    table = ranking_table(frame, {"a": "?unit=a", "c": "?unit=c"}, metric_label="x", highlight="b")
    rows = _rows(table)
    first, second, third = rows
    link = _cells(first)[1].children[0]
    assert isinstance(link, El) and link.tag == "link" and link.href == "?unit=a"
    assert _cells(second)[1].children[0] == "乙镇"  # no link for it: plain text
    assert [r.className for r in rows] == ["rank-row", "rank-row rank-current", "rank-row"]
    colours = [_cells(r)[4].className.split()[-1] for r in rows]
    assert colours == ["chg-good", "chg-bad", "chg-flat"]
    badges = [_cells(r)[1].children[1] for r in rows]
    assert [b.className if b is not None else None for b in badges] == [
        "hot-badge hot",
        None,
        "hot-badge cold",
    ]
    assert [r.id for r in rows] == [rank_row_id(c) for c in "abc"]
    # Not drillable (a grid's siblings): names only.
    plain = _rows(ranking_table(frame, {"a": "?unit=a"}, metric_label="x", drillable=False))
    assert _cells(plain[0])[1].children[0] == "甲镇"


def test_ly003_ranking_of_nothing_says_so() -> None:
    empty = ranking_table(_ranking_frame([("a", "甲", 1.0, None)]).iloc[0:0], {}, metric_label="x")
    assert empty.children == "无下级单位。"


def _bars(fig: dict) -> tuple[list[str], list[float]]:
    trace = fig["data"][0]
    return list(trace["y"])[::-1], [float(x) for x in trace["x"]][::-1]


def test_ly010_breakdown_largest_first_equal_counts_in_their_order_zeros_dropped() -> None:
    labels = [f"类{i:02d}" for i in range(20)]
    counts = [5, 9, 0, 9, 1, 5, 9, 0, 2, 5, 9, 3, 5, 9, 1, 9, 5, 2, 9, 1]
    fig = breakdown_figure(pd.DataFrame({"label": labels, "received": counts}), top=30)
    shown, values = _bars(fig)
    # Largest first; equal counts in the order they came in.
    expected = [1, 3, 6, 10, 13, 15, 18, 0, 5, 9, 12, 16, 11, 8, 17, 4, 14, 19]
    assert shown == [labels[i] for i in expected]
    assert values == [counts[i] for i in expected]
    assert "类02" not in shown and "类07" not in shown


def test_ly011_breakdown_tail_is_summed_into_other_and_shares_add_up() -> None:
    frame = pd.DataFrame(
        {
            "label": ["甲", "乙", "丙", "丁", "戊"],
            "received": [40, 30, 20, 6, 4],
            "selected": [True, False, True, True, True],
        }
    )
    fig = breakdown_figure(frame, top=3)
    shown, values = _bars(fig)
    assert shown == ["甲", "乙", "其他"]
    assert values == [40, 30, 30]
    texts = fig["data"][0]["text"][::-1]
    assert texts == ["40（40%）", "30（30%）", "30（30%）"]
    colours = fig["data"][0]["marker"]["color"][::-1]
    assert colours[0] == colours[2] != colours[1]  # the unselected category is faded
    donut = breakdown_figure(frame, kind="donut", top=3)["data"][0]
    assert donut["labels"] == ["甲", "乙", "其他"] and list(donut["values"]) == [40, 30, 30]


def test_ly012_breakdown_with_no_cases_is_an_empty_chart() -> None:
    fig = breakdown_figure(pd.DataFrame({"label": ["甲", "乙"], "received": [0, 0]}))
    assert not any(trace.get("type") == "bar" for trace in fig["data"])
    assert "所选期间无数据" in str(fig["layout"])
