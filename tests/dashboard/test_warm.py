"""``shiyu warm``: the views leaders open first are in the shared cache before anyone asks."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from dash._utils import to_json

from callbacks import dashboard as cb
from callbacks.services import Services
from dashboard import warm
from dashboard.app import make_services
from dashboard.cli import main
from dashboard.settings import Settings
from data import db
from data.auth import Principal
from data.cache import CachedRepository, RedisStore, make_store
from data.repository import Repository
from data.views import DEFAULT_STREAM

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def settings(tiny_demo_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings of a server on its own copy of the tiny city (its own cache namespace)."""
    if not isinstance(make_store(REDIS_URL), RedisStore):
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    path = tmp_path / "city.sqlite"
    shutil.copy(sa.engine.make_url(tiny_demo_url).database or "", path)
    env = {"SHIYU_DATABASE_URL": f"sqlite:///{path}", "SHIYU_CACHE_URL": REDIS_URL}
    settings = Settings.from_env(env, dotenv=tmp_path / "none")
    yield settings
    repo = _leader(settings, "").repo
    assert isinstance(repo, CachedRepository) and isinstance(repo.store, RedisStore)
    for key in repo.store.client.scan_iter(f"{repo.prefix}:{repo.namespace}:*"):
        repo.store.client.delete(key)


def _leader(settings: Settings, scope_code: str) -> Services:
    """A new worker's services, for a leader whose jurisdiction is ``scope_code``."""
    services = make_services(settings, current_user=lambda: Principal("l", "leader", scope_code))
    assert isinstance(services.repo, CachedRepository)
    return services


def _misses(services: Services) -> int:
    assert isinstance(services.repo, CachedRepository)
    return services.repo.misses


def test_warm001_leaders_first_views_are_answered_from_the_cache_computing_nothing(
    settings: Settings,
) -> None:
    plain = Repository(db.make_engine(settings.effective_database_url))
    city = plain.root().code
    districts = list(plain.children(city)["code"])
    result = warm.warm(warm.shared_services(settings))
    assert result.views == 1 + 2 * len(districts)

    # A city leader on another worker: the page load, then a map click on each district,
    # with the URL assets/navigation.js writes from the map part's dash-drill relay.
    services = _leader(settings, city)
    answers = [cb.render_view(services, "")]
    cb.category_options(services, DEFAULT_STREAM)  # the category filter, once opened
    drill = cb.drill_target(cb.resolve(services, ""))  # what the map part sends the page
    for code in districts:
        search = f"?unit={code}" + (f"&{drill['rest']}" if drill["rest"] else "")
        answers.append(cb.render_view(services, search))
    # No view or shared read computed (on SQLite the worker reads the units it shows itself,
    # its `own_reads`: cheaper there than asking Redis).
    assert _misses(services) == 0
    assert isinstance(services.repo, CachedRepository) and services.repo.hits > 0
    # … and the same answers as a server with no cache at all.
    uncached = type(services)(**{**services.__dict__, "repo": plain})
    assert to_json(list(answers[0])) == to_json(list(cb.render_view(uncached, "")))

    # A district's own leader opening the page: also warmed (another breadcrumb, another entry).
    district = _leader(settings, districts[0])
    cb.render_view(district, "")
    assert _misses(district) == 0
    # Nothing else was warmed: a town is computed on its first visit.
    town = plain.children(districts[0])["code"].iloc[0]
    cb.render_view(services, f"?unit={town}")
    assert _misses(services) > 0


def test_warm002_new_data_is_warmed_again_and_unchanged_data_is_not(settings: Settings) -> None:
    services = warm.shared_services(settings)
    lines: list[str] = []

    def report(line: str) -> None:
        lines.append(line)
        if len(lines) == 1:  # another system writes the tables and bumps the version
            with services.repo.engine.begin() as conn:
                db.bump_data_version(conn)

    warm.watch(services, 0.0, report, rounds=3)
    assert len(lines) == 2
    assert lines[0] != lines[1]  # another data version
    leader = _leader(settings, services.repo.root().code)
    cb.render_view(leader, "")
    assert _misses(leader) == 0


def test_warm003_without_a_shared_cache_warming_is_refused_in_one_line(
    tiny_demo_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHIYU_CACHE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["warm", "--db", tiny_demo_url]) == 2
    err = capsys.readouterr().err.strip()
    assert "SHIYU_CACHE_URL" in err and len(err.splitlines()) == 1


def test_warm004_the_command_warms_the_shared_cache(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIYU_CACHE_URL", settings.cache_url)
    monkeypatch.setenv("SHIYU_DATABASE_URL", settings.effective_database_url)
    assert main(["warm"]) == 0
    assert "warmed" in capsys.readouterr().out
    city = Repository(db.make_engine(settings.effective_database_url)).root().code
    leader = _leader(settings, city)
    cb.render_view(leader, "")
    assert _misses(leader) == 0


def test_warm005_a_failed_round_is_reported_and_tried_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = warm.shared_services(settings)
    real = warm.warm
    calls: list[int] = []

    def flaky(s: Services) -> warm.Warmed:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        return real(s)

    monkeypatch.setattr(warm, "warm", flaky)
    lines: list[str] = []
    warm.watch(services, 0.0, lines.append, rounds=3)
    assert len(calls) == 2  # tried again, then nothing new to warm
    assert "database restarting" in lines[0] and "warmed" in lines[1] and len(lines) == 2
