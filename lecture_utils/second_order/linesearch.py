"""Line searches (exact on quadratics, Armijo backtracking, strong Wolfe) for the methods of lecture 06.

A line search picks the step ``t`` in ``x + t d`` along a descent direction ``d`` (``grad f(x) . d < 0``):

- ``"exact"`` minimizes ``f`` along the line; in closed form on a quadratic ``1/2 x^T A x - b^T x``:
  ``t = -(g . d) / (d^T A d)``;
- ``"armijo"`` backtracks ``t <- shrink * t`` until ``f(x + t d) <= f(x) + c1 t (g . d)`` (sufficient decrease);
- ``"wolfe"`` also asks the slope to flatten, ``|grad f(x + t d) . d| <= c2 |g . d|`` (strong Wolfe), found by
  bracketing and cubic interpolation. It is the algorithm of ``torch.optim.LBFGS(line_search_fn="strong_wolfe")``
  (ported from minFunc), so our L-BFGS can be compared with torch's step for step.

Every search works on a batch of points at once and is bounded: when it cannot meet its condition it says so
(``ok=False`` with a reason) instead of looping.

Steepest descent with these searches is :func:`lecture_utils.second_order.steepest.steepest_descent`.

Example (the exact step along -g on a quadratic lands where the slope along the line is zero)::

    >>> import numpy as np
    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order import linesearch
    >>> s = surfaces.get("quadratic", kappa=10)
    >>> X = np.array([[2.0, 1.0]]); F, G = s.value_batch(X), s.grad_batch(X)
    >>> res = linesearch.exact_quadratic(s.params["A"], lambda Z: (s.value_batch(Z), s.grad_batch(Z)), X, -G, F, G)
    >>> bool(res.ok[0]), abs(float(res.g[0] @ G[0])) < 1e-12      # the new gradient is orthogonal to the old one
    (True, True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._validate import check_choice, check_real
from ..surfaces import Surface
from .recorder import Recorder

__all__ = ["LineSearchResult", "exact_quadratic", "armijo", "strong_wolfe", "search", "quadratic_params", "first_trial_step",
           "LINE_SEARCHES"]

LINE_SEARCHES = ("exact", "armijo", "wolfe")


@dataclass
class LineSearchResult:
    """Outcome of a batched line search over ``n`` points.

    Attributes:
        t: ``(n,)`` accepted step lengths (0 where the search failed).
        x, f, g: ``(n, d)``, ``(n,)``, ``(n, d)``: the new points ``x + t d`` with their values and gradients
            (the old ones where the search failed).
        evals: ``(n,)`` evaluations of ``(f, grad f)`` spent.
        ok: ``(n,)`` True where the condition was met.
        reason: ``n`` strings saying why a search failed ('' where it succeeded).
    """

    t: np.ndarray
    x: np.ndarray
    f: np.ndarray
    g: np.ndarray
    evals: np.ndarray
    ok: np.ndarray
    reason: list


def _slopes(G, D):
    return np.einsum("nd,nd->n", G, D)


def quadratic_params(surface: Surface):
    """``(A, b)`` of a quadratic surface from :func:`~lecture_utils.surfaces.from_quadratic` /
    :func:`~lecture_utils.surfaces.quadratic`.

    Raises ``ValueError`` for any other surface (the exact line search needs the matrix ``A``).
    """
    params = getattr(surface, "params", {}) or {}
    if "A" not in params or "b" not in params:
        raise ValueError(f"the exact line search needs a quadratic surface built by surfaces.from_quadratic or "
                         f"surfaces.get('quadratic') (it reads surface.params['A'] and ['b']); surface "
                         f"{surface.name!r} is not one. Use line_search='armijo' or 'wolfe' instead.")
    return np.asarray(params["A"], dtype=float), np.asarray(params["b"], dtype=float)


def _result(X, F, G, n, d):
    return LineSearchResult(np.zeros(n), X.copy(), F.copy(), G.copy(), np.zeros(n, dtype=np.int64),
                            np.zeros(n, dtype=bool), [""] * n)


_NOT_DESCENT = "not a descent direction (grad . d >= 0), so no step along it can decrease f"


def exact_quadratic(A, fun: Callable, X, D, F, G) -> LineSearchResult:
    """Exact line search on ``1/2 x^T A x - b^T x``: ``t = -(g . d) / (d^T A d)`` for each point (one evaluation).

    Args:
        A: ``(d, d)`` symmetric matrix of the quadratic.
        fun: ``fun(X) -> (f, g)`` for ``X`` of shape ``(n, d)``.
        X, D, F, G: points ``(n, d)``, directions ``(n, d)``, values ``(n,)``, gradients ``(n, d)``.
    Returns:
        a :class:`LineSearchResult`; a direction of zero or negative curvature fails (f is unbounded below
        along it, so there is no minimizer on the line).
    """
    n, d = X.shape
    res = _result(X, F, G, n, d)
    with np.errstate(all="ignore"):
        gtd = _slopes(G, D)
        curv = np.einsum("nd,de,ne->n", D, A, D)
        good = (gtd < 0) & (curv > 0) & np.isfinite(gtd) & np.isfinite(curv)
        t = np.where(good, -gtd / np.where(good, curv, 1.0), 0.0)
    for i in np.flatnonzero(~good):
        res.reason[i] = _NOT_DESCENT if not gtd[i] < 0 else (
            "the quadratic is unbounded below along the search direction (d^T A d <= 0): no exact minimizer")
    if good.any():
        Xn = X[good] + t[good, None] * D[good]
        f, g = fun(Xn)
        res.x[good], res.f[good], res.g[good] = Xn, f, g
        res.t[good] = t[good]
        res.evals[good] = 1
        res.ok[good] = True
    return res


def armijo(fun: Callable, X, D, F, G, t0, *, c1: float = 1e-4, shrink: float = 0.5,
           max_evals: int = 30) -> LineSearchResult:
    """Backtracking line search: the first ``t = t0 * shrink^k`` with ``f(x + t d) <= f(x) + c1 t (g . d)``.

    All points backtrack together (one batched evaluation per trial); each stops at its own ``k``.

    Args:
        fun: ``fun(X) -> (f, g)`` for ``X`` of shape ``(n, d)``.
        X, D, F, G: points ``(n, d)``, directions ``(n, d)``, values ``(n,)``, gradients ``(n, d)``.
        t0: first trial step, a number or ``(n,)`` array.
        c1: sufficient-decrease constant in ``(0, 1)``.
        shrink: factor in ``(0, 1)`` applied after each rejected trial.
        max_evals: trials before giving up; a point that never meets the condition fails.
    Example: ``armijo(fun, X, -G, F, G, t0=1.0)``
    """
    n, d = X.shape
    res = _result(X, F, G, n, d)
    with np.errstate(all="ignore"):
        gtd = _slopes(G, D)
        t = np.broadcast_to(np.asarray(t0, dtype=float), (n,)).copy()
        pending = (gtd < 0) & np.isfinite(gtd) & (t > 0)
        for i in np.flatnonzero(~pending):
            res.reason[i] = _NOT_DESCENT if not gtd[i] < 0 else f"initial step must be positive, got {t[i]}"
        for _ in range(max_evals):
            idx = np.flatnonzero(pending)
            if idx.size == 0:
                break
            Xn = X[idx] + t[idx, None] * D[idx]
            f, g = fun(Xn)
            res.evals[idx] += 1
            okk = f <= F[idx] + c1 * t[idx] * gtd[idx]  # NaN or +inf values fail the test: shrink
            acc = idx[okk]
            res.x[acc], res.f[acc], res.g[acc], res.t[acc] = Xn[okk], f[okk], g[okk], t[acc]
            res.ok[acc] = True
            pending[acc] = False
            t[idx[~okk]] *= shrink
    for i in np.flatnonzero(pending):
        res.reason[i] = (f"Armijo backtracking found no sufficient decrease in {max_evals} trials "
                         f"(last step tried {t[i] / shrink:.3g})")
    return res


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through ``(x1, f1, g1)`` and ``(x2, f2, g2)``, clipped to ``bounds``.

    Same formula as torch.optim.lbfgs._cubic_interpolate; non-finite inputs give the midpoint instead of NaN.
    """
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    if not all(math.isfinite(v) for v in (x1, f1, g1, x2, f2, g2)) or x1 == x2:
        return (lo + hi) / 2.0
    # Products, not ``**``: Python's float power raises OverflowError where a product gives inf (an unbounded
    # surface sends the trial steps and values towards infinity; that must end as divergence, not a crash).
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if not math.isfinite(d2_square):
        return (lo + hi) / 2.0
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            den = g2 - g1 + 2 * d2
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / den) if den != 0 else math.nan
        else:
            den = g1 - g2 + 2 * d2
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / den) if den != 0 else math.nan
        if not math.isfinite(min_pos):
            return (lo + hi) / 2.0
        return min(max(min_pos, lo), hi)
    return (lo + hi) / 2.0


