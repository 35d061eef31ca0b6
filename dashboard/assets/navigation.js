/*
 * Navigation of the leaders' dashboard without a server round trip before the view is asked
 * for (callbacks/dashboard.py registers choose and chooseDates as clientside callbacks;
 * followUrl, drillTarget and showControls are handlers of layout.Relay components, see
 * relay.js).
 *
 * Drill: a click on the map or on the ranked chart (customdata = the unit's code) moves the
 * page to the child's query: "?unit=<code>&<rest>", where the dash-drill relay holds the
 * shown view's unit and the rest of its canonical query (callbacks.dashboard.drill_target),
 * so the URL is the one the server would have written. The view is asked for at once; the
 * address bar (dcc.Location, a history entry) follows once the view is drawn (moving).
 * It listens to plotly_click on the two graphs itself, inside plotly's click handler, rather
 * than through the graphs' clickData: each renderer cycle between the click and the request
 * waits for the map's next frame on a busy main thread (~50 ms a drill).
 *
 * choose: a person's choice of period, metric, focus stream, hotspots, map view or dates
 * leads to the URL that came with the shown view for that choice (callbacks.dashboard.
 * control_links), followed here like a drill's; categories, which cannot be listed in
 * advance, are turned into a URL by the server (navigate). A choice made while a newer URL's
 * view is on its way waits for that view's links.
 *
 * follow: every other URL change (a link, the breadcrumb, Back, a URL written by the server's
 * navigate callback, which dcc.Location announces as a link does, and the page load) is
 * copied into the dash-state store, which the view's callback reads. The server checks the
 * unit's scope when it renders, as for any URL typed by hand. It listens to the window's
 * events rather than being a clientside callback on the URL: every callback costs the
 * interaction a cycle of Dash's renderer (dispatches that run every component's selector)
 * while the click is handled and the answer is on its way, and a drill's or choice's own
 * URL would have started one that does nothing. It writes the store with set_props, not as
 * a declared output: Dash holds a callback back while any pending callback could still
 * change one of its inputs, and the server's URL → controls → URL chain would then stand
 * between every click and the view.
 *
 * The view's request leaves at the input event itself (askEarly: a map or chart click, a
 * dropdown option's click, the hotspot switch, a link, Back), not when Dash's renderer gets
 * to it: the renderer sends it from a timer, and after a click on the map that timer waits
 * behind the frame MapLibre draws for the click (40-90 ms on a slow GPU). It is the request
 * the renderer would send (the view callback's last request with the new URL in it), and the
 * renderer's own fetch for that URL is handed its answer: one request per view, as before,
 * audited by the server as before.
 *
 * The map draws its labels without MapLibre's 300 ms fade (quiet): while labels fade the map
 * redraws every frame, and on a wall PC or laptop without a fast GPU each of those frames
 * holds up the page (the view's answer, the other charts) for tens of milliseconds.
 *
 * showControls: the view's answer says which control values show it (callbacks.dashboard.
 * controls_showing); the ones that differ are set once the view is drawn (no frame pending:
 * after the map's last), with the address bar, unless the URL has moved on meanwhile (a
 * person chose something else while the view was computed: the newer view sets them) or a
 * person has changed that control since.
 *
 * What is drawn: every request for a view names the tags of the outputs the page shows (the
 * answers' "tags", callbacks.dashboard.show_view), and the server leaves an output whose tag
 * is unchanged as it is: a metric or hotspot choice redraws the map alone, not the five charts
 * beside it, which plotly.js would diff one by one before the map. An answer that left an
 * output as shown while the page showed another (an answer applied after the request left)
 * is followed by a request for the view without that tag.
 */
