"""Packaged files (plotly.js, Dash's bundles, assets): gzipped once per worker, not per page load,
and known to every worker before its first request."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import flask_compress
import pytest
from dash import Dash
from dash._validate import validate_js_path
from dash.fingerprint import check_fingerprint
from flask.testing import FlaskClient

from dashboard import screen_app
from dashboard.app import create_app
from dashboard.settings import Settings

PLOTLY = "/_dash-component-suites/plotly/package_data/plotly.min.js"


@pytest.fixture
def app(tiny_demo_url: str, tmp_path: Path):
    target = tmp_path / "demo.sqlite"
    shutil.copy(tiny_demo_url.removeprefix("sqlite:///"), target)
    return create_app(
        Settings(instance_path=tmp_path / "instance", database_url=f"sqlite:///{target}")
    )


def _signed_in(app: Dash) -> FlaskClient:
    """A test client of ``app`` signed in as demo/demo, through the sign-in form."""
    client = app.server.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post("/login", data={"username": "demo", "password": "demo", "csrf_token": token[1]})
    return client


def test_prod008_plotly_js_is_compressed_once_and_revalidated_without_work(
    app, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = flask_compress.flask_compress._compress_data

    def counting(flask_app, data: bytes, algorithm: str) -> bytes:  # noqa: ANN001
        calls.append(len(data))
        return real(flask_app, data, algorithm)

    client = app.server.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post("/login", data={"username": "demo", "password": "demo", "csrf_token": token[1]})
    monkeypatch.setattr(flask_compress.flask_compress, "_compress_data", counting)
    first = client.get(PLOTLY, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(first.data).startswith(b"/**")  # plotly.js' licence banner
    assert len(calls) == 1 and calls[0] > 4_000_000

    # A page load's revalidation: 304 from the kept bytes, nothing compressed again.
    again = client.get(
        PLOTLY, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and len(calls) == 1
    repeat = client.get(PLOTLY, headers={"Accept-Encoding": "gzip"})
    assert repeat.data == first.data and len(calls) == 1

    # Pages and callback answers are compressed every time and never kept.
    for _ in range(2):
        client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert len(calls) == 3


def test_prod011_a_worker_knows_the_pages_files_before_its_first_request(
    tiny_demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dash serves a package's file only once its worker has listed it, which it does while
    answering its first requests: a thread asked for React while another thread of a new
    worker was still listing got a 500 (a blank page). Each worker lists them as it starts."""
    target = tmp_path / "demo.sqlite"
    shutil.copy(tiny_demo_url.removeprefix("sqlite:///"), target)
    settings = Settings(instance_path=tmp_path / "instance", database_url=f"sqlite:///{target}")
    rendering = _signed_in(create_app(settings))
    screens: list[Dash] = []
    mount = screen_app.mount_screen
    monkeypatch.setattr(
        screen_app, "mount_screen", lambda *a: screens.append(mount(*a)) or screens[-1]
    )
    fresh = create_app(settings)  # a worker that has answered nothing yet
    for app in (fresh, *screens):
        prefix = app.config.requests_pathname_prefix
        page = rendering.get(prefix).text
        names = re.findall(rf'src="{prefix}_dash-component-suites/([^"]+)"', page)
        assert any("react@" in n for n in names) and any("dash_renderer" in n for n in names)
        for name in [*names, PLOTLY.split("/", 2)[2]]:
            package, path = name.split("/", 1)
            # What serving the file checks first; raises DependencyException for an unknown one.
            validate_js_path(app.registered_paths, package, check_fingerprint(path)[0])


def test_prod012_pages_load_the_regenerator_runtime_not_core_js(app) -> None:
    """Dash's @babel/polyfill (core-js 2) puts slower JavaScript in place of natives plotly.js
    calls all the time; the pages load regenerator-runtime alone, which Dash's bundles call
    when they load a component lazily, before Dash's renderer starts."""
    client = _signed_in(app)
    for prefix in ("/", screen_app.SCREEN_PATH):
        scripts = re.findall(r'<script src="([^"]+)"', client.get(prefix).text)
        assert scripts, prefix
        assert not [s for s in scripts if "polyfill" in s], prefix
        runtime = [i for i, s in enumerate(scripts) if "/regenerator-runtime.js" in s]
        renderer = [i for i, s in enumerate(scripts) if "/dash_renderer." in s]
        assert len(runtime) == 1 and renderer and runtime[0] < renderer[0], (prefix, scripts)
        served = client.get(scripts[runtime[0]])
        assert served.status_code == 200 and b"regeneratorRuntime" in served.data
