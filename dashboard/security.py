"""Sign-in, sessions, screen tokens, CSRF, security headers and error pages for the Flask server.

:func:`init_security` is called by the app factory right after the Dash app is created. From
then on every request passes :meth:`Security.guard` first:

* ``GET …?token=…`` on any page signs a wall browser in with a big-screen token (read-only,
  bound to the token's scope) and redirects to the same page without the token, so the token
  does not stay in the address bar, the history or a Referer.
* The session (a signed cookie) names a user or a screen token; both are re-read from the
  database on every request, so disabling a user, changing a password or revoking a token
  takes effect at the next callback, not when the cookie expires.
* Unsafe methods (POST…): JSON bodies — Dash's ``/_dash-update-component`` — must come from
  our own origin when the browser says where they come from (``Origin``/``Referer``); a
  cross-site page cannot send ``application/json`` without a CORS preflight we never answer,
  and SameSite=Lax keeps the cookie off cross-site POSTs anyway. Every other body (HTML forms)
  must carry the session's CSRF token, or the request gets 400.
* Everything except the sign-in page, its stylesheet, the favicon and ``/healthz`` needs a
  session: pages redirect to ``/login``, Dash's JSON routes get 401.

Which *unit* a principal may see is decided in :mod:`callbacks.scope` on every callback;
:class:`data.auth.ScopeRefused` raised there becomes a 403 here.

The Content-Security-Policy allows only the app's own origin. Dash's one inline script (the
renderer bootstrap, plus any clientside callback) is allowed by hash (``Dash.csp_hashes``);
the config block is ``type="application/json"`` and never executes. Plotly injects ``<style>``
elements, hence ``style-src 'unsafe-inline'``; MapLibre runs its workers from ``blob:`` URLs
and draws tiles through ``blob:`` images.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import flask
import sqlalchemy as sa
from dash import Dash
from flask import g, request, session
from werkzeug.exceptions import HTTPException

from dashboard.settings import Settings, SettingsError
from data import audit, auth, db
from data.repository import Repository
from layouts import login as pages

__all__ = ["Security", "current_principal", "init_security", "protect_dash_app"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "shiyu.security"
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
HEALTH_PATH = "/healthz"
#: Reachable without a session: the sign-in page (GET and POST), what it loads, a health probe.
PUBLIC_PATHS = frozenset(
    {LOGIN_PATH, HEALTH_PATH, "/_favicon.ico", "/assets/vendor/bootstrap.min.css"}
)
#: Paths fetched by scripts, which get 401 JSON instead of a redirect to the sign-in page.
#: Dash's routes are matched anywhere in the path: a second Dash app (the wall screen) serves
#: them under its own prefix, e.g. ``/screen/_dash-update-component``.
_SCRIPT_MARKERS = ("/_dash-", "/_reload-hash")
_SCRIPT_PREFIXES = ("/_shiyu/",)
_DASH_CALLBACK_SUFFIX = "/_dash-update-component"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MIN_SECRET_LENGTH = 24


def current_principal() -> auth.Principal | None:
    """Who the current request runs as (None outside a request or when not signed in).

    Handed to callbacks as ``Services.current_user``; reads only per-request state.
    """
    if not flask.has_request_context():
        return None
    return g.get("shiyu_principal")


def protect_dash_app(dash_app: Dash) -> None:
    """Declare a second Dash app on an already secured server (e.g. the wall screen).

    The sign-in wall and headers cover it anyway (they hang on the Flask server); this adds
    its inline scripts' hashes to the Content-Security-Policy.
    """
    security = dash_app.server.extensions.get(EXTENSION_KEY)
    if security is None:
        raise RuntimeError("init_security() must run on the server first")
    security.add_dash_app(dash_app)


def init_security(app: Dash, settings: Settings, engine: sa.Engine) -> Security:
    """Put sign-in, sessions and hardening in front of ``app``'s Flask server.

    Raises
    ------
    SettingsError
        Production without ``SHIYU_SECRET_KEY`` (or with a short one), or with debug on.
    data.db.DatabaseError
        Production with no enabled account, or with the demo account's well-known password.
    """
    return Security(app, settings, engine)


class Security:
    """The per-app security state: settings, engine and the routes and hooks it registered."""

    def __init__(self, app: Dash, settings: Settings, engine: sa.Engine) -> None:
        self.dash_apps: list[Dash] = [app]
        self.settings = settings
        self.engine = engine
        self.policy = auth.LockoutPolicy(settings.login_max_failures, settings.login_lock_minutes)
        auth.ensure_tables(engine)
        if settings.production:
            _check_production(settings, engine)
        with engine.connect() as conn:
            self.is_demo = db.get_meta(conn, "source") == "demo"
        if (
            self.is_demo
            and not settings.production
            and auth.count_users(engine, enabled_only=False) == 0
        ):
            # A demo database built before accounts existed: give it its documented account.
            from data.demo.build import ensure_demo_account

            ensure_demo_account(engine, Repository(engine).root().code)
        # Computed at the first response, once every (clientside) callback is registered.
        self._csp: str | None = None

        server = app.server
        server.secret_key = settings.secret_key or _instance_secret(settings.instance_path)
        server.config.update(
            # The __Host- prefix makes the browser refuse the cookie unless it is Secure,
            # host-only and for path /, so a sibling intranet host cannot plant one.
            SESSION_COOKIE_NAME="__Host-shiyu" if settings.production else "shiyu_session",
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=settings.production,
            PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
            PROPAGATE_EXCEPTIONS=False,
        )
        if settings.trusted_proxies > 0:
            from werkzeug.middleware.proxy_fix import ProxyFix

            n = settings.trusted_proxies
            server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

        server.add_url_rule(LOGIN_PATH, "shiyu_login", self.login, methods=["GET", "POST"])
        server.add_url_rule(LOGOUT_PATH, "shiyu_logout", self.logout, methods=["GET", "POST"])
        server.add_url_rule(HEALTH_PATH, "shiyu_health", self.health, methods=["GET"])
        server.before_request(self.guard)
        server.after_request(self.add_headers)
        server.register_error_handler(auth.ScopeRefused, self._scope_refused)
        if settings.production:
            server.register_error_handler(Exception, self._plain_error)
        server.extensions[EXTENSION_KEY] = self

    def add_dash_app(self, dash_app: Dash) -> None:
        """Cover another Dash app mounted on the same server (its inline scripts join the CSP)."""
        if dash_app.server is not self.dash_apps[0].server:
            raise ValueError("the Dash app must share the secured Flask server")
        self.dash_apps.append(dash_app)
        self._csp = None

    # ---- the gate ---------------------------------------------------------------------------
    def guard(self) -> flask.typing.ResponseReturnValue | None:
        """Runs before every request: token sign-in, session, CSRF/origin checks, sign-in wall."""
        g.shiyu_started = time.perf_counter()
        g.shiyu_principal = None
        if request.method == "GET" and "token" in request.args:
            return self._token_sign_in()
        g.shiyu_principal = self._load_principal()
        if request.method not in _SAFE_METHODS:
            refusal = self._check_unsafe_request()
            if refusal is not None:
                return refusal
        if request.path in PUBLIC_PATHS or g.shiyu_principal is not None:
            return None
        if _is_script_path(request.path) or request.is_json:
            return flask.jsonify(error="unauthenticated", message="请先登录 / sign in first"), 401
        if request.method == "GET":
            target = request.full_path if request.query_string else request.path
            return flask.redirect(f"{LOGIN_PATH}?{urlencode({'next': target})}")
        return flask.Response("请先登录 / sign in first", 401, mimetype="text/plain")

    def _load_principal(self) -> auth.Principal | None:
        kind = session.get("kind")
        if kind is None:
            return None
        addr = request.remote_addr
        if kind == "user":
            user = auth.get_user(self.engine, str(session.get("user", "")))
            if (
                user is None
                or user.disabled
                or user.password_stamp != session.get("pw")
                or time.time() > float(session.get("exp", 0))
            ):
                session.clear()
                return None
            return user.principal(addr)
        if kind == "screen":
            token = auth.get_token(self.engine, int(session.get("tid", 0)))
            reason = "unknown" if token is None else token.refusal(dt.datetime.now())
            if token is None or reason:
                audit.record(
                    self.engine,
                    "token_refused",
                    username=f"screen:{session.get('tid')}",
                    detail=f"{reason}: session ended",
                    remote_addr=addr,
                )
                session.clear()
                return None
            return token.principal(addr)
        session.clear()
        return None

    def _check_unsafe_request(self) -> flask.typing.ResponseReturnValue | None:
        if not self._same_origin():
            return _plain("跨站请求被拒绝 / cross-origin request refused", 403)
        if request.is_json and request.path.endswith(_DASH_CALLBACK_SUFFIX):
            return None  # Origin checked above; cross-site JSON needs a CORS preflight
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get("csrf") or ""
        if not expected or not hmac.compare_digest(str(sent), str(expected)):
            return _plain("请求已过期或无效，请刷新页面后重试 / missing or wrong CSRF token", 400)
        return None

    def _same_origin(self) -> bool:
        source = request.headers.get("Origin") or request.headers.get("Referer")
        if source is None:
            return True  # not every client sends them; the CSRF token still applies
        if source == "null":
            return False  # sandboxed frames, data: URLs: never our own pages
        parts = urlsplit(source)
        return parts.netloc == request.host and parts.scheme == request.scheme

    # ---- screen tokens ------------------------------------------------------------------------
    def _token_sign_in(self) -> flask.typing.ResponseReturnValue:
        addr = request.remote_addr
        session.clear()
        try:
            token = auth.resolve_token(self.engine, request.args.get("token", ""))
        except auth.TokenRefused as exc:
            audit.record(
                self.engine,
                "token_refused",
                detail=f"{exc.reason}: {request.path}",
                remote_addr=addr,
            )
            why = {"expired": "已过期", "revoked": "已撤销"}.get(exc.reason, "无效")
            return self._message(
                "大屏令牌被拒绝", f"该大屏访问令牌{why}，请联系管理员重新发放。", status=403
            )
        session.permanent = True
        session.update(kind="screen", tid=token.id, csrf=secrets.token_urlsafe(32))
        audit.record(
            self.engine,
            "token_use",
            username=f"screen:{token.id}",
            unit_code=token.scope_code,
            detail=token.label,
            remote_addr=addr,
        )
        rest = request.args.to_dict(flat=False)
        rest.pop("token", None)
        return flask.redirect(request.path + (f"?{urlencode(rest, doseq=True)}" if rest else ""))

    # ---- sign-in and sign-out ----------------------------------------------------------------
    def login(self) -> flask.typing.ResponseReturnValue:
        next_path = _safe_next(request.values.get("next", "/"))
        if request.method == "GET":
            notice = "您已退出登录。" if request.args.get("bye") else ""
            who = g.shiyu_principal
            if who is not None:
                # Shown anyway (not redirected): on a shared duty PC the next person signs in
                # over the previous session, which is replaced as a whole.
                notice = f"当前已登录：{who.display_name or who.username}。重新登录将切换账户。"
            return self._login_page(next_path, notice=notice)
        addr = request.remote_addr
        username = request.form.get("username", "").strip()[:64]
        password = request.form.get("password", "")
        window_start = dt.datetime.now() - dt.timedelta(minutes=self.settings.login_lock_minutes)
        if audit.failures_from(self.engine, addr, window_start) >= (
            self.settings.login_ip_max_failures
        ):
            audit.record(
                self.engine,
                "login_failed",
                username=username or None,
                detail="address back-off",
                remote_addr=addr,
            )
            error = "登录尝试过于频繁，请稍后再试。"
            return self._login_page(next_path, username, error, status=429)
        result = auth.authenticate(self.engine, username, password, policy=self.policy)
        if result.ok and result.user is not None:
            user = result.user
            # A fresh session (and CSRF token) at sign-in: nothing from before survives.
            session.clear()
            session.permanent = True
            session.update(
                kind="user",
                user=user.username,
                pw=user.password_stamp,
                exp=time.time() + self.settings.session_hours * 3600,
                csrf=secrets.token_urlsafe(32),
            )
            audit.record(
                self.engine,
                "login_ok",
                username=user.username,
                unit_code=user.scope_code,
                remote_addr=addr,
            )
            return flask.redirect(next_path)
        action = "login_locked" if result.outcome == "locked" else "login_failed"
        audit.record(
            self.engine, action, username=username or None, detail=result.outcome, remote_addr=addr
        )
        if result.outcome == "locked":
            until = result.locked_until.strftime("%H:%M") if result.locked_until else ""
            error = f"密码错误次数过多，账户已临时锁定（至 {until}），请稍后再试。"
            return self._login_page(next_path, username, error, status=429)
        # A wrong password re-renders the form with 200, like any form error: the audit row and
        # the lockout carry the meaning, and the browser console stays free of HTTP errors.
        if result.outcome == "disabled":
            return self._login_page(next_path, username, "该账户已停用，请联系管理员。")
        return self._login_page(next_path, username, "用户名或密码错误。")

    def logout(self) -> flask.typing.ResponseReturnValue:
        principal = g.shiyu_principal
        if request.method == "GET":
            # A confirmation form: a plain link elsewhere cannot sign anyone out.
            who = principal.display_name or principal.username
            return self._html(
                pages.render_logout(
                    title=self.settings.title, csrf_token=self._csrf_token(), who=who
                )
            )
        audit.record(
            self.engine, "logout", username=principal.username, remote_addr=request.remote_addr
        )
        session.clear()
        return flask.redirect(f"{LOGIN_PATH}?bye=1")

    def health(self) -> flask.typing.ResponseReturnValue:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            log.exception("health check: database unreachable")
            return _plain("database unreachable", 503)
        return _plain("ok", 200)

    def _login_page(
        self,
        next_path: str,
        username: str = "",
        error: str = "",
        *,
        notice: str = "",
        status: int = 200,
    ) -> flask.Response:
        html = pages.render_login(
            title=self.settings.title,
            csrf_token=self._csrf_token(),
            next_path=next_path,
            username=username,
            error=error,
            notice=notice,
            demo=self.is_demo,
        )
        return self._html(html, status)

    @staticmethod
    def _csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    # ---- responses ------------------------------------------------------------------------------
    def _html(self, html: str, status: int = 200) -> flask.Response:
        return flask.Response(html, status, mimetype="text/html")

    def _message(self, heading: str, message: str, *, status: int) -> flask.Response:
        html = pages.render_message(
            title=self.settings.title,
            heading=heading,
            message=message,
            link=LOGIN_PATH,
            link_text="返回登录页",
        )
        return self._html(html, status)

    def content_security_policy(self) -> str:
        if self._csp is None:
            tiles = _origin(self.settings.tiles_url)
            extra = f" {tiles}" if tiles else ""
            hashes = " ".join(sorted({h for a in self.dash_apps for h in a.csp_hashes()}))
            self._csp = "; ".join(
                [
                    "default-src 'self'",
                    f"script-src 'self' {hashes}",
                    "style-src 'self' 'unsafe-inline'",
                    f"img-src 'self' data: blob:{extra}",
                    "font-src 'self' data:",
                    f"connect-src 'self'{extra}",
                    "worker-src 'self' blob:",
                    "child-src 'self' blob:",
                    "object-src 'none'",
                    "base-uri 'self'",
                    "form-action 'self'",
                    "frame-ancestors 'none'",
                ]
            )
        return self._csp

    def add_headers(self, response: flask.Response) -> flask.Response:
        """Security headers on every response, assets and errors included."""
        headers = response.headers
        headers["Content-Security-Policy"] = self.content_security_policy()
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if self.settings.production:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        started = g.get("shiyu_started")
        if started is not None:
            # The server's own time, so a slow answer can be told from a slow network (devtools
            # shows it; the benchmark sums it per interaction).
            headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        if response.mimetype in ("text/html", "application/json"):
            # Pages and callback answers hold jurisdiction data: not for shared disk caches.
            headers["Cache-Control"] = "no-store"
        return response

    def _scope_refused(self, exc: auth.ScopeRefused) -> flask.typing.ResponseReturnValue:
        # Already audited by callbacks.scope; the browser only learns "not yours".
        return flask.jsonify(
            error="scope", message="无权查看该单位 / outside your jurisdiction"
        ), 403

    def _plain_error(self, exc: Exception) -> flask.typing.ResponseReturnValue:
        if isinstance(exc, HTTPException):
            return exc
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        if _is_script_path(request.path) or request.is_json:
            return flask.jsonify(error="server", message="服务器内部错误，请联系管理员"), 500
        return self._html(
            pages.render_message(
                title=self.settings.title,
                heading="出错了",
                message="服务器内部错误，请稍后重试或联系管理员。",
                link="/",
                link_text="返回首页",
            ),
            500,
        )


# ---- helpers ----------------------------------------------------------------------------------
def _is_script_path(path: str) -> bool:
    return path.startswith(_SCRIPT_PREFIXES) or any(m in path for m in _SCRIPT_MARKERS)


def _plain(text: str, status: int) -> flask.Response:
    return flask.Response(text, status, mimetype="text/plain")


def _safe_next(value: str) -> str:
    """Only same-site paths: ``next=//evil.example`` must not turn sign-in into a redirector."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or "\\" in value
        or urlsplit(value).netloc
        or value.startswith((LOGIN_PATH, LOGOUT_PATH))
    ):
        return "/"
    return value


