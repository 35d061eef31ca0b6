/*
 * PNG downloads named after what each graph shows, without changing the graphs' config.
 *
 * Every dcc.Graph keeps the config it was built with (2× PNG, file name "图表"): plotly.js 4
 * answers a Plotly.react whose config differs from the last one with newPlot + react, which
 * rebuilds the SVG and, for the map, the whole MapLibre map, on every drill. The server sends
 * the names instead (dash-download-names: graph id → file name, through the Relay handler
 * downloadNames), and a click on a graph's mode bar sets
 * toImageButtonOptions.filename just for that click: plotly.js reads it synchronously when the
 * camera button is clicked, and the original options are put back right after, so the next
 * Plotly.react sees the config it knows.
 */
(function () {
  "use strict";

  var names = {};

  function graphId(gd) {
    var box = gd.parentElement && gd.parentElement.closest("[id]");
    return box ? box.id : "";
  }

  document.addEventListener(
    "click",
    function (event) {
      var button = event.target && event.target.closest && event.target.closest(".modebar-btn");
      if (!button) return;
      var gd = button.closest(".js-plotly-plot");
      var name = gd && gd._context && names[graphId(gd)];
      if (!name) return;
      var saved = gd._context.toImageButtonOptions;
      gd._context.toImageButtonOptions = Object.assign({}, saved, { filename: name });
      setTimeout(function () {
        if (gd._context) gd._context.toImageButtonOptions = saved;
      }, 0);
    },
    true
  );

  var shiyu = (window.shiyu = window.shiyu || {});
  shiyu.relays = shiyu.relays || {};
  shiyu.relays.downloadNames = function (data) {
    names = data || {};
  };
})();
