"""The sign-in page and the small server-rendered pages around it (sign-out, refusals).

Plain HTML, not a Dash page: it must work before the visitor may load anything else, so it
needs only the local Bootstrap CSS, carries no script at all (the CSP allows none inline) and
posts an ordinary form with a CSRF token. Templates are rendered with autoescaping on.
"""

from __future__ import annotations

from jinja2 import Environment, select_autoescape

__all__ = ["render_login", "render_logout", "render_message"]

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

_BASE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{{ heading }} - {{ title }}</title>
<link rel="icon" href="/_favicon.ico">
<link rel="stylesheet" href="/assets/vendor/bootstrap.min.css">
</head>
<body class="bg-light">
<main class="container py-5">
<div class="row justify-content-center">
<div class="col-12 col-sm-9 col-md-6 col-lg-4">
<h1 class="h4 text-center mb-1">{{ title }}</h1>
<p class="text-center text-muted mb-4">{{ heading }}</p>
{% block body %}{% endblock %}
</div>
</div>
</main>
</body>
</html>
"""

_LOGIN = _ENV.from_string(
    _BASE.replace(
        "{% block body %}{% endblock %}",
        """
{% if error %}<div class="alert alert-danger" role="alert" id="login-error">{{ error }}</div>{% endif %}
{% if notice %}<div class="alert alert-info" role="status">{{ notice }}</div>{% endif %}
<form method="post" action="/login" class="card card-body shadow-sm" autocomplete="on">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input type="hidden" name="next" value="{{ next_path }}">
  <div class="mb-3">
    <label for="login-username" class="form-label">用户名</label>
    <input type="text" class="form-control" id="login-username" name="username"
           value="{{ username }}" autocomplete="username" required autofocus maxlength="64">
  </div>
  <div class="mb-3">
    <label for="login-password" class="form-label">密码</label>
    <input type="password" class="form-control" id="login-password" name="password"
           autocomplete="current-password" required maxlength="256">
  </div>
  <button type="submit" class="btn btn-primary w-100" id="login-submit">登录</button>
</form>
{% if demo %}
<div class="alert alert-warning mt-3 small" role="note" id="login-demo-hint">
  示例数据库（虚构城市）：用户名 <strong>demo</strong>，密码 <strong>demo</strong>，全市范围。
  正式部署请删除或停用该账户。
</div>
{% endif %}
<p class="text-muted small mt-3 text-center">本系统含敏感数据，访问与操作均记录在案。</p>
""",
    )
)

_LOGOUT = _ENV.from_string(
    _BASE.replace(
        "{% block body %}{% endblock %}",
        """
<form method="post" action="/logout" class="card card-body shadow-sm">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <p class="mb-3">{{ who }}，确定退出登录吗？</p>
  <button type="submit" class="btn btn-primary w-100" id="logout-submit">退出登录</button>
  <a class="btn btn-link w-100 mt-2" href="/">返回</a>
</form>
""",
    )
)

_MESSAGE = _ENV.from_string(
    _BASE.replace(
        "{% block body %}{% endblock %}",
        """
<div class="alert alert-{{ kind }}" role="alert">{{ message }}</div>
{% if link %}<p class="text-center"><a href="{{ link }}">{{ link_text }}</a></p>{% endif %}
""",
    )
)


def render_login(
    *,
    title: str,
    csrf_token: str,
    next_path: str = "/",
    username: str = "",
    error: str = "",
    notice: str = "",
    demo: bool = False,
) -> str:
    """The sign-in page. ``demo`` adds the demo account hint (only for the fictional city)."""
    return _LOGIN.render(
        title=title,
        heading="登录",
        csrf_token=csrf_token,
        next_path=next_path,
        username=username,
        error=error,
        notice=notice,
        demo=demo,
    )


def render_logout(*, title: str, csrf_token: str, who: str) -> str:
    """A confirmation with a POST form, so that a link elsewhere cannot sign anyone out."""
    return _LOGOUT.render(title=title, heading="退出登录", csrf_token=csrf_token, who=who)


def render_message(
    *,
    title: str,
    heading: str,
    message: str,
    kind: str = "danger",
    link: str = "",
    link_text: str = "",
) -> str:
    """A one-message page: refused screen token, server error, forbidden request."""
    return _MESSAGE.render(
        title=title, heading=heading, message=message, kind=kind, link=link, link_text=link_text
    )
