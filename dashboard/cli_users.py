"""``shiyu users …`` (accounts and big-screen tokens) and ``shiyu audit`` (the audit trail).

Passwords are read with :func:`getpass.getpass` (typed twice, never echoed) or, for scripts,
from the first line of standard input with ``--password-stdin``; they never appear on the
command line, where ``ps`` and the shell history would show them. A screen token is printed
once, when created; only its hash is stored.

Every change is written to the audit log as done by ``cli:<operating-system user>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys

import sqlalchemy as sa

from data import audit, auth, db

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``users`` and ``audit`` on the ``shiyu`` command's subparsers."""
    users = sub.add_parser("users", help="manage accounts and big-screen tokens")
    users.add_argument("--db", help="database URL (default: SHIYU_DATABASE_URL or the demo)")
    acts = users.add_subparsers(dest="users_command", required=True)

    p = acts.add_parser("add", help="add an account (password asked twice, not echoed)")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=list(auth.ROLES), help="角色 role")
    p.add_argument("--scope", required=True, help="jurisdiction: unit code (this unit and below)")
    p.add_argument("--name", default="", help="display name, e.g. 张三")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    acts.add_parser("list", help="list accounts")

    for name, text in (("disable", "disable an account"), ("enable", "re-enable an account")):
        p = acts.add_parser(name, help=text)
        p.add_argument("username")

    p = acts.add_parser("passwd", help="set a new password (also lifts a lockout)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    token = acts.add_parser("token", help="read-only tokens for wall screens (kiosk browsers)")
    token_acts = token.add_subparsers(dest="token_command", required=True)
    p = token_acts.add_parser("create", help="create a token; it is printed once")
    p.add_argument("--label", required=True, help="where the screen is, e.g. 指挥大厅")
    p.add_argument("--scope", required=True, help="unit code the screen shows (and below)")
    p.add_argument("--days", type=int, help="valid for N days (default: until revoked)")
    p = token_acts.add_parser("revoke", help="revoke a token; the screen is signed out")
    p.add_argument("id", type=int)
    token_acts.add_parser("list", help="list tokens (never the tokens themselves)")

    p = sub.add_parser("audit", help="list the audit log")
    p.add_argument("--db", help="database URL (default: SHIYU_DATABASE_URL or the demo)")
    p.add_argument("--since", type=_date, help="from this day, YYYY-MM-DD (default: 7 days ago)")
    p.add_argument("--until", type=_date, help="up to and including this day, YYYY-MM-DD")
    p.add_argument("--user", help="only this user (screens: screen:<id>)")
    p.add_argument("--action", choices=list(audit.ACTIONS), help="only this action")
    p.add_argument("--limit", type=int, default=1000, help="newest N rows (default 1000)")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期格式应为 YYYY-MM-DD / expected YYYY-MM-DD, got {text!r}"
        ) from None


