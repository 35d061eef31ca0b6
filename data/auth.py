"""Accounts, password hashing, sign-in lockout and big-screen tokens (no web framework here).

Who sees what
-------------
Every account has a role and a jurisdiction (``scope_code``): the unit it may see, with
everything below it. The web layer (:mod:`dashboard.security`) turns a signed-in session or a
screen token into a :class:`Principal`; callbacks ask :mod:`callbacks.scope` whether the
principal may see a unit, which they answer from the unit's lineage
(:meth:`data.repository.Repository.lineage`; the wall tour asks
:meth:`~data.repository.Repository.is_within`).

Passwords
---------
Hashed with scrypt (stdlib ``hashlib.scrypt``, memory-hard) and a random 16-byte salt per
password. The hash string carries its own parameters, ``$scrypt$ln=15,r=8,p=3$<salt>$<key>``,
so the cost can be raised later without breaking stored hashes (:func:`needs_rehash`). The
parameters are one of OWASP's equivalent scrypt settings; p=3 with N=2^15 keeps the memory per
concurrent sign-in at 32 MiB instead of 128 MiB for N=2^17.

Screen tokens
-------------
A wall browser in kiosk mode cannot type a password every morning, so it gets a long random
token in its start URL. Only the token's SHA-256 is stored: a stolen database backup does not
let anyone open a screen. Tokens are read-only, bound to a scope, may expire and can be revoked.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from data import schema

__all__ = [
    "ROLES",
    "AuthError",
    "LockoutPolicy",
    "Principal",
    "ScopeRefused",
    "ScreenToken",
    "SignIn",
    "TokenRefused",
    "User",
    "authenticate",
    "count_users",
    "create_token",
    "create_user",
    "ensure_tables",
    "get_user",
    "has_password",
    "hash_password",
    "list_tokens",
    "list_users",
    "needs_rehash",
    "resolve_token",
    "revoke_token",
    "set_disabled",
    "set_password",
    "verify_password",
]

#: Roles and what the UI calls them.
ROLES: dict[str, str] = {
    "admin": "管理员",
    "leader": "领导",
    "duty": "值班员/大屏",
    "analyst": "分析员",
}

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")
MIN_PASSWORD_LENGTH = 8

# scrypt parameters for new hashes: N = 2**LOG_N, r, p (see the module docstring).
SCRYPT_LOG_N = 15
SCRYPT_R = 8
SCRYPT_P = 3
_SALT_BYTES = 16
_KEY_BYTES = 32
# OpenSSL refuses scrypt above 32 MiB unless told otherwise; allow up to N=2^17, r=8 (+ slack).
_SCRYPT_MAXMEM = 256 * 1024 * 1024
_HASH_RE = re.compile(r"^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


class AuthError(ValueError):
    """A user-management request that cannot be done, phrased for the person who asked."""


class ScopeRefused(PermissionError):
    """A request for a unit outside the principal's jurisdiction (already audited)."""

    def __init__(self, code: str, username: str | None = None) -> None:
        super().__init__(f"无权查看该单位 / unit {code!r} is outside the jurisdiction")
        self.code = code
        self.username = username