def _wolfe_search(f, g, d, gtd, t, c1, c2, tolerance_change, max_ls):
    """Strong-Wolfe search for one point, as a generator: it yields trial steps and receives ``(f, g)`` there.

    The algorithm of torch.optim.lbfgs._strong_wolfe: bracket an interval that holds an acceptable step
    (growing ``t`` by cubic extrapolation), then zoom into it by cubic interpolation. Returns
    ``(t, f_new, g_new, evals)`` at the lowest point found.
    """
    d_norm = float(np.abs(d).max())
    f_new, g_new = yield t
    f_new = f_new if math.isfinite(f_new) else math.inf  # not finite: too far
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    bracket = bracket_f = bracket_g = bracket_gtd = None
    while ls_iter < max_ls:
        # Too far (no sufficient decrease, or uphill again): the acceptable step lies in [t_prev, t].
        if not math.isfinite(f_new) or f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:  # both Wolfe conditions hold
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:  # the slope turned positive: a minimum along the line lies in [t_prev, t]
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # Still going down steeply: extrapolate to a longer step.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = yield t
        f_new = f_new if math.isfinite(f_new) else math.inf  # not finite: too far
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_min(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # Keep the trial away from the ends of the bracket, or the zoom can stall.
        hi, lo = max(bracket), min(bracket)
        eps = 0.1 * (hi - lo)
        if min(hi - t, t - lo) < eps:
            if insuf_progress or t >= hi or t <= lo:
                t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = yield t
        f_new = f_new if math.isfinite(f_new) else math.inf  # not finite: too far
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if not math.isfinite(f_new) or f_new > f + c1 * t * gtd or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], evals


