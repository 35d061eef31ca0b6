"""Big-screen callback logic, called directly: boot, render, stale handling, wall fonts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from dash import Dash, no_update

from callbacks import screen as cb
from callbacks.services import Services
from data import db
from data.auth import Principal, ScopeRefused
from data.repository import Repository
from data.screen import ScreenDefaults
from layouts.figures.screen import MIN_FONT


def _as(scope_code: str):
    return lambda: Principal("wall", "leader", scope_code, read_only=True)


@pytest.fixture(scope="module")
def repo(tiny_demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Repository:
    # A private copy: boot writes an audit row when a wall opens.
    source = Path(tiny_demo_url.removeprefix("sqlite:///"))
    target = tmp_path_factory.mktemp("screen-cb") / "demo.sqlite"
    shutil.copy(source, target)
    engine = db.make_engine(f"sqlite:///{target}")
    from data import auth

    auth.ensure_tables(engine)
    return Repository(engine)


@pytest.fixture(scope="module")
def services(repo: Repository) -> Services:
    return Services(
        repo=repo,
        title="测试指挥中心",
        data_source="测试来源",
        is_demo=True,
        current_user=_as(repo.root().code),
    )


@pytest.fixture
def broken(tmp_path: Path) -> Services:
    """Services over a database that has gone away (no tables: every query fails)."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'gone.sqlite'}", create=True)
    return Services(
        repo=Repository(engine),
        title="测试",
        data_source="测试",
        is_demo=False,
        current_user=_as("359800"),
    )


def _boot(services: Services, search: str = "", current: dict | None = None) -> Any:
    return cb.boot(services, ScreenDefaults(), search, current)


def test_scb001_boot_reads_options_and_builds_playlist(services, repo) -> None:  # noqa: ANN001
    out = _boot(services, "?kiosk=1&interval=5&refresh=7&idle=9&canvas=wide")
    root = repo.root()
    assert (out["kiosk"], out["interval_s"], out["refresh_s"], out["idle_s"]) == (True, 5, 7, 9)
    assert (out["canvas"], out["width"], out["height"]) == ("wide", 3840, 1080)
    assert out["root"] == root.code
    codes = [s["code"] for s in out["playlist"]]
    assert codes == [root.code, *repo.children(root.code)["code"]]
    json.dumps(out)  # a dcc.Store value
    # The refresh tick re-runs boot: nothing changed, nothing sent.
    assert _boot(services, "?kiosk=1&interval=5&refresh=7&idle=9&canvas=wide", out) is no_update


def test_scb002_boot_keeps_to_the_viewers_jurisdiction(services, repo) -> None:  # noqa: ANN001
    district = repo.children(repo.root().code)["code"].iloc[0]
    scoped = Services(**{**services.__dict__, "current_user": _as(district)})
    out = _boot(scoped, f"?unit={repo.root().code}&tour=districts")
    assert out["root"] == district  # asked for the city, clamped to the wall's own scope
    assert all(repo.is_within(s["code"], district) for s in out["playlist"])


def test_scb003_boot_with_the_database_down_sends_nothing(broken: Services) -> None:
    assert _boot(broken, "?tour=districts") is no_update


def _view(services: Services, code: str | None = None) -> dict:
    code = code or services.repo.root().code
    return {"unit": code, "name": "", "i": 0, "n": 1, "root": code}


def test_scb004_render_fills_every_panel(services) -> None:  # noqa: ANN001
    options = _boot(services, "?tour=off")
    out = cb.render(services, _view(services), options, None)
    assert set(out) == set(cb.RENDER_OUTPUTS)
    assert out["status"]["ok"] is True
    assert out["rendered"] == cb.render_key(services.repo.data_version(), options["root"], options)
    for name in ("kpis", "map", "ranking", "alerts", "trend_a", "trend_b", "patrol", "footer"):
        assert out[name] is not no_update, name
    assert any(t.get("type") == "choroplethmap" for t in out["map"]["data"])
    # The standard canvas leaves the wide-only panels alone.
    assert out["map2"] is no_update and out["risk"] is no_update
    # Demo data says so in the footer.
    assert "示例数据" in json.dumps(out["footer"], default=str, ensure_ascii=False)


def test_scb005_refresh_without_new_data_redraws_nothing(services) -> None:  # noqa: ANN001
    options = _boot(services, "?tour=off")
    first = cb.render(services, _view(services), options, None)
    again = cb.render(services, _view(services), options, first["rendered"])
    assert again["status"]["ok"] is True  # the wall still learns the data is reachable
    assert all(v is no_update for k, v in again.items() if k != "status")


