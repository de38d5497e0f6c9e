"""Gradient descent and its stochastic versions, written out in numpy so every step can be counted.

Lecture 03 uses the deterministic part: :func:`gradient_descent` (the loop with a stopping rule on the change
of the objective), :func:`gd_orbits` (late iterates against the learning rate) and :func:`basin_map` (which
minimum each start point reaches). Lecture 04 uses the rest: minibatch gradient estimates and their spread,
:func:`epoch_batches` (shuffled, with replacement, fixed or sorted-by-class order), the training loop
:func:`sgd` that counts per-example gradient evaluations and records wall time, iterate averaging, the
inverse-time rate decay, early stopping, and :class:`TiltedLandscape`, a designed problem where minibatch
noise escapes a sharp, poor minimum that full-batch descent cannot leave.

The training loops work on any "problem" with ``n``, ``num_params``, ``loss(theta, idx)``,
``grad(theta, idx)`` and ``example_grads(theta, idx)``, such as those in :mod:`lecture_utils.linear_models`.

Example::

    from lecture_utils import sgd, linear_models as lm
    from lecture_utils.datasets import load_digits
    X, y, X_val, y_val = load_digits()
    prob = lm.SoftmaxRegression(X, y)
    run = sgd.sgd(prob, prob.init(), lr=0.5, batch_size=32, num_epochs=5)
    run.train_loss[-1], run.grad_evals[-1]     # loss after 5 epochs, 5 * 1347 gradient evaluations
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._validate import check_array, check_choice, check_int, check_real

__all__ = [
    "with_bounds", "GDResult", "gradient_descent", "Orbits", "gd_orbits", "BasinMap", "basin_map",
    "ORDERS", "epoch_batches", "minibatch_grads", "Spread", "gradient_spread", "loglog_slope",
    "InverseTimeLR", "SGDRun", "sgd", "running_average", "early_stopping", "TiltedLandscape",
]


# ---------------------------------------------------------------------------------------------------------
# Lecture 03: deterministic gradient descent in one or a few dimensions
# ---------------------------------------------------------------------------------------------------------
def with_bounds(surface, bounds):
    """The same surface with another plotting box: :meth:`lecture_utils.surfaces.Surface.with_bounds`, kept
    here under its earlier name (call the method in new code).

    Example: ``with_bounds(surfaces.get("x_plus_sin"), [(-4.5, 3.5)])``
    """
    from .surfaces import Surface

    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a lecture_utils.surfaces.Surface, got {type(surface).__name__}")
    return surface.with_bounds(bounds)


@dataclass
class GDResult:
    """What :func:`gradient_descent` returns.

    Attributes:
        xs: ``(num_steps + 1, d)`` iterates (the start included).
        values: ``(num_steps + 1,)`` objective values.
        num_steps: number of updates made.
        stopped: True if the stopping rule ``|f(x_{t+1}) - f(x_t)| < tol`` ended the loop.
        diverged_at: update whose result was not finite (the loop stops there), -1 if none.
    """

    xs: np.ndarray
    values: np.ndarray
    num_steps: int
    stopped: bool
    diverged_at: int = -1

    @property
    def x(self) -> np.ndarray:
        """Last finite iterate, shape ``(d,)``."""
        return self.xs[-1]

    def status(self) -> str:
        """'stopped after 171 steps', 'diverged at step 7' or 'no stop after 5000 steps'."""
        if self.diverged_at >= 0:
            return f"diverged at step {self.diverged_at}"
        if self.stopped:
            return f"stopped after {self.num_steps} steps"
        return f"no stop after {self.num_steps} steps"


def gradient_descent(surface, x0, lr: float, tol: float = 1e-6, max_steps: int = 10_000) -> GDResult:
    """Gradient descent with the classic stopping rule on the change of the objective (lecture 03).

    ``x_{t+1} = x_t - lr * grad f(x_t)``, repeated until ``|f(x_{t+1}) - f(x_t)| < tol`` (that update counts)
    or ``max_steps`` updates. An update that overflows ends the loop and is reported in ``diverged_at``.

    Args:
        surface: a :class:`~lecture_utils.surfaces.Surface` (any dimension).
        x0: start, shape ``(d,)`` (a number for a 1D surface).
        lr: learning rate > 0; tol: >= 0; max_steps: >= 1.
    Returns:
        :class:`GDResult`. Example: ``gradient_descent(surfaces.get("x_plus_sin"), 2.5, lr=0.1).status()``
    """
    from .surfaces import Surface

    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a lecture_utils.surfaces.Surface, got {type(surface).__name__}")
    lr = check_real("lr", lr, low=0.0, low_open=True)
    tol = check_real("tol", tol, low=0.0)
    max_steps = check_int("max_steps", max_steps, low=1)
    x = check_array("x0", x0).reshape(-1)
    if x.shape != (surface.dim,) or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be {surface.dim} finite number(s), got {x0!r}")
    xs, values = [x.copy()], [float(surface.value(x))]
    stopped, diverged_at = False, -1
    with np.errstate(all="ignore"):
        for t in range(1, max_steps + 1):
            x_new = x - lr * np.atleast_1d(surface.grad(x))
            f_new = float(surface.value(x_new))
            if not (np.all(np.isfinite(x_new)) and math.isfinite(f_new)):
                diverged_at = t
                break
            xs.append(x_new)
            values.append(f_new)
            done = abs(f_new - values[-2]) < tol
            x = x_new
            if done:
                stopped = True
                break
    return GDResult(np.array(xs), np.array(values), len(xs) - 1, stopped, diverged_at)


@dataclass
class Orbits:
    """What :func:`gd_orbits` returns: for each learning rate, the last iterates of gradient descent.

    Attributes:
        lrs: ``(L,)`` learning rates.
        late: ``(L, keep)`` the last ``keep`` iterates (NaN where the run diverged).
        diverged_at: ``(L,)`` first step whose iterate or value was not finite, -1 if none.
    """

    lrs: np.ndarray
    late: np.ndarray
    diverged_at: np.ndarray

    def period(self, i: int, tol: float = 1e-6) -> int:
        """Smallest period p <= keep/2 of the late iterates of rate ``i`` (1 = converged, 2 = a 2-cycle),
        0 if none is found (a longer cycle or chaos), -1 if the run diverged."""
        if self.diverged_at[i] >= 0:
            return -1
        v = self.late[i]
        scale = tol * max(1.0, float(np.abs(v).max()))
        for p in range(1, len(v) // 2 + 1):
            if np.all(np.abs(v[p:] - v[:-p]) < scale):
                return p
        return 0


def gd_orbits(surface, lrs, x0: float, num_steps: int = 1000, keep: int = 64, bound: float | None = None) -> Orbits:
    """Gradient descent on a 1D surface for many learning rates at once; keep the late iterates (lecture 03).

    Plotting ``late`` against ``lrs`` gives an orbit (bifurcation) diagram: one point per rate where descent
    converges, two where it settles into a 2-cycle, a smear where it is chaotic, nothing where it diverged.

    Args:
        surface: a 1D Surface; lrs: ``(L,)`` positive rates; x0: start; num_steps: updates; keep: <= num_steps.
        bound: also count a run as diverged once ``|x|`` exceeds this (None: only when it overflows).
    Returns:
        :class:`Orbits`. Example: ``gd_orbits(surfaces.get("multi_minima"), np.linspace(0.01, 1, 400), 1.0)``
    """
    from .surfaces import Surface

    if not isinstance(surface, Surface) or surface.dim != 1:
        raise TypeError("surface must be a 1D lecture_utils.surfaces.Surface")
    lrs = check_array("lrs", lrs, ndim=1)
    if lrs.size == 0 or np.any(~np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError("lrs must be a non-empty array of positive finite learning rates")
    x0 = check_real("x0", x0)
    num_steps = check_int("num_steps", num_steps, low=1)
    keep = check_int("keep", keep, low=1, high=num_steps)
    bound = check_real("bound", bound, low=0.0, low_open=True, allow_none=True)
    limit = np.inf if bound is None else bound
    L = lrs.size
    x = np.full((L, 1), x0)
    late = np.full((L, keep), np.nan)
    diverged_at = np.full(L, -1, dtype=np.int64)
    alive = np.ones(L, dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(num_steps + 1):
            g = surface._grad(x).reshape(L, 1)
            # the same rule as optim.run: position t diverged if its value, or its squared gradient, is not
            # finite (or, with a bound, if it left [-bound, bound])
            ok = np.isfinite(surface._value(x).reshape(L) + g[:, 0] * g[:, 0]) & (np.abs(x[:, 0]) <= limit)
            bad = alive & ~ok
            if bad.any():
                diverged_at[bad] = t
                alive &= ~bad
                x[bad] = 0.0  # parked; never reported
                g[bad] = 0.0
            if t > num_steps - keep:
                late[alive, t - (num_steps - keep) - 1] = x[alive, 0]
            if t == num_steps:
                break
            x = x - lrs[:, None] * g
    return Orbits(lrs, late, diverged_at)


@dataclass
class BasinMap:
    """What :func:`basin_map` returns.

    Attributes:
        x0s: ``(B,)`` start points; finals: ``(B,)`` where each run ended.
        minima: ``(k,)`` the surface's local minima, sorted from left to right.
        labels: ``(B,)`` index into ``minima`` of the minimum reached, -1 if the run ended at none of them
            (still moving, or cycling), -2 if it diverged.
    """

    x0s: np.ndarray
    finals: np.ndarray
    minima: np.ndarray
    labels: np.ndarray

    def intervals(self) -> list[tuple[float, float, int]]:
        """Runs of consecutive start points with the same label: ``[(x_first, x_last, label), ...]``."""
        out, start = [], 0
        for i in range(1, len(self.labels) + 1):
            if i == len(self.labels) or self.labels[i] != self.labels[start]:
                out.append((float(self.x0s[start]), float(self.x0s[i - 1]), int(self.labels[start])))
                start = i
        return out


def basin_map(surface, x0s, lr: float, num_steps: int = 500, tol: float = 1e-3) -> BasinMap:
    """Which local minimum does gradient descent reach from each start point? (lecture 03, 1D surfaces)

    Args:
        surface: a 1D Surface with at least one minimum inside its box.
        x0s: ``(B,)`` start points; lr: learning rate; num_steps: updates per run.
        tol: a run "reached" a minimum when it ends within ``tol`` of it.
    Returns:
        :class:`BasinMap`. Example: ``basin_map(surfaces.get("multi_minima"), np.linspace(-4, 4, 801), 0.05)``
    """
    from . import optim
    from .surfaces import Surface

    if not isinstance(surface, Surface) or surface.dim != 1:
        raise TypeError("surface must be a 1D lecture_utils.surfaces.Surface")
    x0s = check_array("x0s", x0s, ndim=1)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    traj = optim.run(surface, optim.SGD(lr=lr), x0s[:, None], num_steps=num_steps, tol=0.0)
    finals = traj.final[:, 0]
    minima = np.sort(surface.minima[:, 0])
    if minima.size == 0:
        raise ValueError(f"surface {surface.name!r} has no minimum inside its box {surface.bounds}")
    dist = np.abs(finals[:, None] - minima[None, :])
    labels = np.where(dist.min(axis=1) < tol, dist.argmin(axis=1), -1)
    labels[traj.diverged_at >= 0] = -2
    return BasinMap(x0s, finals, minima, labels.astype(np.int64))


# ---------------------------------------------------------------------------------------------------------
# Lecture 04: minibatches
# ---------------------------------------------------------------------------------------------------------
ORDERS = ("shuffle", "replacement", "fixed", "sorted")


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, low=0))


def epoch_batches(n: int, batch_size: int, *, order: str = "shuffle", rng=None, labels=None) -> list[np.ndarray]:
    """The minibatches of one epoch, as arrays of row indices (lecture 04).

    Every order makes ``ceil(n / batch_size)`` batches of ``batch_size`` rows (the last one smaller when
    ``batch_size`` does not divide ``n``), as ``torch.utils.data.DataLoader`` does:

    - ``"shuffle"``: a new random permutation each epoch, so each example is used exactly once;
    - ``"replacement"``: ``n`` indices drawn independently with replacement (some examples twice, about
      ``(1 - 1/n)^n ~ 37 %`` not at all);
    - ``"fixed"``: rows ``0, 1, ..., n - 1`` in the stored order, every epoch the same;
    - ``"sorted"``: rows sorted by ``labels`` (all of class 0, then class 1, ...), the failure case.

    Args:
        n: number of examples; batch_size: rows per batch (1 <= batch_size <= n).
        rng: a ``numpy.random.Generator`` or seed (for "shuffle" and "replacement").
        labels: ``(n,)`` class labels (for "sorted").
    Returns:
        list of int arrays. Example: ``epoch_batches(10, 4, rng=0)  # 3 batches: 4 + 4 + 2 rows``
    """
    n = check_int("n", n, low=1)
    batch_size = check_int("batch_size", batch_size, low=1, high=n)
    check_choice("order", order, ORDERS)
    if order == "shuffle":
        idx = _rng(0 if rng is None else rng).permutation(n)
    elif order == "replacement":
        idx = _rng(0 if rng is None else rng).integers(0, n, n)
    elif order == "fixed":
        idx = np.arange(n)
    else:
        if labels is None:
            raise ValueError('order="sorted" needs the class labels: pass labels=y')
        labels = np.asarray(labels).reshape(-1)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {labels.shape}")
        idx = np.argsort(labels, kind="stable")
    return [idx[i:i + batch_size] for i in range(0, n, batch_size)]


def _selection_matrix(n, batch_size, num_draws, rng, replace):
    """``(num_draws, n)`` weights so that row ``k`` times the per-example gradients is draw ``k``'s mean."""
    W = np.zeros((num_draws, n))
    if replace:
        idx = rng.integers(0, n, (num_draws, batch_size))
        np.add.at(W, (np.repeat(np.arange(num_draws), batch_size), idx.ravel()), 1.0)
    else:
        idx = np.argpartition(rng.random((num_draws, n)), batch_size - 1, axis=1)[:, :batch_size] \
            if batch_size < n else np.tile(np.arange(n), (num_draws, 1))
        W[np.arange(num_draws)[:, None], idx] = 1.0
    return W / batch_size


