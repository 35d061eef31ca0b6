"""The security layer over HTTP (Flask test client): sign-in wall, sessions, CSRF, headers,
crafted callback requests, screen tokens, lockout and the audit rows each case leaves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sec_helpers import (
    CITY,
    DISTRICT_A,
    DISTRICT_B,
    Ids,
    build_secured_app,
    csrf_from,
    make_settings,
    post_callback,
    sign_in,
)

from data import audit, auth, db, schema

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _actions(engine: sa.Engine) -> list[str]:
    return audit.entries(engine).action.tolist()


def _last(engine: sa.Engine, action: str) -> dict:
    rows = audit.entries(engine, action=action)
    assert not rows.empty, f"no {action} row"
    return rows.iloc[-1].to_dict()


@pytest.fixture
def district_user(demo_engine: sa.Engine) -> str:
    auth.create_user(demo_engine, "linquan", "linquan-pass-1", role="leader", scope_code=DISTRICT_A)
    return "linquan"


# ---- the sign-in wall -----------------------------------------------------------------------
def test_sech001_everything_needs_a_session_except_the_sign_in_page(app_factory) -> None:
    client = app_factory().server.test_client()
    page = client.get("/some/page?unit=359802")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=%2Fsome%2Fpage%3Funit%3D359802"
    for path in ("/_dash-layout", "/_dash-dependencies", "/_shiyu/glyphs/a/0-255.pbf"):
        assert client.get(path).status_code == 401, path
    assert post_callback(client, CITY).status_code == 401
    assert client.get("/login").status_code == 200
    assert client.get("/assets/vendor/bootstrap.min.css").status_code == 200
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    assert client.get("/_dash-component-suites/dash/deps/polyfill@7.12.1.min.js").status_code in (
        302,
        401,
    )


def test_sech002_sign_in_ok_and_failed_are_audited(app_factory, demo_engine) -> None:
    client = app_factory().server.test_client()
    bad = sign_in(client, "demo", "wrong")
    assert bad.status_code == 200 and "用户名或密码错误" in bad.get_data(as_text=True)
    assert _last(demo_engine, "login_failed")["username"] == "demo"
    unknown = sign_in(client, "nosuchuser", "whatever")
    # The same answer whether or not the account exists.
    assert unknown.status_code == 200 and "用户名或密码错误" in unknown.get_data(as_text=True)
    assert audit.entries(demo_engine, action="login_failed").detail.tolist() == ["bad", "bad"]
    ok = sign_in(client, "demo", "demo", next="/?unit=359802")
    assert ok.status_code == 302 and ok.headers["Location"] == "/?unit=359802"
    row = _last(demo_engine, "login_ok")
    assert row["username"] == "demo" and row["unit_code"] == CITY
    assert row["remote_addr"] == "127.0.0.1"
    assert client.get("/").status_code == 200
    # Already signed in: the page says so and lets the next person switch accounts.
    again = client.get("/login")
    assert again.status_code == 200 and "当前已登录" in again.get_data(as_text=True)


def test_sech003_next_cannot_leave_the_site(app_factory) -> None:
    client = app_factory().server.test_client()
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:1"):
        response = sign_in(client, next=target)
        assert response.headers["Location"] == "/", target
        client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
        client = client.application.test_client()


def test_sech004_cookie_flags(app_factory) -> None:
    client = app_factory().server.test_client()
    cookie = sign_in(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


# ---- CSRF and origin ------------------------------------------------------------------------
def test_sech005_csrf_missing_or_wrong_is_400(app_factory, demo_engine) -> None:
    client = app_factory().server.test_client()
    client.get("/login")
    missing = client.post("/login", data={"username": "demo", "password": "demo"})
    wrong = client.post(
        "/login", data={"username": "demo", "password": "demo", "csrf_token": "forged"}
    )
    assert missing.status_code == 400 and wrong.status_code == 400
    assert "login_ok" not in _actions(demo_engine)
    # Without a session there is no token to match at all.
    fresh = app_factory().server.test_client()
    assert fresh.post("/login", data={"csrf_token": ""}).status_code == 400
    # Sign-out is a form too.
    sign_in(client)
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    token = csrf_from(client.get("/logout").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert _actions(demo_engine)[-1] == "logout"
    assert post_callback(client, CITY).status_code == 401


def test_sech006_cross_origin_callback_posts_are_refused(app_factory) -> None:
    client = app_factory().server.test_client()
    sign_in(client)
    assert post_callback(client, CITY, Origin="http://localhost").status_code == 200
    assert post_callback(client, CITY, Origin="https://evil.example").status_code == 403
    assert post_callback(client, CITY, Origin="null").status_code == 403
    assert post_callback(client, CITY, Referer="https://evil.example/page").status_code == 403
    # A form-encoded (no-preflight) POST to the callback route needs the CSRF token.
    plain = client.post("/_dash-update-component", data="{}", content_type="text/plain")
    assert plain.status_code == 400


# ---- crafted callback requests ----------------------------------------------------------------
def test_sech007_crafted_callback_outside_the_scope_is_403_and_audited(
    app_factory, demo_engine, district_user
) -> None:
    client = app_factory().server.test_client()
    sign_in(client, district_user, "linquan-pass-1")
    ok = post_callback(client, DISTRICT_A)
    assert ok.status_code == 200
    assert ok.get_json()["response"][Ids.OUT]["children"] == "临泉区"
    view = _last(demo_engine, "view")
    assert view["username"] == district_user and view["unit_code"] == DISTRICT_A
    for crafted in (DISTRICT_B, CITY, "' OR 1=1 --", {"code": CITY}):
        refused = post_callback(client, crafted)
        assert refused.status_code == 403, crafted
        assert "response" not in refused.get_json()
        assert refused.get_json()["error"] == "scope"
    rows = audit.entries(demo_engine, action="refused")
    assert len(rows) == 4
    assert rows.iloc[0].to_dict() | {"id": 0, "at": 0} == {
        "id": 0,
        "at": 0,
        "username": district_user,
        "action": "refused",
        "unit_code": DISTRICT_B,
        "remote_addr": "127.0.0.1",
        "detail": f"scope {DISTRICT_A}; requested '{DISTRICT_B}'",
    }


def test_sech008_views_are_audited_once_per_minute(app_factory, demo_engine) -> None:
    client = app_factory().server.test_client()
    sign_in(client)
    for _ in range(3):
        assert post_callback(client, DISTRICT_A).status_code == 200
    post_callback(client, DISTRICT_B)
    views = audit.entries(demo_engine, action="view")
    assert views.unit_code.tolist() == [DISTRICT_A, DISTRICT_B]


# ---- sessions end when the account changes ----------------------------------------------------
def test_sech009_disabling_or_new_password_ends_sessions(
    app_factory, demo_engine, district_user
) -> None:
    app = app_factory()
    client = app.server.test_client()
    sign_in(client, district_user, "linquan-pass-1")
    assert post_callback(client, DISTRICT_A).status_code == 200
    auth.set_password(demo_engine, district_user, "linquan-pass-2")
    assert post_callback(client, DISTRICT_A).status_code == 401
    sign_in(client, district_user, "linquan-pass-2")
    assert post_callback(client, DISTRICT_A).status_code == 200
    auth.set_disabled(demo_engine, district_user)
    assert post_callback(client, DISTRICT_A).status_code == 401
    refused = sign_in(client, district_user, "linquan-pass-2")
    assert refused.status_code == 200 and "已停用" in refused.get_data(as_text=True)
    assert post_callback(client, DISTRICT_A).status_code == 401


def test_sech010_session_lifetime_is_absolute(app_factory, monkeypatch) -> None:
    client = app_factory(session_hours=1).server.test_client()
    sign_in(client)
    assert post_callback(client, CITY).status_code == 200
    import time as time_module

    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 3601)
    assert post_callback(client, CITY).status_code == 401


# ---- brute force ------------------------------------------------------------------------------
def test_sech011_lockout_after_five_failures_even_with_the_right_password(
    app_factory, demo_engine
) -> None:
    client = app_factory().server.test_client()
    codes = [sign_in(client, "demo", f"wrong-{i}").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    locked = sign_in(client, "demo", "demo")
    assert locked.status_code == 429 and "锁定" in locked.get_data(as_text=True)
    assert post_callback(client, CITY).status_code == 401
    assert _actions(demo_engine).count("login_locked") == 2
    assert "login_ok" not in _actions(demo_engine)
    # The lock lifts after its time (here: moved into the past).
    with demo_engine.begin() as conn:
        conn.execute(
            sa.update(schema.users).values(locked_until=dt.datetime.now() - dt.timedelta(seconds=1))
        )
    assert sign_in(client, "demo", "demo").status_code == 302


def test_sech012_per_address_back_off(app_factory, demo_engine) -> None:
    client = app_factory(login_ip_max_failures=3).server.test_client()
    for name in ("a", "b", "c"):  # three different accounts: no account lockout involved
        assert "用户名或密码错误" in sign_in(client, name, "x").get_data(as_text=True)
    throttled = sign_in(client, "demo", "demo")
    assert throttled.status_code == 429 and "过于频繁" in throttled.get_data(as_text=True)
    assert _last(demo_engine, "login_failed")["detail"] == "address back-off"


# ---- screen tokens ----------------------------------------------------------------------------
def test_sech013_screen_token_signs_in_read_only_within_its_scope(app_factory, demo_engine) -> None:
    token, secret = auth.create_token(
        demo_engine, label="指挥大厅", scope_code=DISTRICT_A, created_by="t", days=7
    )
    client = app_factory().server.test_client()
    opened = client.get(f"/screen?token={secret}&theme=dark")
    assert opened.status_code == 302 and opened.headers["Location"] == "/screen?theme=dark"
    row = _last(demo_engine, "token_use")
    assert row["username"] == f"screen:{token.id}" and row["unit_code"] == DISTRICT_A
    assert secret not in str(audit.entries(demo_engine).to_dict("records"))
    assert post_callback(client, DISTRICT_A).status_code == 200
    assert post_callback(client, CITY).status_code == 403
    assert _last(demo_engine, "refused")["username"] == f"screen:{token.id}"
    # Revoked while the wall browser is running: its next callback is refused.
    auth.revoke_token(demo_engine, token.id)
    assert post_callback(client, DISTRICT_A).status_code == 401
    assert _last(demo_engine, "token_refused")["detail"].startswith("revoked")


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown"])
def test_sech014_expired_or_revoked_tokens_are_403_and_audited(
    app_factory, demo_engine, state: str
) -> None:
    token, secret = auth.create_token(
        demo_engine, label="大屏", scope_code=CITY, created_by="t", days=1
    )
    if state == "expired":
        with demo_engine.begin() as conn:
            conn.execute(
                sa.update(schema.screen_tokens).values(
                    expires_at=dt.datetime.now() - dt.timedelta(minutes=1)
                )
            )
    elif state == "revoked":
        auth.revoke_token(demo_engine, token.id)
    else:
        secret = "not-a-token"
    client = app_factory().server.test_client()
    refused = client.get(f"/?token={secret}")
    assert refused.status_code == 403
    assert refused.headers["X-Frame-Options"] == "DENY"
    assert _last(demo_engine, "token_refused")["detail"].startswith(state)
    assert post_callback(client, CITY).status_code == 401


# ---- headers and errors -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/login", "/", "/assets/vendor/bootstrap.min.css", "/_dash-layout", "/healthz"]
)
def test_sech015_security_headers_everywhere(app_factory, path: str) -> None:
    client = app_factory().server.test_client()
    anonymous = client.get(path)  # refusals and redirects carry the headers too
    assert anonymous.headers["X-Frame-Options"] == "DENY", anonymous.status_code
    if path != "/login":
        sign_in(client)
    response = client.get(path)
    assert response.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-eval'" not in csp and "script-src 'self' 'sha256-" in csp
    if path in ("/", "/_dash-layout", "/login"):
        assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


def test_sech016_demo_hint_only_on_the_demo(app_factory, demo_engine) -> None:
    assert "login-demo-hint" in app_factory().server.test_client().get("/login").get_data(
        as_text=True
    )
    with demo_engine.begin() as conn:
        db.set_meta(conn, {"source": "import"})
    page = app_factory().server.test_client().get("/login").get_data(as_text=True)
    assert "login-demo-hint" not in page and "demo" not in page


def test_sech017_tile_server_origin_is_allowed_for_images_only(app_factory) -> None:
    app = app_factory(tiles_url="http://tiles.intra:8080/{z}/{x}/{y}.png")
    csp = app.server.test_client().get("/login").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: http://tiles.intra:8080" in csp
    assert "connect-src 'self' http://tiles.intra:8080" in csp
    assert (
        "script-src 'self' 'sha" in csp
        and "tiles.intra" not in csp.split("script-src")[1].split(";")[0]
    )


# ---- production mode --------------------------------------------------------------------------
SECRET = "k" * 40


def _prod(tmp_path: Path, demo_url: str, engine: sa.Engine, **changes: object):
    settings = make_settings(tmp_path, demo_url, production=True, **changes)
    return build_secured_app(settings, engine)


def test_sech018_production_refuses_without_secret_or_users(
    tmp_path, demo_url, demo_engine
) -> None:
    from dashboard.settings import SettingsError

    with pytest.raises(SettingsError, match="SHIYU_SECRET_KEY"):
        _prod(tmp_path, demo_url, demo_engine)
    with pytest.raises(SettingsError, match="at least"):
        _prod(tmp_path, demo_url, demo_engine, secret_key="short")
    with pytest.raises(SettingsError, match="SHIYU_DEBUG"):
        _prod(tmp_path, demo_url, demo_engine, secret_key=SECRET, debug=True)
    with pytest.raises(db.DatabaseError, match="demo account"):
        _prod(tmp_path, demo_url, demo_engine, secret_key=SECRET)
    auth.set_disabled(demo_engine, "demo")
    with pytest.raises(db.DatabaseError, match="no enabled user"):
        _prod(tmp_path, demo_url, demo_engine, secret_key=SECRET)
    auth.create_user(demo_engine, "admin", "admin-pass-1", role="admin", scope_code=CITY)
    app = _prod(tmp_path, demo_url, demo_engine, secret_key=SECRET)
    client = app.server.test_client()
    login = client.get("/login")
    assert login.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "__Host-shiyu=" in login.headers["Set-Cookie"]
    assert "Secure" in login.headers["Set-Cookie"]


def test_sech019_production_errors_show_no_trace(tmp_path, demo_url, demo_engine) -> None:
    auth.set_disabled(demo_engine, "demo")
    auth.create_user(demo_engine, "admin", "admin-pass-1", role="admin", scope_code=CITY)
    app = _prod(tmp_path, demo_url, demo_engine, secret_key=SECRET)

    def boom() -> str:
        raise RuntimeError("secret detail: connection string postgresql://u:p@db")

    app.server.add_url_rule("/boom", "boom", boom)
    client = app.server.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # Secure cookies need TLS
    sign_in(client, "admin", "admin-pass-1")
    page = client.get("/boom", base_url="https://localhost")
    text = page.get_data(as_text=True)
    assert page.status_code == 500 and "服务器内部错误" in text
    assert "Traceback" not in text and "secret detail" not in text
    assert page.headers["X-Frame-Options"] == "DENY"


def test_sech020_dev_secret_is_random_per_instance_and_kept(
    tmp_path, demo_url, demo_engine
) -> None:
    first = _secret_of(build_secured_app(make_settings(tmp_path, demo_url), demo_engine))
    again = _secret_of(build_secured_app(make_settings(tmp_path, demo_url), demo_engine))
    other = make_settings(tmp_path / "other", demo_url)
    elsewhere = _secret_of(build_secured_app(other, demo_engine))
    assert first == again != elsewhere and len(first) >= 32
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0


def _secret_of(app) -> str:  # noqa: ANN001
    return app.server.secret_key


def test_sech021_a_second_dash_app_on_the_server_is_covered(app_factory) -> None:
    from dash import Dash, Input, Output, dcc, html

    from dashboard.security import protect_dash_app

    app = app_factory()
    second = Dash(__name__, server=app.server, url_base_pathname="/second/", serve_locally=True)
    second.layout = html.Div([dcc.Input(id="in"), html.Div(id="out")])
    second.clientside_callback(
        "function(v) { return v; }", Output("out", "children"), Input("in", "value")
    )
    protect_dash_app(second)
    client = app.server.test_client()
    assert client.get("/second/").status_code == 302
    assert client.get("/second/_dash-layout").status_code == 401
    body = '{"output": "out.children", "outputs": {"id": "out", "property": "children"}, "inputs": [{"id": "in", "property": "value", "value": "x"}], "changedPropIds": ["in.value"], "state": []}'
    unsigned = client.post(
        "/second/_dash-update-component", data=body, content_type="application/json"
    )
    assert unsigned.status_code == 401
    sign_in(client)
    page = client.get("/second/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert all(h in csp for h in second.csp_hashes())  # the inline clientside callback too


def test_sech022_the_wall_screen_is_declared_to_the_security(demo_url, tmp_path) -> None:
    # The screen app shares the dashboard's server; its inline scripts join the CSP only when
    # it is declared, so a clientside callback written inline on the screen would be blocked.
    from dashboard.app import create_app
    from dashboard.screen_app import SCREEN_PATH
    from dashboard.security import EXTENSION_KEY
    from dashboard.settings import Settings

    app = create_app(Settings(instance_path=tmp_path / "inst", database_url=demo_url))
    security = app.server.extensions[EXTENSION_KEY]
    screens = [a for a in security.dash_apps if a.config.url_base_pathname == SCREEN_PATH]
    assert len(screens) == 1 and security.dash_apps[0] is app
    client = app.server.test_client()
    sign_in(client)
    csp = client.get(SCREEN_PATH).headers["Content-Security-Policy"]
    assert all(h in csp for h in screens[0].csp_hashes())


def test_sech030_callback_answers_carry_the_servers_own_time(app_factory) -> None:
    client = app_factory().server.test_client()
    sign_in(client)
    answer = post_callback(client, CITY)
    assert answer.status_code == 200
    name, _, duration = answer.headers["Server-Timing"].partition(";dur=")
    assert name == "app" and float(duration) > 0