def test_scb006_render_with_the_database_down_keeps_the_last_picture(broken: Services) -> None:
    options = {"canvas": "std", "metric": "dispute_received", "period": "30d", "root": "359800"}
    out = cb.render(broken, _view(broken, "359800"), options, "old-key")
    assert out["status"]["ok"] is False
    assert all(v is no_update for k, v in out.items() if k != "status")


def test_scb007_render_refuses_units_outside_the_scope(services, repo) -> None:  # noqa: ANN001
    district = repo.children(repo.root().code)["code"].iloc[0]
    scoped = Services(**{**services.__dict__, "current_user": _as(district)})
    options = _boot(scoped, "?tour=off")
    with pytest.raises(ScopeRefused):
        cb.render(scoped, _view(scoped, repo.root().code), options, None)


def test_scb008_render_without_a_view_sends_nothing(services) -> None:  # noqa: ANN001
    out = cb.render(services, None, None, None)
    assert all(v is no_update for v in out.values())


def _font_sizes(node: Any, path: str = "") -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if (
                key in ("font", "textfont", "tickfont")
                and isinstance(value, dict)
                and isinstance(value.get("size"), int | float)
            ):
                found.append((f"{path}.{key}", value["size"]))
            found.extend(_font_sizes(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_font_sizes(item, f"{path}[{i}]"))
    return found


def test_scb009_wide_canvas_and_wall_font_sizes(services) -> None:  # noqa: ANN001
    options = _boot(services, "?tour=off&canvas=wide")
    out = cb.render(services, _view(services), options, None)
    for name in ("map", "map2", "trend_a", "trend_b", "trend_c", "breakdown", "risk"):
        figure = out[name]
        assert isinstance(figure, dict) and figure.get("data"), name
        small = [(p, s) for p, s in _font_sizes(figure) if s < MIN_FONT]
        assert not small, f"{name}: fonts under {MIN_FONT}px: {small}"
        assert figure["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"


def test_scb010_small_counts_are_suppressed_on_the_wall(services, repo) -> None:  # noqa: ANN001
    guarded = Services(**{**services.__dict__, "small_count_threshold": 10**9})
    options = _boot(guarded, "?tour=off")
    out = cb.render(guarded, _view(guarded), options, None)
    text = json.dumps(out["kpis"], default=str, ensure_ascii=False)
    assert f"<{10**9}" in text


def test_scb011_register_wires_callbacks_on_a_fresh_app(services) -> None:  # noqa: ANN001
    from layouts import screen as layout

    app = Dash(__name__, url_base_pathname="/screen/")
    app.layout = layout.page(title="测试")
    cb.register(app, services)
    outputs = " ".join(app.callback_map)
    assert "screen-options.data" in outputs
    assert "screen-view.data" in outputs
    assert "screen-status.data" in outputs


def test_scb012_rolling_list_is_a_fixed_double_track() -> None:
    import datetime as dt

    import pandas as pd

    from data.screen import ALERT_COLUMNS
    from layouts import screen as layout

    def frame(n: int) -> pd.DataFrame:
        rows = [
            (dt.date(2026, 10, 31), f"c{i}", f"单位{i}", "risk", "orange", "新增橙色风险", "1项")
            for i in range(n)
        ]
        return pd.DataFrame(rows, columns=ALERT_COLUMNS)

    short = layout.alert_list(frame(layout.ALERT_ROWS)).to_plotly_json()
    assert "rolling" not in json.dumps(short, default=str)
    long = layout.alert_list(frame(20))
    track = long.children
    assert "rolling" in track.className
    first, second = track.children  # the rows twice: a seamless loop, nothing appended later
    assert len(first.children) == len(second.children) == 20
    assert track.style["animationDuration"] == f"{layout.ALERT_ROW_SECONDS * 20:.0f}s"


@pytest.mark.parametrize(
    ("text", "value", "decimals", "suffix"),
    [("1,234", "1234.0", "0", ""), ("97.5%", "97.5", "1", "%"), ("12.3天", "12.3", "1", "天")],
)
def test_scb013_count_up_attributes(text: str, value: str, decimals: str, suffix: str) -> None:
    from layouts.screen import _number_attrs

    attrs = _number_attrs(text)
    assert (attrs["data-value"], attrs["data-decimals"], attrs["data-suffix"]) == (
        value,
        decimals,
        suffix,
    )
    assert attrs["data-text"] == text
    assert _number_attrs("—")["data-value"] == ""  # nothing to count: shown as is
    assert _number_attrs("<3")["data-value"] == ""
