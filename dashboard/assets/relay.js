/*
 * window.shiyu.Relay (layouts.dashboard.Relay): hands the value a callback answer gave its
 * `data` prop to window.shiyu.relays[handler], once per change, without a Dash callback.
 *
 * A dcc.Store read by a clientside callback costs every answer a cycle of the Dash renderer
 * (bookkeeping dispatches that run every component's selector, then a React commit and a
 * frame) while the map is still drawing; this costs one effect. The handlers are the page's
 * own scripts (navigation.js, downloads.js), registered under window.shiyu.relays whatever
 * order the assets load in.
 */
(function () {
  "use strict";

  var React = window.React;
  var shiyu = (window.shiyu = window.shiyu || {});
  shiyu.relays = shiyu.relays || {};

  function Relay(props) {
    var data = props.data === undefined ? null : props.data;
    React.useEffect(
      function () {
        var handler = shiyu.relays[props.handler];
        if (handler) handler(data);
      },
      [data, props.handler]
    );
    return null;
  }

  shiyu.Relay = Relay;
})();
