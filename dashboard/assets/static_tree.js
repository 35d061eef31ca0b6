/*
 * window.shiyu.StaticTree: a tree of plain HTML elements drawn by one Dash component
 * (layouts.dashboard.StaticTree / static_tree).
 *
 * The KPI cards, ranking table, arrival rates and risk tiles would otherwise be ~580 Dash
 * components per view; the Dash 4 renderer dispatches a Redux action for every component a
 * callback adds and each action runs every mounted component's selector, which costs about a
 * second of script per drill on the city.
 *
 * Tree: {t: tag, p: props, c: [child…]}; a child is a tree, a string or null. t "link" is an
 * <a> that navigates like dcc.Link: a history entry and Dash's location event, no page load
 * (modified clicks and other buttons keep the browser's behaviour).
 */
(function () {
  "use strict";

  var React = window.React;

  function cleanUrl(href) {
    var clean = window.dash_clientside && window.dash_clientside.clean_url;
    return clean ? clean(href) : href;
  }

  function follow(event) {
    if (event.button !== 0 || event.metaKey || event.shiftKey || event.altKey || event.ctrlKey) {
      return;
    }
    event.preventDefault();
    window.history.pushState({}, "", event.currentTarget.getAttribute("href"));
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    window.scrollTo(0, 0);
  }

  function draw(node, key) {
    if (node === null || node === undefined) return null;
    if (typeof node !== "object") return String(node);
    var props = Object.assign({ key: key }, node.p || {});
    var tag = node.t;
    if (tag === "link") {
      tag = "a";
      props.href = props.href ? cleanUrl(props.href) : undefined;
      props.onClick = follow;
    }
    var kids = (node.c || []).map(function (child, i) {
      return draw(child, i);
    });
    return React.createElement.apply(null, [tag, props].concat(kids));
  }

  function StaticTree(props) {
    var root = draw(props.tree, "root");
    if (root && typeof root === "object" && props.id) {
      return React.cloneElement(root, { id: props.id });
    }
    return root;
  }

  window.shiyu = Object.assign(window.shiyu || {}, { StaticTree: React.memo(StaticTree) });
})();