def _check_problem(problem):
    for attr in ("n", "num_params", "loss", "grad", "example_grads"):
        if not hasattr(problem, attr):
            raise TypeError(f"problem must offer n, num_params, loss, grad and example_grads (like "
                            f"linear_models.SoftmaxRegression); {type(problem).__name__} has no {attr!r}")


def minibatch_grads(problem, theta, batch_size: int, num_draws: int = 100, *, replace: bool = True,
                    seed=0, G=None) -> np.ndarray:
    """``num_draws`` independent minibatch gradient estimates at ``theta`` (lecture 04).

    Each draw picks ``batch_size`` examples uniformly (with replacement, or without within the draw) and
    averages their gradients. The per-example gradients are computed once (pass them as ``G`` to reuse them).

    Returns:
        ``(num_draws, num_params)``. Example: ``minibatch_grads(prob, theta, 32, 1000).mean(0)  # ~ prob.grad(theta)``
    """
    _check_problem(problem)
    batch_size = check_int("batch_size", batch_size, low=1, high=problem.n)
    num_draws = check_int("num_draws", num_draws, low=1)
    G = problem.example_grads(theta) if G is None else G
    return _selection_matrix(problem.n, batch_size, num_draws, _rng(seed), replace) @ G


@dataclass
class Spread:
    """What :func:`gradient_spread` returns (all arrays of shape ``(len(batch_sizes),)``).

    Attributes:
        batch_sizes: the minibatch sizes n.
        spread: measured root-mean-square distance ``sqrt(E ||g_B - g||^2)`` of a minibatch gradient from the
            full gradient.
        sigma: ``sqrt(1/N sum_i ||g_i - g||^2)``, the spread of a single example's gradient (a number).
        predicted: ``sigma / sqrt(n)`` (with replacement) or ``sigma / sqrt(n) * sqrt((N - n) / (N - 1))``
            (without replacement: the finite-population correction).
    """

    batch_sizes: np.ndarray
    spread: np.ndarray
    sigma: float
    predicted: np.ndarray
    replace: bool


