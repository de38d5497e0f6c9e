"""The edge of stability: full-batch gradient descent on K small nets at once (K learning rates and seeds), with the
loss at every step and the sharpness (the largest Hessian eigenvalue of the training loss) every few steps.

Introduced in lecture 10. Gradient descent with rate ``lr`` is stable on a quadratic iff its sharpness is below
``2 / lr`` (lecture 03). Cohen et al. (2021) found that on nets the sharpness first rises during training
(*progressive sharpening*) until it reaches ``2 / lr``, then hovers there while the loss keeps falling, though not
monotonically (*the edge of stability*). :func:`fit_sharpness` trains with
:func:`lecture_utils.training.batched.fit_many` (full batch, so every step is exact gradient descent) and measures
the sharpness of all K models together: one backward pass through the summed losses of the
:class:`~lecture_utils.training.stacked.StackedMLP` gives every model its own Hessian-vector product
(:class:`StackedHessian`), and Lanczos (:func:`lecture_utils.training.curvature.lanczos`) runs on all K at once,
warm-started from the previous top eigenvectors. :class:`SharpnessHistory` holds the runs and measures the claims:
when each run first reaches ``2 / lr``, the band its sharpness stays in afterwards, and the loss then and at the end.

Example (a tanh net on 200 points of two moons: at lr 0.5 the sharpness reaches 2 / lr = 4)::

    >>> import torch
    >>> from lecture_utils.training import data, nets, sharpness
    >>> ds = data.moons(n=300, seed=0)
    >>> models = []
    >>> for seed in range(2):
    ...     _ = torch.manual_seed(seed)
    ...     models.append(nets.MLP(2, (32, 32), 2, activation="tanh"))
    >>> hist = sharpness.run_sharpness(models, ds, lrs=[0.5, 0.5], num_steps=200, every=20)
    >>> hist.sharpness.shape, hist.step_loss.shape          # (K, records), (K, num_steps + 1)
    ((2, 11), (2, 201))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._validate import check_int
from .curvature import lanczos_steps, ritz_pairs
from .stacked import StackedMLP, task_losses

__all__ = ["StackedHessian", "fit_sharpness", "run_sharpness", "SharpnessHistory"]


def _full_batch(data):
    if hasattr(data, "X_train"):
        return data.X_train, data.y_train
    if isinstance(data, (tuple, list)) and len(data) in (2, 4):
        return data[0], data[1]
    raise TypeError("data must be a Dataset or a tuple (X_train, y_train[, X_test, y_test])")


class StackedHessian:
    """Hessian-vector products of all K models of a :class:`~lecture_utils.training.stacked.StackedMLP` at once.

    The losses of the K models are summed; model k's parameters appear only in its own loss, so one
    backward pass of the summed gradient against ``(K, P)`` vectors gives each model its own ``H_k v_k``. Vectors
    are in each net's own parameter order (that of ``net.parameters()``). Batch-norm statistics are restored.

    Attributes:
        dim: ``P`` per model; batch: ``K``; loss: ``(K,)`` numpy, every model's full-batch loss.
    Example: ``H = StackedHessian(stack, X, y); lanczos(H, k=1).eigenvalues  # (K, 1)``
    """

    def __init__(self, stack: StackedMLP, X, y, loss=None):
        self.stack, self.batch = stack, stack.K
        state = stack.batch_norm_state() if stack.bn_layers else None
        with torch.enable_grad():
            out = stack.forward(X, shared=True)
            out = out[0] if isinstance(out, tuple) else out
            yk = y.expand(stack.K, *y.shape)
            losses = task_losses(out, yk) if loss is None else torch.stack([loss(out[k], y) for k in range(stack.K)])
            grads = torch.autograd.grad(losses.sum(), stack.params, create_graph=True)
        if state is not None:
            stack.restore_batch_norm_state(state, torch.arange(stack.K))
        self.loss = losses.detach().cpu().double().numpy()
        self._grads = grads
        self.sizes = [int(np.prod(s)) for s in stack.shapes]
        self.dim = sum(self.sizes)
        self.dtype, self.device = stack.flat.dtype, stack.flat.device

    def __call__(self, V) -> torch.Tensor:
        V = torch.as_tensor(V, dtype=self.dtype, device=self.device).reshape(self.batch, self.dim)
        V = torch.nan_to_num(V)  # a diverged model's NaN must not reach the others through the shared backward
        pieces = [v.reshape(self.batch, *s) for v, s in zip(V.split(self.sizes, 1), self.stack.shapes)]
        hv = torch.autograd.grad(self._grads, self.stack.params, grad_outputs=pieces, retain_graph=True)
        return torch.cat([h.reshape(self.batch, -1) for h in hv], 1)


def _measure(stack, X, y, loss, v0, num_iters, gen):
    """``(loss (K,), sharpness (K,), top eigenvectors (K, P))`` at the stack's current parameters."""
    H = StackedHessian(stack, X, y, loss)
    alive = np.isfinite(H.loss)
    m = min(num_iters, H.dim)
    if v0 is None:
        v0 = torch.randn(H.batch, H.dim, generator=gen, dtype=H.dtype).to(H.device)
    v0 = torch.where(torch.isfinite(v0), v0, torch.randn(v0.shape, generator=gen, dtype=H.dtype).to(H.device))
    alpha, beta, Q, _ = lanczos_steps(H, v0, m, gen)
    theta, S = ritz_pairs(alpha, beta)
    top = torch.einsum("bj,bjp->bp", S[:, :, 0], Q)
    sharp = theta[:, 0].cpu().double().numpy()
    return H.loss, np.where(alive, sharp, np.nan), top


