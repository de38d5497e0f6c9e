"""Curvature of a net's loss from Hessian-vector products: the largest eigenvalues (power iteration, Lanczos), the
trace (Hutchinson) and the eigenvalue density (stochastic Lanczos quadrature), without ever forming the Hessian.

Introduced in lecture 10 (sharpness and the edge of stability). A :class:`HessianOperator` holds the gradient of
the loss of ``net`` on ``(X, y)`` with its graph (``torch.autograd.grad(..., create_graph=True)``), so each product
``H v`` is one more backward pass (double backprop). The algorithms take any *operator*: a callable that maps
vectors ``(B, P)`` to ``(B, P)`` with attributes ``dim`` (``P``) and ``batch`` (``B``, or ``None`` for a single
operator, whose results then have no batch axis). :class:`MatrixOperator` wraps an explicit symmetric matrix (or a
stack of them), which is how the closed forms on quadratics are tested. :func:`exact_hessian` forms the full
Hessian of a small net, the reference the tests compare against.

The loss is :func:`lecture_utils.training.loss_landscape.functional_loss` (``torch.func.functional_call`` on copies
of the net's buffers), in training mode by default (batch norm uses the batch's statistics, as gradient descent sees
them); nothing in the net changes.

Example (a tiny net: the top eigenvalues by Lanczos equal those of the full Hessian)::

    >>> import torch
    >>> from lecture_utils.training import curvature, nets
    >>> _ = torch.manual_seed(0)
    >>> net = nets.MLP(3, (4,), 2, activation="tanh").double()
    >>> X, y = torch.randn(20, 3, dtype=torch.float64), torch.randint(0, 2, (20,))
    >>> H = curvature.HessianOperator(net, X, y)
    >>> H.dim                                     # 3 * 4 + 4 + 4 * 2 + 2 parameters
    26
    >>> top = curvature.lanczos(H, k=3, num_iters=26, seed=0).eigenvalues
    >>> exact = torch.linalg.eigvalsh(curvature.exact_hessian(net, X, y)).flip(0)[:3].numpy()
    >>> bool(abs(top - exact).max() < 1e-10 * exact[0])
    True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._validate import check_int, check_memory, check_real
from .loss_landscape import MODES, trainable_parameters, flat_parameters, functional_loss

__all__ = ["HessianOperator", "MatrixOperator", "functional_loss", "flat_parameters", "exact_hessian",
           "power_iteration", "lanczos", "lanczos_steps", "ritz_pairs", "hutchinson_trace", "slq", "EigenResult", "TraceEstimate",
           "SpectralDensity", "MODES"]

class HessianOperator:
    """Products ``H v`` with the Hessian of the loss of ``net`` on ``(X, y)`` at its current parameters.

    The gradient is computed once with its graph; each product is one more backward pass through it. After the
    parameters change, build a new operator.

    Args:
        net: any ``torch.nn.Module`` (on any device). X, y: the data (full batch, or a fixed subset).
        loss: ``loss(y_hat, y)``; ``None`` = cross-entropy for labels, MSE for targets.
        mode: ``"train"`` (default) or ``"eval"``.
    Attributes:
        dim: number of parameters ``P``; batch: ``None`` (a single operator); loss: the loss value (float);
        gradient: ``(P,)`` detached; num_products: how many products were computed.
    Example: ``H = HessianOperator(net, X, y); Hv = H(v)  # v (P,) or (B, P)``
    """

    batch = None

    def __init__(self, net: torch.nn.Module, X, y, loss=None, *, mode: str = "train"):
        f, _, _ = functional_loss(net, X, y, loss, mode=mode)
        self.params = [p for _, p in trainable_parameters(net)]
        self.dim = sum(p.numel() for p in self.params)
        self.dtype, self.device = self.params[0].dtype, self.params[0].device
        with torch.enable_grad():
            # The parameters themselves, not a copy, so the graph leads to them.
            value = _call_with(f, net, self.params)
            grads = torch.autograd.grad(value, self.params, create_graph=True, allow_unused=True,
                                        materialize_grads=True)
        self._grad = torch.cat([g.reshape(-1) for g in grads])
        self.loss = float(value.detach())
        self.gradient = self._grad.detach().clone()
        self.num_products = 0

    def __call__(self, v) -> torch.Tensor:
        v = torch.as_tensor(v, dtype=self.dtype, device=self.device)
        single = v.dim() == 1
        V = v.reshape(1, -1) if single else v
        if V.dim() != 2 or V.shape[1] != self.dim:
            raise ValueError(f"v must have shape ({self.dim},) or (B, {self.dim}), got {tuple(v.shape)}")
        if not self._grad.requires_grad:  # the loss is linear in the parameters: H = 0
            out = torch.zeros_like(V)
        else:
            rows = []
            for row in V:
                hv = torch.autograd.grad(self._grad, self.params, grad_outputs=row, retain_graph=True,
                                         allow_unused=True, materialize_grads=True)
                rows.append(torch.cat([h.reshape(-1) for h in hv]))
            out = torch.stack(rows)
        self.num_products += len(V)
        return out[0] if single else out


def _call_with(f, net, params):
    """``f`` on the net's own parameter tensors: the flat vector is a view the graph traces back to them."""
    flat = torch.cat([p.reshape(-1) for p in params])
    return f(flat)