def gradient_spread(problem, theta, batch_sizes, num_draws: int = 200, *, replace: bool = True, seed=0) -> Spread:
    """Measure how far minibatch gradients scatter around the full gradient, for several batch sizes (lecture 04).

    Args:
        problem: a problem with ``example_grads``; theta: where to measure.
        batch_sizes: sizes n to try, each between 1 and ``problem.n``.
        num_draws: minibatches drawn per size.
        replace: draw each minibatch with replacement (independent examples) or without.
    Returns:
        :class:`Spread`. Example: ``s = gradient_spread(prob, theta, 2 ** np.arange(11)); loglog_slope(s.batch_sizes, s.spread)``
    """
    _check_problem(problem)
    sizes = np.asarray(batch_sizes)
    if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError(f"batch_sizes must be a non-empty 1D array of integers, got {batch_sizes!r}")
    if sizes.min() < 1 or sizes.max() > problem.n:
        raise ValueError(f"batch_sizes must lie in 1..{problem.n} (the number of examples), got {sizes.min()}..{sizes.max()}")
    num_draws = check_int("num_draws", num_draws, low=2)
    rng = _rng(seed)
    G = problem.example_grads(theta)
    g = G.mean(axis=0)
    N = problem.n
    sigma = float(np.sqrt(np.mean(np.sum((G - g) ** 2, axis=1))))
    spread = np.empty(len(sizes))
    for k, b in enumerate(sizes):
        est = _selection_matrix(N, int(b), num_draws, rng, replace) @ G
        spread[k] = np.sqrt(np.mean(np.sum((est - g) ** 2, axis=1)))
    pred = sigma / np.sqrt(sizes)
    if not replace:
        pred = pred * np.sqrt((N - sizes) / max(N - 1, 1))
    return Spread(sizes.astype(np.int64), spread, sigma, pred, bool(replace))


