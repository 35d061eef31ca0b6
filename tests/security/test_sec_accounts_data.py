"""Accounts, tokens, audit and the scope check at the data level, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from callbacks import scope
from callbacks.services import Services
from data import audit, auth, schema
from data.disclosure import suppress_small
from data.repository import Repository

# A city with a 4-digit code (like Ningde's): children are not string extensions of it.
CITY, DIST_A, DIST_B, TOWN_A = "3598", "359802", "359821", "359802001"
UNITS = [
    (CITY, "云岚市", "city", None),
    (DIST_A, "临泉区", "district", CITY),
    (DIST_B, "华湖县", "district", CITY),
    (TOWN_A, "东街街道", "town", DIST_A),
]
#: Cheap scrypt for the many hashes these tests make; the format is the production one.
FAST = {"log_n": 10, "r": 8, "p": 1}


@pytest.fixture
def city(engine: sa.Engine) -> sa.Engine:
    """``engine`` holding a four-unit hierarchy and its closure."""
    parent = {code: p for code, _n, _l, p in UNITS}
    closure = []
    for code, *_ in UNITS:
        depth, node = 0, code
        while node is not None:
            closure.append({"ancestor_code": node, "descendant_code": code, "depth": depth})
            node, depth = parent[node], depth + 1
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.units),
            [
                {"code": c, "name": n, "level": lvl, "parent_code": p, "vintage": 2026}
                for c, n, lvl, p in UNITS
            ],
        )
        conn.execute(sa.insert(schema.unit_closure), closure)
    return engine


def _audit_rows(engine: sa.Engine, action: str | None = None) -> list[dict]:
    return audit.entries(engine, action=action).to_dict("records")


# ---- passwords ------------------------------------------------------------------------------
def test_sec001_hash_format_verify_and_wrong_password() -> None:
    stored = auth.hash_password("正确的密码 horse", **FAST)
    assert re.fullmatch(r"\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}", stored)
    assert "horse" not in stored
    assert auth.verify_password("正确的密码 horse", stored)
    assert not auth.verify_password("正确的密码 Horse", stored)
    assert not auth.verify_password("x", "not-a-hash")
    # Same password, new salt: equal passwords are not visible as equal hashes.
    assert auth.hash_password("正确的密码 horse", **FAST) != stored
    assert auth.needs_rehash(stored) and not auth.needs_rehash(auth.hash_password("p"))


def test_sec002_tampered_cost_is_refused_without_work() -> None:
    stored = auth.hash_password("pw", **FAST).replace("ln=10", "ln=30")
    assert not auth.verify_password("pw", stored)


def test_sec003_users_are_stored_hashed_and_scope_is_validated(city: sa.Engine) -> None:
    auth.create_user(city, "zhang", "secret-pass-1", role="leader", scope_code=DIST_A)
    with city.connect() as conn:
        stored = conn.execute(sa.select(schema.users.c.password_hash)).scalar_one()
    assert stored.startswith("$scrypt$") and "secret-pass-1" not in stored
    with pytest.raises(auth.AuthError, match="unknown unit"):
        auth.create_user(city, "li", "secret-pass-1", role="leader", scope_code="999999")
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.create_user(city, "zhang", "secret-pass-2", role="leader", scope_code=DIST_A)
    with pytest.raises(auth.AuthError, match="role"):
        auth.create_user(city, "wang", "secret-pass-1", role="king", scope_code=DIST_A)
    with pytest.raises(auth.AuthError, match="at least"):
        auth.create_user(city, "wang", "short", role="leader", scope_code=DIST_A)
    assert [u.username for u in auth.list_users(city)] == ["zhang"]
    assert auth.count_users(city) == 1


def test_sec004_lockout_after_n_failures_refuses_the_right_password(city: sa.Engine) -> None:
    auth.create_user(city, "zhang", "secret-pass-1", role="leader", scope_code=DIST_A)
    policy = auth.LockoutPolicy(max_failures=3, lock_minutes=15)
    t0 = dt.datetime(2026, 11, 2, 9, 0)
    outcomes = [
        auth.authenticate(city, "zhang", "wrong", policy=policy, now=t0).outcome for _ in range(3)
    ]
    assert outcomes == ["bad", "bad", "locked"]
    during = auth.authenticate(
        city, "zhang", "secret-pass-1", policy=policy, now=t0 + dt.timedelta(minutes=14)
    )
    assert during.outcome == "locked" and not during.ok
    after = auth.authenticate(
        city, "zhang", "secret-pass-1", policy=policy, now=t0 + dt.timedelta(minutes=16)
    )
    assert after.ok and after.user is not None and after.user.failed_attempts == 0


def test_sec005_disabled_and_new_password(city: sa.Engine) -> None:
    auth.create_user(city, "zhang", "secret-pass-1", role="analyst", scope_code=DIST_A)
    before = auth.get_user(city, "zhang")
    auth.set_disabled(city, "zhang")
    assert auth.authenticate(city, "zhang", "secret-pass-1").outcome == "disabled"
    auth.set_disabled(city, "zhang", False)
    auth.set_password(city, "zhang", "secret-pass-2")
    assert not auth.authenticate(city, "zhang", "secret-pass-1").ok
    assert auth.authenticate(city, "zhang", "secret-pass-2").ok
    after = auth.get_user(city, "zhang")
    assert before is not None and after is not None
    assert after.password_stamp != before.password_stamp  # old sessions end
    assert auth.authenticate(city, "nobody", "secret-pass-2").outcome == "bad"


# ---- screen tokens --------------------------------------------------------------------------
def test_sec006_screen_tokens_store_only_a_hash_and_expire_or_revoke(city: sa.Engine) -> None:
    token, secret = auth.create_token(
        city, label="指挥大厅", scope_code=DIST_A, created_by="cli:root", days=30
    )
    with city.connect() as conn:
        stored = conn.execute(sa.select(schema.screen_tokens.c.token_hash)).scalar_one()
    assert secret not in stored and len(stored) == 64
    found = auth.resolve_token(city, secret)
    assert found.id == token.id and found.principal().read_only
    assert found.principal().scope_code == DIST_A
    later = dt.datetime.now() + dt.timedelta(days=31)
    with pytest.raises(auth.TokenRefused, match="expired"):
        auth.resolve_token(city, secret, now=later)
    with pytest.raises(auth.TokenRefused, match="unknown"):
        auth.resolve_token(city, secret + "x")
    auth.revoke_token(city, token.id)
    with pytest.raises(auth.TokenRefused, match="revoked"):
        auth.resolve_token(city, secret)
    with pytest.raises(auth.AuthError, match="already revoked"):
        auth.revoke_token(city, token.id)
    with pytest.raises(auth.AuthError, match="unknown unit"):
        auth.create_token(city, label="x", scope_code="nope", created_by="t")


# ---- audit ----------------------------------------------------------------------------------
def test_sec007_audit_record_dedupe_filter_and_clip(city: sa.Engine) -> None:
    t0 = dt.datetime(2026, 11, 2, 9, 0)
    assert audit.record(city, "view", username="zhang", unit_code=DIST_A, now=t0, dedupe_seconds=60)
    assert not audit.record(
        city, "view", username="zhang", unit_code=DIST_A, now=t0, dedupe_seconds=60
    )
    assert audit.record(
        city,
        "view",
        username="zhang",
        unit_code=DIST_A,
        now=t0 + dt.timedelta(seconds=61),
        dedupe_seconds=60,
    )
    audit.record(city, "refused", username="zhang", unit_code="9" * 500, now=t0, detail="x" * 5000)
    audit.record(city, "login_failed", username="li", remote_addr="10.0.0.9", now=t0)
    audit.record(city, "login_ok", username="li", now=dt.datetime(2026, 10, 30))
    rows = audit.entries(city, since=dt.date(2026, 11, 1))
    assert len(rows) == 4
    assert len(audit.entries(city, since=dt.date(2026, 11, 1), username="zhang")) == 3
    refused = audit.entries(city, since=dt.date(2026, 11, 1), action="refused").iloc[0]
    assert len(refused.unit_code) == 20 and len(refused.detail) == 2000
    assert audit.entries(city, until=dt.date(2026, 10, 30)).action.tolist() == ["login_ok"]
    assert audit.failures_from(city, "10.0.0.9", t0 - dt.timedelta(minutes=1)) == 1
    table = audit.format_table(rows)
    assert "login_failed" in table and "10.0.0.9" in table


# ---- scope ------------------------------------------------------------------------------------
def _services(engine: sa.Engine, who: auth.Principal | None) -> Services:
    return Services(
        repo=Repository(engine),
        title="t",
        data_source="t",
        is_demo=False,
        current_user=lambda: who,
        small_count_threshold=3,
    )


def test_sec008_authorize_unit_allows_the_scope_and_below(city: sa.Engine) -> None:
    services = _services(city, auth.Principal("zhang", "leader", DIST_A, remote_addr="10.1.1.1"))
    assert scope.authorize_unit(services, DIST_A) == DIST_A
    assert scope.authorize_unit(services, TOWN_A) == TOWN_A
    assert scope.user_root(services) == DIST_A
    assert _audit_rows(city, "refused") == []


@pytest.mark.parametrize("requested", [CITY, DIST_B, "999999", "", None, {"x": 1}, [DIST_A]])
def test_sec009_authorize_unit_refuses_and_audits(city: sa.Engine, requested: object) -> None:
    services = _services(city, auth.Principal("zhang", "leader", DIST_A, remote_addr="10.1.1.1"))
    with pytest.raises(scope.ScopeRefused):
        scope.authorize_unit(services, requested)
    (row,) = _audit_rows(city, "refused")
    assert row["username"] == "zhang" and row["remote_addr"] == "10.1.1.1"
    assert row["unit_code"] == (requested if isinstance(requested, str) and requested else None)


def test_sec010_nobody_signed_in_is_refused(city: sa.Engine) -> None:
    services = _services(city, None)
    with pytest.raises(scope.ScopeRefused):
        scope.authorize_unit(services, CITY)
    with pytest.raises(scope.ScopeRefused):
        scope.user_root(services)
    # Services built without current_user fail closed too.
    bare = Services(repo=Repository(city), title="t", data_source="t", is_demo=False)
    with pytest.raises(scope.ScopeRefused):
        scope.authorize_unit(bare, CITY)


def test_sec011_clamp_view_and_export(city: sa.Engine) -> None:
    services = _services(city, auth.Principal("zhang", "leader", DIST_A))
    assert scope.clamp_unit(services, DIST_B) == DIST_A  # audited, then the user's own unit
    assert scope.clamp_unit(services, None) == DIST_A
    scope.record_view(services, DIST_A)
    scope.record_view(services, DIST_A)  # a repeat within a minute is not a new row
    assert scope.authorize_export(services, TOWN_A, "简报 PPTX") == TOWN_A
    actions = [r["action"] for r in _audit_rows(city)]
    assert actions == ["refused", "view", "export"]

    screen = _services(city, auth.Principal("screen:1", "duty", DIST_A, read_only=True, token_id=1))
    with pytest.raises(scope.ScopeRefused):
        scope.authorize_export(screen, DIST_A, "Excel")
    assert _audit_rows(city)[-1]["detail"].startswith("export by read-only")


def test_sec012_small_counts_are_suppressed_where_shared(city: sa.Engine) -> None:
    assert [suppress_small(v, 3) for v in (0, 1, 2, 3, 2.0, None)] == [
        "0",
        "<3",
        "<3",
        "3",
        "<3",
        "-",
    ]
    assert suppress_small(2, 0) == "2" and suppress_small(12.5, 3) == "12.5"
    leader = _services(city, auth.Principal("zhang", "leader", DIST_A))
    screen = _services(city, auth.Principal("screen:1", "duty", DIST_A, read_only=True, token_id=1))
    assert scope.shown_count(leader, 2) == "2"
    assert scope.shown_count(leader, 2, shared=True) == "<3"
    assert scope.shown_count(screen, 2) == "<3"
