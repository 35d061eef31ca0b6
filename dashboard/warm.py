"""``shiyu warm``: render the views leaders open first into the shared cache, per data version.

After an import (or another system's write, which bumps ``meta.data_version``) every view is
computed afresh by the first leader who asks for it, and twenty leaders opening the city and
their districts before a meeting wait behind those first computations. Warming renders, with
the app's own code, settings and cache keys:

* for a city-wide account: the city, and each district as a click on the map leads to it;
* for each district's own accounts: their district (the breadcrumb starts there, so the
  entry is a separate one).

Only worth doing with a cache the workers share (Redis, ``SHIYU_CACHE_URL``): a local cache
lives in one process. ``--watch`` keeps running and warms again whenever the data version
changes, for databases that other systems write directly.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from callbacks import dashboard as dashboard_callbacks
from callbacks.services import Services
from dashboard.app import make_services
from dashboard.settings import Settings
from data.auth import Principal
from data.cache import CachedRepository, LocalStore
from data.views import STREAM_CHOICES

#: Who the warmed views are rendered as (never signed in, never audited: the warm-up reads).
WARM_USERNAME = "shiyu-warm"


class NothingToWarm(RuntimeError):
    """No shared cache is configured: warmed views would be seen by nobody."""


@dataclass(frozen=True)
class Warmed:
    data_version: str
    views: int
    seconds: float

    def format(self) -> str:
        return (
            f"已预热 {self.views} 个视图 / warmed {self.views} views "
            f"(data version {self.data_version}) in {self.seconds:.1f} s"
        )


def shared_services(settings: Settings) -> Services:
    """The app's services for ``settings``; refuses a cache that only this process would see."""
    services = make_services(settings, current_user=lambda: None)
    repo = services.repo
    if not isinstance(repo, CachedRepository) or isinstance(repo.store, LocalStore):
        raise NothingToWarm(
            "没有共享缓存（SHIYU_CACHE_URL 未设置或无法连接，或 SHIYU_CACHE_TTL_S=0），预热无效 / "
            "no shared cache (SHIYU_CACHE_URL unset or unreachable, or SHIYU_CACHE_TTL_S=0): "
            "nothing to warm"
        )
    return services


def plan(services: Services) -> list[tuple[str, str]]:
    """``(jurisdiction, search)`` of each view to warm, in the order leaders meet them."""
    repo = services.repo
    root = repo.root().code
    children = list(repo.children(root)["code"])
    city = dashboard_callbacks.resolve(_as(services, root), "")
    # The URL a click on the city's map writes (assets/navigation.js, drill_target).
    return (
        [(root, "")]
        + [(root, city.search(unit=code)) for code in children]
        + [(code, "") for code in children]
    )


def warm(services: Services, clock: Callable[[], float] = time.perf_counter) -> Warmed:
    """Render every view of :func:`plan` through the cache (computed only where missing)."""
    started = clock()
    version = services.repo.data_version()
    views = plan(services)
    for scope_code, search in views:
        dashboard_callbacks.render_view(_as(services, scope_code), search)
    # The category filter's options, read when a leader first opens the filter (the city's
    # whole history of cases: ~30–50 ms on `large`).
    for stream in STREAM_CHOICES:
        dashboard_callbacks.category_options(services, stream)
    return Warmed(version, len(views), clock() - started)


def watch(
    services: Services,
    every_s: float,
    report: Callable[[str], None],
    *,
    rounds: int | None = None,
) -> None:
    """Warm now and again after each change of the data version, checked every ``every_s``.

    A failed round (the database or Redis restarting) is reported and tried again at the next
    check. ``rounds`` bounds the checks (tests); None runs until interrupted.
    """
    repo = services.repo
    warmed = ""
    checks = 0
    while rounds is None or checks < rounds:
        checks += 1
        if isinstance(repo, CachedRepository):
            repo.forget_version()
        try:
            if repo.data_version() != warmed:
                result = warm(services)
                warmed = result.data_version
                report(result.format())
        except Exception as exc:  # noqa: BLE001 - a sidecar outlives a database restart
            report(f"预热失败，稍后重试 / warm-up failed, trying again: {exc}")
        if rounds is None or checks < rounds:
            time.sleep(every_s)


def _as(services: Services, scope_code: str) -> Services:
    who = Principal(WARM_USERNAME, "leader", scope_code)
    return dataclasses.replace(services, current_user=lambda: who)