def loglog_slope(x, y) -> float:
    """Slope of the least-squares line through ``(log x, log y)``: ``y ~ C x^slope`` (lecture 04).

    Example: ``loglog_slope([1, 4, 16], [1.0, 0.5, 0.25])  # -0.5``
    """
    x = check_array("x", x, ndim=1)
    y = check_array("y", y, ndim=1)
    if x.shape != y.shape or x.size < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive arrays of the same length (at least 2)")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


class InverseTimeLR:
    """``lr * t0 / (t0 + step)``: a rate that decays like ``1/t``, the classic choice that lets SGD converge
    (lecture 04). Same call convention as :mod:`lecture_utils.optim` schedules, and equal to
    ``torch.optim.lr_scheduler.LambdaLR(opt, lambda step: t0 / (t0 + step))``.

    Example: ``sgd(prob, theta0, lr=0.1, batch_size=1, num_epochs=5, lr_schedule=InverseTimeLR(100))``
    """

    def __init__(self, t0: float):
        self.t0 = check_real("t0", t0, low=0.0, low_open=True)

    def __call__(self, base_lr, step):
        return base_lr * self.t0 / (self.t0 + step)

    def __repr__(self):
        return f"InverseTimeLR(t0={self.t0:g})"


@dataclass
class SGDRun:
    """What :func:`sgd` returns. Recorded arrays all have one entry per record (the start is record 0).

    Attributes:
        label: legend text, e.g. ``'SGD, batch 32, lr 0.5'``.
        epochs: fractional epochs done (examples processed / n).
        updates: parameter updates done.
        grad_evals: per-example gradients computed (the same per epoch for every batch size).
        seconds: wall time spent in gradient steps (evaluation of the recorded losses excluded).
        train_loss: full training loss at the record; val_loss: validation loss (NaN without ``val``).
        avg_loss: training loss of the averaged iterate (NaN without averaging).
        thetas: ``(R, num_params)`` recorded iterates; avg_thetas likewise for the average.
        theta: last iterate; theta_avg: averaged iterate (None without averaging).
        diverged_at: update whose loss or parameters stopped being finite (training stops), -1 if none.
    """

    label: str
    batch_size: int
    lr: float
    epochs: np.ndarray
    updates: np.ndarray
    grad_evals: np.ndarray
    seconds: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    avg_loss: np.ndarray
    thetas: np.ndarray
    avg_thetas: np.ndarray | None
    theta: np.ndarray
    theta_avg: np.ndarray | None
    diverged_at: int = -1
    extras: dict = field(default_factory=dict)

    def status(self) -> str:
        if self.diverged_at >= 0:
            return f"diverged at update {self.diverged_at}"
        return f"loss {self.train_loss[-1]:.4g} after {self.epochs[-1]:g} epochs ({int(self.updates[-1])} updates)"


