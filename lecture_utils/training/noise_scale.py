"""The gradient noise scale and the critical batch size (McCandlish et al. 2018), measured on real data (lecture 11).

- :func:`per_example_gradients`: one gradient per example, ``torch.func.vmap`` over ``grad`` of the net's loss
  (:func:`per_example_gradients_loop` is the plain loop it must equal).
- :func:`noise_scale`: from per-example gradients ``g_i`` with mean ``G``, the simple noise scale
  ``B_simple = tr(Sigma) / |G|^2`` (the batch size at which the minibatch noise ``tr(Sigma) / B`` equals the signal
  ``|G|^2``), with a bootstrap interval for its sampling error.
- :func:`steps_to_target`: steps until the loss on a fixed set first reaches a target, for several learning rates
  and seeds of one batch size, all trained together (:func:`lecture_utils.training.batched.fit_many`);
  :func:`sweep_batch_sizes` repeats it over batch sizes, each with its own best rate.
- :func:`fit_critical_batch`: the fit ``S = S_min (1 + B_crit / B)`` of steps against batch size, equivalently
  ``E = E_min (1 + B / B_crit)`` for examples ``E = B S``: above ``B_crit`` more examples per step stop buying fewer
  steps.

Example::

    >>> import torch
    >>> from lecture_utils.training import nets
    >>> _ = torch.manual_seed(0)
    >>> X, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    >>> net = nets.MLP(3, (5,), 2)
    >>> G = per_example_gradients(net, X, y)
    >>> G.shape, bool(torch.allclose(G, per_example_gradients_loop(net, X, y), atol=1e-6))
    (torch.Size([40, 32]), True)
    >>> ns = noise_scale(G, num_bootstrap=50, seed=0)
    >>> bool(ns.low < ns.b_simple < ns.high)
    True
    >>> fit_critical_batch([8, 32, 128, 512], [500, 200, 125, 106.25]).b_crit   # S = 100 (1 + 32 / B)
    32.0
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validate import as_generator, check_array, check_choice, check_int, check_real

__all__ = ["per_example_gradients", "per_example_gradients_loop", "NoiseScale", "noise_scale", "StepsToTarget",
           "steps_to_target", "default_eval_every", "BatchSweep", "sweep_batch_sizes", "CriticalBatchFit",
           "fit_critical_batch"]


def _loss_of(out, y):
    if y.dim() == 1 and not torch.is_floating_point(y):
        return torch.nn.functional.cross_entropy(out, y)
    return torch.nn.functional.mse_loss(out, y.reshape(out.shape))


def _check_net(net):
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    if any(isinstance(m, torch.nn.modules.batchnorm._NormBase) for m in net.modules()):
        raise ValueError("per-example gradients are not defined for a net with batch norm (every example's output "
                         "depends on the whole batch); use a net without it")


def per_example_gradients(net, X, y) -> torch.Tensor:
    """The gradient of the loss of every example, ``(n, P)``: ``vmap(grad(loss of one example))`` over the examples.

    Args:
        net: a ``torch.nn.Module`` without batch norm; its parameters are not changed.
        X: inputs ``(n, ...)``; y: labels ``(n,)`` (cross-entropy) or targets ``(n, k)`` (mean squared error).
    Returns:
        ``(n, P)`` tensor, row i the gradient of example i's loss, parameters in the order of ``net.parameters()``.
    Example: ``G = per_example_gradients(net, ds.X_train, ds.y_train)``
    """
    from torch.func import functional_call, grad, vmap

    _check_net(net)
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = {k: v.detach() for k, v in net.named_buffers()}

    def one(p, x, t):
        return _loss_of(functional_call(net, (p, buffers), (x.unsqueeze(0),)), t.unsqueeze(0))

    g = vmap(grad(one), in_dims=(None, 0, 0))(params, X, y)
    return torch.cat([g[k].reshape(len(X), -1) for k in params], 1)


def per_example_gradients_loop(net, X, y) -> torch.Tensor:
    """The same as :func:`per_example_gradients` by one backward pass per example (the slow reference)."""
    _check_net(net)
    params = list(net.parameters())
    rows = []
    for i in range(len(X)):
        loss = _loss_of(net(X[i:i + 1]), y[i:i + 1])
        rows.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    return torch.stack(rows)


@dataclass(frozen=True)
class NoiseScale:
    """``B_simple = tr(Sigma) / |G|^2`` from ``n`` per-example gradients, and its sampling error.

    Attributes:
        b_simple: the estimate (``inf`` when the estimated ``|G|^2`` is not positive: noise swamps the signal).
        trace_sigma: ``tr(Sigma)``, the summed variance of the per-example gradients.
        grad_norm_sq: ``|G|^2``, the squared norm of the mean gradient.
        low, high: the 2.5 and 97.5 percentiles of the bootstrap estimates (resampling the examples);
        std_error: their standard deviation. n: examples used; estimator: ``"unbiased"`` or ``"population"``.
    """

    b_simple: float
    trace_sigma: float
    grad_norm_sq: float
    low: float
    high: float
    std_error: float
    n: int
    estimator: str


def _estimates(sum_sq, sums, n, estimator):
    """(B_simple, tr Sigma, |G|^2) from sums over n rows: ``sum_sq = sum |g_i|^2``, ``sums = sum g_i`` (..., P)."""
    mean_sq = (sums ** 2).sum(-1) / n ** 2
    if estimator == "population":  # the rows are all the examples SGD draws from: exact for that set
        trace = sum_sq / n - mean_sq
        g2 = mean_sq
    else:  # the rows are a sample: unbiased trace (1 / (n - 1)) and |G|^2 corrected by its noise tr / n
        trace = (sum_sq - n * mean_sq) / (n - 1)
        g2 = mean_sq - trace / n
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(g2 > 0, trace / np.where(g2 > 0, g2, 1.0), np.inf)
    return b, trace, g2


def noise_scale(grads, *, estimator: str = "unbiased", num_bootstrap: int = 200, seed=0) -> NoiseScale:
    """``B_simple = tr(Sigma) / |G|^2`` from per-example gradients, with a bootstrap interval.

    ``"unbiased"`` treats the rows as a sample of the data: ``tr(Sigma) = sum |g_i - g_bar|^2 / (n - 1)`` and
    ``|G|^2 = |g_bar|^2 - tr(Sigma) / n`` (``|g_bar|^2`` alone is biased upwards by the noise). ``"population"``
    treats them as the whole set a minibatch is drawn from (all training examples): ``tr(Sigma)`` with ``1 / n``
    and ``|G|^2 = |g_bar|^2`` exactly. The interval resamples the rows with replacement ``num_bootstrap`` times.

    Args:
        grads: ``(n, P)`` per-example gradients (torch or numpy), ``n >= 2``.
        estimator: ``"unbiased"`` or ``"population"``. num_bootstrap: resamples (0: no interval, NaN bounds).
        seed: seed of the resampling (an int or a ``numpy.random.Generator``).
    Returns:
        :class:`NoiseScale`. Example: ``noise_scale(per_example_gradients(net, X, y)).b_simple``
    """
    check_choice("estimator", estimator, ("unbiased", "population"))
    num_bootstrap = check_int("num_bootstrap", num_bootstrap, low=0, high=100_000)
    G = grads.detach().cpu().double().numpy() if hasattr(grads, "detach") else check_array("grads", grads, ndim=2)
    if G.ndim != 2 or len(G) < 2:
        raise ValueError(f"grads must have shape (n, P) with n >= 2 examples, got shape {G.shape}")
    if not np.all(np.isfinite(G)):
        raise ValueError("grads must be finite (a gradient is NaN or infinite)")
    n = len(G)
    row_sq = (G ** 2).sum(1)
    b, tr, g2 = _estimates(row_sq.sum(), G.sum(0), n, estimator)
    low = high = std = math.nan
    if num_bootstrap:
        rng = as_generator(seed)
        counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(num_bootstrap)]).astype(float)
        boot, _, _ = _estimates(counts @ row_sq, counts @ G, n, estimator)
        finite = boot[np.isfinite(boot)]
        low, high = (np.percentile(boot, [2.5, 97.5]) if finite.size == boot.size else
                     (np.percentile(finite, 2.5) if finite.size else math.inf, math.inf))
        std = float(finite.std()) if finite.size > 1 else math.nan
    return NoiseScale(float(b), float(tr), float(g2), float(low), float(high), std, n, estimator)


# ---- steps and examples to a target loss ------------------------------------------------------------------
@dataclass
class StepsToTarget:
    """Steps until the loss on ``eval_data`` first reached ``target``, for each (learning rate, seed) of one batch.

    Attributes:
        batch_size, target, lrs ``(L,)``, seeds ``(S,)``.
        steps: ``(L, S)`` the first recorded step at or below the target (``inf``: not reached, or diverged; the
            resolution is ``eval_every`` steps). diverged: ``(L, S)`` bool.
        record_steps ``(R,)`` and losses ``(R, L, S)``: the evaluated loss at every record (NaN after divergence).
        nets: the ``L * S`` trained nets, rate-major (net ``l * S + s``), where training stopped.
    """

    batch_size: int
    target: float
    lrs: np.ndarray
    seeds: np.ndarray
    steps: np.ndarray
    diverged: np.ndarray
    record_steps: np.ndarray
    losses: np.ndarray
    nets: list = field(default_factory=list, repr=False)

    @property
    def examples(self) -> np.ndarray:
        """``(L, S)`` examples processed until the target: ``batch_size * steps``."""
        return self.batch_size * self.steps

    @property
    def median_steps(self) -> np.ndarray:
        """``(L,)`` median over the seeds (``inf`` when half of them or more did not reach the target)."""
        return np.median(self.steps, axis=1)

    @property
    def best(self) -> int:
        """Index of the rate with the fewest median steps (the lowest rate among ties)."""
        return int(np.argmin(self.median_steps))


def default_eval_every(batch_size: int) -> int:
    """Steps between measurements in :func:`steps_to_target` by default: ``round(64 / sqrt(batch_size))``, so that
    small batches, which need many steps, are measured less often. Example: ``default_eval_every(64)  # 8``"""
    return max(1, int(round(64 / math.sqrt(check_int("batch_size", batch_size, low=1)))))


