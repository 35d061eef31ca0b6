"""Trace a leader's drill (city → district on the map) in Chromium: where click → rendered goes.

Run: ``.venv/bin/python -m bench.trace_drill [--clicks 5] [--depth 1] [--variant NAME=DIR …]``.

``--step period|metric|hotspot`` times that step of the benchmark's tour instead (the dropdown
from the click on its option, as the tour does), from the URL of the step before it, and goes
Back the same way.

Starts the production server (gunicorn, Redis cache) from each ``--variant`` directory (default:
this checkout), signs in as demo/demo, opens the city and then, ``--clicks`` times: drills into
the district with most children by clicking the map at its label point, and goes browser Back.
Variants are interleaved click by click (A, B, A, B …) on one Chromium so a noisy machine hurts
them alike. Every drill and Back is timed from the pointer event (or ``history.back()``) to the
last chart's ``plotly_afterplot`` with the page instrumentation of :mod:`bench.interactions`,
plus what this script adds (all on the page clock):

* every ``/_dash-update-component`` POST: when ``fetch`` was called, when the headers and the
  JSON body arrived, and which outputs it carried;
* every ``Plotly.react`` / ``Plotly.newPlot`` per graph (start, synchronous time, resolution)
  and whether it rebuilt the graph (a new SVG root or a new MapLibre map object: plotly.js 4
  answers a ``react`` whose *config* changed with ``newPlot`` + ``react``);
* React commits (through a minimal ``__REACT_DEVTOOLS_GLOBAL_HOOK__``), the Dash renderer's
  Redux dispatches (each one runs the selector of every mounted Dash component) and the number
  of Dash components in the layout.

One more drill per variant (``--traced``) runs under a Chromium performance trace with the V8
sampling profiler; the script prints the main thread's time over click → last afterplot split by
script (dash-renderer, React, plotly.js, MapLibre inside plotly.js, dcc, our assets, GC …) and
rendering work (style, layout, paint), and keeps the trace (``--trace-dir``) for DevTools.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import sys
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench import interactions as bi

TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "v8.execute",
    "disabled-by-default-v8.cpu_profiler",
    "blink.user_timing",
    "toplevel",
    "loading",
]

# Added after bench.interactions.INIT_SCRIPT (which keeps window.__bench's clicks, renders,
# in-flight fetches and wraps Plotly.react/newPlot for plotly_afterplot): everything else.
TRACE_INIT = r"""
(() => {
  const B = window.__bench;
  const T = window.__trace = {posts: [], plots: [], commits: [], maps: [], marks: [],
                              dispatches: []};
  const now = () => performance.now();
  const gid = (gd) => { const el = typeof gd === 'string' ? document.getElementById(gd) : gd;
                        return el ? ((el.closest('[id]') || el).id || '?') : '?'; };
  document.addEventListener('pointerdown', () => {
    T.marks.push(now()); console.timeStamp('shiyu-click-' + T.marks.length);
  }, true);
  T.back = () => { const t = now(); B.clicks.push(t); T.marks.push(t);
                   console.timeStamp('shiyu-click-' + T.marks.length); history.back(); };

  // Callback POSTs: outputs, fetch called, headers in, JSON parsed.
  const f0 = window.fetch;
  window.fetch = function(input, init) {
    const url = typeof input === 'string' ? input : (input && input.url) || '';
    const p = f0.apply(this, arguments);
    if (url.indexOf('_dash-update-component') < 0) return p;
    const rec = {send: now(), outputs: ''};
    try {
      const body = JSON.parse((init && init.body) || '{}');
      const outs = Array.isArray(body.outputs) ? body.outputs : [body.outputs];
      rec.outputs = outs.map((o) => o && (o.id + '.' + o.property)).join(' ');
      rec.inputs = (body.changedPropIds || []).join(' ');
    } catch (e) { rec.outputs = '?'; }
    T.posts.push(rec);
    return p.then((res) => {
      rec.headers = now(); rec.status = res.status;
      const st = /app;dur=([0-9.]+)/.exec(res.headers.get('Server-Timing') || '');
      rec.app = st ? parseFloat(st[1]) : null;
      const j = res.json.bind(res);
      res.json = () => j().then((v) => { rec.json = now(); return v; });
      return res;
    });
  };

  // React commits (React calls the devtools hook after every commit of a root).
  if (!window.__REACT_DEVTOOLS_GLOBAL_HOOK__) {
    let n = 0;
    window.__REACT_DEVTOOLS_GLOBAL_HOOK__ = {
      supportsFiber: true, isDisabled: false, renderers: new Map(),
      inject(r) { n += 1; this.renderers.set(n, r); return n; },
      checkDCE() {}, onScheduleFiberRoot() {}, onCommitFiberUnmount() {},
      onPostCommitFiberRoot() {},
      onCommitFiberRoot() { T.commits.push(now()); },
    };
  }

  // plotly.js entry points, per graph. A react whose config changed is answered by plotly.js 4
  // with newPlot + react: the SVG (and the MapLibre map) are rebuilt. Seen as a new object.
  let objSeq = 0;
  const objIds = new WeakMap();
  const oid = (o) => { if (!o) return 0; if (!objIds.has(o)) objIds.set(o, ++objSeq);
                       return objIds.get(o); };
  function mapId(gd) {
    const sp = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    return oid(sp && sp.map);
  }
  const svgId = (gd) => oid(gd && gd.querySelector && gd.querySelector('.main-svg'));
  function wrapApi(P) {
    for (const name of ['react', 'newPlot', 'purge']) {
      const orig = P[name];
      if (!orig || orig.__trace) continue;
      const w = function(gd) {
        const el = typeof gd === 'string' ? document.getElementById(gd) : gd;
        const rec = {name, id: gid(el), start: now(), mapBefore: mapId(el), svgBefore: svgId(el)};
        T.plots.push(rec);
        const res = orig.apply(this, arguments);
        rec.sync = now() - rec.start;
        Promise.resolve(res).then(() => {
          rec.done = now(); rec.mapAfter = mapId(el); rec.svgAfter = svgId(el);
        }, () => { rec.done = now(); rec.failed = true; });
        return res;
      };
      w.__trace = true;
      P[name] = w;
    }
  }
  // Redux dispatches of the Dash renderer (every one runs every component's selector).
  T.hookStore = () => {
    const s = window.store;
    if (!s || s.dispatch.__trace) return;
    const orig = s.dispatch;
    s.dispatch = function(action) {
      const t = now();
      const r = orig.apply(this, arguments);
      if (action && action.type) T.dispatches.push([t, action.type, now() - t]);
      return r;
    };
    s.dispatch.__trace = true;
  };
  T.components = () => {
    let n = 0;
    const walk = (x) => {
      if (Array.isArray(x)) { x.forEach(walk); return; }
      if (x && typeof x === 'object' && x.namespace && x.type && x.props) {
        n += 1;
        for (const v of Object.values(x.props)) walk(v);
      }
    };
    const layout = window.store && window.store.getState().layout;
    walk(layout && (layout.components || layout));  // Dash 4: {components: root}
    return n;
  };
  const d = Object.getOwnPropertyDescriptor(window, 'Plotly');
  if (d && d.set) {
    Object.defineProperty(window, 'Plotly', {
      configurable: true, get: d.get,
      set(v) { d.set.call(window, v); if (v) wrapApi(v); },
    });
  }
  // Map instances seen at every afterplot (a new id = MapLibre map rebuilt).
  T.noteMaps = () => document.querySelectorAll('.js-plotly-plot').forEach((gd) => {
    const m = mapId(gd);
    if (m && !T.maps.some((x) => x[1] === m)) T.maps.push([now(), m, gid(gd)]);
  });
})();
"""

SNAPSHOT = """(since) => {
  const B = window.__bench, T = window.__trace;
  T.noteMaps();
  T.hookStore();
  const after = (t) => t >= since;
  return {
    clicks: B.clicks.filter(after),
    renders: B.renders.filter((r) => after(r[0])),
    posts: T.posts.filter((p) => after(p.send)),
    plots: T.plots.filter((p) => after(p.start)),
    commits: T.commits.filter(after),
    dispatches: T.dispatches.filter((d) => after(d[0])),
    components: T.components(),
    maps: T.maps,
    marks: T.marks.length,
    url: location.href,
  };
}"""

SHORT = {
    "dash-url.search": "url",
    "dash-state.data": "STATE",
}


def short_outputs(outputs: str) -> str:
    """``dash-map.figure dash-map-box.style …`` → a compact label."""
    parts = outputs.split()
    if any(p.startswith("dash-url.") for p in parts):
        return f"sync ({len(parts)} outputs: url, controls)"
    ids = sorted({p.rsplit(".", 1)[0].removeprefix("dash-") for p in parts})
    figs = [p.rsplit(".", 1)[0].removeprefix("dash-") for p in parts if p.endswith(".figure")]
    cfgs = [p for p in parts if p.endswith(".config")]
    label = f"{len(parts)} outputs"
    if figs:
        label += f", figures: {','.join(figs)}"
    if cfgs:
        label += f", {len(cfgs)} configs"
    if not figs and not cfgs:
        label += f": {','.join(ids)[:60]}"
    return label


# ---- one measured interaction -----------------------------------------------------------------
def measure(
    page: Any, act: Any, *, expect_url: str | None = None, choice: bool = False
) -> dict[str, Any]:
    """Run ``act()`` (a click or Back) and wait until the page is quiet; what happened, in ms
    from the pointer event (with ``choice``, a dropdown's: the last, on the option)."""
    page.evaluate("() => { window.__bench.hookAll(); window.__trace.hookStore(); }")
    since = page.evaluate("() => performance.now()")
    how = act()
    last = bi._wait_quiet(page, since)
    if expect_url:
        # The address bar follows the view once it is drawn (navigation.js, moving).
        try:
            page.wait_for_url(re.compile(expect_url), timeout=5_000)
        except Exception as exc:  # noqa: BLE001 - Playwright's TimeoutError
            raise RuntimeError(f"page is at {page.url}, wanted {expect_url}") from exc
    snap = page.evaluate(SNAPSHOT, since)
    t0 = (snap["clicks"][-1] if choice else snap["clicks"][0]) if snap["clicks"] else since
    snap.update(t0=t0, last=last, total=last - t0, how=how)
    return snap


def rebuilt(call: dict[str, Any]) -> str:
    """'' for a diffed react; 'svg' / 'map' when the call replaced the graph's SVG or map."""
    kinds = []
    for key in ("svg", "map"):
        before, after = call.get(key + "Before"), call.get(key + "After")
        if before and after and before != after:
            kinds.append(key)
    return "+".join(kinds)


def summarise(snap: dict[str, Any]) -> dict[str, Any]:
    """Counts of one interaction (for medians across clicks)."""
    t0 = snap["t0"]
    reacts = [p for p in snap["plots"] if p["name"] == "react"]
    afters = [r for r in snap["renders"] if r[2] == "afterplot"]
    posts = snap["posts"]
    return {
        "total": snap["total"],
        "first_post": (posts[0]["send"] - t0) if posts else float("nan"),
        "last_json": (max(p.get("json", p["send"]) for p in posts) - t0) if posts else 0.0,
        "posts": len(posts),
        "reacts": len(reacts),
        "rebuilds": sum(1 for p in reacts if rebuilt(p)),
        "map_rebuilt": sum(1 for p in reacts if "map" in rebuilt(p)),
        "afterplots": len(afters),
        "commits": len(snap["commits"]),
        "dispatches": len(snap.get("dispatches", [])),
        "components": snap.get("components", 0),
        "react_sync_ms": sum(p.get("sync", 0) for p in reacts),
    }


def breakdown(name: str, snap: dict[str, Any]) -> str:
    """The per-click timeline: POSTs, plots per graph, React commits."""
    t0 = snap["t0"]
    rel = lambda t: f"{t - t0:7.0f}"  # noqa: E731
    out = [f"--- {name}: click → last plotly_afterplot {snap['total']:.0f} ms ({snap['how']})"]
    posts = snap["posts"]
    if posts:
        out.append(f"  click → first POST sent: {posts[0]['send'] - t0:.0f} ms")
    out.append("  POST  sent  headers  json   (server+net ms, of which the worker's own)  carries")
    for i, p in enumerate(posts):
        hdr, js = p.get("headers", float("nan")), p.get("json", float("nan"))
        out.append(
            f"  #{i + 1:<2} {rel(p['send'])} {rel(hdr)} {rel(js)}   ({hdr - p['send']:5.0f}, "
            f"{p.get('app') or float('nan'):5.1f})   {short_outputs(p['outputs'])}"
        )
    graphs: dict[str, list[dict]] = defaultdict(list)
    for p in snap["plots"]:
        graphs[p["id"]].append(p)
    afters: dict[str, list[float]] = defaultdict(list)
    for r in snap["renders"]:
        if r[2] == "afterplot":
            afters[r[1]].append(r[0])
    last_json = max((p.get("json", 0) for p in posts), default=t0)
    out.append(
        "  graph               calls: start(+sync ms→resolved) …                 "
        "afterplots (last)   full rebuild"
    )
    for gid in sorted(set(graphs) | set(afters)):
        calls = graphs.get(gid, [])
        desc = []
        for c in calls:
            done = c.get("done")
            desc.append(
                f"{c['name']}@{c['start'] - t0:.0f}(+{c.get('sync', 0):.0f}→"
                f"{(done - t0) if done else float('nan'):.0f})"
            )
        kinds = [rebuilt(c) for c in calls if c["name"] == "react"]
        a = afters.get(gid, [])
        out.append(
            f"  {gid.removeprefix('dash-'):<18} {' '.join(desc)[:64]:<64} "
            f"{len(a)} ({(max(a) - t0) if a else float('nan'):5.0f})   "
            + ", ".join(f"rebuilt ({k}: newPlot + react)" if k else "diffed react" for k in kinds)
        )
    commits = snap["commits"]
    types = Counter(d[1] for d in snap.get("dispatches", []))
    out.append(
        f"  Redux dispatches: {sum(types.values())} "
        f"({sum(d[2] for d in snap.get('dispatches', [])):.0f} ms inside dispatch); "
        f"Dash components in layout after: {snap.get('components', 0)}; by type: "
        + ", ".join(f"{k} {v}" for k, v in types.most_common(8))
    )
    out.append(
        "  dispatches (start+ms type): "
        + " ".join(f"{d[0] - t0:.0f}+{d[2]:.0f} {d[1]}" for d in snap.get("dispatches", [])[:32])
    )
    out.append(
        f"  React commits: {len(commits)} at "
        + " ".join(f"{c - t0:.0f}" for c in commits[:24])
        + (" …" if len(commits) > 24 else "")
    )
    first_react = min((p["start"] for p in snap["plots"] if p["name"] == "react"), default=None)
    if first_react is not None and posts:
        out.append(
            f"  last response JSON → last afterplot: {snap['last'] - last_json:.0f} ms;"
            f" first response JSON → first Plotly.react: "
            f"{first_react - min(p.get('json', 1e18) for p in posts):.0f} ms"
        )
    return "\n".join(out)


# ---- the Chromium trace --------------------------------------------------------------------------
class ScriptClassifier:
    """Script URL (and for plotly.min.js, position) → a name for the breakdown."""

    def __init__(self, plotly_source: str | None) -> None:
        self.maplibre: tuple[tuple[int, int], tuple[int, int]] | None = None
        if plotly_source:
            self.maplibre = _maplibre_span(plotly_source)

    def __call__(self, frame: dict[str, Any]) -> str:
        url = frame.get("url") or ""
        fn = frame.get("functionName") or ""
        if not url:
            if fn in ("(garbage collector)", "(idle)", "(program)"):
                return {"(garbage collector)": "GC", "(idle)": "idle", "(program)": "(program)"}[fn]
            return "V8/native (no script)"
        if "dash_renderer" in url or "dash-renderer" in url:
            return "dash-renderer"
        if re.search(r"react(-dom)?[@.]", url) or "/react" in url:
            return "react, react-dom"
        if "plotly" in url and url.endswith(".js") or "plotly.min.js" in url:
            if self.maplibre:
                (l0, c0), (l1, c1) = self.maplibre
                pos = (frame.get("lineNumber", -1), frame.get("columnNumber", -1))
                if (l0, c0) <= pos < (l1, c1):
                    return "MapLibre (in plotly.min.js)"
            return "plotly.js"
        if "dash_core_components" in url or "/dcc/" in url or "async-" in url:
            return "dcc (Graph, Link, Dropdown …)"
        if "dash_bootstrap_components" in url:
            return "dash-bootstrap-components"
        if "/assets/" in url:
            return "our assets (" + url.rsplit("/", 1)[-1].split("?")[0] + ")"
        if url.startswith("blob:"):
            return "blob (MapLibre worker code)"
        return url.rsplit("/", 1)[-1].split("?")[0][:40]


def _maplibre_span(src: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """(line, column) span (0-based) of MapLibre's main-thread code inside plotly.min.js:
    from its style-spec code up to the end of the worker source string."""
    start = src.find("Use an identity property function instead")
    worker = src.find("maplibre-gl/dist/maplibre-gl-worker.mjs")
    if start < 0 or worker < 0:
        return None
    end = src.find("'})", worker)
    start = src.rfind("\n", 0, start) + 1

    def pos(off: int) -> tuple[int, int]:
        line = src.count("\n", 0, off)
        return line, off - (src.rfind("\n", 0, off) + 1)

    return pos(start), pos(end if end > 0 else worker)


RENDERING = {
    "UpdateLayoutTree": "style recalc",
    "Layout": "layout",
    "PrePaint": "pre-paint",
    "Paint": "paint",
    "Layerize": "layerize",
    "Commit": "commit (to compositor)",
    "HitTest": "hit test",
    "ParseHTML": "parse HTML",
    "MajorGC": "GC (major)",
    "MinorGC": "GC (minor)",
}


def analyse_trace(
    trace: dict[str, Any], mark: str, duration_ms: float, classify: ScriptClassifier
) -> dict[str, Any]:
    """Main-thread time in [click, click + duration]: busy, scripting by script, rendering."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    marker = next(
        (
            e
            for e in events
            if e.get("name") == "TimeStamp"
            and (e.get("args", {}).get("data", {}).get("message") == mark)
        ),
        None,
    )
    if marker is None:
        return {"error": f"marker {mark} not in trace"}
    pid, tid, t_start = marker["pid"], marker["tid"], marker["ts"]
    t_end = t_start + duration_ms * 1000

    def clip(e: dict[str, Any]) -> float:
        s, d = e["ts"], e.get("dur", 0)
        return max(0.0, min(s + d, t_end) - max(s, t_start)) / 1000

    main = [e for e in events if e.get("pid") == pid and e.get("tid") == tid]
    busy = sum(clip(e) for e in main if e.get("ph") == "X" and e.get("name") == "RunTask")
    rendering: defaultdict[str, float] = defaultdict(float)
    for e in main:
        if e.get("ph") == "X" and e.get("name") in RENDERING:
            rendering[RENDERING[e["name"]]] += clip(e)
    # Worker threads of the same renderer (MapLibre's workers parse and tile the GeoJSON).
    names = {
        e["tid"]: e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name" and e.get("pid") == pid
    }
    workers = sum(
        clip(e)
        for e in events
        if e.get("pid") == pid
        and e.get("ph") == "X"
        and e.get("name") == "RunTask"
        and "Worker" in names.get(e.get("tid"), "")
    )
    # V8 sampling profile of the main thread: self time by script.
    scripting: defaultdict[str, float] = defaultdict(float)
    profiles = [
        e for e in events if e.get("name") == "Profile" and e.get("pid") == pid and e["tid"] == tid
    ]
    for prof in profiles:
        pid_id = prof["id"]
        t = prof["args"]["data"]["startTime"]
        nodes: dict[int, dict] = {}
        for ch in events:
            if ch.get("name") != "ProfileChunk" or ch.get("id") != pid_id or ch.get("pid") != pid:
                continue
            data = ch["args"]["data"]
            cpu = data.get("cpuProfile", {})
            for n in cpu.get("nodes", []) or []:
                nodes[n["id"]] = n
            samples = cpu.get("samples", []) or []
            deltas = data.get("timeDeltas", []) or []
            for k, sid in enumerate(samples):
                t += deltas[k] if k < len(deltas) else 0
                nxt = deltas[k + 1] if k + 1 < len(deltas) else 0
                if t_start <= t <= t_end and nxt > 0:
                    frame = nodes.get(sid, {}).get("callFrame", {})
                    scripting[classify(frame)] += min(nxt, 5000) / 1000
    return {
        "window_ms": duration_ms,
        "busy_ms": busy,
        "rendering": dict(rendering),
        "scripting": dict(scripting),
        "workers_ms": workers,
    }


def trace_report(a: dict[str, Any]) -> str:
    if "error" in a:
        return "  trace: " + a["error"]
    out = [
        f"  main thread over click → last afterplot ({a['window_ms']:.0f} ms): busy "
        f"{a['busy_ms']:.0f} ms (RunTask), MapLibre/other workers {a['workers_ms']:.0f} ms"
    ]
    sc = {k: v for k, v in a["scripting"].items() if k != "idle"}
    total = sum(sc.values())
    out.append(f"  CPU samples by script (self time, ms; {total:.0f} sampled non-idle):")
    for k, v in sorted(sc.items(), key=lambda kv: -kv[1]):
        if v >= 1:
            out.append(f"    {k:<36} {v:7.0f}")
    out.append("  rendering (trace events, may nest in script):")
    for k, v in sorted(a["rendering"].items(), key=lambda kv: -kv[1]):
        out.append(f"    {k:<36} {v:7.0f}")
    return "\n".join(out)


# ---- variants --------------------------------------------------------------------------------------
def _no_retry() -> None:
    """A missed map click here is timed from the first click (the benchmark's tour re-times it)."""


@contextlib.contextmanager
def serve(root: Path, url: str, workers: int, log_path: Path) -> Any:
    """``bench.interactions.Server`` run from ``root`` (its code, its assets)."""
    cache = "redis" if bi._redis_ok() else "local"
    with bi.Server(url, cache=cache, workers=workers, log_path=log_path, root=root) as server:
        yield server


def open_page(browser: Any, base: str) -> Any:
    return bi.signed_in_page(browser, base, TRACE_INIT)


def med(xs: list[float]) -> float:
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.trace_drill", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:////tmp/shiyu-bench/large.sqlite")
    parser.add_argument(
        "--clicks", type=int, default=5, help="timed drills (and Backs) per variant"
    )
    parser.add_argument("--depth", type=int, default=1, help="drill this many levels per click")
    parser.add_argument(
        "--step",
        choices=("drill", "period", "metric", "hotspot"),
        default="drill",
        help="the tour's step to time instead of the drill (from the state before it)",
    )
    parser.add_argument("--traced", type=int, default=1, help="traced drills per variant")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: cores + 1)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="a checkout to serve (repeat to compare; default: this one)",
    )
    parser.add_argument(
        "--floor",
        type=int,
        default=5,
        help="render floor repeats (0: skip; figures of the first variant)",
    )
    parser.add_argument("--trace-dir", type=Path, default=bi.RESULTS / "traces")
    parser.add_argument("--verbose", action="store_true", help="timeline of every click")
    parser.add_argument(
        "--trace-floor",
        action="store_true",
        help="trace each render floor run as the traced drills",
    )
    parser.add_argument(
        "--reload", action="store_true", help="load the city page afresh before each drill"
    )
    parser.add_argument("--json", type=Path, default=None, help="write all measurements here")
    args = parser.parse_args(argv)
    from dashboard.prod import default_workers
    from layouts.dashboard import Ids

    workers = args.workers or default_workers()
    variants = [v.split("=", 1) for v in args.variant] or [["this", str(bi.ROOT)]]
    steps, _alts = bi.plan_tour(args.db)
    drills = [s for s in steps if s.kind == "drill"][: args.depth]
    start, change = "/", ("", "")
    if args.step != "drill":  # one step of the tour, from the URL of the step before it
        k = next(i for i, s in enumerate(steps) if s.kind == args.step)
        drills, start = [steps[k]], "/?" + urllib.parse.urlencode(steps[k - 1].state)
        before = steps[k - 1].state
        change = next((key, v) for key, v in steps[k].state.items() if before.get(key) != v)
    root_code = steps[0].target
    bi.log("drill path: " + " → ".join(s.target for s in drills))
    args.trace_dir.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, Any]] = {
        name: {"drill": [], "back": [], "traced": []} for name, _ in variants
    }
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(
                serve(Path(d).resolve(), args.db, workers, bi.RESULTS / f"trace-{name}.log")
            )
            for name, d in variants
        }
        # Closed before the render floor, which runs its own Playwright.
        browsing = stack.enter_context(contextlib.ExitStack())
        p = browsing.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=bi.CHROMIUM, headless=True, args=bi.LAUNCH_ARGS)
        browsing.callback(browser.close)
        pages = {name: open_page(browser, servers[name].base) for name, _ in variants}
        plotly_src: str | None = None
        floor_reports: list[tuple[Path, dict[str, Any]]] = []

        def expected(step: bi.Step) -> str:
            if step.kind == "drill":
                return rf"unit={step.target}(&|$)"
            return rf"[?&]{change[0]}={re.escape(str(change[1]))}(&|$)"

        def drill_and_back(name: str, record: str | None, traced_as: str | None = None) -> None:
            nonlocal plotly_src
            page = pages[name]
            page.bring_to_front()
            if args.reload:  # as the benchmark's tour: the drill right after a page load
                page.goto(servers[name].base + start, wait_until="commit")
                bi._wait_quiet(page, 0.0)
                page.wait_for_function(bi.MAP_READY, arg=Ids.MAP.value, timeout=60_000)
            for step in drills:
                if traced_as:
                    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
                marks_before = page.evaluate("() => window.__trace.marks.length")
                snap = measure(
                    page,
                    lambda step=step: bi._act(page, step, Ids, retried=_no_retry),
                    expect_url=expected(step),
                    choice=step.kind in bi.CHOICES,
                )
                page.wait_for_function(bi.MAP_READY, arg=Ids.MAP.value, timeout=30_000)
                if traced_as:
                    raw = browser.stop_tracing()
                    path = args.trace_dir / f"{traced_as}-{step.target}.json"
                    path.write_bytes(raw)
                    if plotly_src is None:
                        plotly_src = page.evaluate(
                            """async () => {
                              const u = performance.getEntriesByType('resource').map((e) => e.name)
                                .find((n) => /plotly(\\.min)?\\.js/.test(n));
                              return u ? await (await fetch(u)).text() : ''; }"""
                        )
                    # Marks count pointerdowns; the click's is the first one after marks_before
                    # (a dropdown's choice: the last, on the option).
                    marks_after = page.evaluate("() => window.__trace.marks.length")
                    snap["trace"] = analyse_trace(
                        json.loads(raw),
                        f"shiyu-click-{marks_after if step.kind in bi.CHOICES else marks_before + 1}",
                        snap["total"],
                        ScriptClassifier(plotly_src),
                    )
                    snap["trace_file"] = str(path)
                if record:
                    results[name][record].append(snap)
                bi.log(
                    f"  {name} drill {step.target}: {snap['total']:.0f} ms "
                    f"({len(snap['posts'])} POSTs, {summarise(snap)['rebuilds']} graphs rebuilt)"
                    + (" [traced]" if traced_as else "")
                )
            for _ in drills:
                back = measure(page, lambda: page.evaluate("() => window.__trace.back()") or "Back")
                page.wait_for_function(bi.MAP_READY, arg=Ids.MAP.value, timeout=30_000)
                if record:
                    results[name]["back"].append(back)
            if args.step == "drill" and root_code not in page.url and "unit=" in page.url:
                raise RuntimeError(f"Back did not return to the city: {page.url}")
            if args.step != "drill" and re.search(expected(drills[0]), page.url):
                raise RuntimeError(f"Back did not undo the {args.step}: {page.url}")

        # Figures of the city and of the first drill, for the render floor.
        captured: list[bi.Observed] = []
        seen: list[Any] = []

        def capture(step_name: str, page: Any) -> None:
            figures: dict[str, dict] = {}
            for req in seen:
                resp = req.response()
                if resp is None or resp.status != 200:
                    continue
                with contextlib.suppress(Exception):
                    payload = json.loads(resp.body())
                    for comp, props in (payload.get("response") or {}).items():
                        if isinstance(props, dict) and isinstance(props.get("figure"), dict):
                            figures[comp] = props["figure"]
            sizes = page.evaluate(bi.GRAPH_SIZES)
            captured.append(bi.Observed(step_name, 0.0, [], figures, sizes, []))
            seen.clear()

        def on_finished(req: Any) -> None:
            if bi.UPDATE in req.url:
                seen.append(req)

        for k, (name, _) in enumerate(variants):  # open the city and warm caches (not counted)
            page = pages[name]
            if k == 0:
                page.on("requestfinished", on_finished)
            page.goto(servers[name].base + start, wait_until="commit")
            bi._wait_quiet(page, 0.0)
            page.wait_for_function(bi.MAP_READY, arg=Ids.MAP.value, timeout=60_000)
            if k == 0:
                capture("city", page)
                page.evaluate("() => window.__bench.hookAll()")
                since = page.evaluate("() => performance.now()")
                bi._act(page, drills[0], Ids, retried=_no_retry)
                bi._wait_quiet(page, since)
                page.wait_for_function(bi.MAP_READY, arg=Ids.MAP.value, timeout=30_000)
                capture("drill", page)
                page.remove_listener("requestfinished", on_finished)
                page.go_back()
                bi._wait_quiet(page, page.evaluate("() => performance.now()") - 50)
                page.wait_for_function(bi.MAP_READY, arg=Ids.MAP.value, timeout=30_000)
            drill_and_back(name, None)
        for i in range(args.clicks):
            for name, _ in variants if i % 2 == 0 else list(reversed(variants)):
                drill_and_back(name, "drill")
        for i in range(args.traced):
            for name, _ in variants:
                drill_and_back(name, "traced", traced_as=f"{name}-{i + 1}")

        browsing.close()
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
        floor: list[float] = []
        if args.floor and captured:
            first = variants[0][0]
            floor_traces: list[bytes] = []
            trace = (TRACE_CATEGORIES, lambda _i, raw: floor_traces.append(raw))
            floor = bi.render_floor(
                servers[first].base, captured, args.floor, trace=trace if args.trace_floor else None
            )[0].get("drill", [])
            floor = [x * 1000 for x in floor]
            for i, (raw, ms) in enumerate(zip(floor_traces, floor, strict=args.trace_floor)):
                path = args.trace_dir / f"floor-{i + 1}-{drills[0].target}.json"
                path.write_bytes(raw)
                floor_reports.append(
                    (
                        path,
                        analyse_trace(
                            json.loads(raw), "shiyu-floor-drill", ms, ScriptClassifier(plotly_src)
                        ),
                    )
                )

    # ---- report ----
    keys = [
        "total",
        "first_post",
        "last_json",
        "posts",
        "reacts",
        "rebuilds",
        "map_rebuilt",
        "commits",
        "dispatches",
        "components",
        "react_sync_ms",
    ]
    print(
        f"\nmachine load {os.getloadavg()[0]:.1f}; {workers} workers per variant; "
        f"{' → '.join(s.name for s in drills)}; medians of {args.clicks} clicks"
    )
    header = f"{'variant':<14} {'what':<6} " + " ".join(f"{k:>11}" for k in keys)
    print(header)
    for name, _ in variants:
        for what in ("drill", "back"):
            rows = [summarise(s) for s in results[name][what]]
            if not rows:
                continue
            print(
                f"{name:<14} {what:<6} "
                + " ".join(f"{med([r[k] for r in rows]):11.0f}" for k in keys)
            )
    if floor:
        f = med(floor)
        print(
            f"render floor ({start} → {drills[0].name}, plotly.js alone): median {f:.0f} ms of "
            + " ".join(f"{x:.0f}" for x in floor)
        )
        for name, _ in variants:
            t = med([s["total"] for s in results[name]["drill"]])
            print(f"  {name}: drill {t:.0f} ms = {t / f:.2f}× floor (target ≤ {bi.TARGET_RENDER}×)")
    for name, _ in variants:
        for what in ("drill", "back"):
            totals = [s["total"] for s in results[name][what]]
            print(f"{name} {what} click→rendered ms: " + " ".join(f"{t:.0f}" for t in totals))
    for path, report in floor_reports:
        print(f"\nrender floor (traced): {report.get('window_ms', 0):.0f} ms")
        print(trace_report(report))
        print(f"  trace file: {path}")
    for name, _ in variants:
        for snap in results[name]["traced"]:
            print()
            print(breakdown(f"{name} (traced)", snap))
            if "trace" in snap:
                print(trace_report(snap["trace"]))
                print(f"  trace file: {snap['trace_file']}")
        if args.verbose:
            for snap in results[name]["drill"]:
                print()
                print(breakdown(f"{name} drill", snap))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