def fit_sharpness(nets, data, lrs, num_steps: int, *, every: int = 10, num_iters: int = 20, seed: int = 0,
                  loss=None, device=None):
    """Full-batch gradient descent on K nets at rates ``lrs``, yielding a record every ``every`` steps.

    Each record is a dict: ``step``; ``loss`` ``(K,)`` and ``sharpness`` ``(K,)`` at the current parameters (NaN
    once a model diverged); ``step_loss`` ``(K, s)`` the loss before each of the ``s`` steps since the previous
    record; ``diverged`` ``(K,)``. The first record is at step 0, the last at ``num_steps``. The nets are trained
    in place (as :func:`lecture_utils.training.batched.fit_many` trains them).

    Args:
        nets: K :class:`lecture_utils.training.nets.MLP` of one architecture. data: a Dataset or ``(X, y)``: the
            whole training set is every step's batch.
        lrs: K learning rates. num_steps: gradient-descent steps. every: steps between sharpness measurements.
        num_iters: Lanczos steps per measurement (warm-started from the previous top eigenvector).
        seed: seeds the first Lanczos start vectors. loss: ``None`` (cross-entropy or MSE) or ``loss(y_hat, y)``.
        device: as in ``fit_many``.
    Example: ``for rec in fit_sharpness(models, ds, [0.1] * 4, 500): print(rec["sharpness"])``
    """
    from .batched import fit_many

    num_steps = check_int("num_steps", num_steps, low=1, high=1_000_000)
    every = check_int("every", every, low=1)
    num_iters = check_int("num_iters", num_iters, low=1, high=1000)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    X, y = _full_batch(data)
    n = len(X)
    state = {"losses": [], "measured": None, "v": None}
    K = len(nets)

    def callback(stack, step, losses):
        losses = losses.detach().clone()
        dead = state.get("dead")
        if dead is not None:  # fit_many reports 0 for a frozen model; from its first non-finite loss on: NaN
            losses[dead] = float("nan")
        state["dead"] = ~torch.isfinite(losses) if dead is None else dead | ~torch.isfinite(losses)
        state["losses"].append(losses)
        state["stack"], state["step"] = stack, step
        if step % every == 0 or step == num_steps:
            measure(stack, step)

    def measure(stack, step):
        state["measured"] = _measure(stack, state["X"], state["y"], loss, state["v"], num_iters, gen)
        state["v"], state["measured_step"] = state["measured"][2], step

    run = fit_many(nets, (X, y), torch.optim.SGD, epochs=num_steps, batch_size=n, lrs=lrs, opt_kwargs={"lr": 0.1},
                   order="sequential", loss=loss, eval_every=every, callback=callback, drop_last=False,
                   seeds=[0] * K, device=device, progress=False, log_initial=False)
    # The data as fit_many placed them, for the measurements (and the step-0 one, on a copy of the nets).
    p0 = next(nets[0].parameters())
    dev = p0.device if device is None else torch.device(device)
    state["X"] = torch.as_tensor(X).to(dev, p0.dtype)
    state["y"] = torch.as_tensor(y).to(dev, p0.dtype if torch.as_tensor(y).is_floating_point() else torch.long)
    l0, s0, v = _measure(StackedMLP([net.to(dev) for net in nets]), state["X"], state["y"], loss, None, num_iters,
                         gen)
    state["v"] = v
    yield {"step": 0, "loss": l0, "sharpness": s0, "step_loss": np.zeros((K, 0)), "diverged": np.zeros(K, bool)}
    for rec in run:
        step_loss = torch.stack(state["losses"], 1).cpu().double().numpy() if state["losses"] else np.zeros((K, 0))
        state["losses"] = []
        if state.get("measured_step") != rec["step"]:  # training ended early (every model diverged)
            measure(state["stack"], rec["step"])
        l, s, _ = state["measured"]
        diverged = np.asarray(rec["diverged"], bool) | ~np.isfinite(l)
        yield {"step": int(rec["step"]), "loss": np.where(diverged, np.nan, l), "sharpness": s,
               "step_loss": step_loss, "diverged": diverged}


