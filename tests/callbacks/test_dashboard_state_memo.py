"""The render callbacks of one page view resolve the URL once, and the scope still holds."""

from __future__ import annotations

import sqlalchemy as sa

from callbacks import dashboard as cb
from callbacks.services import Services
from data import schema
from data.auth import Principal
from data.repository import Repository

RENDERS = (
    cb.render_header,
    cb.render_map,
    cb.render_trends,
    cb.render_panels,
    cb.render_downloads,
)


def _as(scope_code: str):
    return lambda: Principal("memo-tester", "leader", scope_code)


def test_cb101_one_page_view_resolves_once(tiny_repo: Repository) -> None:
    root = tiny_repo.root().code
    services = Services(
        repo=tiny_repo, title="t", data_source="s", is_demo=True, current_user=_as(root)
    )
    store = {"search": "?period=month&metric=petition_received"}
    for render in RENDERS:
        render(services, store)
    assert (services.states.misses, services.states.hits) == (1, len(RENDERS) - 1)


def _refusals(repo: Repository) -> int:
    a = schema.audit_log
    query = sa.select(sa.func.count()).where(a.c.action == "refused", a.c.username == "memo-tester")
    with repo.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def test_cb102_a_shared_memo_never_widens_another_users_scope(tiny_repo: Repository) -> None:
    root = tiny_repo.root().code
    mine, other = tiny_repo.children(root)["code"].tolist()[:2]
    city = Services(
        repo=tiny_repo, title="t", data_source="s", is_demo=True, current_user=_as(root)
    )
    store = {"search": f"?unit={other}"}
    assert cb.resolve(city, store["search"]).unit.code == other
    # The same app (same memo), another user: the scope check runs and the key differs.
    scoped = Services(**{**city.__dict__, "current_user": _as(mine)})
    assert scoped.states is city.states
    before = _refusals(tiny_repo)
    state = cb.resolve(scoped, store["search"])
    assert state.unit.code == mine and [u.code for u in state.lineage] == [mine]
    assert any("无权查看" in m for m in state.messages)
    assert _refusals(tiny_repo) == before + 1  # audited on the request, not answered from memory
    _t, _f, _alerts, crumbs, *_ = cb.render_header(scoped, store)
    assert len(crumbs["c"]) == 1