class TokenRefused(PermissionError):
    """A screen token that is unknown, expired or revoked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---- hashing --------------------------------------------------------------------------------
def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=2**log_n,
        r=r,
        p=p,
        maxmem=_SCRYPT_MAXMEM,
        dklen=_KEY_BYTES,
    )


def hash_password(
    password: str, *, log_n: int = SCRYPT_LOG_N, r: int = SCRYPT_R, p: int = SCRYPT_P
) -> str:
    """Hash ``password`` with scrypt and a fresh random salt.

    Parameters
    ----------
    password : str
        The clear-text password; it is never stored or logged.
    log_n, r, p : int
        scrypt cost parameters (N = 2**log_n); written into the result.

    Returns
    -------
    str
        ``$scrypt$ln=<log_n>,r=<r>,p=<p>$<salt base64>$<key base64>``.
    """
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, log_n, r, p)
    return f"$scrypt$ln={log_n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the hash string ``stored`` (constant-time compare)."""
    match = _HASH_RE.match(stored or "")
    if match is None:
        return False
    log_n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    if not (10 <= log_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16):
        return False  # a tampered hash must not be able to make us allocate gigabytes
    salt = base64.b64decode(match.group(4))
    expected = base64.b64decode(match.group(5))
    key = _scrypt(password, salt, log_n, r, p)
    return hmac.compare_digest(key, expected)


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with other parameters than today's defaults."""
    match = _HASH_RE.match(stored or "")
    if match is None:
        return True
    return tuple(int(match.group(i)) for i in (1, 2, 3)) != (SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the username does not exist, so that a failed sign-in takes the
    # same time whether or not the account exists (no username probing by timing).
    return hash_password(secrets.token_urlsafe(16))


# ---- principals -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """Whoever a request runs as: a signed-in user or a big-screen token.

    ``read_only`` principals (screens) may look but not export.
    """

    username: str
    role: str
    scope_code: str
    read_only: bool = False
    display_name: str = ""
    token_id: int | None = None
    remote_addr: str | None = None

    @property
    def is_screen(self) -> bool:
        return self.token_id is not None


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    scope_code: str
    disabled: bool
    failed_attempts: int
    locked_until: dt.datetime | None
    created_at: dt.datetime
    password_changed_at: dt.datetime | None

    def principal(self, remote_addr: str | None = None) -> Principal:
        return Principal(
            username=self.username,
            role=self.role,
            scope_code=self.scope_code,
            read_only=False,
            display_name=self.display_name,
            remote_addr=remote_addr,
        )

    @property
    def password_stamp(self) -> str:
        """Changes whenever the password does: sessions carrying an older stamp are ended."""
        return (self.password_changed_at or self.created_at).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class LockoutPolicy:
    """``max_failures`` wrong passwords in a row lock the account for ``lock_minutes``."""

    max_failures: int = 5
    lock_minutes: int = 15


@dataclass(frozen=True)
class SignIn:
    """The outcome of :func:`authenticate`: ``user`` is set only when ``ok``."""

    outcome: str  # ok | bad | locked | disabled
    user: User | None = None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


# ---- tables -----------------------------------------------------------------------------------
_AUTH_TABLES = (schema.users, schema.screen_tokens, schema.audit_log)


def ensure_tables(engine: sa.Engine) -> None:
    """Create the account and audit tables in a Shiyu database made before they existed."""
    schema.metadata.create_all(engine, tables=list(_AUTH_TABLES))


def _now() -> dt.datetime:
    # Local wall-clock time, like the rest of Shiyu's timestamps: auditors read it as such.
    return dt.datetime.now()


def _as_datetime(value: object) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _user_from_row(row: sa.Row) -> User:
    m = row._mapping
    return User(
        id=int(m["id"]),
        username=m["username"],
        display_name=m["display_name"] or "",
        role=m["role"],
        scope_code=m["scope_code"],
        disabled=bool(m["disabled"]),
        failed_attempts=int(m["failed_attempts"] or 0),
        locked_until=_as_datetime(m["locked_until"]),
        created_at=_as_datetime(m["created_at"]),  # type: ignore[arg-type]
        password_changed_at=_as_datetime(m["password_changed_at"]),
    )


_USER_COLUMNS = [c for c in schema.users.c if c.name != "password_hash"]


def _check_scope(conn: sa.Connection, scope_code: str) -> None:
    found = conn.execute(
        sa.select(schema.units.c.code).where(schema.units.c.code == scope_code)
    ).first()
    if found is None:
        raise AuthError(f"单位代码不存在 / unknown unit code {scope_code!r} for --scope")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"密码至少 {MIN_PASSWORD_LENGTH} 位 / password must have at least "
            f"{MIN_PASSWORD_LENGTH} characters"
        )


# ---- users ----------------------------------------------------------------------------------
def create_user(
    engine: sa.Engine,
    username: str,
    password: str,
    *,
    role: str,
    scope_code: str,
    display_name: str = "",
    allow_short_password: bool = False,
) -> User:
    """Add an account.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A Shiyu database (units must be loaded: the scope is checked against them).
    username, password : str
        The sign-in name (letters, digits, ``_.@-``) and the clear-text password.
    role : str
        One of :data:`ROLES`.
    scope_code : str
        The unit whose data (with everything below) the account may see.
    allow_short_password : bool
        Only for the fictional demo account (``demo``/``demo``).

    Raises
    ------
    AuthError
        Bad name, role, scope or password, or the name is taken.
    """
    if not USERNAME_RE.match(username):
        raise AuthError(
            f"用户名只能包含字母、数字和 _.@- / invalid username {username!r} "
            "(letters, digits, _ . @ - only)"
        )
    if role not in ROLES:
        raise AuthError(f"角色无效 / unknown role {role!r}, use one of {', '.join(ROLES)}")
    if not allow_short_password:
        _check_password(password)
    password_hash = hash_password(password)
    now = _now()
    with engine.begin() as conn:
        _check_scope(conn, scope_code)
        taken = conn.execute(
            sa.select(schema.users.c.id).where(schema.users.c.username == username)
        ).first()
        if taken is not None:
            raise AuthError(f"用户已存在 / user {username!r} already exists")
        conn.execute(
            sa.insert(schema.users).values(
                username=username,
                display_name=display_name,
                password_hash=password_hash,
                role=role,
                scope_code=scope_code,
                disabled=False,
                failed_attempts=0,
                created_at=now,
                password_changed_at=now,
            )
        )
    user = get_user(engine, username)
    assert user is not None
    return user


def get_user(engine: sa.Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_USER_COLUMNS).where(schema.users.c.username == username)
        ).first()
    return None if row is None else _user_from_row(row)


def list_users(engine: sa.Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*_USER_COLUMNS).order_by(schema.users.c.username)).all()
    return [_user_from_row(r) for r in rows]


def count_users(engine: sa.Engine, *, enabled_only: bool = True) -> int:
    query = sa.select(sa.func.count()).select_from(schema.users)
    if enabled_only:
        query = query.where(schema.users.c.disabled.is_(False))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def _update_user(engine: sa.Engine, username: str, **values: object) -> User:
    with engine.begin() as conn:
        changed = conn.execute(
            sa.update(schema.users).where(schema.users.c.username == username).values(**values)
        ).rowcount
    if not changed:
        raise AuthError(f"用户不存在 / no user {username!r}")
    user = get_user(engine, username)
    assert user is not None
    return user


def set_disabled(engine: sa.Engine, username: str, disabled: bool = True) -> User:
    """Disable (or re-enable) an account; a disabled account's sessions end at their next request."""
    return _update_user(engine, username, disabled=disabled)


def set_password(
    engine: sa.Engine, username: str, password: str, *, allow_short_password: bool = False
) -> User:
    """Set a new password; this also lifts a lockout and ends the account's other sessions."""
    if not allow_short_password:
        _check_password(password)
    return _update_user(
        engine,
        username,
        password_hash=hash_password(password),
        password_changed_at=_now(),
        failed_attempts=0,
        locked_until=None,
    )


def has_password(engine: sa.Engine, username: str, password: str) -> bool:
    """True when ``username`` exists, is enabled and has exactly ``password``.

    Unlike :func:`authenticate` this changes nothing; it serves start-up checks such as "the
    demo account still has its well-known password".
    """
    U = schema.users
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(U.c.password_hash, U.c.disabled).where(U.c.username == username)
        ).first()
    return row is not None and not row.disabled and verify_password(password, row.password_hash)