def run_sharpness(nets, data, lrs, num_steps: int, **kwargs) -> "SharpnessHistory":
    """Run :func:`fit_sharpness` to the end (same arguments); returns a :class:`SharpnessHistory`.

    Example: ``hist = run_sharpness(models, ds, [0.05, 0.1], 1000, every=10); hist.first_reach()``
    """
    lrs = [float(v) for v in lrs]
    recs = list(fit_sharpness(nets, data, lrs, num_steps, **kwargs))
    K = len(lrs)
    steps = np.array([r["step"] for r in recs])
    step_loss = np.concatenate([r["step_loss"] for r in recs] + [recs[-1]["loss"][:, None]], 1)
    if step_loss.shape[1] < steps[-1] + 1:  # every model diverged before num_steps: pad with NaN
        step_loss = np.pad(step_loss, ((0, 0), (0, steps[-1] + 1 - step_loss.shape[1])), constant_values=np.nan)
    return SharpnessHistory(steps=steps, loss=np.stack([r["loss"] for r in recs], 1),
                            sharpness=np.stack([r["sharpness"] for r in recs], 1), step_loss=step_loss[:, :steps[-1] + 1],
                            lrs=np.array(lrs), diverged=recs[-1]["diverged"].copy() if K else np.zeros(0, bool))


@dataclass
class SharpnessHistory:
    """The runs of :func:`run_sharpness` and the measurements of the edge-of-stability claims.

    Attributes:
        steps: ``(R,)`` the steps of the sharpness records. loss, sharpness: ``(K, R)`` at those steps.
        step_loss: ``(K, T + 1)`` the full-batch loss at every step ``0..T``. lrs: ``(K,)``. diverged: ``(K,)``.
    """

    steps: np.ndarray
    loss: np.ndarray
    sharpness: np.ndarray
    step_loss: np.ndarray
    lrs: np.ndarray
    diverged: np.ndarray

    @property
    def threshold(self) -> np.ndarray:
        """``2 / lr`` per run, ``(K,)``: the stability bound of gradient descent on a quadratic."""
        return 2.0 / self.lrs

    @property
    def ratio(self) -> np.ndarray:
        """Sharpness over ``2 / lr``, ``(K, R)``: 1 is the edge of stability."""
        return self.sharpness / self.threshold[:, None]

    def first_reach(self, fraction: float = 1.0) -> np.ndarray:
        """Index of the first record whose sharpness is at least ``fraction * 2 / lr``, ``(K,)`` (-1: never)."""
        with np.errstate(invalid="ignore"):
            hit = self.ratio >= fraction
        return np.where(hit.any(1), hit.argmax(1), -1)

    def reach_step(self, fraction: float = 1.0) -> np.ndarray:
        """The step at which each run first reached ``fraction * 2 / lr`` (NaN: never), ``(K,)``."""
        i = self.first_reach(fraction)
        return np.where(i >= 0, self.steps[np.maximum(i, 0)], np.nan)

    def band(self, fraction: float = 1.0, skip: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` ``(K,)``: the range of sharpness / (2 / lr) from ``skip`` records after the first reach of
        ``fraction * 2 / lr`` to the end (NaN for a run that never reached it or diverged)."""
        i = self.first_reach(fraction)
        low, high = np.full(len(i), np.nan), np.full(len(i), np.nan)
        for k, start in enumerate(i):
            seg = self.ratio[k, start + skip:] if start >= 0 else np.zeros(0)
            if seg.size and np.isfinite(seg).all():
                low[k], high[k] = seg.min(), seg.max()
        return low, high

    def loss_at_reach(self, fraction: float = 1.0) -> np.ndarray:
        """The full-batch loss when each run first reached ``fraction * 2 / lr``, ``(K,)`` (NaN: never)."""
        s = self.reach_step(fraction)
        return np.array([self.step_loss[k, int(t)] if math.isfinite(t) else np.nan for k, t in enumerate(s)])

    @property
    def final_loss(self) -> np.ndarray:
        """The full-batch loss after the last step, ``(K,)``."""
        return self.step_loss[:, -1].copy()

    def loss_increases(self, fraction: float = 1.0) -> np.ndarray:
        """How many steps raised the loss after each run first reached ``fraction * 2 / lr``, ``(K,)``."""
        s = self.reach_step(fraction)
        out = np.zeros(len(s), int)
        for k, t in enumerate(s):
            if math.isfinite(t):
                seg = self.step_loss[k, int(t):]
                out[k] = int((np.diff(seg) > 0).sum())
        return out
