"""The learning-rate range test (Smith 2017) and the sharpness it is compared with (lecture 11).

:func:`lr_range_test` trains K nets together for one short run whose rate grows exponentially, from ``lr_min``
to ``lr_max``, and records every minibatch loss; the loss falls, flattens and then blows up. Like fastai's
``lr_find`` it smooths the losses (an exponential average with bias correction) and calls the first step where
the smoothed loss exceeds ``blowup`` times its running minimum (or a loss is not finite) the blow-up. Parameters
can be kept every ``checkpoint_every`` steps, to measure along the run the sharpness, the largest eigenvalue of
the Hessian of the training loss, with :func:`sharpness`: gradient descent on a quadratic is stable for
``lr < 2 / sharpness`` (lecture 03; lecture 10 measures it on nets).

:func:`sharpness` measures it at any checkpoint with lecture 10's stacked Lanczos (Hessian-vector products by
double backprop, never the full Hessian; every model its own top Ritz value), tested here against the exact
eigendecomposition.

Example::

    >>> import torch
    >>> from lecture_utils.training import nets
    >>> from lecture_utils.training.stacked import StackedMLP
    >>> _ = torch.manual_seed(0)
    >>> X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> models = [nets.MLP(4, (6,), 3) for _ in range(2)]
    >>> sharpness(StackedMLP(models), X, y).shape        # one top eigenvalue per model
    (2,)
    >>> rt = lr_range_test(models, (X, y), lr_min=1e-2, lr_max=100.0, num_steps=60, batch_size=16, seeds=[0, 1])
    >>> rt.losses.shape, bool((rt.blowup_lr > 1e-2).all())
    ((60, 2), True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validate import check_int, check_real

__all__ = ["sharpness", "RangeTest", "lr_range_test", "smoothed_losses"]


def sharpness(stack, X, y, *, flat=None, num_iters: int = 20, seed: int = 0) -> np.ndarray:
    """The largest Hessian eigenvalue of each model's loss on ``(X, y)``, by ``num_iters`` Lanczos steps on all K
    models at once (lecture 10's :class:`~lecture_utils.training.sharpness.StackedHessian` and
    :func:`~lecture_utils.training.curvature.lanczos`).

    Args:
        stack: a :class:`~lecture_utils.training.stacked.StackedMLP` (or a list of MLPs).
        X, y: the data every model's loss is measured on (the full training set, say), shared by the models.
        flat: parameters in ``stack.flat``'s layout (a checkpoint); default the stack's own. The stack is left as
            it was.
        num_iters: Lanczos steps (20 give the top eigenvalue to about 4 digits on the lectures' nets).
        seed: seed of the random start vectors.
    Returns:
        ``(K,)`` numpy array. Example: ``2 / sharpness(stack, X, y)`` (the largest stable rate of full-batch GD)
    """
    from .curvature import lanczos
    from .sharpness import StackedHessian
    from .stacked import StackedMLP

    if not isinstance(stack, StackedMLP):
        stack = StackedMLP(stack)
    num_iters = check_int("num_iters", num_iters, low=1, high=500)
    saved = None
    if flat is not None:
        if tuple(flat.shape) != tuple(stack.flat.shape):
            raise ValueError(f"flat must have the stack's shape {tuple(stack.flat.shape)}, got {tuple(flat.shape)}")
        saved = stack.flat.detach().clone()
        with torch.no_grad():
            stack.flat.copy_(flat)
    try:
        H = StackedHessian(stack, X, y)
        return lanczos(H, k=1, num_iters=min(num_iters, H.dim), seed=check_int("seed", seed, low=0)).eigenvalues[:, 0]
    finally:
        if saved is not None:
            with torch.no_grad():
                stack.flat.copy_(saved)


def smoothed_losses(losses, beta: float = 0.98) -> np.ndarray:
    """fastai's smoothing of a range test: ``avg = beta avg + (1 - beta) loss``, divided by ``1 - beta^(t+1)``.

    Args:
        losses: ``(T,)`` or ``(T, K)`` losses in step order (NaN from a blow-up on stays NaN).
    Returns:
        The same shape. Example: ``smoothed_losses([2.0, 2.0, 2.0])  # [2, 2, 2]``
    """
    beta = check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    L = np.asarray(losses, dtype=float)
    out = np.empty_like(L)
    avg = np.zeros(L.shape[1:])
    for t in range(len(L)):
        avg = beta * avg + (1 - beta) * L[t]
        out[t] = avg / (1 - beta ** (t + 1))
    return out


@dataclass
class RangeTest:
    """One range test of K nets.

    Attributes:
        lrs: ``(T,)`` the rate of each step; losses: ``(T, K)`` minibatch losses (NaN after a model's blow-up);
        smoothed: ``(T, K)``; blowup_step: ``(K,)`` the first step of the blow-up (-1: none within the run);
        blowup_lr: ``(K,)`` the rate there (NaN: none); min_lr: ``(K,)`` the rate at the lowest smoothed loss;
        checkpoints: ``{step: flat parameters after that many steps}`` (step 0 = the initial nets);
        stack: a :class:`~lecture_utils.training.stacked.StackedMLP` of the nets' architecture, for
        ``sharpness(rt.stack, X, y, flat=rt.checkpoints[step])``.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    blowup_step: np.ndarray
    blowup_lr: np.ndarray
    min_lr: np.ndarray
    checkpoints: dict = field(default_factory=dict, repr=False)
    stack: object = field(default=None, repr=False)


def lr_range_test(nets, data, *, lr_min: float = 1e-3, lr_max: float = 10.0, num_steps: int = 100,
                  batch_size: int = 64, seeds=None, opt="sgd", opt_kwargs: dict | None = None, beta: float = 0.98,
                  blowup: float = 4.0, checkpoint_every: int | None = None, stop_on_blowup: bool = True,
                  device=None) -> RangeTest:
    """Smith's range test for K nets at once: step ``t`` uses ``lr_min * (lr_max / lr_min) ** (t / (num_steps - 1))``.

    Args:
        nets: K ``nets.MLP`` (trained in place, as ``fit_many`` trains them). data: as for ``fit_many``.
        lr_min, lr_max, num_steps: the exponential ramp. batch_size: examples per step. seeds: K data orders.
        opt, opt_kwargs: the optimizer (``"sgd"``; ``{"momentum": 0.9}``, ...; its ``lr`` is replaced).
        beta: smoothing of the losses; blowup: the blow-up is a smoothed loss above ``blowup`` times its minimum.
        checkpoint_every: keep the parameters every this many steps (and at step 0).
        stop_on_blowup: end the run when every model has blown up.
    Returns:
        :class:`RangeTest`. Example: ``rt = lr_range_test(models, ds, seeds=range(len(models)))``
    """
    from . import batched
    from ..schedules import ExponentialLR
    from .batching import unpack_data
    from .stacked import StackedMLP

    lr_min = check_real("lr_min", lr_min, low=0.0, low_open=True)
    lr_max = check_real("lr_max", lr_max, low=lr_min, low_open=True)
    num_steps = check_int("num_steps", num_steps, low=2, high=1_000_000)
    blowup = check_real("blowup", blowup, low=1.0, low_open=True)
    beta = check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, low=1, allow_none=True)
    stack0 = StackedMLP(nets)
    K = stack0.K
    gamma = (lr_max / lr_min) ** (1 / (num_steps - 1))
    lrs = lr_min * gamma ** np.arange(num_steps)
    rows, smooth_rows, blown = [], [], np.zeros(K, dtype=bool)
    avg, best = np.zeros(K), np.full(K, np.inf)
    checkpoints = {0: stack0.flat.detach().clone()} if checkpoint_every else {}
    blowup_step = np.full(K, -1)

    def record(stack, step, losses):
        nonlocal avg, best
        loss = losses.detach().double().cpu().numpy().copy()
        loss[blown] = np.nan  # a frozen (diverged) model reports 0 from then on
        t = step - 1
        bad = ~np.isfinite(loss) & ~blown
        avg = np.where(blown, avg, beta * avg + (1 - beta) * np.nan_to_num(loss, nan=0.0, posinf=0.0))
        smooth = avg / (1 - beta ** (t + 1))
        best = np.where(blown, best, np.minimum(best, smooth))
        new = ~blown & (bad | (smooth > blowup * best))
        blowup_step[new] = t
        rows.append(loss)
        smooth_rows.append(np.where(blown | bad, np.nan, smooth))
        blown[new] = True
        if checkpoint_every and step % checkpoint_every == 0:
            checkpoints[step] = stack.flat.detach().clone()
        return not (stop_on_blowup and blown.all())

    X = unpack_data(data)[0]
    batch_size = check_int("batch_size", batch_size, low=1, high=len(X))
    per_epoch = max(1, len(X) // batch_size)
    kwargs = dict(opt_kwargs or {})
    kwargs["lr"] = lr_min
    for _ in batched.fit_many(list(nets), data, opt, epochs=num_steps // per_epoch + 1, batch_size=batch_size,
                              seeds=None if seeds is None else list(seeds), opt_kwargs=kwargs,
                              lr_schedule=ExponentialLR(gamma), max_steps=num_steps, callback=record,
                              log_initial=False, eval_every=num_steps, drop_last=True, device=device,
                              progress=False):
        pass
    losses, smooth = np.full((num_steps, K), np.nan), np.full((num_steps, K), np.nan)
    losses[:len(rows)], smooth[:len(rows)] = np.array(rows), np.array(smooth_rows)
    with np.errstate(invalid="ignore"):
        min_lr = np.array([lrs[int(np.nanargmin(smooth[:, k]))] if np.isfinite(smooth[:, k]).any() else math.nan
                           for k in range(K)])
    blowup_lr = np.where(blowup_step >= 0, lrs[np.clip(blowup_step, 0, None)], np.nan)
    return RangeTest(lrs, losses, smooth, blowup_step, blowup_lr, min_lr, checkpoints, stack0)