def sgd(problem, theta0, lr: float, batch_size: int, num_epochs: float = 1, *, order: str = "shuffle",
        lr_schedule: Callable[[float, int], float] | None = None, average_start: int | None = None,
        val=None, records_per_epoch: int = 1, record_at=None, seed=0, callback: Callable | None = None, label: str | None = None
        ) -> SGDRun:
    """Minibatch stochastic gradient descent (algorithm 8.1 of the Deep Learning book), in numpy (lecture 04).

    Each epoch splits the data into minibatches by :func:`epoch_batches` (``order``) and makes one update
    ``theta <- theta - lr_k * mean gradient of the batch`` per batch. ``batch_size=problem.n`` with
    ``order="fixed"`` is batch gradient descent, ``batch_size=1`` is plain SGD.

    Args:
        problem: a problem (e.g. :class:`~lecture_utils.linear_models.SoftmaxRegression`).
        theta0: start, ``(num_params,)``.
        lr: base learning rate; lr_schedule: ``schedule(lr, update) -> rate`` (``optim.StepLR``,
            :class:`InverseTimeLR`, ...), evaluated at the 0-based update count.
        batch_size: rows per minibatch; num_epochs: passes over the data (a fraction stops mid-epoch).
        order: "shuffle", "replacement", "fixed" or "sorted" (see :func:`epoch_batches`).
        average_start: keep a running uniform average of the iterates from this update on (None: no average).
        val: a second problem on held-out data whose loss is recorded too.
        records_per_epoch: how often the full losses are evaluated and recorded.
        record_at: update counts at which to record instead (e.g. ``np.geomspace(1, 10_000, 40)`` for a
            log-scale axis); the start and the end are always recorded.
        seed: seed (or Generator) of the data order.
        callback: called as ``callback(run_so_far_dict)`` at every record, e.g. to draw live.
    Returns:
        :class:`SGDRun`. Example: ``sgd(prob, prob.init(), lr=0.5, batch_size=32, num_epochs=3).status()``
    """
    _check_problem(problem)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    batch_size = check_int("batch_size", batch_size, low=1, high=problem.n)
    num_epochs = check_real("num_epochs", num_epochs, low=0.0, low_open=True)
    check_choice("order", order, ORDERS)
    average_start = check_int("average_start", average_start, low=0, allow_none=True)
    records_per_epoch = check_int("records_per_epoch", records_per_epoch, low=1)
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError("lr_schedule must be a callable schedule(base_lr, step)")
    theta = check_array("theta0", theta0, ndim=1).copy()
    if theta.shape != (problem.num_params,):
        raise ValueError(f"theta0 must have shape ({problem.num_params},), got {theta.shape}")
    if val is not None:
        _check_problem(val)
    at = None
    if record_at is not None:
        at = np.unique(np.round(check_array("record_at", record_at, ndim=1)).astype(np.int64))
        at = set(at[at > 0].tolist())
    rng = _rng(seed)
    n = problem.n
    labels = getattr(problem, "y", None)
    budget = int(round(num_epochs * n))

    rec = {k: [] for k in ("epochs", "updates", "grad_evals", "seconds", "train_loss", "val_loss", "avg_loss",
                           "thetas", "avg_thetas")}
    state = {"updates": 0, "evals": 0, "seconds": 0.0}
    avg, avg_count = None, 0

    def record():
        rec["epochs"].append(state["evals"] / n)
        rec["updates"].append(state["updates"])
        rec["grad_evals"].append(state["evals"])
        rec["seconds"].append(state["seconds"])
        rec["train_loss"].append(problem.loss(theta))
        rec["val_loss"].append(val.loss(theta) if val is not None else np.nan)
        rec["thetas"].append(theta.copy())
        if average_start is not None:
            a = avg if avg is not None else theta
            rec["avg_loss"].append(problem.loss(a))
            rec["avg_thetas"].append(a.copy())
        else:
            rec["avg_loss"].append(np.nan)
        if callback is not None:
            callback({k: v for k, v in rec.items()})

    # Our own problems offer an unchecked batch gradient; the indices come from epoch_batches, so they are valid.
    batch_grad = getattr(problem, "_batch_grad", problem.grad)
    record()
    diverged_at = -1
    with np.errstate(all="ignore"):
        while state["evals"] < budget and diverged_at < 0:
            batches = epoch_batches(n, batch_size, order=order, rng=rng, labels=labels)
            nb = len(batches)
            marks = {min(nb - 1, int(math.ceil((r + 1) * nb / records_per_epoch)) - 1) for r in range(records_per_epoch)}
            for j, idx in enumerate(batches):
                if state["evals"] >= budget:
                    break
                step_lr = lr if lr_schedule is None else float(lr_schedule(lr, state["updates"]))
                t0 = time.perf_counter()
                theta = theta - step_lr * batch_grad(theta, idx)
                state["seconds"] += time.perf_counter() - t0
                state["updates"] += 1
                state["evals"] += len(idx)
                if not np.isfinite(theta).all():
                    diverged_at = state["updates"]
                    theta = rec["thetas"][-1].copy()
                    break
                if average_start is not None and state["updates"] > average_start:
                    avg_count += 1
                    avg = theta.copy() if avg is None else avg + (theta - avg) / avg_count
                if (state["updates"] in at if at is not None else j in marks) or state["evals"] >= budget:
                    record()
                    if not np.isfinite(rec["train_loss"][-1]):
                        diverged_at = state["updates"]
                        break
    kind = "batch GD" if batch_size == n else ("SGD" if batch_size == 1 else f"minibatch {batch_size}")
    out = {k: np.array(v) for k, v in rec.items() if k not in ("thetas", "avg_thetas")}
    return SGDRun(
        label=label or f"{kind}, lr {lr:g}", batch_size=batch_size, lr=lr, thetas=np.array(rec["thetas"]),
        avg_thetas=np.array(rec["avg_thetas"]) if average_start is not None else None, theta=theta,
        theta_avg=(avg if avg is not None else (theta.copy() if average_start is not None else None)),
        diverged_at=diverged_at, **out)


