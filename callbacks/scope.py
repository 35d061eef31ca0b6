"""Jurisdiction checks for callbacks: one line per unit a callback takes.

The browser is not trusted: a unit code in a callback's inputs may have been typed into the
URL or crafted by hand, so every callback that reads data for a unit passes the code through
:func:`authorize_unit` first::

    def update_map(unit_code, period):
        unit_code = scope.authorize_unit(services, unit_code)
        ...

A code outside the signed-in user's jurisdiction (or a screen token's scope) is audited and
raises :class:`ScopeRefused`, which the server turns into an HTTP 403 for that callback; the
outputs stay as they were. The UI itself never offers such a unit: the breadcrumb starts at
:func:`user_root`, so a refusal means a stale link or a crafted request.

The current principal comes from ``services.current_user`` (the app passes
``dashboard.security.current_principal``, which reads the Flask request). Tests of callback
logic can pass ``current_user=lambda: Principal("t", "leader", scope_code)``.
"""

from __future__ import annotations

import logging

import flask

from callbacks.services import Services
from data import audit
from data.auth import Principal, ScopeRefused
from data.disclosure import suppress_small
from data.repository import UnknownUnit

__all__ = [
    "ScopeRefused",
    "authorize_export",
    "authorize_unit",
    "clamp_unit",
    "principal",
    "record_view",
    "shown_count",
    "user_root",
]

log = logging.getLogger(__name__)

#: A leader browsing one unit produces one "view" row per this many seconds, not one per callback.
VIEW_DEDUPE_SECONDS = 60
#: Identical refusals (same principal and unit) within this many seconds make one audit row.
REFUSAL_DEDUPE_SECONDS = 5


def principal(services: Services) -> Principal:
    """The current principal, or :class:`ScopeRefused` (audited) when nobody is signed in."""
    who = services.current_user()
    if who is None:
        audit.record(services.repo.engine, "refused", detail="no principal")
        raise ScopeRefused("", None)
    return who


def authorize_unit(services: Services, requested_code: object) -> str:
    """Return ``requested_code`` if the current principal may see it, else refuse.

    Parameters
    ----------
    services : Services
        The callbacks' services (repository and ``current_user``).
    requested_code : object
        The unit code as it came from the browser (anything: it is not trusted).

    Returns
    -------
    str
        The unit code, now known to be the principal's scope or below it.

    Raises
    ------
    ScopeRefused
        After writing an audit row (action ``refused``, unit, user, address).
    """
    who = principal(services)
    code = str(requested_code) if isinstance(requested_code, str | int) else ""
    if code and _within(services, code, who.scope_code):
        return code
    audit.record(
        services.repo.engine,
        "refused",
        username=who.username,
        unit_code=code or None,
        detail=f"scope {who.scope_code}; requested {requested_code!r}"[:500],
        remote_addr=who.remote_addr,
        # One page load runs several callbacks with the same unit: one row, not five.
        dedupe_seconds=REFUSAL_DEDUPE_SECONDS,
    )
    raise ScopeRefused(code, who.username)


def _within(services: Services, code: str, scope_code: str) -> bool:
    """``code`` is ``scope_code`` or below it, read from the unit's lineage: the view asks for
    the same lineage next (breadcrumb, titles), so the check costs no read of its own."""
    try:
        lineage = services.repo.lineage(code)
    except UnknownUnit:
        return False
    return any(unit.code == scope_code for unit in lineage)


def clamp_unit(services: Services, requested_code: object) -> str:
    """Like :func:`authorize_unit`, but fall back to :func:`user_root` instead of refusing.

    For inputs that may legitimately be stale, such as a bookmarked URL from before a user's
    scope changed: the refusal is still audited, the page simply opens at the user's own unit.
    """
    if requested_code in (None, ""):
        return user_root(services)
    try:
        return authorize_unit(services, requested_code)
    except ScopeRefused:
        return user_root(services)


def user_root(services: Services) -> str:
    """The unit the principal's breadcrumb starts at: the top of their jurisdiction."""
    return principal(services).scope_code


def record_view(services: Services, unit_code: str, *, after_answer: bool = False) -> None:
    """Audit that the current principal looked at ``unit_code`` (repeats within a minute skipped).

    Call it from the one callback that reacts to navigation, after :func:`authorize_unit`.
    With ``after_answer``, inside a request, the row is written by the same worker once the
    answer has been sent, so the view does not wait for it (on SQLite every row takes the
    database's one write lock, which twenty leaders clicking at once queue on, and its busy
    handler sleeps in steps of milliseconds). A failed write is logged there, as the data has
    already been shown.
    """
    who = principal(services)

    def write() -> None:
        audit.record(
            services.repo.engine,
            "view",
            username=who.username,
            unit_code=unit_code,
            remote_addr=who.remote_addr,
            dedupe_seconds=VIEW_DEDUPE_SECONDS,
        )

    if not (after_answer and flask.has_request_context()):
        write()
        return

    def logged() -> None:
        try:
            write()
        except Exception:
            log.exception("audit: the view of %s by %s was not recorded", unit_code, who.username)

    @flask.after_this_request
    def _after(response: flask.Response) -> flask.Response:
        response.call_on_close(logged)
        return response


def authorize_export(services: Services, requested_code: object, what: str) -> str:
    """Check and audit an export of ``what`` (e.g. "简报 PPTX 2026-10") for a unit.

    Screens are read-only and may not export; everyone else may export within their scope.
    """
    code = authorize_unit(services, requested_code)
    who = principal(services)
    if who.read_only:
        audit.record(
            services.repo.engine,
            "refused",
            username=who.username,
            unit_code=code,
            detail=f"export by read-only principal: {what}"[:500],
            remote_addr=who.remote_addr,
        )
        raise ScopeRefused(code, who.username)
    audit.record(
        services.repo.engine,
        "export",
        username=who.username,
        unit_code=code,
        detail=what[:500],
        remote_addr=who.remote_addr,
    )
    return code


def shown_count(services: Services, value: float | int | None, *, shared: bool = False) -> str:
    """A count as text, suppressed below ``small_count_threshold`` where it is shared.

    ``shared`` marks exports and other outputs that leave the user's screen; screen-token
    principals (wall screens in a hall) are always shared.
    """
    who = services.current_user()
    if shared or (who is not None and who.read_only):
        return suppress_small(value, services.small_count_threshold)
    return suppress_small(value, 0)
