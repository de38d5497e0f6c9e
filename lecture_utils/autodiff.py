"""A scalar reverse-mode autodiff engine, small enough to read in class (in the spirit of micrograd).

Introduced in lecture 02. Every arithmetic operation on a :class:`Value` records its inputs and a local rule
for passing gradients back; :meth:`Value.backward` visits the recorded graph once, in reverse topological
order, and leaves ``dL/dv`` in ``v.grad`` for every node ``v``. :func:`graph` returns the nodes and edges
so that ``widgets.graph_figure.draw_graph`` can draw them.

The functions :func:`exp`, :func:`log`, :func:`tanh`, :func:`sigmoid`, :func:`relu`, :func:`sin` and
:func:`cos` work on plain floats too, so one Python function can be evaluated with floats (for finite
differences) and with :class:`Value` (for backprop). :func:`compare_gradient_costs` counts what a gradient
costs by reverse mode and by finite differences as the number of inputs grows.

Example::

    >>> from lecture_utils.autodiff import Value, relu
    >>> w, x = Value(2.0, label="w"), Value(1.5, label="x")
    >>> loss = (relu(w * x + 4.0) - 1.0) ** 2     # (7 - 1)^2 = 36
    >>> loss.backward()                           # one local rule per node of the graph
    9
    >>> loss
    Value(36, grad=1)
    >>> w.grad                                    # dloss/dw = 2 (relu(wx + 4) - 1) * x
    18.0
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass

import numpy as np

from ._validate import check_int, check_real
from .finite_differences import CountingFunction, numerical_gradient

__all__ = ["Value", "Graph", "graph", "topological_order", "value_and_grad",
           "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "chain_function", "compare_gradient_costs"]


class Value:
    """One scalar node of a computational graph: its value ``data``, its gradient ``grad`` and how it was made.

    Args:
        data: the number this node holds.
        label: a name to show in drawings (``"w111"``, ``"loss"``); optional.
        parents: the nodes an operation computed this one from (empty for an input).
        op: the name of that operation, for drawings.

    A new operation creates its output node with ``parents`` and ``op`` and sets ``out.backward_fn`` to a
    function that ADDS ``local derivative * out.grad`` to each parent's ``grad`` (see :meth:`tanh`).

    Example: ``v = Value(3.0, label="x"); (v * v).backward(); v.grad  # 6.0``
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "backward_fn")

    def __init__(self, data, label: str = "", *, parents=(), op: str = ""):
        if isinstance(data, Value):
            raise TypeError("data must be a number, not a Value (use the Value itself)")
        if isinstance(data, bool) or not isinstance(data, numbers.Real):
            raise TypeError(f"data must be a real number, got {type(data).__name__} {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = str(label)
        if any(not isinstance(p, Value) for p in parents):
            raise TypeError("parents must be Value nodes")
        self.op = str(op)               # the operation that produced this node ("" for a leaf)
        self.parents = tuple(parents)   # the nodes it was computed from
        self.backward_fn = _noop        # adds this node's grad times its local derivatives to its parents' grads

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"

    # ---- arithmetic: each op returns a new node and defines its local backward rule ------------------
    def __add__(self, other):
        other = _as_value(other)
        out = Value(self.data + other.data, parents=(self, other), op="+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out.backward_fn = _backward
        return out

    def __mul__(self, other):
        other = _as_value(other)
        out = Value(self.data * other.data, parents=(self, other), op="*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out.backward_fn = _backward
        return out

    def __pow__(self, exponent):
        if isinstance(exponent, Value) or isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
            raise TypeError("only a constant real exponent is supported: v ** 2, v ** -1, v ** 0.5")
        if self.data == 0 and exponent < 0:
            raise ZeroDivisionError(f"0 ** {exponent} is undefined ({self!r})")
        if self.data < 0 and not float(exponent).is_integer():
            raise ValueError(f"a negative number to the fractional power {exponent} is not real ({self!r})")
        out = Value(self.data ** exponent, parents=(self,), op=f"**{exponent:g}")

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
        out.backward_fn = _backward
        return out

    def _unary(self, value: float, local_grad: float, op: str):
        out = Value(value, parents=(self,), op=op)

        def _backward():
            self.grad += local_grad * out.grad
        out.backward_fn = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log needs a positive input, got {self.data}")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")          # derivative through the output itself

    def sigmoid(self):
        s = _sigmoid(self.data)
        return self._unary(s, s * (1.0 - s), "sigmoid")

    def relu(self):
        return self._unary(max(self.data, 0.0), 1.0 if self.data > 0 else 0.0, "relu")

    def sin(self):
        return self._unary(math.sin(self.data), math.cos(self.data), "sin")

    def cos(self):
        return self._unary(math.cos(self.data), -math.sin(self.data), "cos")

    def __sub__(self, other):
        other = _as_value(other)
        out = Value(self.data - other.data, parents=(self, other), op="-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out.backward_fn = _backward
        return out

    def __truediv__(self, other):
        other = _as_value(other)
        if other.data == 0:
            raise ZeroDivisionError(f"division by a node whose value is 0 ({other!r})")
        out = Value(self.data / other.data, parents=(self, other), op="/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / other.data ** 2
        out.backward_fn = _backward
        return out

    def __neg__(self):
        return self._unary(-self.data, -1.0, "neg")

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return _as_value(other) - self

    def __rtruediv__(self, other):
        return _as_value(other) / self

    # ---- reverse mode ---------------------------------------------------------------------------------
    def backward(self) -> int:
        """Fill ``.grad`` of every node this one depends on with ``d self / d node``.

        Gradients accumulate (``+=``) as in torch; call :meth:`zero_grad` between two backward passes.
        Returns the number of local backward rules it ran (one per node: the cost of one backward pass).
        """
        order = topological_order(self)
        self.grad = 1.0
        for node in reversed(order):
            node.backward_fn()
        return len(order)

    def zero_grad(self) -> None:
        """Set ``.grad`` to zero on this node and everything it depends on."""
        for node in topological_order(self):
            node.grad = 0.0


def _noop():
    return None


def _as_value(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def topological_order(root: Value) -> list:
    """Every node ``root`` depends on, each listed after all of its parents (``root`` last).

    Iterative depth-first search, so deep graphs do not hit Python's recursion limit.
    Example: ``[n.op for n in topological_order(loss)]``
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


@dataclass(frozen=True)
class Graph:
    """A computational graph ready to draw.

    Attributes:
        nodes: one dict per node with ``id``, ``label``, ``op`` (``""`` for inputs), ``data``, ``grad`` and
            ``level`` (0 for inputs, else one more than its deepest parent), in topological order.
        edges: ``(parent_id, child_id)`` pairs, from an input of an operation to its output.
    """

    nodes: list
    edges: list


def graph(root: Value) -> Graph:
    """The nodes and edges behind ``root``, with values, gradients and a level for a left-to-right layout.

    Example: ``g = graph(loss); len(g.nodes), len(g.edges)``
    """
    order = topological_order(root)
    ids = {id(n): i for i, n in enumerate(order)}
    level = {}
    nodes, edges = [], []
    for i, n in enumerate(order):
        level[i] = 1 + max((level[ids[id(p)]] for p in n.parents), default=-1)
        nodes.append({"id": i, "label": n.label, "op": n.op, "data": n.data, "grad": n.grad, "level": level[i]})
        edges.extend((ids[id(p)], i) for p in n.parents)
    return Graph(nodes, edges)


def value_and_grad(fn, x):
    """Evaluate ``fn`` once on :class:`Value` inputs and backpropagate once: ``(f(x), grad f(x), info)``.

    Args:
        fn: a function of a list of numbers, built from ``+ - * / **`` and this module's functions.
        x: sequence of ``n`` numbers.
    Returns:
        ``(value, grad, info)``: a float, a list of ``n`` floats, and ``{"forward_passes": 1,
        "backward_passes": 1, "nodes": number of graph nodes}``.
    Example: ``value_and_grad(lambda v: v[0] * v[1], [2.0, 3.0])  # (6.0, [3.0, 2.0], {...})``
    """
    inputs = [Value(float(xi), label=f"x{i + 1}") for i, xi in enumerate(x)]
    out = fn(inputs)
    out = _as_value(out)
    num_nodes = out.backward()
    return out.data, [v.grad for v in inputs], {"forward_passes": 1, "backward_passes": 1, "nodes": num_nodes}


# ---- functions that accept a Value or a plain float ---------------------------------------------------
def exp(x):
    """e**x for a :class:`Value` or a float."""
    return x.exp() if isinstance(x, Value) else math.exp(x)


def log(x):
    """Natural log for a :class:`Value` or a float."""
    return x.log() if isinstance(x, Value) else math.log(x)


def tanh(x):
    """tanh for a :class:`Value` or a float."""
    return x.tanh() if isinstance(x, Value) else math.tanh(x)


def sigmoid(x):
    """1 / (1 + e**-x) for a :class:`Value` or a float."""
    return x.sigmoid() if isinstance(x, Value) else _sigmoid(x)


def relu(x):
    """max(x, 0) for a :class:`Value` or a float (derivative 0 at x = 0, as in torch)."""
    return x.relu() if isinstance(x, Value) else max(x, 0.0)


def sin(x):
    """sin for a :class:`Value` or a float."""
    return x.sin() if isinstance(x, Value) else math.sin(x)


def cos(x):
    """cos for a :class:`Value` or a float."""
    return x.cos() if isinstance(x, Value) else math.cos(x)


# ---- what a gradient costs: reverse mode vs finite differences (lecture 02) -------------------------
def chain_function(v):
    """A test function of ``n >= 2`` inputs whose cost grows linearly with ``n``, for floats or ``Value`` nodes.

    ``f(v) = sum_i tanh(v_i v_{i+1}) + 0.1 v_i^2``. Example: ``chain_function([0.1, 0.2, 0.3])``
    """
    total = 0.0
    for i in range(len(v) - 1):
        total = total + tanh(v[i] * v[i + 1]) + 0.1 * v[i] * v[i]
    return total


def compare_gradient_costs(ns, *, h: float = 1e-5, repeats: int = 1, seed: int = 0) -> dict:
    """Gradient of :func:`chain_function` in ``n`` variables by reverse mode and by central differences.

    Counts are exact (calls of the function; reverse mode also reports its backward pass and graph size);
    times are wall-clock, the best of ``repeats`` runs, so only their growth with ``n`` means anything.

    Args:
        ns: sizes to try, each >= 2; h: finite-difference step; repeats: timing repeats.
    Returns:
        dict of ``(len(ns),)`` arrays: ``n``, ``fd_calls``, ``fd_seconds``, ``ad_forward_calls``,
        ``ad_backward_passes``, ``ad_nodes``, ``ad_seconds``, ``max_abs_diff`` (between the two gradients).
    Example: ``compare_gradient_costs([2, 8, 32])["fd_calls"]  # [4, 16, 64]``
    """
    ns = [check_int("n", n, low=2) for n in np.atleast_1d(ns).tolist()]
    repeats = check_int("repeats", repeats, low=1)
    h = check_real("h", h, low=0.0, low_open=True)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    out = {k: [] for k in ("n", "fd_calls", "fd_seconds", "ad_forward_calls", "ad_backward_passes",
                           "ad_nodes", "ad_seconds", "max_abs_diff")}
    for n in ns:
        x = rng.uniform(-1, 1, n)
        xs = x.tolist()
        fd_fn = CountingFunction(lambda v: chain_function(list(v)))
        ad_fn = CountingFunction(chain_function)
        best_fd = best_ad = math.inf
        for _ in range(repeats):
            fd_fn.reset()
            t0 = time.perf_counter()
            g_fd = numerical_gradient(fd_fn, x, h=h)
            best_fd = min(best_fd, time.perf_counter() - t0)
            ad_fn.reset()
            t0 = time.perf_counter()
            _, g_ad, info = value_and_grad(ad_fn, xs)
            best_ad = min(best_ad, time.perf_counter() - t0)
        out["n"].append(n)
        out["fd_calls"].append(fd_fn.calls)
        out["fd_seconds"].append(best_fd)
        out["ad_forward_calls"].append(ad_fn.calls)
        out["ad_backward_passes"].append(info["backward_passes"])
        out["ad_nodes"].append(info["nodes"])
        out["ad_seconds"].append(best_ad)
        out["max_abs_diff"].append(float(np.max(np.abs(np.asarray(g_ad) - g_fd))))
    return {k: np.asarray(v) for k, v in out.items()}
