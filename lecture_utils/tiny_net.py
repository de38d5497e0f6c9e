"""The 3-input, 2-hidden (ReLU), 2-output net without biases of lecture 02, trained by least squares on one-hot
targets: its forward and backward pass on an explicit computational graph, ``dloss/dw_111`` written out by the
chain rule, the same loss in torch for autograd, and the net built from :class:`lecture_utils.autodiff.Value`
nodes for the scalar engine.

Example (the backward pass and the chain rule written out agree on ``dloss/dw_111``)::

    >>> from lecture_utils import tiny_net
    >>> W1, W2 = tiny_net.init(0)
    >>> cache = tiny_net.forward(W1, W2, [1.0, -2.0, 1.0], [1.0, 0.0])   # input x, one-hot target of class 0
    >>> dw111 = tiny_net.backward(W1, W2, cache)["W1"][0, 0]
    >>> round(float(dw111), 4), round(tiny_net.dL_dw111_by_hand(W1, W2, [1.0, -2.0, 1.0], 1), 4)
    (8.454, 8.454)
"""
from __future__ import annotations

import numpy as np

from . import autodiff
from ._validate import check_array, check_int

__all__ = ["WEIGHT_NAMES", "one_hot_targets", "init", "forward", "backward", "dL_dw111_by_hand", "loss_torch",
           "value_graph"]


#: The ten weights in the lecture's order: w_1jk (hidden unit j, input k), then w_2jk (output j, hidden k).
WEIGHT_NAMES = ("w111", "w112", "w113", "w121", "w122", "w123", "w211", "w212", "w221", "w222")


def _check_net(W1, W2):
    W1 = check_array("W1", W1, ndim=2)
    W2 = check_array("W2", W2, ndim=2)
    if W1.shape != (2, 3) or W2.shape != (2, 2):
        raise ValueError(f"W1 must have shape (2, 3) and W2 shape (2, 2), got {W1.shape} and {W2.shape}")
    return W1, W2


def _check_batch(X, Y):
    X = check_array("X", X, ndim=(1, 2))
    Y = check_array("Y", Y, ndim=(1, 2))
    X = X[None, :] if X.ndim == 1 else X
    Y = Y[None, :] if Y.ndim == 1 else Y
    if X.shape[1] != 3 or Y.shape != (X.shape[0], 2):
        raise ValueError(f"X must have shape (N, 3) and Y shape (N, 2), got {X.shape} and {Y.shape}")
    return X, Y


def one_hot_targets(y) -> np.ndarray:
    """Targets ``[y, 1 - y]`` for labels ``y`` in ``{0, 1}``: output 1 should say "y = 1", output 2 "y = 0".

    Example: ``one_hot_targets([1, 0])  # [[1, 0], [0, 1]]``
    """
    y = check_array("y", y, ndim=(0, 1))
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y must hold labels 0 or 1, got {y}")
    return np.stack([y, 1.0 - y], axis=-1)


def init(seed: int = 0):
    """Random weights ``(W1 (2, 3), W2 (2, 2))`` from a standard normal, seeded (lecture 02).

    Example: ``W1, W2 = init(0)``
    """
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    return rng.standard_normal((2, 3)), rng.standard_normal((2, 2))


def forward(W1, W2, X, Y) -> dict:
    """Forward pass, keeping every node of the computational graph (lecture 02).

    ``a = X W1^T`` (pre-activations), ``h = relu(a)``, ``y_hat = h W2^T``, ``r = y_hat - Y``,
    ``loss = (1/N) sum_i |r_i|^2``.

    Args:
        W1: ``(2, 3)``; W2: ``(2, 2)``; X: ``(N, 3)`` or ``(3,)``; Y: one-hot targets ``(N, 2)`` or ``(2,)``.
    Returns:
        dict with ``x (N, 3)``, ``a (N, 2)``, ``h (N, 2)``, ``y_hat (N, 2)``, ``r (N, 2)``, ``loss`` (float).
    Example: ``forward(W1, W2, [1.0, 2.0, -1.0], [1.0, 0.0])["loss"]``
    """
    W1, W2 = _check_net(W1, W2)
    X, Y = _check_batch(X, Y)
    a = X @ W1.T
    h = np.maximum(a, 0.0)
    y_hat = h @ W2.T
    r = y_hat - Y
    return {"x": X, "a": a, "h": h, "y_hat": y_hat, "r": r, "loss": float(np.sum(r ** 2) / X.shape[0])}


