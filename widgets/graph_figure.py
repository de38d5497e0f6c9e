"""Drawing a computational graph (lecture 02): boxes for the nodes of an autodiff expression, arrows for its edges.

:func:`graph_layout` places the nodes left to right (inputs before their first use, rows ordered to avoid
crossings); :func:`draw_graph` draws each node with its operation, value and gradient. The graph itself comes
from :func:`lecture_utils.autodiff.graph`.

Example::

    from widgets.graph_figure import draw_graph
    loss.backward(); draw_graph(loss)
"""
from __future__ import annotations

import numpy as np

from lecture_utils import autodiff

from .figures import new_figure

__all__ = ["graph_layout", "draw_graph"]


def graph_layout(g: autodiff.Graph, sweeps: int = 8) -> dict:
    """Positions ``{node id: (column, row)}`` for drawing a graph left to right.

    An operation's column is its level; an input sits one column before its first consumer (so a weight of
    the last layer appears next to the layer that uses it). Rows order each column by the mean row of the
    neighbours (a few barycentre sweeps, which removes most edge crossings).
    """
    parents: dict = {n["id"]: [] for n in g.nodes}
    children: dict = {n["id"]: [] for n in g.nodes}
    for a, b in g.edges:
        parents[b].append(a)
        children[a].append(b)
    level = {n["id"]: n["level"] for n in g.nodes}
    column = {}
    for n in g.nodes:
        nid = n["id"]
        column[nid] = (min(level[c] for c in children[nid]) - 1) if (n["op"] == "" and children[nid]) else level[nid]
    columns: dict = {}
    for n in g.nodes:
        columns.setdefault(column[n["id"]], []).append(n["id"])
    height = max(len(v) for v in columns.values())
    row = {}
    for ids in columns.values():
        for i, nid in enumerate(ids):
            row[nid] = (i - (len(ids) - 1) / 2) * (height / len(ids))
    order = sorted(columns)
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        for c in (order if forward else order[::-1]):
            ids = columns[c]
            key = {}
            for nid in ids:
                nbrs = (parents[nid] if forward else children[nid]) or parents[nid] + children[nid]
                key[nid] = float(np.mean([row[m] for m in nbrs])) if nbrs else row[nid]
            ids.sort(key=lambda nid: key[nid])
            spacing = height / len(ids)
            for i, nid in enumerate(ids):
                row[nid] = (i - (len(ids) - 1) / 2) * spacing
    return {nid: (float(column[nid]), float(row[nid])) for nid in column}


_OP_NAMES = {"*": "\u00d7", "neg": "negate"}


def _num(v: float, digits: int = 4) -> str:
    return f"{v + 0.0:.{digits}g}"  # + 0.0 shows -0.0 as 0


def draw_graph(root, ax=None, *, show_grad: bool = True, figsize=None, fontsize: float = 8.0, digits: int = 4):
    """Draw the computational graph of an autodiff :class:`~lecture_utils.autodiff.Value` (lecture 02).

    Each node is a box with its name and operation, its value and, after ``backward()``, its gradient
    ``dL/dnode``; arrows go from the inputs of an operation to its output, left to right. Inputs are blue,
    constants grey, results of operations orange.

    Args:
        root: a ``Value`` (its graph is taken) or an :class:`lecture_utils.autodiff.Graph`.
        ax: axes to draw on (default: a new figure sized to the graph).
        show_grad: add the gradient line to each box.
        figsize: default about 1.3 inches per column and 0.7 per row; fontsize: box text size;
        digits: significant digits of values and gradients.
    Returns:
        the axes; ``ax.graph`` is the :class:`~lecture_utils.autodiff.Graph` drawn, ``ax.node_texts`` maps
        node id to the text in its box and ``ax.positions`` node id to its ``(column, row)``.
    Example: ``loss.backward(); draw_graph(loss)``
    """
    g = autodiff.graph(root) if isinstance(root, autodiff.Value) else root
    if not isinstance(g, autodiff.Graph):
        raise TypeError(f"root must be an autodiff Value or Graph, got {type(root).__name__}")
    pos = graph_layout(g)
    cols = sorted({c for c, _ in pos.values()})
    height = max(sum(1 for c, _ in pos.values() if c == col) for col in cols)
    if ax is None:
        size = figsize or (max(6.0, 1.3 * len(cols)), max(2.2, 0.7 * height + 0.6))
        ax = new_figure(size).add_subplot(1, 1, 1)
    texts, artists = {}, {}
    for n in g.nodes:
        if n["op"] == "":
            head = n["label"] or "constant"
        else:
            op = _OP_NAMES.get(n["op"], n["op"])
            head = f"{n['label']} = {op}" if n["label"] else op
        lines = [head, f"value {_num(n['data'], digits)}"]
        if show_grad:
            lines.append(f"grad  {_num(n['grad'], digits)}")
        texts[n["id"]] = "\n".join(lines)
    for n in g.nodes:
        x, y = pos[n["id"]]
        leaf = n["op"] == ""
        face = "#EEEEEE" if (leaf and not n["label"]) else ("#D6E9F8" if leaf else "#FFEBCC")
        artists[n["id"]] = ax.text(x, y, texts[n["id"]], ha="center", va="center", fontsize=fontsize,
                                   family="monospace", zorder=3,
                                   bbox=dict(boxstyle="round,pad=0.35", fc=face, ec="0.35", lw=0.8))
    for a, b in g.edges:
        # anchored to the two text boxes: the arrow leaves a's right edge and enters b's left edge
        ax.annotate("", xy=(0.0, 0.5), xycoords=artists[b], xytext=(1.0, 0.5), textcoords=artists[a],
                    arrowprops=dict(arrowstyle="-|>", color="0.4", lw=0.9, shrinkA=5, shrinkB=5,
                                    mutation_scale=9), zorder=2)
    rows = [r for _, r in pos.values()]
    ax.set_xlim(cols[0] - 0.6, cols[-1] + 0.6)
    ax.set_ylim(min(rows) - 0.8, max(rows) + 0.8)
    ax.axis("off")
    ax.graph = g
    ax.node_texts = texts
    ax.positions = pos
    return ax