def steps_to_target(make_net, data, batch_size: int, lrs, seeds, target: float, *, opt="sgd",
                    opt_kwargs: dict | None = None, lr_schedule=None, max_steps: int = 5000,
                    eval_every: int | None = None, eval_data=None, stop_early: bool = True,
                    patience: int | None = None, device=None) -> StepsToTarget:
    """Train ``len(lrs) * len(seeds)`` nets together at one batch size and record when each reaches ``target``.

    Net ``(l, s)`` is ``make_net(seeds[s])`` (the same initialization for every rate), trained by
    :func:`lecture_utils.training.batched.fit_many` with rate ``lrs[l]`` and data order ``seeds[s]``; every
    ``eval_every`` steps the loss on ``eval_data`` (default: the training set, in eval mode) is measured.

    Args:
        make_net: ``seed -> nets.MLP``. data: a Dataset or ``(X, y[, X_test, y_test])``: the training part is used.
        batch_size: examples per step. lrs: ``(L,)`` rates. seeds: ``(S,)`` seeds. target: the loss to reach.
        opt, opt_kwargs, lr_schedule: as in ``fit_many`` (e.g. ``"sgd"``, ``{"momentum": 0.9}``,
            ``schedules.LinearLR(0.1, 1, 50)`` for a warmup).
        max_steps: the most steps. eval_every: steps between measurements (default ``round(64 / sqrt(B))``).
        eval_data: ``(X, y)`` on which the target loss is measured.
        stop_early: stop once the best rate's seeds have all reached the target (the others then count as not
            reached: they would need more steps than the best rate's median).
        patience: give up on a net whose loss has not fallen by 0.1% for this many records (it counts as not
            reached); the run ends when every net has reached the target, diverged or given up. None: never.
    Returns:
        :class:`StepsToTarget`. Example: ``steps_to_target(lambda s: make(s), ds, 64, [0.1, 0.2], [0, 1], 0.1)``
    """
    from . import batched
    from .batching import unpack_data

    batch_size = check_int("batch_size", batch_size, low=1)
    target = check_real("target", target, low=0.0, low_open=True)
    max_steps = check_int("max_steps", max_steps, low=1, high=10_000_000)
    eval_every = default_eval_every(batch_size) if eval_every is None else check_int("eval_every", eval_every,
                                                                                      low=1)
    patience = check_int("patience", patience, low=1, allow_none=True)
    lrs = check_array("lrs", lrs, ndim=1)
    seeds = [check_int(f"seeds[{i}]", s, low=0) for i, s in enumerate(seeds)]
    if not len(lrs) or not seeds:
        raise ValueError("lrs and seeds must each hold at least one value")
    if not callable(make_net):
        raise TypeError(f"make_net must be a function seed -> net, got {type(make_net).__name__}")
    X, y, _, _ = unpack_data(data)
    Xe, ye = (X, y) if eval_data is None else eval_data
    L, S = len(lrs), len(seeds)
    nets_ = [make_net(s) for _ in lrs for s in seeds]
    steps = np.full(L * S, np.inf)
    rec_steps, rec_losses = [], []
    if batch_size > len(X):
        raise ValueError(f"batch_size={batch_size} is larger than the {len(X)} training examples")
    gen = batched.fit_many(nets_, (X, y, Xe, ye), opt, epochs=max_steps // (len(X) // batch_size) + 1,
                           batch_size=batch_size, seeds=seeds * L, lrs=np.repeat(lrs, S).tolist(),
                           opt_kwargs=opt_kwargs, lr_schedule=lr_schedule, eval_every=eval_every,
                           max_steps=max_steps, drop_last=True, device=device, progress=False)
    diverged = np.zeros(L * S, dtype=bool)
    best_loss, since = np.full(L * S, np.inf), np.zeros(L * S, dtype=int)
    for rec in gen:
        loss = np.asarray(rec["test_loss"], dtype=float)
        with np.errstate(invalid="ignore"):
            better = loss < best_loss * (1 - 1e-3)
        best_loss = np.where(better, loss, best_loss)
        since = np.where(better, 0, since + 1)
        diverged |= np.asarray(rec["diverged"], dtype=bool) | ~np.isfinite(loss)
        rec_steps.append(rec["step"])
        rec_losses.append(loss)
        with np.errstate(invalid="ignore"):
            hit = (loss <= target) & ~np.isfinite(steps) & ~diverged
        steps[hit] = rec["step"]
        grid = steps.reshape(L, S)
        best = int(np.argmin(np.median(grid, 1)))
        given_up = since >= patience if patience is not None else np.zeros_like(diverged)
        if stop_early and np.all(np.isfinite(grid[best])) or bool(np.all(np.isfinite(steps) | diverged | given_up)):
            gen.close()
            break
    return StepsToTarget(batch_size, target, lrs, np.array(seeds), steps.reshape(L, S), diverged.reshape(L, S),
                         np.array(rec_steps, dtype=float), np.array(rec_losses).reshape(-1, L, S), nets_)


