"""Checkers for the exercises of lecture 10 (sharpness and the edge of stability).

:func:`check_power_iteration` gives the student's function Hessian-vector products (a function ``hvp(v)``) on
quadratics with a slow eigengap (where the number of iterations shows), with a dominant negative eigenvalue, and on
a small net, where the answer is compared with the top eigenvalue of the exact Hessian
(:func:`lecture_utils.training.curvature.exact_hessian`). :func:`check_filter_normalize` compares with Li et al.'s
filter normalization (:func:`lecture_utils.training.loss_landscape.random_direction` does the same) on a Linear
weight, a convolution kernel and a bias. A mistake is named only when it explains every case; answers may be
numpy arrays or torch tensors, float32 or float64 (compared at a relative tolerance of 1e-5), and the inputs must not
be changed in place.

Example::

    >>> import torch
    >>> from lecture_utils.checks import lecture10
    >>> def power_iteration(hvp, v0, num_iters):
    ...     v = v0 / torch.linalg.norm(v0)
    ...     for _ in range(num_iters):
    ...         w = hvp(v)
    ...         v = w / torch.linalg.norm(w)
    ...     return float(v @ hvp(v))
    >>> lecture10.check_power_iteration(power_iteration)
    Correct: power_iteration finds the eigenvalue of largest magnitude (also a negative one), after exactly num_iters steps, and the sharpness of a small net.
    True
"""
from __future__ import annotations

import numpy as np

from ._core import CheckFailed, as_array, exercise, grade_cases, passed, plain, try_call

__all__ = ["check_power_iteration", "check_filter_normalize"]

#: float32 answers are within about 1e-6 relative; no typical mistake is that close on every input.
RTOL = 1e-5


def _grade(got, expected, names, mistakes, *, what, atol, advice):
    """:func:`grade_cases`, with a general pointer shown as "Hint: ..." when no mistake explains every case."""
    try:
        grade_cases(got, expected, names, mistakes, what=what, rtol=RTOL, atol=atol)
    except CheckFailed as exc:
        msg = str(exc)
        raise CheckFailed(msg if "Likely mistake" in msg else f"{msg} Hint: {advice}") from None


class _HVP:
    """``hvp(v) = H v`` for a fixed symmetric ``H``: takes a numpy array, a list or a torch tensor and returns the
    same kind (a list gives a numpy array); counts its calls."""

    def __init__(self, H, name):
        self.H, self.name, self.calls = np.asarray(H, dtype=float), name, 0

    def __call__(self, v):
        import torch

        self.calls += 1
        if isinstance(v, torch.Tensor):
            return torch.as_tensor(self.H, dtype=v.dtype, device=v.device) @ v
        return self.H @ np.asarray(v, dtype=float)

    def __repr__(self):
        return f"hvp of {self.name}"


def _power(H, v0, num_iters, *, normalize=True, value="rayleigh"):
    """The exercise's recipe (and the variants that typical mistakes give)."""
    v = v0 / np.linalg.norm(v0)
    with np.errstate(all="ignore"):
        for _ in range(max(num_iters, 0)):
            w = H @ v
            v = w / np.linalg.norm(w) if normalize else w
        w = H @ v
        return {"rayleigh": v @ w, "norm": np.linalg.norm(w), "squared": w @ w, "abs": abs(v @ w),
                "rq": (v @ w) / (v @ v)}[value]


def _net_case():
    """A small tanh net's Hessian at its initialization (every draw fixed), and its exact top eigenvalue."""
    import torch

    from ..training import curvature, nets

    g = torch.Generator().manual_seed(10)
    with torch.random.fork_rng():
        torch.manual_seed(10)
        net = nets.MLP(3, (5,), 2, activation="tanh").double()
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (40,), generator=g)
    H = curvature.exact_hessian(net, X, y).numpy()
    return H


