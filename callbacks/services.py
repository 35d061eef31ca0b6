"""What callbacks receive at registration: the repository and the display settings they need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from data.auth import Principal
from data.repository import Repository
from data.views import StateMemo


def _nobody() -> Principal | None:
    # Fail closed: without a way to learn the user, every unit is refused (callbacks.scope).
    return None


@dataclass(frozen=True)
class Services:
    repo: Repository
    title: str
    data_source: str
    #: Shown in the footer: the demo city is fictional, real data is not.
    is_demo: bool
    tiles_url: str = ""
    tiles_crs: str = "wgs84"
    #: Who the current request runs as; the app passes ``dashboard.security.current_principal``.
    #: Use ``callbacks.scope.authorize_unit``/``user_root`` rather than calling it directly.
    current_user: Callable[[], Principal | None] = _nobody
    #: Counts 1 … N-1 are shown as "<N" on shared screens and in exports (0: never).
    small_count_threshold: int = 0
    #: Resolved view states of recent queries in this process, keyed by data version and the
    #: viewer's scope, so the callbacks of one page view (the view, the URL's audit) resolve
    #: the URL once.
    states: StateMemo = field(default_factory=StateMemo, compare=False, repr=False)