@dataclass
class BatchSweep:
    """:func:`steps_to_target` at several batch sizes, each at its own best rate.

    Attributes:
        batch_sizes ``(N,)``; runs: the N :class:`StepsToTarget`; best_lr ``(N,)``; steps ``(N, S)`` the steps of
        every seed at its batch size's best rate; examples ``(N, S)``.
    """

    batch_sizes: np.ndarray
    runs: list

    @property
    def best_lr(self) -> np.ndarray:
        return np.array([r.lrs[r.best] for r in self.runs])

    @property
    def steps(self) -> np.ndarray:
        return np.stack([r.steps[r.best] for r in self.runs])

    @property
    def examples(self) -> np.ndarray:
        return self.batch_sizes[:, None] * self.steps


def sweep_batch_sizes(make_net, data, batch_sizes, lrs, seeds, target: float, **kwargs) -> BatchSweep:
    """:func:`steps_to_target` for each batch size; ``lrs`` is a list of rates for all, or ``batch_size -> rates``.

    Example: ``sweep = sweep_batch_sizes(make, ds, [8, 32, 128], lambda b: [0.1, 0.2, 0.4], [0, 1, 2], 0.1)``
    """
    sizes = [check_int(f"batch_sizes[{i}]", b, low=1) for i, b in enumerate(batch_sizes)]
    runs = [steps_to_target(make_net, data, b, lrs(b) if callable(lrs) else lrs, seeds, target, **kwargs)
            for b in sizes]
    return BatchSweep(np.array(sizes), runs)