def authenticate(
    engine: sa.Engine,
    username: str,
    password: str,
    *,
    policy: LockoutPolicy = LockoutPolicy(),
    now: dt.datetime | None = None,
) -> SignIn:
    """Check a sign-in and keep the failure counter.

    A locked account is refused even with the right password: otherwise an attacker could keep
    guessing during the lockout and learn the password when it ends. ``policy.max_failures``
    wrong passwords in a row lock the account for ``policy.lock_minutes``.
    """
    now = now or _now()
    U = schema.users
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_USER_COLUMNS, U.c.password_hash).where(U.c.username == username)
        ).first()
    if row is None:
        verify_password(password, _dummy_hash())
        return SignIn("bad")
    user = _user_from_row(row)
    if user.locked_until is not None and user.locked_until > now:
        return SignIn("locked", locked_until=user.locked_until)
    if not verify_password(password, row._mapping["password_hash"]):
        failures = user.failed_attempts + 1
        values: dict[str, object] = {"failed_attempts": failures}
        locked_until = None
        if failures >= policy.max_failures:
            locked_until = now + dt.timedelta(minutes=policy.lock_minutes)
            values = {"failed_attempts": 0, "locked_until": locked_until}
        with engine.begin() as conn:
            conn.execute(sa.update(U).where(U.c.id == user.id).values(**values))
        return SignIn("locked" if locked_until else "bad", locked_until=locked_until)
    if user.disabled:
        return SignIn("disabled")
    if user.failed_attempts or user.locked_until is not None:
        with engine.begin() as conn:
            conn.execute(
                sa.update(U).where(U.c.id == user.id).values(failed_attempts=0, locked_until=None)
            )
        user = get_user(engine, username) or user
    if needs_rehash(row._mapping["password_hash"]):
        with engine.begin() as conn:
            conn.execute(
                sa.update(U).where(U.c.id == user.id).values(password_hash=hash_password(password))
            )
    return SignIn("ok", user=user)


