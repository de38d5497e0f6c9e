"""First-order optimizers that read like ``torch.optim``, run on a batch of start points at once.

Introduced in lecture 03 (gradient descent) and extended in lecture 05 (momentum, AdaGrad, RMSProp, Adam).
Each class has the same name, hyperparameters, defaults and update order as its ``torch.optim`` namesake,
so a trajectory from :func:`run` equals ``torch.optim`` step for step. :func:`run` moves ``B`` start points
together with numpy (no Python loop over points) and records divergence as a result.

Learning-rate schedules are in :mod:`lecture_utils.schedules`; :func:`make` builds an optimizer from a name;
:func:`run` returns a :class:`lecture_utils.trajectory.Trajectory`.

Example (two start points moved together by heavy-ball momentum)::

    >>> from lecture_utils import surfaces, optim
    >>> traj = optim.run(surfaces.get("quadratic"), optim.SGD(lr=0.1, momentum=0.9), [[2.0, 1.0], [-1.0, 1.0]], 300)
    >>> traj.xs.shape                             # (num_steps + 1, B, d)
    (301, 2, 2)
    >>> traj.status()
    'converged at step 243'
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._validate import as_generator, check_int, check_memory, check_real
from .surfaces import Surface, as_surface
from .trajectory import Trajectory

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "run", "clip_by_norm",
    "clip_by_value", "make", "scheduled_lr",
]


# ---------------------------------------------------------------------------------------------------------
# Optimizers: hyperparameters in the object, state in a dict owned by run().
# ---------------------------------------------------------------------------------------------------------
class Optimizer:
    """Base class. Subclasses set hyperparameters in ``__init__`` and implement ``init_state`` and ``update``.

    ``update(x, g, state, lr, t)`` takes positions ``x`` and gradients ``g`` of shape ``(B, d)``, the learning
    rate of this step and the 1-based step count ``t``, and returns the new positions.
    """

    torch_name: str = ""

    def __init__(self, lr: float):
        self.lr = check_real("lr", lr, low=0.0, low_open=True)

    def hyperparameters(self) -> dict:
        """The keyword arguments that rebuild this optimizer (and its ``torch.optim`` twin)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    @property
    def label(self) -> str:
        """Short legend label such as ``'Adam(lr=0.01)'``."""
        return f"{type(self).__name__}(lr={self.lr:g})"

    def init_state(self, x: np.ndarray) -> dict:
        return {}

    def update(self, x, g, state, lr, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def to_torch(self, params):
        """The equivalent ``torch.optim`` optimizer over ``params``, for training nets or comparing."""
        import torch

        kwargs = self.hyperparameters()
        if "beta1" in kwargs:
            kwargs["betas"] = (kwargs.pop("beta1"), kwargs.pop("beta2"))
        return getattr(torch.optim, self.torch_name)(params, **kwargs)


def _check_momentum(name, value):
    return check_real(name, value, low=0.0, high=1.0, high_open=True)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and weight decay, as ``torch.optim.SGD``.

    ``buf = momentum * buf + (1 - dampening) * g`` (``buf = g`` on the first step); the step is ``-lr * buf``,
    or ``-lr * (g + momentum * buf)`` with ``nesterov=True``.
    """

    torch_name = "SGD"

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(lr)
        self.momentum = _check_momentum("momentum", momentum)
        self.dampening = check_real("dampening", dampening, low=0.0, high=1.0)
        self.weight_decay = check_real("weight_decay", weight_decay, low=0.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0 "
                             f"(got momentum={self.momentum}, dampening={self.dampening})")
        self.nesterov = bool(nesterov)

    @property
    def label(self):
        extra = f", momentum={self.momentum:g}" if self.momentum else ""
        return f"{'Nesterov' if self.nesterov else 'SGD'}(lr={self.lr:g}{extra})"

    def update(self, x, g, state, lr, t):
        if self.weight_decay:
            g = g + self.weight_decay * x
        if self.momentum:
            buf = state.get("buf")
            buf = g.copy() if buf is None else self.momentum * buf + (1 - self.dampening) * g
            state["buf"] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        return x - lr * g


class Adagrad(Optimizer):
    """AdaGrad, as ``torch.optim.Adagrad``: each coordinate's step shrinks with its summed squared gradients."""

    torch_name = "Adagrad"

    def __init__(self, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(lr)
        self.lr_decay = check_real("lr_decay", lr_decay, low=0.0)
        self.weight_decay = check_real("weight_decay", weight_decay, low=0.0)
        self.initial_accumulator_value = check_real("initial_accumulator_value", initial_accumulator_value, low=0.0)
        self.eps = check_real("eps", eps, low=0.0)

    def init_state(self, x):
        return {"sum": np.full_like(x, self.initial_accumulator_value)}

    def update(self, x, g, state, lr, t):
        if self.weight_decay:
            g = g + self.weight_decay * x
        clr = lr / (1 + (t - 1) * self.lr_decay)
        state["sum"] = state["sum"] + g * g
        return x - clr * g / (np.sqrt(state["sum"]) + self.eps)


class RMSprop(Optimizer):
    """RMSProp, as ``torch.optim.RMSprop``: steps scaled by a running root-mean-square of the gradients."""

    torch_name = "RMSprop"

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False):
        super().__init__(lr)
        self.alpha = check_real("alpha", alpha, low=0.0, high=1.0, high_open=True)
        self.eps = check_real("eps", eps, low=0.0)
        self.weight_decay = check_real("weight_decay", weight_decay, low=0.0)
        self.momentum = _check_momentum("momentum", momentum)
        if not isinstance(centered, (bool, np.bool_)):
            raise TypeError(f"centered must be True or False, got {centered!r}")
        self.centered = bool(centered)

    def init_state(self, x):
        state = {"square_avg": np.zeros_like(x)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(x)
        if self.momentum:
            state["buf"] = np.zeros_like(x)
        return state

    def update(self, x, g, state, lr, t):
        if self.weight_decay:
            g = g + self.weight_decay * x
        a = self.alpha
        state["square_avg"] = a * state["square_avg"] + (1 - a) * g * g
        if self.centered:
            state["grad_avg"] = a * state["grad_avg"] + (1 - a) * g
            avg = np.sqrt(state["square_avg"] - state["grad_avg"] ** 2) + self.eps
        else:
            avg = np.sqrt(state["square_avg"]) + self.eps
        if self.momentum:
            state["buf"] = self.momentum * state["buf"] + g / avg
            return x - lr * state["buf"]
        return x - lr * g / avg


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: bias-corrected running means of the gradient and its square.

    ``betas`` may be given as a pair like torch (``betas=(0.9, 0.999)``).
    """

    torch_name = "Adam"

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False):
        super().__init__(lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.beta1 = check_real("betas[0]", b1, low=0.0, high=1.0, high_open=True)
        self.beta2 = check_real("betas[1]", b2, low=0.0, high=1.0, high_open=True)
        self.eps = check_real("eps", eps, low=0.0)
        self.weight_decay = check_real("weight_decay", weight_decay, low=0.0)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise TypeError(f"amsgrad must be True or False, got {amsgrad!r}")
        self.amsgrad = bool(amsgrad)

    @property
    def betas(self):
        return (self.beta1, self.beta2)

    def init_state(self, x):
        state = {"m": np.zeros_like(x), "v": np.zeros_like(x)}
        if self.amsgrad:
            state["v_max"] = np.zeros_like(x)
        return state

    def _decay(self, x, g, lr):
        return x, (g + self.weight_decay * x if self.weight_decay else g)

    def update(self, x, g, state, lr, t):
        x, g = self._decay(x, g, lr)
        b1, b2 = self.beta1, self.beta2
        state["m"] = b1 * state["m"] + (1 - b1) * g
        state["v"] = b2 * state["v"] + (1 - b2) * g * g
        step_size = lr / (1 - b1 ** t)
        v = state["v"]
        if self.amsgrad:
            state["v_max"] = np.maximum(state["v_max"], v)
            v = state["v_max"]
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + self.eps
        return x - step_size * state["m"] / denom


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with weight decay applied to the weights, not the gradient."""

    torch_name = "AdamW"

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False):
        super().__init__(lr, betas, eps, weight_decay, amsgrad)

    def _decay(self, x, g, lr):
        return x * (1 - lr * self.weight_decay), g


_BY_NAME = {"sgd": SGD, "momentum": SGD, "nesterov": SGD, "adagrad": Adagrad, "rmsprop": RMSprop,
            "adam": Adam, "adamw": AdamW}


def make(name: str, **hyperparameters) -> Optimizer:
    """Build an optimizer by name: ``sgd``, ``momentum`` (SGD with momentum 0.9 unless given), ``nesterov``,
    ``adagrad``, ``rmsprop``, ``adam``, ``adamw`` (case-insensitive). Example: ``make("adam", lr=0.01)``"""
    if not isinstance(name, str) or name.lower() not in _BY_NAME:
        raise ValueError(f"unknown optimizer {name!r}; valid names: {', '.join(_BY_NAME)}")
    key = name.lower()
    if key in ("momentum", "nesterov"):
        hyperparameters.setdefault("momentum", 0.9)
    if key == "nesterov":
        hyperparameters.setdefault("nesterov", True)
    return _BY_NAME[key](**hyperparameters)


# ---------------------------------------------------------------------------------------------------------
# Clipping, per start point (each row of g is one model's whole gradient).
# ---------------------------------------------------------------------------------------------------------
def clip_by_norm(g: np.ndarray, max_norm: float) -> np.ndarray:
    """Rescale each row of ``g`` (shape ``(B, d)``) to norm at most ``max_norm``, as ``clip_grad_norm_``."""
    norm = np.linalg.norm(g, axis=-1, keepdims=True)
    return g * np.minimum(max_norm / (norm + 1e-6), 1.0)


def clip_by_value(g: np.ndarray, clip_value: float) -> np.ndarray:
    """Clamp every entry of ``g`` to ``[-clip_value, clip_value]``, as ``clip_grad_value_``."""
    return np.clip(g, -clip_value, clip_value)


# ---------------------------------------------------------------------------------------------------------
# Running an optimizer.
# ---------------------------------------------------------------------------------------------------------
def _rowsum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis of a (B, d) array; a loop over few columns beats a strided reduction."""
    d = a.shape[1]
    if d > 8:
        return a.sum(axis=1)
    if d == 1:
        return a[:, 0].copy()
    out = a[:, 0] + a[:, 1]
    for j in range(2, d):
        out += a[:, j]
    return out


def scheduled_lr(schedule, base_lr: float, step: int) -> float:
    """``schedule(base_lr, step)`` as a float, checked: a NaN, infinite or negative rate raises ``ValueError``."""
    out = schedule(base_lr, step)
    try:
        if isinstance(out, (str, bytes, bool)):
            raise TypeError
        lr = float(out)
    except (TypeError, ValueError):
        raise TypeError(f"lr_schedule must return a number, got {type(out).__name__} {out!r} at step {step}") from None
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr_schedule returned {lr} at step {step}; a learning rate must be a finite number >= 0")
    return lr


def _transformed(g, rng, grad_noise, clip_value, clip_norm):
    """The gradient the optimizer sees: plus Gaussian noise, then clipped by value, then by norm."""
    if rng is not None:
        g = g + grad_noise * rng.standard_normal(g.shape)
    if clip_value is not None:
        g = clip_by_value(g, clip_value)
    if clip_norm is not None:
        g = clip_by_norm(g, clip_norm)
    return g


def run(surface: Surface, opt: Optimizer, x0, num_steps: int = 500, *, clip_norm: float | None = None,
        clip_value: float | None = None, lr_schedule: Callable[[float, int], float] | None = None,
        tol: float = 1e-5, grad_noise: float = 0.0, seed: int | None = None) -> Trajectory:
    """Run ``opt`` on ``surface`` from one or many start points at once.

    Args:
        surface: a :class:`~lecture_utils.surfaces.Surface` or a registered surface name.
        opt: an :class:`Optimizer` (its hyperparameters; the state lives here).
        x0: start point(s), shape ``(d,)`` or ``(B, d)``.
        num_steps: number of updates, at least 1.
        clip_norm: rescale each point's gradient to at most this norm (``clip_grad_norm_``).
        clip_value: clamp each gradient entry to ``[-clip_value, clip_value]`` (``clip_grad_value_``);
            applied before ``clip_norm`` when both are given.
        lr_schedule: ``schedule(base_lr, step) -> lr``, e.g. :class:`~lecture_utils.schedules.StepLR`,
            :class:`~lecture_utils.schedules.CosineAnnealingLR`.
        tol: gradient norm under which a point counts as converged.
        grad_noise: standard deviation of Gaussian noise added to each gradient (a stand-in for minibatch
            noise, lecture 04); 0 for exact gradients.
        seed: seed of that noise.
    Returns:
        a :class:`Trajectory`; diverged points stop moving and are reported in ``diverged_at``.
    """
    surface = as_surface(surface)
    if isinstance(opt, type) and issubclass(opt, Optimizer):
        raise TypeError(f"opt must be an optimizer object such as optim.{opt.__name__}(lr=0.01), "
                        f"not the class optim.{opt.__name__}")
    if not isinstance(opt, Optimizer):
        raise TypeError(f"opt must be a lecture_utils.optim optimizer (SGD, Adagrad, RMSprop, Adam, AdamW, ...), "
                        f"got {type(opt).__name__}")
    num_steps = check_int("num_steps", num_steps, low=1)
    clip_norm = check_real("clip_norm", clip_norm, low=0.0, low_open=True, allow_none=True)
    clip_value = check_real("clip_value", clip_value, low=0.0, low_open=True, allow_none=True)
    tol = check_real("tol", tol, low=0.0)
    grad_noise = check_real("grad_noise", grad_noise, low=0.0)
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a callable schedule(base_lr, step), got {type(lr_schedule).__name__}")
    X = surface.start_points(x0)
    B, d = X.shape
    check_memory("num_steps", num_steps, 8 * B * (d + 2), f"{B} start point(s) in {d} dimension(s)", extra=1)
    rng = as_generator(seed) if grad_noise else None

    xs = np.empty((num_steps + 1, B, d))
    values = np.full((num_steps + 1, B), np.nan)
    grad_norms = np.full((num_steps + 1, B), np.nan)
    lrs = np.empty(num_steps)
    diverged_at = np.full(B, -1, dtype=np.int64)
    converged_at = np.full(B, -1, dtype=np.int64)
    alive = np.ones(B, dtype=bool)
    alive_count = B
    state = opt.init_state(X)

    with np.errstate(all="ignore"):
        x = X.copy()
        for t in range(num_steps + 1):
            f = surface.value_batch(x)
            g = surface.grad_batch(x)
            # One pass over the columns instead of axis reductions: d is small and B is large here.
            gn2 = _rowsum(g * g)
            finite = np.isfinite(f + _rowsum(x) + gn2)
            all_alive = alive_count == B
            if not finite.all():
                bad = alive & ~finite
                if bad.any():
                    diverged_at[bad] = t
                    alive &= ~bad
                    alive_count = int(alive.sum())
                    all_alive = False
                    if t > 0:  # freeze at the last finite position (x0 itself is finite)
                        x[bad] = xs[t - 1, bad]
            xs[t] = x
            gn = np.sqrt(gn2)
            if all_alive:
                values[t] = f
                grad_norms[t] = gn
            else:
                values[t, alive] = f[alive]
                grad_norms[t, alive] = gn[alive]
            if t == num_steps:
                break
            lrs[t] = lr = opt.lr if lr_schedule is None else scheduled_lr(lr_schedule, opt.lr, t)
            g = _transformed(g, rng, grad_noise, clip_value, clip_norm)
            if all_alive:
                x = opt.update(x, g, state, lr, t + 1)
            else:
                g = np.where(alive[:, None], g, 0.0)
                x = np.where(alive[:, None], opt.update(x, g, state, lr, t + 1), x)
        # First step whose gradient norm is under tol. Norms are NaN where a point was not alive, so this
        # equals checking "alive and under tol" step by step, at a fraction of the per-step cost.
        under = grad_norms < tol
        hit = under.any(axis=0)
        converged_at[hit] = under.argmax(axis=0)[hit]
    return Trajectory(xs, values, grad_norms, lrs, diverged_at, converged_at, label=opt.label, tol=tol)
