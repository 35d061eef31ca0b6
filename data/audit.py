"""The audit trail: who signed in, looked at which unit, exported, was refused, changed accounts.

Rows go to the ``audit_log`` table of the same database as the data, so the trail is backed
up with it and readable by the municipality's own tools. Writing is one short INSERT;
:func:`record` can skip a row that repeats one written moments ago (a leader clicking around
one district produces one "view" row per minute, not one per callback).

Clear-text passwords and tokens are never passed here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from data import schema

__all__ = ["ACTIONS", "entries", "failures_from", "format_table", "record"]

#: Actions written by Shiyu, with what the audit listing calls them.
ACTIONS: dict[str, str] = {
    "login_ok": "登录成功",
    "login_failed": "登录失败",
    "login_locked": "登录被锁定",
    "logout": "退出登录",
    "view": "查看单位",
    "export": "导出",
    "refused": "越权访问被拒绝",
    "user_change": "账户变更",
    "token_use": "大屏令牌登录",
    "token_refused": "大屏令牌被拒绝",
    "token_change": "大屏令牌变更",
}

A = schema.audit_log


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else str(value)[:length]


def record(
    engine: sa.Engine,
    action: str,
    *,
    username: str | None = None,
    unit_code: str | None = None,
    detail: str = "",
    remote_addr: str | None = None,
    dedupe_seconds: int = 0,
    now: dt.datetime | None = None,
) -> bool:
    """Append one audit row.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The Shiyu database.
    action : str
        One of :data:`ACTIONS` (other strings are accepted for forward compatibility).
    username, unit_code, detail, remote_addr : str, optional
        Who, which unit, anything else worth keeping, from where. Values are clipped to the
        column sizes: a crafted 10 kB "unit code" must not make the audit write fail.
    dedupe_seconds : int
        When positive, skip the row if the same user, action and unit were recorded within
        that many seconds.

    Returns
    -------
    bool
        True when a row was written.
    """
    now = now or dt.datetime.now()
    who, unit = _clip(username, 64), _clip(unit_code, 20)
    row = {
        "at": now,
        "username": who,
        "action": action[:32],
        "unit_code": unit,
        "detail": (detail or "")[:2000],
        "remote_addr": _clip(remote_addr, 64),
    }
    with engine.begin() as conn:
        if dedupe_seconds > 0:
            since = now - dt.timedelta(seconds=dedupe_seconds)
            same = conn.execute(
                sa.select(A.c.id)
                .where(
                    A.c.at >= since,
                    A.c.action == row["action"],
                    _equal_or_null(A.c.username, who),
                    _equal_or_null(A.c.unit_code, unit),
                )
                .limit(1)
            ).first()
            if same is not None:
                return False
        conn.execute(sa.insert(A).values(**row))
    return True


def _equal_or_null(column: sa.ColumnElement, value: str | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def failures_from(engine: sa.Engine, remote_addr: str | None, since: dt.datetime) -> int:
    """Failed sign-ins from one address since ``since`` (drives the per-address back-off).

    Counting audit rows rather than keeping a counter in memory makes the back-off hold across
    server processes and restarts.
    """
    if not remote_addr:
        return 0
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(A)
                .where(
                    A.c.at >= since,
                    A.c.remote_addr == remote_addr[:64],
                    A.c.action.in_(["login_failed", "login_locked"]),
                )
            ).scalar()
            or 0
        )


def entries(
    engine: sa.Engine,
    *,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
    username: str | None = None,
    action: str | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Audit rows, newest last, filtered by time (``until`` exclusive), user and action.

    A plain date for ``until`` means the whole of that day is included.
    """
    query = sa.select(
        A.c.id, A.c.at, A.c.username, A.c.action, A.c.unit_code, A.c.remote_addr, A.c.detail
    )
    if since is not None:
        query = query.where(A.c.at >= _start_of(since))
    if until is not None:
        end = _start_of(until)
        if not isinstance(until, dt.datetime):
            end += dt.timedelta(days=1)
        query = query.where(A.c.at < end)
    if username:
        query = query.where(A.c.username == username)
    if action:
        query = query.where(A.c.action == action)
    # Newest ``limit`` rows, shown oldest first like a log.
    query = query.order_by(A.c.at.desc(), A.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        frame = pd.DataFrame(
            conn.execute(query).mappings().all(), columns=list(query.selected_columns.keys())
        )
    frame = frame.iloc[::-1].reset_index(drop=True)
    # Missing user/unit/address stay None (not NaN) for whoever reads the rows.
    return frame.astype(object).where(frame.notna(), None)


def _start_of(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


def format_table(frame: pd.DataFrame) -> str:
    """A fixed-width text table of :func:`entries` for the terminal."""
    if frame.empty:
        return "（无记录 / no audit rows）"
    header = ["时间 at", "用户 user", "动作 action", "单位 unit", "地址 ip", "详情 detail"]
    rows = [
        [
            pd.Timestamp(r.at).strftime("%Y-%m-%d %H:%M:%S"),
            r.username or "-",
            str(r.action),
            r.unit_code or "-",
            r.remote_addr or "-",
            str(r.detail or "").replace("\n", " "),
        ]
        for r in frame.itertuples(index=False)
    ]
    widths = [max(_width(x) for x in col) for col in zip(header, *rows, strict=False)]
    widths[-1] = 0  # the last column is not padded

    def line(cells: list[str]) -> str:
        return "  ".join(
            c + " " * (w - _width(c)) if w else c for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
