"""Fixtures of the export tests: one Chromium (Kaleido) per session, the tiny demo city."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboard.settings import Settings

CJK_FONT = Settings().cjk_font


@pytest.fixture(scope="session")
def renderer() -> Iterator[object]:
    from dashboard.export.render import Renderer, find_browser

    if find_browser() is None:
        pytest.skip("Chromium not installed")
    r = Renderer(CJK_FONT).start()
    yield r
    r.close()


@pytest.fixture(scope="session")
def district_state(tiny_repo):  # noqa: ANN001, ANN201
    from data import views

    code = tiny_repo.children(tiny_repo.root().code)["code"].iloc[0]
    return views.resolve_state(tiny_repo, {"unit": code, "period": "year"})


@pytest.fixture(scope="session")
def pack(tiny_repo, district_state, renderer, tmp_path_factory):  # noqa: ANN001, ANN201
    import datetime as dt

    from dashboard.export.pack import PackOptions, export_pack

    out = tmp_path_factory.mktemp("packs")
    return export_pack(
        tiny_repo,
        district_state,
        out,
        PackOptions(data_source="云岚市综治中心（矛调中心）", cjk_font=CJK_FONT),
        renderer=renderer,
        generated_at=dt.datetime(2026, 11, 2, 9, 30),
    )
