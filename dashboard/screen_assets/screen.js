/*
 * Shiyu big screen (数据大屏): everything that happens in the browser without the server.
 *
 * - Canvas scaling: the fixed design canvas (1920×1080 or 3840×1080) is scaled as a whole,
 *   transform: scale(min(W/w, H/h)), and centred; the letterbox is the page background.
 * - Fullscreen: the 全屏 button and the F key toggle the Fullscreen API; Esc leaves.
 * - Clock: date, 星期 and time in the header, from the wall's own clock.
 * - Count-up: KPI numbers (.countup with data-value) animate from the old to the new value.
 * - Idle detection: mouse, keys, touch and wheel pause the auto-tour; it resumes after the
 *   configured idle time.
 * - Watchdog: the time of the last successful refresh (STATUS store, ok: true) is recorded;
 *   when it is older than two refresh intervals the stale banner says since when the data is
 *   old. Dash keeps retrying on its own interval; the first success clears the banner.
 * - Clientside callbacks (namespace shiyuScreen): applyOptions, tour, status.
 *
 * Runs for days: one interval timer, one observer, one animation loop that stops when idle,
 * no growing structures (the animation set only holds elements still animating).
 */
(function () {
  "use strict";

  var WEEKDAYS = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];
  var IDS = {
    canvas: "screen-canvas",
    date: "screen-date",
    week: "screen-week",
    clock: "screen-clock",
    stale: "screen-stale-text",
    tour: "screen-tour-status",
    fullscreen: "screen-fullscreen",
  };
  var COUNT_MS = 1200;

  var state = {
    lastOk: Date.now(), // before the first answer, the page load counts as fresh
    lastInteraction: 0,
    refreshMs: 60000,
    idleMs: 60000,
    tourOn: false,
    stop: null, // {i, n, name}
    observedCanvas: null,
    // Counters for tests and the soak benchmark (numbers, so they never grow in size).
    stops: 0,
    oks: 0,
    failures: 0,
  };
  // Read by tests and the soak benchmark; never written from outside.
  window.shiyuScreenState = state;

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }
  function hhmm(t) {
    var d = new Date(t);
    return pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function hhmmss(t) {
    var d = new Date(t);
    return hhmm(t) + ":" + pad(d.getSeconds());
  }
  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) {
      el.textContent = text;
    }
  }

  // ---- canvas scaling ---------------------------------------------------------------------
  var resizeObserver = null;

  function fit() {
    var canvas = document.getElementById(IDS.canvas);
    if (!canvas) {
      return;
    }
    // offsetWidth/Height are the design size: layout boxes ignore transforms.
    var w = canvas.offsetWidth;
    var h = canvas.offsetHeight;
    var W = window.innerWidth;
    var H = window.innerHeight;
    if (!w || !h || !W || !H) {
      return;
    }
    var s = Math.min(W / w, H / h);
    var left = (W - w * s) / 2;
    var top = (H - h * s) / 2;
    canvas.style.transform =
      "translate(" + left.toFixed(2) + "px," + top.toFixed(2) + "px) scale(" + s.toFixed(6) + ")";
    canvas.dataset.scale = s.toFixed(6);
    canvas.classList.add("is-fitted");
  }

  function watchCanvas() {
    var canvas = document.getElementById(IDS.canvas);
    if (!canvas || canvas === state.observedCanvas) {
      return;
    }
    if (!document.documentElement.dataset.canvas && canvas.dataset.canvas) {
      document.documentElement.dataset.canvas = canvas.dataset.canvas;
    }
    if (resizeObserver) {
      resizeObserver.disconnect();
    }
    if (window.ResizeObserver) {
      // The canvas changes size when ?canvas= switches std ↔ wide.
      resizeObserver = new ResizeObserver(fit);
      resizeObserver.observe(canvas);
    }
    state.observedCanvas = canvas;
    fit();
  }

  window.addEventListener("resize", fit);
  document.addEventListener("fullscreenchange", fit);

  // ---- fullscreen -------------------------------------------------------------------------
  function toggleFullscreen() {
    if (document.fullscreenElement) {
      if (document.exitFullscreen) {
        document.exitFullscreen().catch(function () {});
      }
    } else if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {});
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("#" + IDS.fullscreen)) {
      toggleFullscreen();
    }
  });

  // ---- interaction (pauses the tour) and keys ---------------------------------------------
  function interacted() {
    state.lastInteraction = Date.now();
  }
  ["mousemove", "mousedown", "touchstart", "wheel"].forEach(function (name) {
    document.addEventListener(name, interacted, { passive: true, capture: true });
  });
  document.addEventListener(
    "keydown",
    function (event) {
      interacted();
      var tag = event.target && event.target.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      if (event.key === "f" || event.key === "F") {
        event.preventDefault();
        toggleFullscreen();
      } else if (event.key === "Escape" && document.fullscreenElement) {
        // Browsers leave fullscreen on Esc themselves; this covers kiosk shells that don't.
        document.exitFullscreen().catch(function () {});
      }
    },
    true
  );

  function paused() {
    return Date.now() - state.lastInteraction < state.idleMs;
  }

  // ---- count-up ---------------------------------------------------------------------------
  var animating = new Set();
  var frame = null;

  function formatNumber(value, decimals) {
    var fixed = Math.abs(value).toFixed(decimals);
    var parts = fixed.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (value < 0 ? "-" : "") + parts.join(".");
  }

  function startCount(el) {
    var text = el.getAttribute("data-text") || "";
    var target = parseFloat(el.getAttribute("data-value"));
    if (!isFinite(target)) {
      el.textContent = text; // "—", "<3": nothing to count
      el._shown = null;
      animating.delete(el);
      return;
    }
    var from = typeof el._shown === "number" ? el._shown : 0;
    if (from === target) {
      el.textContent = text;
      return;
    }
    el._count = {
      from: from,
      to: target,
      start: performance.now(),
      decimals: parseInt(el.getAttribute("data-decimals") || "0", 10) || 0,
      suffix: el.getAttribute("data-suffix") || "",
      text: text,
    };
    animating.add(el);
    if (frame === null) {
      frame = requestAnimationFrame(step);
    }
  }

  function step(now) {
    animating.forEach(function (el) {
      var c = el._count;
      if (!c || !el.isConnected) {
        animating.delete(el);
        return;
      }
      var t = Math.min((now - c.start) / COUNT_MS, 1);
      var eased = 1 - Math.pow(1 - t, 3);
      var value = c.from + (c.to - c.from) * eased;
      el._shown = value;
      if (t >= 1) {
        el.textContent = c.text; // the exact server text, not a float re-formatting
        el._shown = c.to;
        el._count = null;
        animating.delete(el);
      } else {
        el.textContent = formatNumber(value, c.decimals) + c.suffix;
      }
    });
    frame = animating.size ? requestAnimationFrame(step) : null;
  }

  function scanCounts(node) {
    if (node.nodeType !== 1) {
      return;
    }
    if (node.classList.contains("countup")) {
      startCount(node);
    }
    var inner = node.getElementsByClassName("countup");
    for (var i = 0; i < inner.length; i++) {
      startCount(inner[i]);
    }
  }

  var observer = new MutationObserver(function (mutations) {
    for (var i = 0; i < mutations.length; i++) {
      var m = mutations[i];
      if (m.type === "attributes") {
        if (m.target.classList && m.target.classList.contains("countup")) {
          startCount(m.target);
        }
      } else {
        for (var j = 0; j < m.addedNodes.length; j++) {
          scanCounts(m.addedNodes[j]);
        }
      }
    }
  });

  // ---- clock, watchdog, tour status: one timer --------------------------------------------
  function tick() {
    watchCanvas();
    var now = new Date();
    setText(IDS.date, now.getFullYear() + "年" + (now.getMonth() + 1) + "月" + now.getDate() + "日");
    setText(IDS.week, WEEKDAYS[now.getDay()]);
    setText(IDS.clock, pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds()));
    watchdog();
    tourStatus();
  }

  function watchdog() {
    var stale = Date.now() - state.lastOk > 2 * state.refreshMs;
    var root = document.documentElement;
    if (stale) {
      setText(IDS.stale, "数据连接中断，显示的是 " + hhmm(state.lastOk) + " 的数据，正在重试…");
    }
    if (root.classList.contains("is-stale") !== stale) {
      root.classList.toggle("is-stale", stale);
    }
  }

  function tourStatus() {
    var el = document.getElementById(IDS.tour);
    if (!el) {
      return;
    }
    var text = "";
    var isPaused = false;
    if (state.tourOn && state.stop) {
      if (paused()) {
        var left = Math.ceil((state.idleMs - (Date.now() - state.lastInteraction)) / 1000);
        text = "轮播暂停 · " + left + "秒后继续";
        isPaused = true;
      } else {
        text = "轮播 " + (state.stop.i + 1) + "/" + state.stop.n;
      }
    }
    if (el.textContent !== text) {
      el.textContent = text;
    }
    if (el.classList.contains("paused") !== isPaused) {
      el.classList.toggle("paused", isPaused);
    }
  }

  function start() {
    observer.observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["data-value", "data-text"],
    });
    scanCounts(document.body);
    tick();
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  // ---- clientside callbacks ---------------------------------------------------------------
  function triggeredIds() {
    var ctx = window.dash_clientside && window.dash_clientside.callback_context;
    var out = [];
    ((ctx && ctx.triggered) || []).forEach(function (t) {
      out.push(String(t.prop_id || "").split(".")[0]);
    });
    return out;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    shiyuScreen: {
      /* OPTIONS store → tour and refresh timers; canvas and kiosk classes on <html>. */
      applyOptions: function (options) {
        var nu = window.dash_clientside.no_update;
        if (!options) {
          return [nu, nu, nu];
        }
        var root = document.documentElement;
        root.dataset.canvas = options.canvas === "wide" ? "wide" : "std";
        root.classList.toggle("kiosk", !!options.kiosk);
        state.refreshMs = Math.max(1, options.refresh_s) * 1000;
        state.idleMs = Math.max(1, options.idle_s) * 1000;
        var stops = (options.playlist || []).length;
        state.tourOn = options.tour !== "off" && stops > 1;
        fit();
        return [options.interval_s * 1000, !state.tourOn, state.refreshMs];
      },

      /* Which unit is shown: the tour timer, ◀/▶, or a new playlist. */
      tour: function (options, _tick, _prev, _next, view) {
        var nu = window.dash_clientside.no_update;
        var list = (options && options.playlist) || [];
        var n = list.length;
        if (!n) {
          return nu;
        }
        var trig = triggeredIds();
        var index = -1;
        if (view && view.root === options.root) {
          for (var i = 0; i < n; i++) {
            if (list[i].code === view.unit) {
              index = i;
              break;
            }
          }
        }
        if (trig.indexOf("screen-prev") >= 0) {
          index = index < 0 ? 0 : (index - 1 + n) % n;
        } else if (trig.indexOf("screen-next") >= 0) {
          index = index < 0 ? 0 : (index + 1) % n;
        } else if (trig.indexOf("screen-tour-tick") >= 0) {
          if (!state.tourOn || paused()) {
            return nu;
          }
          index = index < 0 ? 0 : (index + 1) % n;
        } else if (index >= 0) {
          // New options, same unit still in the playlist: stay, just note the position.
          state.stop = { i: index, n: n, name: list[index].name };
          return view.i === index && view.n === n ? nu : Object.assign({}, view, { i: index, n: n });
        } else {
          index = 0;
        }
        state.stop = { i: index, n: n, name: list[index].name };
        state.stops += 1;
        tourStatus();
        return { unit: list[index].code, name: list[index].name, i: index, n: n, root: options.root };
      },

      /* STATUS store (written by every data answer) → last-success time and the stamp. */
      status: function (st) {
        var nu = window.dash_clientside.no_update;
        if (!st) {
          return nu;
        }
        if (st.ok) {
          state.lastOk = Date.now();
          state.oks += 1;
        } else {
          state.failures += 1;
        }
        watchdog();
        return st.ok ? "数据更新于 " + hhmmss(state.lastOk) : nu;
      },
    },
  });
})();