class MatrixOperator:
    """An explicit symmetric matrix ``(P, P)`` (or a stack ``(B, P, P)``) as an operator, for closed forms.

    Example: ``lanczos(MatrixOperator(np.diag([3.0, 1.0, 0.5])), k=1).eigenvalues  # array([3.])``
    """

    def __init__(self, A, dtype=torch.float64):
        A = torch.as_tensor(np.asarray(A) if not isinstance(A, torch.Tensor) else A).to(dtype)
        if A.dim() not in (2, 3) or A.shape[-1] != A.shape[-2]:
            raise ValueError(f"A must be a square matrix (P, P) or a stack (B, P, P), got shape {tuple(A.shape)}")
        if not torch.allclose(A, A.transpose(-1, -2), rtol=1e-10, atol=1e-12, equal_nan=True):
            raise ValueError("A must be symmetric (a Hessian is)")
        self.A, self.dim = A, A.shape[-1]
        self.batch = A.shape[0] if A.dim() == 3 else None
        self.dtype, self.device = A.dtype, A.device
        self.num_products = 0

    def __call__(self, v) -> torch.Tensor:
        v = torch.as_tensor(v, dtype=self.dtype)
        self.num_products += 1 if v.dim() == 1 else len(v)
        if self.batch is None:
            return v @ self.A  # A is symmetric: rows times A = (A times rows)^T
        return torch.einsum("bij,bj->bi", self.A, v)


def exact_hessian(net: torch.nn.Module, X, y, loss=None, *, mode: str = "train") -> torch.Tensor:
    """The full Hessian ``(P, P)`` of the loss at the net's parameters (``torch.autograd.functional.hessian``).

    Only for small nets: it costs ``P`` backward passes and ``P^2`` floats (refused above 2 GiB).
    Example: ``torch.linalg.eigvalsh(exact_hessian(net, X, y))``
    """
    f, _, _ = functional_loss(net, X, y, loss, mode=mode)
    theta = flat_parameters(net)
    check_memory("the number of parameters", theta.numel() ** 2, theta.element_size(), "the full Hessian")
    H = torch.autograd.functional.hessian(f, theta, vectorize=theta.numel() <= 2000)
    return 0.5 * (H + H.T)


# ---------------------------------------------------------------------------------------------------------
# Algorithms on operators
# ---------------------------------------------------------------------------------------------------------
def _check_op(op):
    if not callable(op) or not hasattr(op, "dim"):
        raise TypeError("op must be an operator: HessianOperator, MatrixOperator, or a callable with .dim")
    return int(op.dim), getattr(op, "batch", None)


def _start(op, v0, seed, kind="gaussian"):
    """Starting vectors ``(B, P)`` (from ``v0`` or drawn from ``seed``) and the generator for later draws."""
    P, B = _check_op(op)
    gen = torch.Generator().manual_seed(check_int("seed", 0 if seed is None else seed, low=0))
    dtype = getattr(op, "dtype", torch.float64)
    device = getattr(op, "device", torch.device("cpu"))
    if v0 is None:
        V = _draw((B or 1, P), gen, kind, dtype)
    else:
        V = torch.as_tensor(v0, dtype=dtype).detach().reshape(B or 1, P).cpu().clone()
    return V.to(device), gen


