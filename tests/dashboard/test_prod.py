"""Production serving: the gunicorn command line, ``shiyu serve --prod``, and a live check that
several workers answer with gzip'd callback JSON and share one Redis cache."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
except ImportError:
    from backports import zstd  # Flask-Compress's own dependency before 3.14

from dashboard import cli, prod
from dashboard.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def _value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_prod001_gunicorn_command_line() -> None:
    argv = prod.gunicorn_argv(Settings(host="0.0.0.0", port=8123, workers=5))
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    assert _value(argv, "--bind") == "0.0.0.0:8123"
    assert _value(argv, "--workers") == "5"
    assert _value(argv, "--worker-class") == "gthread"
    assert argv[-1] == "dashboard.wsgi:server"
    assert "--preload" not in argv  # no connection or socket shared across a fork
    assert "--forwarded-allow-ips" not in argv


def test_prod002_default_workers_follow_the_cores() -> None:
    assert prod.default_workers(2) == 3
    assert prod.default_workers(8) == 9
    assert prod.default_workers(1) == 2
    argv = prod.gunicorn_argv(Settings(workers=0))
    assert int(_value(argv, "--workers")) == prod.default_workers()


def test_prod003_proxies_and_extra_options() -> None:
    argv = prod.gunicorn_argv(Settings(trusted_proxies=1), ["--timeout", "5"])
    assert "--forwarded-allow-ips" in argv
    assert argv[-3:] == ["--timeout", "5", "dashboard.wsgi:server"]


def test_prod004_settings_from_environment() -> None:
    s = Settings.from_env(
        {
            "SHIYU_CACHE_URL": "redis://cache:6379/2",
            "SHIYU_CACHE_TTL_S": "60",
            "SHIYU_WORKERS": "4",
        },
        dotenv=Path("/nonexistent"),
    )
    assert (s.cache_url, s.cache_ttl_s, s.workers) == ("redis://cache:6379/2", 60, 4)
    assert Settings().cache_url == "" and Settings().cache_ttl_s == 300


def test_prod005_serve_prod_execs_gunicorn(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    seen: dict[str, object] = {}

    def fake_execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        seen.update(path=path, argv=argv, env=env)

    monkeypatch.setattr(os, "execve", fake_execve)
    monkeypatch.setenv("SHIYU_CACHE_URL", "redis://:secret@cache:6379/0")
    code = cli.main(["serve", "--prod", "--db", "sqlite:////data/x.sqlite", "--port", "8200"])
    assert code == 0
    argv = seen["argv"]
    assert isinstance(argv, list) and _value(argv, "--bind").endswith(":8200")
    env = seen["env"]
    assert isinstance(env, dict) and env["SHIYU_DATABASE_URL"] == "sqlite:////data/x.sqlite"


def test_prod006_password_of_the_cache_is_not_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "execve", lambda *a: None)
    prod.run(Settings(cache_url="redis://:hunter2@cache:6379/0"))
    out = capsys.readouterr().out
    assert "hunter2" not in out and "redis://cache:6379" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sign_in(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    page = resp.read().decode()
    cookie = "; ".join(h.split(";", 1)[0] for h in resp.headers.get_all("Set-Cookie") or [])
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    body = f"username=demo&password=demo&next=%2F&csrf_token={token[1] if token else ''}"
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    resp = conn.getresponse()
    resp.read()
    assert resp.status in (302, 303)
    return "; ".join(h.split(";", 1)[0] for h in resp.headers.get_all("Set-Cookie") or [])


def test_prod007_live_gunicorn_compresses_callback_json(tiny_demo_url: str) -> None:
    """Two workers, the embedded cache; a callback POST answers compressed JSON: zstd to a
    browser that accepts it, gzip to one that accepts nothing newer."""
    port = _free_port()
    env = {
        **os.environ,
        "SHIYU_DATABASE_URL": tiny_demo_url,
        "SHIYU_WORKERS": "2",
        "SHIYU_CACHE_URL": "",
    }
    argv = prod.gunicorn_argv(Settings(host="127.0.0.1", port=port, workers=2))
    proc = subprocess.Popen(
        argv, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        cookie = _sign_in(port)
        body = json.dumps(
            {
                "output": "dash-categories.options",
                "outputs": {"id": "dash-categories", "property": "options"},
                "inputs": [
                    {"id": "dash-stream", "property": "value", "value": "dispute"},
                    {"id": "dash-categories-wanted", "property": "data", "value": True},
                    {"id": "dash-categories", "property": "value", "value": []},
                ],
                "changedPropIds": ["dash-categories-wanted.data"],
                "state": [],
            }
        )
        # Chromium's header today, then an older browser core's (no zstd, no brotli).
        for accepted, encoding, unpack in (
            ("gzip, deflate, br, zstd", "zstd", zstd.decompress),
            ("gzip, deflate", "gzip", gzip.decompress),
        ):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(
                "POST",
                "/_dash-update-component",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Accept-Encoding": accepted,
                    "Cookie": cookie,
                },
            )
            resp = conn.getresponse()
            wire = resp.read()
            assert resp.status == 200
            assert resp.headers.get("Content-Encoding") == encoding
            payload = json.loads(unpack(wire))
            assert payload["response"]["dash-categories"]["options"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_prod010_a_worker_freezes_what_start_up_built(
    monkeypatch: pytest.MonkeyPatch, tiny_demo_url: str, tmp_path
) -> None:
    """The WSGI module (each gunicorn worker imports it once) leaves the app's start-up objects
    out of the garbage collector's full passes: a full pass visits what came after them only."""
    import gc
    import importlib

    monkeypatch.setenv("SHIYU_DATABASE_URL", tiny_demo_url)
    monkeypatch.setenv("SHIYU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("SHIYU_CACHE_URL", "")
    gc.unfreeze()
    sys.modules.pop("dashboard.wsgi", None)
    try:
        wsgi = importlib.import_module("dashboard.wsgi")
        assert wsgi.server.name  # the app was built …
        frozen = gc.get_freeze_count()
        # … and it, with everything imported for it, is frozen: the generations a full
        # collection walks hold a small fraction of that.
        assert frozen > 50_000
        assert len(gc.get_objects()) < frozen / 5
    finally:
        sys.modules.pop("dashboard.wsgi", None)
        gc.unfreeze()