(function () {
  "use strict";

  var target = null; // what the dash-drill relay last gave: {unit, rest}
  var GRAPHS = ["dash-map", "dash-child-chart"];
  var VIEW_INPUT = "dash-state"; // the store whose changes ask the server for the view
  var SWITCH = "dash-hotspot";
  var VIEW_BUTTONS = "dash-map-view";
  var UPDATE = "_dash-update-component";
  var EARLY_MS = 5000; // an early answer nobody asked for is dropped after this
  var DROPPED_FRAME_MS = 1000; // a map frame dropped at a drill is drawn after this at the latest
  var QUIET_MS = 2000; // an answered view reaches the address bar and controls by then
  var LONG_IDLE_MS = 20; // an idle period this long has no frame to draw before it ends

  var sendFetch = window.fetch;
  var viewRequest = null; // {url, init, body}: the view callback's last request
  var early = {}; // search → the Promise of its view's Response, sent at the input event
  var drawn = {}; // "<part>.<output>" → the tag of what the page shows there

  // What the dash-state store holds for the view of `search`: its request names what is drawn.
  function viewData(search) {
    return { search: search, drawn: Object.assign({}, drawn) };
  }

  function viewSearch(body) {
    var input = body && Array.isArray(body.inputs) && body.inputs.length === 1 && body.inputs[0];
    if (!input || input.id !== VIEW_INPUT || !input.value) return null;
    return typeof input.value.search === "string" ? input.value.search : null;
  }

  function parsed(init) {
    if (!init || typeof init.body !== "string") return null;
    try {
      return JSON.parse(init.body);
    } catch (e) {
      return null;
    }
  }

  // The renderer's requests: the view's is remembered (the shape of the next early one) and
  // answered by the early request for the same URL when there is one.
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    if (url.indexOf(UPDATE) >= 0) {
      var body = parsed(init);
      var search = viewSearch(body);
      if (search !== null) {
        viewRequest = { url: url, init: init, body: body };
        var answer = early[search];
        if (answer) delete early[search];
        else answer = sendFetch.apply(this, arguments);
        // A view that will not be drawn (an error, a refusal, nothing to update) still
        // moves the address bar.
        answer.then(
          function (response) {
            if (!response.ok || response.status === 204) failed(search);
          },
          function () {
            failed(search);
          }
        );
        return answer;
      }
    }
    return sendFetch.apply(this, arguments);
  };

  function failed(search) {
    if (moving === search) writeUrl();
  }

  function askEarly(search) {
    if (!viewRequest || early[search] || search === (viewSearch(viewRequest.body) || "")) return;
    var body = Object.assign({}, viewRequest.body, {
      inputs: [Object.assign({}, viewRequest.body.inputs[0], { value: viewData(search) })],
    });
    var init = Object.assign({}, viewRequest.init, { body: JSON.stringify(body) });
    var answer = sendFetch.call(window, viewRequest.url, init);
    early[search] = answer;
    answer.catch(function () {}); // the renderer, if it asks, sees the failure itself
    setTimeout(function () {
      if (early[search] !== answer) return;
      delete early[search];
      answer.then(function (response) {
        if (response.body) response.body.cancel(); // frees the connection
      }, function () {});
    }, EARLY_MS);
  }

  function clickedCode(click) {
    var point = click && click.points && click.points[0];
    var data = point ? point.customdata : null;
    if (Array.isArray(data)) data = data.length ? data[0] : null;
    return data === null || data === undefined || data === "" ? null : String(data);
  }

  // The URL a click on the unit `code` leads to from the view `where`, or null for none.
  function drillSearch(code, where, search) {
    if (!code || !where || code === where.unit) return null;
    var next = "?unit=" + encodeURIComponent(code) + (where.rest ? "&" + where.rest : "");
    return next === (search || "") ? null : next;
  }

  // The URL a drill or a choice has moved the page to, until the address bar shows it: once
  // its view is drawn (showControls, whenQuiet) or its request has failed. Written at the
  // click, it (dcc.Location's update, history.pushState, the browser's bookkeeping of a
  // history entry) cost the click's task ~10 ms of the page's main thread and as much of the
  // browser's, on a two-core machine beside the worker computing the answer (A/B, round 24).
  var moving = null;

  function here() {
    return moving !== null ? moving : window.location.search || "";
  }

  var written = null; // the URL last given to dcc.Location, until its history entry is made

  function writeUrl() {
    if (moving === null) return;
    written = moving;
    moving = null;
    window.dash_clientside.set_props("dash-url", { search: written });
  }

  function show(search) {
    askEarly(search);
    moving = search;
    window.dash_clientside.set_props(VIEW_INPUT, { data: viewData(search) });
  }

  // The URLs the controls' choices lead to, as the last answer gave them (callbacks.dashboard.
  // control_links), and a choice made while a newer view was on its way.
  var links = null;
  var pending = null;

  function choose(id, value) {
    if (!links || links.search !== here()) {
      pending = [id, value]; // the links of the URL shown come with its view
      return;
    }
    pending = null;
    var next = linked(id, value);
    if (next) show(next);
  }

  // The URL a choice of `value` on the control `id` leads to from the URL shown, as its view's
  // links give it, or null where the choice changes nothing.
  function linked(id, value) {
    var next =
      id === "dash-dates"
        ? datesSearch(links.next[id], value)
        : (links.next[id] || {})[JSON.stringify(value)];
    return typeof next === "string" && next !== here() ? next : null;
  }

  // The URL of dates picked by a person, or null for the dates the pickers show anyway (the
  // URL's period's, or a preset period's while the period control shows it).
  function datesSearch(dates, value) {
    var start = value[0] ? String(value[0]).slice(0, 10) : "";
    var end = value[1] ? String(value[1]).slice(0, 10) : "";
    if (!dates || !start || !end) return null;
    var spans = [dates.shown, dates.spans[shown("dash-period", "value")]];
    var display = spans.some(function (s) {
      return s && s[0] === start && s[1] === end;
    });
    if (display) return null;
    return dates.custom.replace(dates.slots[0], start).replace(dates.slots[1], end);
  }

  function mapOf(gd) {
    var subplot = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    return subplot && subplot.map ? subplot.map : null;
  }

  function quiet(gd) {
    var map = mapOf(gd);
    // MapLibre reads this option on every frame; plotly.js creates the map without it.
    if (map) map._fadeDuration = 0;
  }

  // The frame MapLibre asked for when the button went up: its drag handler asks for one even
  // when nothing moved, and the map is about to be drawn anew for the view clicked. Dropped,
  // it does not hold up the view's answer (a frame is a 30-80 ms commit in software GL); if
  // no new drawing comes (the view failed), the map is drawn once later instead, which also
  // runs what MapLibre queued for that frame.
  function dropPendingFrame(gd) {
    var map = mapOf(gd);
    var request = map && map._frameRequest;
    if (!request || typeof request.abort !== "function") return;
    request.abort();
    map._frameRequest = null;
    var later = setTimeout(function () {
      map.triggerRepaint();
    }, DROPPED_FRAME_MS);
    map.once("render", function () {
      clearTimeout(later);
    });
  }

  var retries = 0;

  function listen() {
    var missing = false;
    GRAPHS.forEach(function (id) {
      var gd = document.querySelector("#" + id + " .js-plotly-plot");
      if (!gd || !gd.on) {
        missing = true;
        return;
      }
      quiet(gd);
      if (gd.__shiyuDrill) return;
      gd.__shiyuDrill = true;
      gd.on("plotly_afterplot", function () {
        quiet(gd); // the map is made on the graph's first draw, and again if plotly rebuilds it
      });
      gd.on("plotly_click", function (click) {
        var next = drillSearch(clickedCode(click), target, here());
        if (next === null) return;
        dropPendingFrame(gd);
        show(next);
      });
    });
    // On the page load the graphs are drawn after the store that asks for this arrives.
    if (missing && retries < 100) {
      retries += 1;
      setTimeout(listen, 100);
    } else if (!missing) {
      retries = 0;
    }
  }

  // Before plotly's own click handling: the graphs are drawn after the store arrives.
  document.addEventListener("mousedown", listen, true);
  // The view a choice of `value` on the control `id` leads to, asked for now if its URL came
  // with the view shown.
  function askChoice(id, value) {
    if (!links || links.search !== here()) return;
    var next = linked(id, value);
    if (next) askEarly(next);
  }
  // The hotspot switch and the map view's buttons (callbacks.dashboard.EVENT_CONTROLS) are
  // followed from their change event, mouse or keyboard, and no callback waits on their value:
  // Dash's renderer would run it from its timer 10-15 ms later, one cycle more before a view
  // that may change no chart (no hotspot found) is shown.
  document.addEventListener(
    "change",
    function (event) {
      var box = document.getElementById(SWITCH);
      if (box && box.contains(event.target)) {
        choose(SWITCH, !!event.target.checked);
        return;
      }
      var group = document.getElementById(VIEW_BUTTONS);
      if (!group || !group.contains(event.target) || !event.target.checked) return;
      var inputs = Array.prototype.slice.call(group.querySelectorAll("input"));
      var option = (shown(VIEW_BUTTONS, "options") || [])[inputs.indexOf(event.target)];
      if (option) choose(VIEW_BUTTONS, option.value);
    },
    true
  );
  // A click on an option of the period, stream or metric dropdown asks for its view at once,
  // as the switch does: the dropdown closes and Dash's renderer runs choose from its timers
  // only ~20 ms later. The option (dcc.Dropdown's popover, outside the dropdown's element) is
  // known by its text among the options its dropdown shows.
  document.addEventListener(
    "click",
    function (event) {
      var option = event.target.closest && event.target.closest("[role=option]");
      var popover = option && option.closest("[role=dialog][id]");
      var trigger = popover && document.querySelector('[aria-controls="' + popover.id + '"]');
      if (!trigger) return;
      var text = option.textContent.trim();
      var chosen = (shown(trigger.id, "options") || []).filter(function (o) {
        return String(o.label).trim() === text;
      });
      if (chosen.length === 1) askChoice(trigger.id, chosen[0].value);
    },
    true
  );
  // The category filter's options are asked for when it is first opened (or focused).
  var categoriesWanted = false;
  function wantCategories(event) {
    var box = document.getElementById("dash-categories");
    if (!box || !box.contains(event.target)) return;
    writeUrl(); // a category's choice is made a URL by the server (navigate) from this one
    if (categoriesWanted) return;
    categoriesWanted = true;
    window.dash_clientside.set_props("dash-categories-wanted", { data: true });
  }
  document.addEventListener("mousedown", wantCategories, true);
  document.addEventListener("focusin", wantCategories, true);

  // Links (ranking, breadcrumb, KPI cards), Back, navigate's URL: the URL has just changed.
  // The page load: the dash-follow relay's handler, once the store is there to be set.
  function follow() {
    var current = window.location.search || "";
    if (current === written) {
      written = null; // the address bar has caught up with the view shown
      return;
    }
    written = null;
    moving = null; // a link or Back wins over a view on its way
    var state = shown(VIEW_INPUT, "data");
    if (state && state.search === current) return; // a drill's or a choice's own URL
    askEarly(current);
    window.dash_clientside.set_props(VIEW_INPUT, { data: viewData(current) });
  }
  ["_dashprivate_pushstate", "popstate"].forEach(function (name) {
    window.addEventListener(name, follow);
  });

  function shown(id, prop) {
    var component = window.dash_component_api.getLayout(id);
    return component && component.props ? component.props[prop] : undefined;
  }

  var shiyu = (window.shiyu = window.shiyu || {});
  shiyu.drillSearch = drillSearch;
  shiyu.dropPendingFrame = dropPendingFrame;
  shiyu.relays = shiyu.relays || {};
  shiyu.relays.followUrl = follow;
  // The view's answer, through layout.Relay components (no Dash callback cycle each).
  shiyu.relays.drillTarget = function (data) {
    target = data || null;
    listen();
  };
  // What an applied answer leaves the page showing; true if an output it left as shown was not.
  function keepDrawn(answer) {
    var tags = answer.tags || {};
    var stale = (answer.kept || []).filter(function (name) {
      return drawn[name] !== tags[name];
    });
    drawn = Object.assign({}, tags);
    stale.forEach(function (name) {
      delete drawn[name];
    });
    return stale.length > 0;
  }

  shiyu.relays.showControls = function (answer) {
    if (!answer) return;
    var stale = keepDrawn(answer);
    if (answer.search !== here()) return;
    if (stale) window.dash_clientside.set_props(VIEW_INPUT, { data: viewData(answer.search) });
    links = { search: answer.search, next: answer.next || {} };
    if (pending) {
      choose(pending[0], pending[1]);
      if (answer.search !== here()) return;
    }
    var changed = {};
    var seen = {}; // what a control to be set showed when the answer came
    answer.controls.forEach(function (c) {
      var now = JSON.stringify(shown(c[0], c[1]));
      if (JSON.stringify(c[2]) === now) return;
      (changed[c[0]] = changed[c[0]] || {})[c[1]] = c[2];
      seen[c[0] + "." + c[1]] = now;
    });
    var cats = changed["dash-categories"];
    if (cats && cats.value && cats.value.length) {
      // The filter's options are read once it is opened: categories a URL names come with
      // their own options, or the dropdown would drop them as unknown.
      var options = (shown("dash-categories", "options") || []).slice();
      cats.value.forEach(function (c) {
        if (!options.some(function (o) { return o.value === c; })) {
          options.push({ label: c, value: c });
        }
      });
      cats.options = options;
    }
    // The address bar and the controls echo the view once it is drawn: setting a control
    // starts a cycle of Dash's renderer (and, for the date pickers, their callback: 40-70 ms
    // on a two-core machine) that would otherwise run between the map's frames. A control a
    // person has changed since is left as is.
    whenQuiet(function () {
      if (answer.search !== here()) return;
      writeUrl();
      Object.keys(changed).forEach(function (id) {
        var untouched = Object.keys(changed[id]).every(function (prop) {
          var key = id + "." + prop;
          return !(key in seen) || JSON.stringify(shown(id, prop)) === seen[key];
        });
        if (untouched) window.dash_clientside.set_props(id, changed[id]);
      });
    });
  };

  // Once no frame is being drawn (an idle period longer than a frame: the map's and the
  // charts' drawing is over), or after QUIET_MS at the latest.
  function whenQuiet(run) {
    if (!window.requestIdleCallback) return setTimeout(run, 0);
    var until = Date.now() + QUIET_MS;
    (function wait() {
      window.requestIdleCallback(
        function (deadline) {
          if (deadline.timeRemaining() > LONG_IDLE_MS || Date.now() >= until) run();
          else wait();
        },
        { timeout: Math.max(1, until - Date.now()) }
      );
    })();
  }
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.shiyuDashboard = Object.assign(
    window.dash_clientside.shiyuDashboard || {},
    {
      chooseDates: function (start, end) {
        choose("dash-dates", [start, end]);
      },
      choose: function () {
        var fired = window.dash_clientside.callback_context.triggered || [];
        fired.forEach(function (t) {
          choose(t.prop_id.split(".")[0], t.value);
        });
      },
    }
  );
})();