@exercise(1)
def check_power_iteration(power_iteration) -> bool:
    """Check ``power_iteration(hvp, v0, num_iters) -> float``: start from ``v0 / ||v0||``, repeat ``num_iters``
    times ``v <- hvp(v) / ||hvp(v)||``, return the Rayleigh quotient ``v . hvp(v)`` of the final ``v``.

    ``hvp`` returns ``H v`` for a vector of the kind it is given (the checker passes torch float64 tensors).
    """
    import torch

    rng = np.random.default_rng(10)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    negative = Q @ np.diag([-5.0, 2.0, 1.0, 0.5]) @ Q.T
    negative = 0.5 * (negative + negative.T)
    H_net = _net_case()
    lam = np.linalg.eigvalsh(H_net)
    top = lam[np.argmax(np.abs(lam))]
    cases = [("H = diag(4, 3.6, 1, -0.5), v0 = [1, 1, 1, 1], num_iters = 5", np.diag([4.0, 3.6, 1.0, -0.5]),
              np.ones(4), 5, None),
             ("H = diag(4, 3.6, 1, -0.5), v0 = [1, 1, 1, 1], num_iters = 12", np.diag([4.0, 3.6, 1.0, -0.5]),
              np.ones(4), 12, None),
             ("a 4 x 4 H with eigenvalues -5, 2, 1, 0.5 (v0 = [3, -1, 2, 0.5], num_iters = 40)", negative,
              np.array([3.0, -1.0, 2.0, 0.5]), 40, None),
             (f"the Hessian of a tanh net with {len(H_net)} parameters (v0 = all ones, num_iters = 400): the exact "
              f"top eigenvalue", H_net, np.ones(len(H_net)), 400, top)]
    got, expected, names, calls = [], [], [], []
    for name, H, v0, k, exact in cases:
        hvp = _HVP(H, name.split(" (")[0].split(",")[0])
        v0_t = torch.as_tensor(v0, dtype=torch.float64)
        out = try_call(power_iteration, hvp, v0_t, k, what="power_iteration", may_modify=False, inputs=name)
        if isinstance(out, (tuple, list)) and len(out) > 1 and any(np.ndim(plain(o)) > 0 for o in out):
            raise CheckFailed(f"power_iteration for {name} should return one number, got a {type(out).__name__} of "
                              f"{len(out)} items. Hint: return only the eigenvalue (not a pair with the vector).")
        value = as_array(out, "power_iteration", name)
        if value.size != 1:
            hint = (" Likely mistake: that is a vector; return the eigenvalue estimate v . hvp(v), one number."
                    if value.ndim == 1 and value.size == len(v0) else
                    " Hint: return only the eigenvalue (not a pair with the vector).")
            raise CheckFailed(f"power_iteration for {name} should return one number, got an array of shape "
                              f"{value.shape}.{hint}")
        got.append(value.reshape(()))
        expected.append(_power(H, v0, k) if exact is None else exact)
        names.append(name)
        calls.append(hvp.calls)
    mistakes = {
        "that is ||hvp(v)||, the length of H v: it loses the sign of a negative eigenvalue and is not v . H v "
        "before convergence; return the Rayleigh quotient v . hvp(v).":
            [_power(H, v0, k, value="norm") for _, H, v0, k, _ in cases],
        "v is never normalized, so it grows (or shrinks) like the eigenvalue to the power num_iters; divide by its "
        "norm after every product.":
            [_power(H, v0, k, normalize=False) for _, H, v0, k, _ in cases],
        "that is ||H v||^2 = hvp(v) . hvp(v), the square of the eigenvalue; return v . hvp(v).":
            [_power(H, v0, k, value="squared") for _, H, v0, k, _ in cases],
        "that is |v . H v|: the eigenvalue of largest magnitude may be negative; do not take the absolute value.":
            [_power(H, v0, k, value="abs") for _, H, v0, k, _ in cases],
        "one iteration too few: the loop runs num_iters times before the final Rayleigh quotient.":
            [_power(H, v0, k - 1) for _, H, v0, k, _ in cases],
        "one iteration too many: the loop runs num_iters times, then v . hvp(v) of that v.":
            [_power(H, v0, k + 1) for _, H, v0, k, _ in cases],
    }
    _grade(got, expected, names, mistakes, what="power_iteration", atol=RTOL * 5,
           advice="start from v0 / ||v0|| (not a random vector), normalize after every product, and return "
                  "v . hvp(v) of the final v.")
    return passed("power_iteration finds the eigenvalue of largest magnitude (also a negative one), after exactly "
                  "num_iters steps, and the sharpness of a small net.")


# ---------------------------------------------------------------------------------------------------------
def _filters(a):
    return a.reshape(a.shape[0], -1)