def running_average(thetas) -> np.ndarray:
    """Uniform running average of iterates: row ``t`` is the mean of rows ``0..t`` (Polyak averaging, lecture 04).

    Args:
        thetas: ``(T, p)`` iterates (or ``(T,)``).
    Returns:
        same shape. Example: ``running_average([[0.0], [2.0], [4.0]])  # [[0], [1], [2]]``
    """
    thetas = check_array("thetas", thetas, ndim=(1, 2))
    return np.cumsum(thetas, axis=0) / np.arange(1, len(thetas) + 1).reshape((-1,) + (1,) * (thetas.ndim - 1))


def early_stopping(val_losses, patience: int = 10) -> tuple[int, int]:
    """Where early stopping with ``patience`` stops, and which recorded point it keeps (lecture 04).

    Training stops at the first record that is ``patience`` records past the best validation loss so far;
    the parameters kept are those of the best record.

    Args:
        val_losses: ``(R,)`` validation losses in recording order; patience: records to wait (>= 1).
    Returns:
        ``(best_index, stop_index)``; ``stop_index`` is ``R - 1`` if patience never ran out.
    Example: ``early_stopping([3, 2, 1, 2, 3, 4], patience=2)  # (2, 4)``
    """
    v = check_array("val_losses", val_losses, ndim=1, allow_nan=True)
    patience = check_int("patience", patience, low=1)
    if v.size == 0:
        raise ValueError("val_losses is empty")
    best, best_val = 0, v[0] if np.isfinite(v[0]) else np.inf
    for i in range(1, len(v)):
        if np.isfinite(v[i]) and v[i] < best_val:
            best, best_val = i, v[i]
        elif i - best >= patience:
            return best, i
    return best, len(v) - 1