def _draw(shape, gen, kind, dtype):
    if kind == "rademacher":
        return (torch.randint(0, 2, shape, generator=gen) * 2 - 1).to(dtype)
    return torch.randn(shape, generator=gen, dtype=dtype)


def _out(x, B):
    """Drop the batch axis of a result for a single operator."""
    if isinstance(x, torch.Tensor):
        return x[0] if B is None else x
    return x[0] if B is None else x


@dataclass
class EigenResult:
    """Eigenvalues found by :func:`power_iteration` or :func:`lanczos` (a batch axis first for batched operators).

    Attributes:
        eigenvalues: ``(k,)`` largest first (power iteration: ``()``, the one of largest magnitude).
        vectors: torch ``(k, P)`` unit eigenvectors (power iteration: ``(P,)``).
        residuals: ``(k,)`` ``||H y - theta y||`` of each pair (Lanczos: from the recurrence, exact arithmetic).
        num_products: Hessian-vector products used (per operator row).
        ritz_values: all eigenvalues of the Lanczos matrix ``T`` (``(m,)``, largest first); None for power
            iteration.
    """

    eigenvalues: np.ndarray
    vectors: torch.Tensor
    residuals: np.ndarray
    num_products: int
    ritz_values: np.ndarray | None = None


def power_iteration(op, num_iters: int = 100, *, tol: float = 1e-6, v0=None, seed: int | None = None) -> EigenResult:
    """The eigenvalue of largest magnitude by power iteration: ``v <- H v / ||H v||``, estimate ``v^T H v``.

    Stops when the estimate changes by less than ``tol`` relative in every row (after at most ``num_iters``
    products). At a minimum that is the sharpness; at a saddle it may be a negative eigenvalue.

    Args:
        op: an operator (see the module docstring). num_iters: the most products. tol: relative change to stop.
        v0: start vector ``(P,)`` (or ``(B, P)``), e.g. the previous top eigenvector (a warm start); else Gaussian
            from ``seed``.
    Returns:
        :class:`EigenResult` (``eigenvalues`` of shape ``()`` or ``(B,)``). Example: ``power_iteration(H).eigenvalues``
    """
    num_iters = check_int("num_iters", num_iters, low=1, high=100_000)
    tol = check_real("tol", tol, low=0.0)
    P, B = _check_op(op)
    V, _ = _start(op, v0, seed)
    V = V / V.norm(dim=1, keepdim=True)
    lam_prev = None
    with torch.no_grad():
        for it in range(num_iters):
            W = op(V).detach()
            lam = (V * W).sum(1)
            res = (W - lam[:, None] * V).norm(dim=1)
            if lam_prev is not None and bool(((lam - lam_prev).abs() <= tol * lam.abs()).all()):
                break
            lam_prev = lam
            if it < num_iters - 1:
                V = W / W.norm(dim=1, keepdim=True)
    lam_np, res_np = lam.cpu().double().numpy(), res.cpu().double().numpy()
    return EigenResult(_out(lam_np, B), _out(V, B), _out(res_np, B), it + 1)