def run(args: argparse.Namespace, db_url: str) -> int:
    """Run ``users …`` or ``audit``; user errors print one line and return 2."""
    engine = db.make_engine(db_url)
    db.require_schema(engine)
    auth.ensure_tables(engine)
    try:
        if args.command == "audit":
            return _audit(engine, args)
        return _users(engine, args)
    except auth.AuthError as exc:
        print(f"shiyu: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
    else:
        if not sys.stdin.isatty():
            raise auth.AuthError(
                "无法交互输入密码 / no terminal to ask for the password: use --password-stdin"
            )
        password = getpass.getpass("密码 / password: ")
        if getpass.getpass("再次输入 / again: ") != password:
            raise auth.AuthError("两次输入的密码不一致 / the passwords differ")
    if not password:
        raise auth.AuthError("密码为空 / empty password")
    return password


def _users(engine: sa.Engine, args: argparse.Namespace) -> int:
    command = args.users_command
    actor = _actor()
    if command == "add":
        password = _read_password(args.password_stdin)
        user = auth.create_user(
            engine,
            args.username,
            password,
            role=args.role,
            scope_code=args.scope,
            display_name=args.name,
        )
        audit.record(
            engine,
            "user_change",
            username=actor,
            unit_code=user.scope_code,
            detail=f"add {user.username} role={user.role}",
        )
        print(
            f"已添加用户 / added {user.username} ({auth.ROLES[user.role]}, 范围 {user.scope_code})"
        )
        return 0
    if command == "list":
        _print_users(auth.list_users(engine))
        return 0
    if command in ("disable", "enable"):
        user = auth.set_disabled(engine, args.username, command == "disable")
        audit.record(engine, "user_change", username=actor, detail=f"{command} {user.username}")
        word = "已停用 / disabled" if user.disabled else "已启用 / enabled"
        print(f"{word} {user.username}")
        return 0
    if command == "passwd":
        if auth.get_user(engine, args.username) is None:
            raise auth.AuthError(f"用户不存在 / no user {args.username!r}")
        user = auth.set_password(engine, args.username, _read_password(args.password_stdin))
        audit.record(engine, "user_change", username=actor, detail=f"passwd {user.username}")
        print(f"已更新密码 / password changed for {user.username}")
        return 0
    if command == "token":
        return _tokens(engine, args, actor)
    raise AssertionError(command)


def _tokens(engine: sa.Engine, args: argparse.Namespace, actor: str) -> int:
    if args.token_command == "create":
        token, secret = auth.create_token(
            engine, label=args.label, scope_code=args.scope, created_by=actor, days=args.days
        )
        audit.record(
            engine,
            "token_change",
            username=actor,
            unit_code=token.scope_code,
            detail=f"create token {token.id} {token.label}",
        )
        until = token.expires_at.strftime("%Y-%m-%d") if token.expires_at else "撤销前一直有效"
        print(
            f"大屏令牌 / screen token {token.id}（{token.label}，范围 {token.scope_code}，至 {until}）"
        )
        print("只显示这一次，请妥善保存 / shown only once, keep it safe:")
        print(secret)
        print(f"大屏地址 / open on the wall screen: https://<host>/screen/?token={secret}&kiosk=1")
        return 0
    if args.token_command == "revoke":
        token = auth.revoke_token(engine, args.id)
        audit.record(
            engine,
            "token_change",
            username=actor,
            unit_code=token.scope_code,
            detail=f"revoke token {token.id} {token.label}",
        )
        print(f"已撤销 / revoked screen token {token.id}（{token.label}）")
        return 0
    if args.token_command == "list":
        _print_tokens(auth.list_tokens(engine))
        return 0
    raise AssertionError(args.token_command)


def _print_users(users: list[auth.User]) -> None:
    if not users:
        print("（无用户 / no users）")
        return
    print("用户名 user          角色 role        范围 scope      状态 state     姓名 name")
    now = dt.datetime.now()
    for u in users:
        if u.disabled:
            state = "停用 disabled"
        elif u.locked_until and u.locked_until > now:
            state = f"锁定至 {u.locked_until:%H:%M}"
        else:
            state = "正常 active"
        print(f"{u.username:<20} {u.role:<14} {u.scope_code:<15} {state:<13} {u.display_name}")


def _print_tokens(tokens: list[auth.ScreenToken]) -> None:
    if not tokens:
        print("（无大屏令牌 / no screen tokens）")
        return
    now = dt.datetime.now()
    print("ID    范围 scope       状态 state        有效期至 expires   名称 label")
    for t in tokens:
        state = {"revoked": "已撤销 revoked", "expired": "已过期 expired"}.get(
            t.refusal(now) or "", "有效 valid"
        )
        until = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "-"
        print(f"{t.id:<5} {t.scope_code:<15} {state:<16} {until:<17} {t.label}")


def _audit(engine: sa.Engine, args: argparse.Namespace) -> int:
    since = args.since or dt.date.today() - dt.timedelta(days=7)
    frame = audit.entries(
        engine,
        since=since,
        until=args.until,
        username=args.user,
        action=args.action,
        limit=args.limit,
    )
    print(audit.format_table(frame))
    return 0