def backward(W1, W2, cache: dict) -> dict:
    """Backward pass through the graph of :func:`forward`, node by node in reverse order.

    Each adjoint ``d_node = dloss/dnode`` is the next node's adjoint times a local derivative:
    ``d_r = 2 r / N``, ``d_y_hat = d_r``, ``dW2 = d_y_hat^T h``, ``d_h = d_y_hat W2``, ``d_a = d_h * step(a)``,
    ``dW1 = d_a^T x``.

    Returns:
        dict with ``r, y_hat, h, a`` (adjoints, each ``(N, 2)``), ``W1`` ``(2, 3)`` and ``W2`` ``(2, 2)``.
    Example: ``backward(W1, W2, forward(W1, W2, X, Y))["W1"][0, 0]  # dloss/dw111``
    """
    W1, W2 = _check_net(W1, W2)
    missing = {"x", "a", "h", "r"} - set(cache)
    if missing:
        raise ValueError(f"cache must come from forward; missing {sorted(missing)}")
    N = cache["x"].shape[0]
    d_r = 2.0 * cache["r"] / N
    d_y_hat = d_r                              # r = y_hat - Y
    dW2 = d_y_hat.T @ cache["h"]               # y_hat = h W2^T
    d_h = d_y_hat @ W2
    d_a = d_h * (cache["a"] > 0)               # h = relu(a): the step function gates the gradient
    dW1 = d_a.T @ cache["x"]                   # a = x W1^T
    return {"r": d_r, "y_hat": d_y_hat, "h": d_h, "a": d_a, "W1": dW1, "W2": dW2}


def dL_dw111_by_hand(W1, W2, X, y) -> float:
    """``dloss/dw_111`` written out with the chain rule, as in the lecture (labels ``y`` in ``{0, 1}``).

    ``(1/N) sum_i [-2 (y_i - F_1) w_211 - 2 ((1 - y_i) - F_2) w_221] x_i1 step(w_111 x_i1 + w_112 x_i2 + w_113 x_i3)``

    Args:
        W1: ``(2, 3)``; W2: ``(2, 2)``; X: ``(N, 3)`` or ``(3,)``; y: labels ``(N,)`` or a scalar.
    Returns:
        float. Example: ``dL_dw111_by_hand(W1, W2, [1.0, 2.0, -1.0], 1)``
    """
    W1, W2 = _check_net(W1, W2)
    X = check_array("X", X, ndim=(1, 2))
    X = X[None, :] if X.ndim == 1 else X
    y = np.atleast_1d(check_array("y", y, ndim=(0, 1)))
    if X.shape[1] != 3 or y.shape != (X.shape[0],):
        raise ValueError(f"X must have shape (N, 3) and y shape (N,), got {X.shape} and {y.shape}")
    a1 = X @ W1[0]
    n1 = np.maximum(a1, 0.0)
    n2 = np.maximum(X @ W1[1], 0.0)
    F1 = W2[0, 0] * n1 + W2[0, 1] * n2
    F2 = W2[1, 0] * n1 + W2[1, 1] * n2
    step = (a1 > 0).astype(float)
    terms = (-2 * (y - F1) * W2[0, 0] - 2 * ((1 - y) - F2) * W2[1, 0]) * X[:, 0] * step
    return float(np.mean(terms))


def loss_torch(W1, W2, X, Y):
    """The same loss in torch (``W1``, ``W2`` tensors, possibly with ``requires_grad``), for autograd checks."""
    import torch

    X = torch.as_tensor(np.asarray(X, dtype=float)).reshape(-1, 3).to(W1.dtype)
    Y = torch.as_tensor(np.asarray(Y, dtype=float)).reshape(-1, 2).to(W1.dtype)
    y_hat = torch.relu(X @ W1.T) @ W2.T
    return ((y_hat - Y) ** 2).sum() / X.shape[0]


def value_graph(W1, W2, x, y_onehot):
    """The net on one example built from :class:`lecture_utils.autodiff.Value` nodes, ready for ``backward``.

    Returns:
        ``(loss, weights)``: the loss node and a dict ``{"w111": Value, ...}`` of the ten weight leaves.
    Example: ``loss, w = value_graph(W1, W2, x, [1, 0]); loss.backward(); w["w111"].grad``
    """
    W1, W2 = _check_net(W1, W2)
    X, Y = _check_batch(x, y_onehot)
    if X.shape[0] != 1:
        raise ValueError("value_graph builds the graph of one example: pass x of shape (3,)")
    V = autodiff.Value
    w = {name: V(float(val), label=name) for name, val in zip(WEIGHT_NAMES, np.concatenate([W1.ravel(), W2.ravel()]))}
    xs = [V(float(v), label=f"x{k + 1}") for k, v in enumerate(X[0])]
    hidden = []
    for j in (1, 2):
        a = w[f"w1{j}1"] * xs[0] + w[f"w1{j}2"] * xs[1] + w[f"w1{j}3"] * xs[2]
        a.label = f"a{j}"
        n = a.relu()
        n.label = f"n{j}"
        hidden.append(n)
    loss = None
    for j in (1, 2):
        F = w[f"w2{j}1"] * hidden[0] + w[f"w2{j}2"] * hidden[1]
        F.label = f"F{j}"
        r = F - V(float(Y[0, j - 1]), label=f"y{j}")
        r.label = f"r{j}"
        term = r ** 2
        loss = term if loss is None else loss + term
    loss.label = "loss"
    return loss, w