def lanczos_steps(op, V0, m: int, gen: torch.Generator):
    """The Lanczos recurrence behind :func:`lanczos` and :func:`slq`: ``m`` steps with full reorthogonalization
    from ``V0`` ``(B, P)``; returns ``(alpha, beta, Q, last)``. ``gen`` draws the restart vectors.

    ``alpha`` ``(B, m)`` and ``beta`` ``(B, m - 1)`` build the tridiagonal ``T = Q^T H Q``; ``Q`` is ``(B, m, P)``;
    ``last`` ``(B,)`` the norm of the residual after step ``m``. A row whose Krylov space is exhausted continues
    with a fresh random vector orthogonal to it (``beta`` 0 there), so ``T`` stays exact.
    """
    B, P = V0.shape
    Q = torch.zeros(B, m, P, dtype=V0.dtype, device=V0.device)
    alpha = torch.zeros(B, m, dtype=V0.dtype, device=V0.device)
    beta = torch.zeros(B, m, dtype=V0.dtype, device=V0.device)
    q = V0 / V0.norm(dim=1, keepdim=True)
    scale = torch.zeros(B, dtype=V0.dtype, device=V0.device)
    with torch.no_grad():
        for j in range(m):
            Q[:, j] = q
            w = op(q).detach()
            alpha[:, j] = (q * w).sum(1)
            for _ in range(2):  # full reorthogonalization, twice ("twice is enough")
                w = w - torch.einsum("bj,bjp->bp", torch.einsum("bjp,bp->bj", Q[:, :j + 1], w), Q[:, :j + 1])
            b = w.norm(dim=1)
            beta[:, j] = b
            scale = torch.maximum(scale, alpha[:, j].abs() + b)
            if j == m - 1:
                break
            dead = ~(b > 1e-10 * scale) & torch.isfinite(b)
            if bool(dead.any()):  # invariant subspace found: restart with a random orthogonal vector
                r = _draw((int(dead.sum()), P), gen, "gaussian", V0.dtype).to(V0.device)
                for _ in range(2):
                    r = r - torch.einsum("bj,bjp->bp", torch.einsum("bjp,bp->bj", Q[dead, :j + 1], r),
                                         Q[dead, :j + 1])
                w[dead] = r
                beta[dead, j] = 0.0
                b = torch.where(dead, w.norm(dim=1), b)
            q = w / b[:, None]
    return alpha, beta[:, :-1], Q, beta[:, -1]


def ritz_pairs(alpha, beta):
    """Eigenvalues ``(B, m)`` (largest first) and eigenvectors ``(B, m, m)`` of the tridiagonal matrices built from
    :func:`lanczos_steps`' ``alpha`` and ``beta``; a row that is not finite gives NaN eigenvalues."""
    T = torch.diag_embed(alpha) + torch.diag_embed(beta, 1) + torch.diag_embed(beta, -1)
    bad = ~torch.isfinite(T).all(2).all(1)
    theta, S = torch.linalg.eigh(torch.where(bad[:, None, None], torch.zeros_like(T), T))
    theta, S = theta.flip(-1), S.flip(-1)
    theta[bad] = float("nan")
    return theta, S


def lanczos(op, k: int = 1, num_iters: int | None = None, *, v0=None, seed: int | None = None) -> EigenResult:
    """The ``k`` largest eigenvalues by Lanczos with full reorthogonalization, from ``num_iters`` products.

    The eigenvalues of the ``m x m`` tridiagonal matrix ``T = Q^T H Q`` (Ritz values) approach the extreme
    eigenvalues of ``H`` first; with ``m = P`` they are exact.

    Args:
        op: an operator. k: how many eigenvalues (largest first). num_iters: ``m``, default ``min(P, max(3k, 30))``.
        v0: start vector (a warm start: the previous top eigenvector), else Gaussian from ``seed``.
    Returns:
        :class:`EigenResult`. Example: ``lanczos(H, k=5, num_iters=60).eigenvalues``
    """
    P, B = _check_op(op)
    k = check_int("k", k, low=1, high=P)
    m = min(P, max(3 * k, 30)) if num_iters is None else check_int("num_iters", num_iters, low=k, high=P)
    V0, gen = _start(op, v0, seed)
    alpha, beta, Q, last = lanczos_steps(op, V0, m, gen)
    theta, S = ritz_pairs(alpha, beta)
    Y = torch.einsum("bjk,bjp->bkp", S[:, :, :k], Q)
    res = (last[:, None] * S[:, -1, :k]).abs()
    as_np = lambda t: t.cpu().double().numpy()  # noqa: E731
    return EigenResult(_out(as_np(theta[:, :k]), B), _out(Y, B), _out(as_np(res), B), m,
                       _out(as_np(theta), B))


@dataclass
class TraceEstimate:
    """Hutchinson's estimate of ``tr(H)``: ``estimate`` (mean of ``z^T H z``), ``stderr`` (its standard error) and
    the ``samples`` ``(n,)`` (a batch axis first for batched operators)."""

    estimate: np.ndarray
    stderr: np.ndarray
    samples: np.ndarray