# ---------------------------------------------------------------------------------------------------------
# A designed landscape: minibatch noise escapes a sharp, poor minimum (lecture 04)
# ---------------------------------------------------------------------------------------------------------
class TiltedLandscape:
    """A 1D training loss with a wide good minimum and a sharp, poor one, built from ``n`` example losses.

    The full loss is ``L(x) = curvature/2 (x - good)^2 - depth * exp(-(x - sharp)^2 / (2 width^2))``. Example
    ``i`` sees it tilted: ``loss_i(x) = L(x) + tilt_i * x`` with tilts of mean exactly 0 and standard
    deviation ``noise``. The mean over all examples is ``L`` (full-batch descent sees no tilt); a minibatch sees
    ``L`` tilted by the mean tilt of its examples, so its gradient is ``L'(x)`` plus noise of size about
    ``noise / sqrt(batch_size)``: the seed notes' picture of a loss that changes from one data subset to the
    next. Lecture 04.

    Attributes:
        n, num_params (= 1), tilts ``(n,)``, surface (``L`` as a Surface, for plots and ``optim.run``),
        sharp_min and good_min (the two local minimizers), barrier (the local maximum between them).
    Example: ``land = TiltedLandscape(); sgd(land, [land.sharp_min], lr=0.02, batch_size=1, num_epochs=40)``
    """

    def __init__(self, n: int = 128, noise: float = 8.0, *, sharp: float = -1.0, depth: float = 0.6,
                 width: float = 0.1, good: float = 2.0, curvature: float = 0.2, seed: int = 0):
        self.n = check_int("n", n, low=2)
        self.noise = check_real("noise", noise, low=0.0)
        self.sharp = check_real("sharp", sharp)
        self.depth = check_real("depth", depth, low=0.0, low_open=True)
        self.width = check_real("width", width, low=0.0, low_open=True)
        self.good = check_real("good", good)
        self.curvature = check_real("curvature", curvature, low=0.0, low_open=True)
        self.num_params = 1
        t = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(self.n)
        t = t - t.mean()
        self.tilts = self.noise * t / t.std() if self.noise > 0 else np.zeros(self.n)
        self.surface = self._surface()
        self.sharp_min, self.barrier, self.good_min = self._critical_points()

    def _L(self, x):
        return 0.5 * self.curvature * (x - self.good) ** 2 - self.depth * np.exp(-(x - self.sharp) ** 2 / (2 * self.width ** 2))

    def _dL(self, x):
        e = np.exp(-(x - self.sharp) ** 2 / (2 * self.width ** 2))
        return self.curvature * (x - self.good) + self.depth * (x - self.sharp) / self.width ** 2 * e

    def _d2L(self, x):
        e = np.exp(-(x - self.sharp) ** 2 / (2 * self.width ** 2))
        u = (x - self.sharp) / self.width
        return self.curvature + self.depth / self.width ** 2 * e * (1 - u * u)

    def _surface(self):
        from .surfaces import Surface

        lo, hi = min(self.sharp, self.good) - 2.5, max(self.sharp, self.good) + 2.5
        return Surface("tilted_landscape", 1, [(lo, hi)], lambda X: self._L(X[:, 0]), lambda X: self._dL(X),
                       lambda X: self._d2L(X)[:, :, None],
                       formula=r"$\frac{c}{2}(x - x_g)^2 - d\,e^{-(x - x_s)^2 / 2w^2}$")

    def _critical_points(self):
        crit = self.surface.critical_points
        mins = sorted(c.point[0] for c in crit if c.kind == "minimum")
        maxs = sorted(c.point[0] for c in crit if c.kind == "maximum")
        sharp = min(mins, key=lambda m: abs(m - self.sharp))
        good = min(mins, key=lambda m: abs(m - self.good))
        if abs(sharp - good) < 1e-6 or not maxs:
            raise ValueError("these parameters give no separate sharp minimum: make depth larger or width smaller")
        between = [m for m in maxs if min(sharp, good) < m < max(sharp, good)]
        return float(sharp), float(between[0] if between else maxs[0]), float(good)

    def sharpness(self, x: float) -> float:
        """Second derivative ``L''(x)``; gradient descent is stable at a minimum only if ``lr < 2 / L''``."""
        return float(self._d2L(np.asarray(float(x))))

    def in_good_basin(self, x) -> np.ndarray:
        """True where plain gradient descent (small steps) from ``x`` flows to the good minimum."""
        x = np.asarray(x, dtype=float)
        return (x > self.barrier) if self.good > self.sharp else (x < self.barrier)

    def _theta(self, theta):
        theta = np.asarray(theta, dtype=float).reshape(-1)
        if theta.shape != (1,):
            raise ValueError(f"theta must be one number (shape (1,)), got shape {theta.shape}")
        return theta[0]

    def _rows(self, idx):
        return slice(None) if idx is None else np.asarray(idx)

    def loss(self, theta, idx=None) -> float:
        x = self._theta(theta)
        return float(self._L(x) + self.tilts[self._rows(idx)].mean() * x)

    def grad(self, theta, idx=None) -> np.ndarray:
        x = self._theta(theta)
        return np.array([self._dL(x) + self.tilts[self._rows(idx)].mean()])

    def example_grads(self, theta, idx=None) -> np.ndarray:
        x = self._theta(theta)
        return (self._dL(x) + self.tilts[self._rows(idx)])[:, None]

    def sgd_many(self, x0: float, lr: float, batch_size: int, num_updates: int, num_runs: int = 40,
                 seed: int = 0) -> np.ndarray:
        """Many independent runs of shuffled minibatch SGD at once (the loop of :func:`sgd`, vectorized over runs).

        Each run reshuffles the examples every epoch and steps on consecutive minibatches, exactly as
        :func:`sgd` with ``order="shuffle"`` does; ``batch_size = n`` is full-batch descent.

        Returns:
            ``(num_updates + 1, num_runs)`` iterates. Example: ``land.in_good_basin(land.sgd_many(-1, 0.02, 1, 2000)[-1]).mean()``
        """
        x0 = check_real("x0", x0)
        lr = check_real("lr", lr, low=0.0, low_open=True)
        batch_size = check_int("batch_size", batch_size, low=1, high=self.n)
        num_updates = check_int("num_updates", num_updates, low=1)
        num_runs = check_int("num_runs", num_runs, low=1)
        rng = _rng(seed)
        starts = np.arange(0, self.n, batch_size)
        xs = np.empty((num_updates + 1, num_runs))
        x = np.full(num_runs, x0)
        xs[0] = x
        nb = len(starts)
        ends = np.minimum(starts + batch_size, self.n)
        epochs_left = math.ceil(num_updates / nb)
        chunk = max(1, 2_000_000 // (num_runs * self.n))  # shuffle many epochs in one call
        t = 0
        with np.errstate(all="ignore"):
            while t < num_updates:
                E = min(chunk, epochs_left)
                epochs_left -= E
                if batch_size == self.n:  # the whole data set: the mean tilt is exactly zero
                    batch_tilt = np.zeros((num_runs, E * nb))
                else:
                    perm = np.argsort(rng.random((num_runs, E, self.n)), axis=2)
                    csum = np.concatenate([np.zeros((num_runs, E, 1)), np.cumsum(self.tilts[perm], axis=2)], axis=2)
                    batch_tilt = ((csum[:, :, ends] - csum[:, :, starts]) / (ends - starts)).reshape(num_runs, E * nb)
                for j in range(E * nb):
                    if t >= num_updates:
                        break
                    x = x - lr * (self._dL(x) + batch_tilt[:, j])
                    t += 1
                    xs[t] = x
        return xs

    def __repr__(self):
        return (f"TiltedLandscape(n={self.n}, noise={self.noise:g}; sharp minimum at {self.sharp_min:.3f} "
                f"with L''={self.sharpness(self.sharp_min):.1f}, good minimum at {self.good_min:.3f})")
