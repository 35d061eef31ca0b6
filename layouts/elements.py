"""Plain HTML elements for the static parts of a view (KPI cards, ranking, rates, risk tiles).

A static part is sent to the page as one ``layouts.dashboard.StaticTree`` (see there for why);
its elements are built as :class:`El` rather than as ``html.*``/``dbc.*`` components that
would be converted: a district's view built ~350 Dash components (each validating its
arguments) only to turn them into the same tree, ~5–8 ms of every first visit.

No Dash here: the tree is what ``assets/static_tree.js`` draws.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["El", "col_class", "dom_id", "h", "link", "node_tree", "progress"]


class El:
    """One element: ``tag``, its React props and its children.

    Props use React's names (``className``, ``colSpan``, ``aria-hidden``); an ``id`` may be a
    dict (a Dash pattern id), written into the page as Dash writes it. Props read as
    attributes (``el.href``), like a Dash component's.
    """

    __slots__ = ("children", "props", "tag")

    def __init__(self, tag: str, children: Any = None, props: dict[str, Any] | None = None):
        self.tag = tag
        self.children = children
        self.props = props or {}

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not slots; read the props slot without coming back
        # here (while unpickling or copying it may not be set yet).
        props = object.__getattribute__(self, "props")
        try:
            return props[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"El({self.tag!r}, {self.children!r}, {self.props!r})"

    def tree(self) -> dict[str, Any]:
        """``{"t": tag, "p": props, "c": [child, …]}``; a child is a tree, a string or None."""
        props = self.props
        if "id" in props:
            props = {**props, "id": dom_id(props["id"])}
        kids = self.children if isinstance(self.children, list | tuple) else [self.children]
        return {"t": self.tag, "p": props, "c": [node_tree(k) for k in kids]}


def node_tree(node: Any) -> Any:
    """One child as the tree carries it: a tree, a string or None."""
    if node is None or isinstance(node, bool):
        return None
    if isinstance(node, El):
        return node.tree()
    if isinstance(node, str | int | float):
        return str(node)
    raise TypeError(f"static tree: cannot draw {type(node).__name__}")


def h(tag: str, children: Any = None, **props: Any) -> El:
    """An element; props with a value of None are left out."""
    return El(tag, children, {k: v for k, v in props.items() if v is not None})


def link(children: Any, href: str, **props: Any) -> El:
    """A link that navigates inside the page like ``dcc.Link`` (static_tree.js: tag ``link``)."""
    return h("link", children, href=href, **props)


def dom_id(value: Any) -> str:
    """An id as Dash writes it into the DOM (dict ids: JSON with sorted keys)."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


_BREAKPOINTS = ("xs", "sm", "md", "lg", "xl", "xxl")


def col_class(**sizes: int | bool) -> str:
    """Bootstrap column classes, as ``dbc.Col(xs=…, md=…)`` writes them (``True``: ``col-md``)."""
    classes = []
    for bp in reversed(_BREAKPOINTS):  # the order dash-bootstrap-components writes them in
        size = sizes.get(bp)
        if size is None:
            continue
        infix = "" if bp == "xs" else f"-{bp}"
        classes.append(f"col{infix}" if size is True else f"col{infix}-{size}")
    return " ".join(classes or ["col"])


def _js_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def progress(value: float, *, color: str | None = None, class_name: str = "") -> El:
    """A single Bootstrap progress bar, as ``dbc.Progress(value=…)`` writes it (0–100)."""
    width = round(float(value), 3)
    inner = h(
        "div",
        [],
        role="progressbar",
        className="progress-bar" + (f" bg-{color}" if color else ""),
        style={"width": f"{_js_number(width)}%"},
        **{
            "aria-valuenow": _js_number(value),
            "aria-valuemin": "0",
            "aria-valuemax": "100",
        },
    )
    return h("div", [inner], className=" ".join(c for c in (class_name, "progress") if c))
