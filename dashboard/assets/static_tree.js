/*
 * window.shiyu.StaticTree: a slot of the page (a title, a note, the KPI cards, the ranking)
 * whose content is a tree of plain HTML elements (layouts.dashboard.StaticTree / slot).
 *
 * The KPI cards, ranking table, arrival rates and risk tiles would otherwise be ~580 Dash
 * components per view; the Dash 4 renderer dispatches a Redux action for every component a
 * callback adds and each action runs every mounted component's selector, which costs about a
 * second of script per drill on the city.
 *
 * `wrap` ({t, p}, no children) is the slot's element, drawn with the component's id; `tree`
 * is its content: a string, a tree or a list of them. The view's answer changes that one prop
 * of a component that stays mounted rather than a Div's children: Dash's renderer follows a
 * new `children` with two more Redux dispatches (the layout's paths, the replaced components'
 * state), each running every mounted component's selector; seventeen such outputs were 33 of
 * a drill's 59 dispatches.
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
    // The slot's element stays; the view's answer changes only its content.
    var content = Array.isArray(props.tree) ? props.tree : [props.tree];
    var slot = Object.assign({}, props.wrap || { t: "div" }, { c: content });
    return React.cloneElement(draw(slot, "slot"), { id: props.id });
  }

  window.shiyu = Object.assign(window.shiyu || {}, { StaticTree: React.memo(StaticTree) });
})();