def strong_wolfe(fun: Callable, X, D, F, G, t0, *, c1: float = 1e-4, c2: float = 0.9,
                 max_evals: int = 25, tolerance_change: float = 1e-9) -> LineSearchResult:
    """Strong-Wolfe line search (bracketing and cubic zoom), batched: one evaluation per round for all points.

    Accepts ``t`` with ``f(x + t d) <= f(x) + c1 t (g . d)`` and ``|grad f(x + t d) . d| <= c2 |g . d|``. Same
    algorithm and defaults as ``torch.optim.LBFGS(line_search_fn="strong_wolfe")``. Like torch's, it returns
    the lowest point found when ``max_evals`` runs out; that counts as success only if it decreased ``f``
    enough (the sufficient-decrease condition), otherwise the point fails.

    Args:
        fun: ``fun(X) -> (f, g)`` for ``X`` of shape ``(n, d)``.
        X, D, F, G: points ``(n, d)``, directions ``(n, d)``, values ``(n,)``, gradients ``(n, d)``.
        t0: first trial step, number or ``(n,)`` array.
        c1, c2: Wolfe constants, ``0 < c1 < c2 < 1`` (use ``c2 = 0.1`` for nonlinear CG).
        max_evals: bound on the extra evaluations of one search (torch's ``max_ls``).
        tolerance_change: stop zooming once the bracket is this short (times ``max |d|``).
    Example: ``strong_wolfe(fun, X, -G, F, G, t0=1.0)``
    """
    n, d = X.shape
    res = _result(X, F, G, n, d)
    gtd = _slopes(G, D)
    t0 = np.broadcast_to(np.asarray(t0, dtype=float), (n,))
    gens, pending = {}, {}
    for i in range(n):
        if not (gtd[i] < 0 and math.isfinite(gtd[i])):
            res.reason[i] = _NOT_DESCENT
            continue
        gens[i] = _wolfe_search(float(F[i]), G[i], D[i], float(gtd[i]), float(t0[i]), c1, c2,
                                tolerance_change, max_evals)
        pending[i] = next(gens[i])
    out = {}
    with np.errstate(all="ignore"):
        for _ in range(2 * max_evals + 4):  # each generator yields at most max_evals + 1 times
            if not pending:
                break
            ids = np.fromiter(pending, dtype=np.int64)
            ts = np.array([pending[i] for i in ids])
            f, g = fun(X[ids] + ts[:, None] * D[ids])
            res.evals[ids] += 1
            pending = {}
            for k, i in enumerate(ids):
                try:
                    pending[i] = gens[i].send((float(f[k]), g[k]))
                except StopIteration as stop:
                    out[i] = stop.value
    for i, (t, f_new, g_new, _) in out.items():
        with np.errstate(all="ignore"):
            decrease = t > 0 and math.isfinite(f_new) and f_new <= F[i] + c1 * t * gtd[i]
        if decrease:
            res.t[i], res.x[i], res.f[i], res.g[i] = t, X[i] + t * D[i], f_new, g_new
            res.ok[i] = True
        else:
            res.reason[i] = (f"strong-Wolfe line search found no step with sufficient decrease in "
                             f"{int(res.evals[i])} evaluations")
    return res