# ---- screen tokens --------------------------------------------------------------------------
@dataclass(frozen=True)
class ScreenToken:
    id: int
    label: str
    scope_code: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def principal(self, remote_addr: str | None = None) -> Principal:
        return Principal(
            username=f"screen:{self.id}",
            role="duty",
            scope_code=self.scope_code,
            read_only=True,
            display_name=self.label,
            token_id=self.id,
            remote_addr=remote_addr,
        )

    def refusal(self, now: dt.datetime) -> str | None:
        """Why this token may not be used at ``now``, or None when it may."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token_from_row(row: sa.Row) -> ScreenToken:
    m = row._mapping
    return ScreenToken(
        id=int(m["id"]),
        label=m["label"],
        scope_code=m["scope_code"],
        created_by=m["created_by"],
        created_at=_as_datetime(m["created_at"]),  # type: ignore[arg-type]
        expires_at=_as_datetime(m["expires_at"]),
        revoked_at=_as_datetime(m["revoked_at"]),
    )


_TOKEN_COLUMNS = [c for c in schema.screen_tokens.c if c.name != "token_hash"]


def create_token(
    engine: sa.Engine,
    *,
    label: str,
    scope_code: str,
    created_by: str,
    days: int | None = None,
) -> tuple[ScreenToken, str]:
    """Create a screen token; returns it and the clear token, which is shown once only."""
    if not label.strip():
        raise AuthError("请给大屏令牌一个名称 / --label must not be empty")
    if days is not None and days <= 0:
        raise AuthError("--days 必须大于 0 / --days must be positive")
    token = secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        _check_scope(conn, scope_code)
        result = conn.execute(
            sa.insert(schema.screen_tokens).values(
                token_hash=_token_hash(token),
                label=label.strip()[:100],
                scope_code=scope_code,
                created_by=created_by[:64],
                created_at=now,
                expires_at=now + dt.timedelta(days=days) if days else None,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        token_id = int(key[0])
    found = get_token(engine, token_id)
    assert found is not None
    return found, token


def get_token(engine: sa.Engine, token_id: int) -> ScreenToken | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_TOKEN_COLUMNS).where(schema.screen_tokens.c.id == token_id)
        ).first()
    return None if row is None else _token_from_row(row)


def resolve_token(engine: sa.Engine, token: str, *, now: dt.datetime | None = None) -> ScreenToken:
    """The screen token for the clear ``token``.

    Raises
    ------
    TokenRefused
        Unknown (``reason == "unknown"``), ``"expired"`` or ``"revoked"``.
    """
    if not token or len(token) > 200:
        raise TokenRefused("unknown")
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_TOKEN_COLUMNS).where(
                schema.screen_tokens.c.token_hash == _token_hash(token)
            )
        ).first()
    if row is None:
        raise TokenRefused("unknown")
    found = _token_from_row(row)
    reason = found.refusal(now or _now())
    if reason:
        raise TokenRefused(reason)
    return found


def revoke_token(engine: sa.Engine, token_id: int) -> ScreenToken:
    with engine.begin() as conn:
        changed = conn.execute(
            sa.update(schema.screen_tokens)
            .where(
                schema.screen_tokens.c.id == token_id, schema.screen_tokens.c.revoked_at.is_(None)
            )
            .values(revoked_at=_now())
        ).rowcount
    found = get_token(engine, token_id)
    if found is None:
        raise AuthError(f"大屏令牌不存在 / no screen token {token_id}")
    if not changed:
        raise AuthError(f"大屏令牌已撤销 / screen token {token_id} was already revoked")
    return found


def list_tokens(engine: sa.Engine) -> list[ScreenToken]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*_TOKEN_COLUMNS).order_by(schema.screen_tokens.c.id)).all()
    return [_token_from_row(r) for r in rows]