def _origin(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _check_production(settings: Settings, engine: sa.Engine) -> None:
    if settings.debug:
        raise SettingsError(
            "生产模式不能开启调试 / SHIYU_DEBUG must be off when SHIYU_PRODUCTION is on"
        )
    if not settings.secret_key:
        raise SettingsError(
            "生产模式必须设置 SHIYU_SECRET_KEY / production needs SHIYU_SECRET_KEY "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    if len(settings.secret_key) < _MIN_SECRET_LENGTH:
        raise SettingsError(
            f"SHIYU_SECRET_KEY 太短 / SHIYU_SECRET_KEY must have at least {_MIN_SECRET_LENGTH} characters"
        )
    if auth.count_users(engine) == 0:
        raise db.DatabaseError(
            "生产模式下没有可用账户 / production start refused: no enabled user in the database, "
            "add one with `shiyu users add NAME --role admin --scope CODE`"
        )
    if auth.has_password(engine, "demo", "demo"):
        raise db.DatabaseError(
            "生产模式下示例账户 demo 仍可用 / production start refused: the demo account still has "
            "its well-known password, run `shiyu users disable demo`"
        )


def _instance_secret(instance_path: Path) -> str:
    """The instance's own random key, created on first start so sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= _MIN_SECRET_LENGTH:
            return key
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another worker won the race (or the file was too short: replace it).
        existing = path.read_text(encoding="utf-8").strip()
        if len(existing) >= _MIN_SECRET_LENGTH:
            return existing
        path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key