def _normalized(d, w, *, kind="filter"):
    """Li et al.'s filter normalization of ``d`` against ``w`` (and the variants typical mistakes give)."""
    with np.errstate(all="ignore"):  # a candidate that divides by zero is NaN, and NaN never matches
        if d.ndim <= 1:
            if kind == "bias_kept":
                return d
            if kind == "bias_layer":
                return d * np.linalg.norm(w) / np.linalg.norm(d)
            return w if kind == "copy" else np.zeros_like(d)
        D, W = _filters(d), _filters(w)
        nd, nw = np.linalg.norm(D, axis=1, keepdims=True), np.linalg.norm(W, axis=1, keepdims=True)
        if kind == "columns":
            Dc, Wc = d.reshape(d.shape[0], d.shape[1], -1), w.reshape(w.shape[0], w.shape[1], -1)
            out = Dc * np.linalg.norm(Wc, axis=(0, 2), keepdims=True) / np.linalg.norm(Dc, axis=(0, 2), keepdims=True)
        else:
            out = {"layer": lambda: D * np.linalg.norm(w) / np.linalg.norm(d), "no_divide": lambda: D * nw,
                   "inverted": lambda: D * nd / nw, "squared": lambda: D * nw ** 2 / nd ** 2,
                   "copy": lambda: W}.get(kind, lambda: D * nw / nd)()
        return out.reshape(d.shape)


@exercise(2)
def check_filter_normalize(filter_normalize) -> bool:
    """Check ``filter_normalize(d, w) -> d_normalized``: for a weight tensor (2 or more dimensions; its filters are
    the slices ``w[i]`` along the first axis) every filter of the result is ``d[i] * ||w[i]|| / ||d[i]||``; for a
    1D tensor (a bias) the result is zeros, as Li et al. do. ``d`` and ``w`` are float64 tensors of one shape.
    """
    import torch

    g = torch.Generator().manual_seed(11)
    cases = [("a Linear weight of shape (3, 4)", (3, 4)), ("a Linear weight of shape (4, 4)", (4, 4)),
             ("a convolution kernel of shape (2, 3, 2, 2)", (2, 3, 2, 2)), ("a bias of shape (3,)", (3,))]
    got, expected, names, inputs = [], [], [], []
    for name, shape in cases:
        w = torch.randn(shape, generator=g, dtype=torch.float64) * torch.linspace(0.5, 3.0, shape[0],
                                                                                    dtype=torch.float64).reshape(
            (-1,) + (1,) * (len(shape) - 1))
        d = torch.randn(shape, generator=g, dtype=torch.float64)
        out = try_call(filter_normalize, d, w, what="filter_normalize", may_modify=False, inputs=name)
        arr = as_array(out, "filter_normalize", name)
        if arr.shape != tuple(shape):
            raise CheckFailed(f"filter_normalize for {name} has shape {arr.shape}, expected {tuple(shape)} (the "
                              f"shape of d). Hint: return the rescaled direction itself, not the norms.")
        got.append(arr)
        expected.append(_normalized(d.numpy(), w.numpy()))
        names.append(name)
        inputs.append((d.numpy(), w.numpy()))
    cand = lambda kind: [_normalized(d, w, kind=kind) for d, w in inputs]  # noqa: E731
    mistakes = {
        "that rescales the whole tensor to the norm of w (layer normalization); Li et al. rescale each filter d[i] "
        "to the norm of the same filter w[i].": cand("layer"),
        "that normalizes along the wrong axis (columns, or input channels); a filter is a slice d[i] along the "
        "first axis.": cand("columns"),
        "d[i] is multiplied by ||w[i]|| but not divided by ||d[i]||.": cand("no_divide"),
        "the ratio is upside down: d[i] * ||w[i]|| / ||d[i]||, not ||d[i]|| / ||w[i]||.": cand("inverted"),
        "the norms are squared: use ||w[i]|| / ||d[i]||, the plain Euclidean norms.": cand("squared"),
        "that returns the weights w: the direction is d, rescaled.": cand("copy"),
        "a bias (a 1D tensor) gets zeros in Li et al.'s filter normalization; it was returned unchanged.":
            cand("bias_kept"),
        "a bias (a 1D tensor) gets zeros, not the norm of w; the weights' filters are rescaled, biases not moved.":
            cand("bias_layer"),
    }
    _grade(got, expected, names, mistakes, what="filter_normalize", atol=RTOL,
           advice="each filter d[i] (a slice along the first axis) becomes d[i] * ||w[i]|| / ||d[i]||, and a 1D "
                  "tensor becomes zeros.")
    return passed("filter_normalize gives every filter of d the norm of the same filter of w, and zeros for a bias.")
