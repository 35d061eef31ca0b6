/*
 * Navigation of the leaders' dashboard without a server round trip before the view is asked
 * for (callbacks/dashboard.py registers drillTarget and route as clientside callbacks).
 *
 * Drill: a click on the map or on the ranked chart (customdata = the unit's code) writes the
 * child's query into the URL: "?unit=<code>&<rest>", where the dash-drill store holds the
 * shown view's unit and the rest of its canonical query (callbacks.dashboard.drill_target),
 * so the URL is the one the server would have written. dcc.Location pushes a history entry.
 * It listens to plotly_click on the two graphs itself, inside plotly's click handler, rather
 * than through the graphs' clickData: each renderer cycle between the click and the request
 * waits for the map's next frame on a busy main thread (~50 ms a drill).
 *
 * route: every URL change (drill, link, breadcrumb, Back, a control written by the server's
 * navigate callback, the page load) is copied into the dash-state store, which the view's
 * callback reads. The server checks the unit's scope when it renders, as for any URL typed
 * by hand. It writes the store with set_props, not as a declared output: Dash holds a
 * callback back while any pending callback could still change one of its inputs, and the
 * server's URL → controls → URL chain would then stand between every click and the view.
 *
 * showControls: the view's answer says which control values show it (callbacks.dashboard.
 * controls_showing); the ones that differ are set, unless the URL has moved on meanwhile (a
 * person chose something else while the view was computed: the newer view sets them).
 */
(function () {
  "use strict";

  var target = null; // the dash-drill store: {unit, rest}
  var GRAPHS = ["dash-map", "dash-child-chart"];

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

  function show(search) {
    var set = window.dash_clientside.set_props;
    set("dash-url", { search: search });
    set("dash-state", { data: { search: search } });
  }

  function listen() {
    GRAPHS.forEach(function (id) {
      var gd = document.querySelector("#" + id + " .js-plotly-plot");
      if (!gd || !gd.on || gd.__shiyuDrill) return;
      gd.__shiyuDrill = true;
      gd.on("plotly_click", function (click) {
        var next = drillSearch(clickedCode(click), target, window.location.search);
        if (next !== null) show(next);
      });
    });
  }

  // Before plotly's own click handling: the graphs are drawn after the store arrives.
  document.addEventListener("mousedown", listen, true);

  window.shiyu = Object.assign(window.shiyu || {}, { drillSearch: drillSearch });
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.shiyuDashboard = Object.assign(
    window.dash_clientside.shiyuDashboard || {},
    {
      drillTarget: function (data) {
        target = data || null;
        listen();
      },
      showControls: function (shown) {
        var current = Array.prototype.slice.call(arguments, 1);
        if (!shown || shown.search !== (window.location.search || "")) return;
        var changed = {};
        shown.controls.forEach(function (c, i) {
          if (JSON.stringify(c[2]) === JSON.stringify(current[i])) return;
          (changed[c[0]] = changed[c[0]] || {})[c[1]] = c[2];
        });
        Object.keys(changed).forEach(function (id) {
          window.dash_clientside.set_props(id, changed[id]);
        });
      },
      route: function (search, store) {
        var current = search || "";
        if (!(store && store.search === current)) {
          window.dash_clientside.set_props("dash-state", { data: { search: current } });
        }
      },
    }
  );
})();
