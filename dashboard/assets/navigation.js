/*
 * Navigation of the leaders' dashboard without a server round trip before the view is asked
 * for (callbacks/dashboard.py registers both functions as clientside callbacks).
 *
 * drill: a click on the map or on the ranked chart (customdata = the unit's code) writes the
 * child's query into the URL: "?unit=<code>&<rest>", where the dash-drill store holds the
 * shown view's unit and the rest of its canonical query (callbacks.dashboard.drill_target),
 * so the URL is the one the server would have written. dcc.Location pushes a history entry.
 *
 * route: every URL change (drill, link, breadcrumb, Back, a control written by the server's
 * sync, the page load) is copied into the dash-state store, which the four render callbacks
 * read. The server checks the unit's scope when it renders, as for any URL typed by hand.
 * It writes the store with set_props, not as a declared output: Dash holds a callback back
 * while any pending callback could still change one of its inputs, and the server's sync
 * (URL → controls → URL) would then stand between every click and the renders.
 */
(function () {
  "use strict";

  function noUpdate() {
    return window.dash_clientside.no_update;
  }

  function clickedCode(click) {
    var point = click && click.points && click.points[0];
    var data = point ? point.customdata : null;
    if (Array.isArray(data)) data = data.length ? data[0] : null;
    return data === null || data === undefined || data === "" ? null : String(data);
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.shiyuDashboard = Object.assign(
    window.dash_clientside.shiyuDashboard || {},
    {
      drill: function (mapClick, chartClick, target, search) {
        var ctx = window.dash_clientside.callback_context;
        var fromChart = ctx && ctx.triggered_id === "dash-child-chart";
        var code = clickedCode(fromChart ? chartClick : mapClick);
        if (!code || !target || code === target.unit) return noUpdate();
        var next = "?unit=" + encodeURIComponent(code) + (target.rest ? "&" + target.rest : "");
        if (next === (search || "")) return noUpdate();
        // The renders start now, not one more renderer cycle later through route (each cycle
        // waits for the map's frame on a busy main thread); route then finds STATE current.
        window.dash_clientside.set_props("dash-state", { data: { search: next } });
        return next;
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
