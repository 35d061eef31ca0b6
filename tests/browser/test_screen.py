"""The big screen in Chromium: scaling, readability, fullscreen, tour, refresh, surviving outages.

Each test runs its own server on a private copy of the tiny demo (the refresh and restart
tests write into the database, and the restart test stops the server), signs in as the demo
user and opens ``/screen/``. Every test ends with a clean console and no request leaving
127.0.0.1; the only console errors allowed are the connection failures while the server is
deliberately stopped.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from data import db, schema
from tests.browser.conftest import LiveServer, free_port

READY = """() => {
    const v = document.querySelector('.kpi-value[data-value]');
    const plots = [...document.querySelectorAll('.screen-graph .js-plotly-plot')]
        .filter(p => p.offsetParent !== null);
    return v && v.textContent.length > 0 && plots.length > 0
        && plots.every(p => p._fullLayout && p.data && p.data.length > 0);
}"""

KPI_TEXT = "() => document.querySelector('[data-kpi=dispute_received] .kpi-value').textContent"
UNIT_NAME = "() => (document.querySelector('#screen-unit-title .unit-name') || {}).textContent"
STALE = "() => document.documentElement.classList.contains('is-stale')"

#: While the server is down on purpose, and only then: Chromium's line for a request that could
#: not connect, or whose answer was cut off when the server stopped mid-response (the refresh
#: runs every 2 s, so the stop can land inside one), and Dash's for a callback whose request got
#: no answer or a truncated one (its renderer lets that fetch's rejection escape as a page error).
OUTAGE_ERRORS = re.compile(
    r"^(Failed to load resource: net::ERR_"
    r"(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|CONTENT_LENGTH_MISMATCH)"
    r"|Error: Callback failed: the server did not respond\.(\n\s+at .*)*"
    r"|pageerror: Failed to fetch)$"
)


def _copy_db(tiny_demo_url: str, target: Path) -> str:
    shutil.copy(Path(tiny_demo_url.removeprefix("sqlite:///")), target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def screen_server(
    tiny_demo_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    url = _copy_db(tiny_demo_url, tmp_path_factory.mktemp("screen") / "tiny.sqlite")
    server = LiveServer(url, free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_server(tiny_demo_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server of this test's own, on a database it may write to, stop and restart."""
    server = LiveServer(_copy_db(tiny_demo_url, tmp_path / "tiny.sqlite"), free_port())
    server.start()
    yield server
    server.stop()


def _open(page_factory, server: LiveServer, query: str, width: int = 1920, height: int = 1080):  # noqa: ANN001, ANN202
    rec = page_factory(width, height, base_url=server.url)
    rec.page.goto(f"{server.url}/screen/{query}")
    rec.page.wait_for_function(READY, timeout=60_000)
    return rec


def _assert_clean(rec, allowed: re.Pattern[str] | None = None) -> None:  # noqa: ANN001
    errors = [e for e in rec.console_errors if not (allowed and allowed.match(e))]
    assert not errors, errors
    assert not rec.external_requests, rec.external_requests


# ---- scaling ---------------------------------------------------------------------------------
GEOMETRY = """() => {
    const c = document.getElementById('screen-canvas');
    const r = c.getBoundingClientRect();
    const panels = [...document.querySelectorAll('.screen-panel')]
        .filter(p => p.checkVisibility())
        .map(p => { const b = p.getBoundingClientRect();
                    return {name: p.dataset.panel, l: b.left, t: b.top, r: b.right, b: b.bottom}; });
    return {
        canvas: {l: r.left, t: r.top, w: r.width, h: r.height},
        design: [c.offsetWidth, c.offsetHeight],
        W: innerWidth, H: innerHeight,
        sw: document.documentElement.scrollWidth, sh: document.documentElement.scrollHeight,
        bsw: document.body.scrollWidth, bsh: document.body.scrollHeight,
        panels,
    };
}"""