@dataclass(frozen=True)
class CriticalBatchFit:
    """``S(B) = S_min (1 + B_crit / B)``: ``s_min`` steps at an infinite batch, ``e_min = s_min * b_crit`` examples
    at a tiny one, ``b_crit`` the critical batch size; ``rms_log_error`` the fit's root-mean-square error in
    ``log S``."""

    b_crit: float
    s_min: float
    e_min: float
    rms_log_error: float

    def steps(self, batch_size):
        """The fitted steps at ``batch_size`` (array-like)."""
        return self.s_min * (1 + self.b_crit / np.asarray(batch_size, dtype=float))


def fit_critical_batch(batch_sizes, steps, *, b_range=(1e-2, 1e7), resolution: int = 400) -> CriticalBatchFit:
    """Least squares in ``log S`` of ``S = S_min (1 + B_crit / B)`` (McCandlish et al.'s relation between steps and
    examples to a target): for each ``B_crit`` on a fine log grid ``S_min`` has a closed form; the best pair wins.

    Args:
        batch_sizes, steps: ``(N,)`` positive, finite, ``N >= 2`` (e.g. the median steps of each batch size).
    Returns:
        :class:`CriticalBatchFit` (``b_crit`` rounded to 3 significant digits). Example:
        ``fit_critical_batch([8, 32, 128], [500, 200, 125]).b_crit``
    """
    B, S = check_array("batch_sizes", batch_sizes, ndim=1), check_array("steps", steps, ndim=1)
    if B.shape != S.shape or B.size < 2:
        raise ValueError(f"batch_sizes and steps need the same shape with at least 2 entries, got {B.shape}, "
                         f"{S.shape}")
    if np.any(B <= 0) or np.any(~np.isfinite(S)) or np.any(S <= 0):
        raise ValueError("batch_sizes must be positive and steps positive and finite (a batch size that never "
                         "reached the target cannot be fitted)")
    lo, hi = (float(v) for v in b_range)
    for _ in range(4):  # a log grid, then three finer grids around its best point
        grid = np.geomspace(lo, hi, resolution)
        resid = np.log(S)[None] - np.log1p(grid[:, None] / B[None])  # log S - log(1 + B_crit / B) = log S_min + error
        i = int(np.argmin(((resid - resid.mean(1, keepdims=True)) ** 2).mean(1)))
        lo, hi = grid[max(i - 2, 0)], grid[min(i + 2, resolution - 1)]
    b_crit = float(f"{grid[i]:.3g}")
    log_s_min = float(np.mean(np.log(S) - np.log1p(b_crit / B)))
    s_min = math.exp(log_s_min)
    rms = float(np.sqrt(np.mean((np.log(S) - log_s_min - np.log1p(b_crit / B)) ** 2)))
    return CriticalBatchFit(b_crit, s_min, s_min * b_crit, rms)