def search(kind: str, fun: Callable, X, D, F, G, t0=1.0, *, A=None, c1: float = 1e-4, c2: float = 0.9,
           max_evals: int = 25, shrink: float = 0.5) -> LineSearchResult:
    """Run the line search ``kind`` (``"exact"``, ``"armijo"`` or ``"wolfe"``) on a batch of points.

    ``A`` is the quadratic's matrix, needed by ``"exact"``. See :func:`exact_quadratic`, :func:`armijo`,
    :func:`strong_wolfe` for the arguments.
    """
    check_choice("line_search", kind, LINE_SEARCHES)
    if kind == "exact":
        return exact_quadratic(A, fun, X, D, F, G)
    if kind == "armijo":
        return armijo(fun, X, D, F, G, t0, c1=c1, shrink=shrink, max_evals=max_evals)
    return strong_wolfe(fun, X, D, F, G, t0, c1=c1, c2=c2, max_evals=max_evals)


def check_wolfe_constants(c1, c2):
    c1 = check_real("c1", c1, low=0.0, high=1.0, low_open=True, high_open=True)
    c2 = check_real("c2", c2, low=0.0, high=1.0, low_open=True, high_open=True)
    if not c1 < c2:
        raise ValueError(f"the Wolfe constants need 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
    return c1, c2


def first_trial_step(G, lr: float = 1.0):
    """``lr * min(1, 1 / |g|_1)`` per row of ``G``: torch.optim.LBFGS's first trial step; 1 (times ``lr``) at a
    critical point, where ``|g|_1 = 0``, without a division-by-zero warning."""
    with np.errstate(divide="ignore"):
        return lr * np.minimum(1.0, 1.0 / np.abs(G).sum(axis=1))


def initial_step_guess(t_prev, slope_prev, slope):
    """Next first trial step: assume the first-order change ``t * (g . d)`` stays the same as last step
    (Nocedal & Wright, eq. 3.60)."""
    with np.errstate(all="ignore"):
        guess = t_prev * slope_prev / slope
    return np.where(np.isfinite(guess) & (guess > 0), guess, 1.0)


def fail_by_reason(rec: Recorder, t: int, idx: np.ndarray, res: LineSearchResult) -> None:
    """Stop the points of ``idx`` whose line search failed, each with its own reason."""
    bad = np.flatnonzero(~res.ok)
    for reason in sorted(set(res.reason[k] for k in bad)):
        rec.fail(t, idx[[k for k in bad if res.reason[k] == reason]], reason)