@pytest.mark.parametrize(
    ("width", "height", "canvas", "n_panels"),
    [
        (1920, 1080, "std", 7),
        (1366, 768, "std", 7),
        (3840, 2160, "std", 7),
        (5760, 2160, "std", 7),
        (5760, 2160, "wide", 11),
        (6656, 1792, "wide", 11),
    ],
)
def test_scr101_canvas_fills_the_viewport(
    page_factory, screen_server, width: int, height: int, canvas: str, n_panels: int
) -> None:  # noqa: ANN001
    rec = _open(page_factory, screen_server, f"?tour=off&canvas={canvas}", width, height)
    g = rec.page.evaluate(GEOMETRY)
    dw, dh = (1920, 1080) if canvas == "std" else (3840, 1080)
    assert g["design"] == [dw, dh]
    scale = min(width / dw, height / dh)
    box = g["canvas"]
    assert box["w"] == pytest.approx(dw * scale, abs=1)
    assert box["h"] == pytest.approx(dh * scale, abs=1)
    assert box["l"] == pytest.approx((width - dw * scale) / 2, abs=1)  # centred
    assert box["t"] == pytest.approx((height - dh * scale) / 2, abs=1)
    assert g["sw"] <= g["W"] and g["sh"] <= g["H"]  # no scrollbars, ever
    assert g["bsw"] <= g["W"] and g["bsh"] <= g["H"]
    assert len(g["panels"]) == n_panels
    right, bottom = box["l"] + box["w"], box["t"] + box["h"]
    for p in g["panels"]:
        assert p["l"] >= box["l"] - 1 and p["t"] >= box["t"] - 1, p
        assert p["r"] <= right + 1 and p["b"] <= bottom + 1, p
    _assert_clean(rec)


# ---- readability -----------------------------------------------------------------------------
FONT_SIZES = """() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
        const text = node.textContent.trim();
        const el = node.parentElement;
        if (!text || !el || el.closest('script, style, noscript')) continue;
        if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        out.push({text: text.slice(0, 30), size: parseFloat(getComputedStyle(el).fontSize),
                  svg: el instanceof SVGElement, cls: String(el.getAttribute('class') || '')});
    }
    return out;
}"""


@pytest.mark.parametrize("canvas", ["std", "wide"])
def test_scr102_no_text_under_14px_and_big_kpis(page_factory, screen_server, canvas: str) -> None:  # noqa: ANN001
    width = 1920 if canvas == "std" else 3840
    rec = _open(page_factory, screen_server, f"?tour=off&canvas={canvas}", width, 1080)
    rec.page.wait_for_timeout(1500)  # count-up finished, plotly text laid out
    texts = rec.page.evaluate(FONT_SIZES)
    assert len(texts) > 100
    assert any(t["svg"] for t in texts), "plotly's SVG text is part of the check"
    small = [t for t in texts if t["size"] < 14]
    assert not small, small[:10]
    kpis = [t for t in texts if "kpi-value" in t["cls"]]
    assert len(kpis) == 8
    assert all(t["size"] >= 40 for t in kpis), kpis
    assert "示例数据" in rec.page.inner_text("#screen-footer")
    header = rec.page.inner_text(".screen-header")
    assert re.search(r"\d{2}:\d{2}:\d{2}", header) and "星期" in header
    assert "数据截至" in header and "数据更新于" in header
    _assert_clean(rec)


# ---- fullscreen and kiosk --------------------------------------------------------------------
FULLSCREEN = "() => document.fullscreenElement !== null"


def test_scr103_fullscreen_by_key_and_button(page_factory, screen_server) -> None:  # noqa: ANN001
    rec = _open(page_factory, screen_server, "?tour=off")
    page = rec.page
    assert not page.evaluate(FULLSCREEN)
    page.keyboard.press("f")
    page.wait_for_function(FULLSCREEN, timeout=5000)
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.fullscreenElement === null", timeout=5000)
    page.click("#screen-fullscreen")
    page.wait_for_function(FULLSCREEN, timeout=5000)
    page.evaluate("() => document.exitFullscreen()")
    page.wait_for_function("() => document.fullscreenElement === null", timeout=5000)
    _assert_clean(rec)


def test_scr104_kiosk_hides_every_control(page_factory, screen_server) -> None:  # noqa: ANN001
    rec = _open(page_factory, screen_server, "?tour=off&kiosk=1")
    rec.page.wait_for_function("() => document.documentElement.classList.contains('kiosk')")
    assert not rec.page.is_visible("#screen-controls")
    assert not rec.page.is_visible("#screen-fullscreen")
    assert not rec.page.is_visible(".key-hint")
    # The key still works for whoever has a keyboard on the wall PC.
    rec.page.keyboard.press("F")
    rec.page.wait_for_function(FULLSCREEN, timeout=5000)
    _assert_clean(rec)