def hutchinson_trace(op, num_samples: int = 100, *, seed: int | None = None) -> TraceEstimate:
    """``tr(H) ~ mean of z^T H z`` over Rademacher vectors ``z`` (entries +-1): unbiased, with variance
    ``2 sum_{i != j} H_ij^2`` per sample.

    Example: ``t = hutchinson_trace(H, 200, seed=0); t.estimate, t.stderr``
    """
    num_samples = check_int("num_samples", num_samples, low=2, high=1_000_000)
    P, B = _check_op(op)
    gen = torch.Generator().manual_seed(check_int("seed", 0 if seed is None else seed, low=0))
    dtype, device = getattr(op, "dtype", torch.float64), getattr(op, "device", torch.device("cpu"))
    out = []
    with torch.no_grad():
        for _ in range(num_samples):
            z = _draw((B or 1, P), gen, "rademacher", dtype).to(device)
            out.append((z * op(z).reshape(z.shape)).sum(1).cpu().double())
    s = torch.stack(out, 1).numpy()
    est, err = s.mean(1), s.std(1, ddof=1) / np.sqrt(num_samples)
    return TraceEstimate(_out(est, B), _out(err, B), _out(s, B))


@dataclass
class SpectralDensity:
    """Stochastic Lanczos quadrature: for each probe ``v``, nodes ``theta_j`` and weights ``tau_j`` (summing to 1)
    with ``sum_j tau_j f(theta_j) ~ v^T f(H) v / v^T v`` (exact for polynomials of degree below ``2m``).

    Attributes:
        nodes, weights: ``(num_probes, m)`` (a batch axis first for batched operators). dim: ``P``.
    """

    nodes: np.ndarray
    weights: np.ndarray
    dim: int

    def moments(self, powers) -> np.ndarray:
        """Estimates of ``tr(H^k) / P`` for each ``k`` in ``powers``: the mean over probes of ``sum tau theta^k``."""
        ks = np.atleast_1d(np.asarray(powers, dtype=float))
        vals = (self.weights[..., None] * self.nodes[..., None] ** ks).sum(-2).mean(-2)
        return vals

    def density(self, grid, width: float) -> np.ndarray:
        """The eigenvalue density on ``grid``, each node smoothed by a Gaussian of standard deviation ``width``
        (integrates to about 1). Example: ``phi = sld.density(np.linspace(-1, 10, 500), width=0.05)``"""
        width = check_real("width", width, low=0.0, low_open=True)
        t = np.asarray(grid, dtype=float)
        z = (t - self.nodes[..., None]) / width
        g = np.exp(-0.5 * z ** 2) / (width * np.sqrt(2 * np.pi))
        return (self.weights[..., None] * g).sum(-2).mean(-2)


def slq(op, num_probes: int = 10, num_iters: int | None = None, *, seed: int | None = None) -> SpectralDensity:
    """The eigenvalue density of ``H`` by stochastic Lanczos quadrature (Ghorbani, Krishnan & Xiao 2019).

    Each of ``num_probes`` Rademacher probes starts ``num_iters`` Lanczos steps; the eigenvalues of ``T`` are the
    nodes and the squared first components of its eigenvectors the weights. ``num_iters`` defaults to
    ``min(P, 50)``.
    Example: ``sld = slq(H, num_probes=8, num_iters=60, seed=0); sld.moments([1, 2])``
    """
    num_probes = check_int("num_probes", num_probes, low=1, high=10_000)
    P, B = _check_op(op)
    m = min(P, 50) if num_iters is None else check_int("num_iters", num_iters, low=1, high=P)
    gen = torch.Generator().manual_seed(check_int("seed", 0 if seed is None else seed, low=0))
    dtype, device = getattr(op, "dtype", torch.float64), getattr(op, "device", torch.device("cpu"))
    nodes, weights = [], []
    for _ in range(num_probes):
        z = _draw((B or 1, P), gen, "rademacher", dtype).to(device)
        alpha, beta, _, _ = lanczos_steps(op, z, m, gen)
        theta, S = ritz_pairs(alpha, beta)
        nodes.append(theta.cpu().double().numpy())
        weights.append((S[:, 0, :] ** 2).cpu().double().numpy())
    nodes, weights = np.stack(nodes, 1), np.stack(weights, 1)
    return SpectralDensity(_out(nodes, B), _out(weights, B), P)