# ---- auto-tour -------------------------------------------------------------------------------
def test_scr105_tour_advances_and_pauses_while_touched(page_factory, screen_server) -> None:  # noqa: ANN001
    rec = _open(page_factory, screen_server, "?tour=districts&interval=3&idle=6")
    page = rec.page
    first = page.evaluate(UNIT_NAME)
    page.wait_for_function(f"() => ({UNIT_NAME})() !== {first!r}", timeout=15_000)
    assert "轮播" in page.inner_text("#screen-tour-status")

    # Someone moves the mouse: the tour holds still …
    page.mouse.move(400, 300)
    page.mouse.move(420, 320)
    held = page.evaluate(UNIT_NAME)
    page.wait_for_function(
        "() => document.getElementById('screen-tour-status').textContent.includes('暂停')",
        timeout=3000,
    )
    page.wait_for_timeout(4500)  # more than one interval
    assert page.evaluate(UNIT_NAME) == held
    # … and moves on by itself after the idle time.
    page.wait_for_function(f"() => ({UNIT_NAME})() !== {held!r}", timeout=15_000)
    _assert_clean(rec)


# ---- refresh ---------------------------------------------------------------------------------
def _bump_dispute(db_url: str, code: str, extra: int) -> None:
    """Add ``extra`` disputes received to one row of ``code`` on its latest day, in both case
    roll-ups (and bump ``data_version``), as a loader writing new numbers would."""
    engine = db.make_engine(db_url)
    cr = schema.case_rollup
    with engine.begin() as conn:
        day = conn.execute(sa.select(sa.func.max(cr.c.day))).scalar()
        row = conn.execute(
            sa.select(cr.c.category, cr.c.channel)
            .where(cr.c.unit_code == code, cr.c.day == day, cr.c.stream == "dispute")
            .limit(1)
        ).one()
        conn.execute(
            sa.update(cr)
            .where(
                cr.c.unit_code == code,
                cr.c.day == day,
                cr.c.stream == "dispute",
                cr.c.category == row.category,
                cr.c.channel == row.channel,
            )
            .values(received=cr.c.received + extra)
        )
        cs = schema.case_stream_rollup  # what the KPI reads: kept equal to case_rollup's sums
        conn.execute(
            sa.update(cs)
            .where(cs.c.unit_code == code, cs.c.day == day, cs.c.stream == "dispute")
            .values(received=cs.c.received + extra)
        )
        db.bump_data_version(conn)
    engine.dispose()


def _kpi_value(page) -> int:  # noqa: ANN001
    return int(float(page.get_attribute("[data-kpi=dispute_received] .kpi-value", "data-value")))


def test_scr106_refresh_updates_numbers_without_reload(page_factory, private_server) -> None:  # noqa: ANN001
    rec = _open(page_factory, private_server, "?tour=off&refresh=2")
    page = rec.page
    page.evaluate("() => { window.__sameDocument = true; }")
    before = _kpi_value(page)
    root = db.make_engine(private_server.db_url)
    with root.connect() as conn:
        code = conn.execute(
            sa.select(schema.units.c.code).where(schema.units.c.parent_code.is_(None))
        ).scalar()
    root.dispose()
    _bump_dispute(private_server.db_url, code, 1000)
    expected = f"{before + 1000:,}"
    page.wait_for_function(f"() => ({KPI_TEXT})() === {expected!r}", timeout=20_000)
    assert page.evaluate("() => window.__sameDocument === true")  # no page reload
    _assert_clean(rec)


# ---- outages ---------------------------------------------------------------------------------
def test_scr107_server_restart_is_survived(page_factory, private_server) -> None:  # noqa: ANN001
    rec = _open(page_factory, private_server, "?tour=off&refresh=2")
    page = rec.page
    before = _kpi_value(page)
    assert not page.evaluate(STALE)

    private_server.stop()
    stopped = time.monotonic()
    page.wait_for_function(STALE, timeout=15_000)
    assert time.monotonic() - stopped < 10
    banner = page.inner_text("#screen-stale")
    assert re.search(r"数据连接中断，显示的是 \d{2}:\d{2} 的数据，正在重试…", banner), banner
    # The last good numbers stay on the wall.
    assert _kpi_value(page) == before

    # New data arrives while the server is away; the wall picks it up when it comes back.
    engine = db.make_engine(private_server.db_url)
    with engine.connect() as conn:
        code = conn.execute(
            sa.select(schema.units.c.code).where(schema.units.c.parent_code.is_(None))
        ).scalar()
    engine.dispose()
    _bump_dispute(private_server.db_url, code, 500)
    private_server.start()

    page.wait_for_function(f"() => !({STALE})()", timeout=30_000)
    expected = f"{before + 500:,}"
    page.wait_for_function(f"() => ({KPI_TEXT})() === {expected!r}", timeout=20_000)
    assert page.is_hidden("#screen-stale")
    _assert_clean(rec, allowed=OUTAGE_ERRORS)
