"""Batch normalization from scratch: the forward transform, its backward pass by hand, and a drop-in
``BatchNorm1d`` module equal to ``torch.nn.BatchNorm1d``.

Introduced in lecture 07. For a minibatch ``x`` of shape ``(m, C)`` (or ``(m, C, L)``, normalized over ``m`` and
``L``), per feature::

    mu = mean(x),  var = mean((x - mu)^2)  (biased),  x_hat = (x - mu) / sqrt(var + eps),  y = gamma x_hat + beta

In training mode the running statistics move toward the batch ones with ``momentum``:
``running = (1 - momentum) running + momentum batch``, where the batch variance used there is the *unbiased* one
``var * n / (n - 1)`` (``n`` values per feature), exactly as torch does. In eval mode the running statistics
replace the batch ones.

Example (the backward pass by hand equals autograd through ``torch.nn.functional.batch_norm``)::

    >>> import torch
    >>> from lecture_utils.training.batchnorm import BatchNorm1d, batch_norm_forward, batch_norm_backward
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    >>> gamma, beta = torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    >>> y, cache = batch_norm_forward(x.detach(), gamma, beta)
    >>> y.mean(0).abs().max().item() < 1e-12      # each feature now has mean 0 (and variance ~1)
    True
    >>> dy = torch.randn(8, 3, generator=g, dtype=torch.float64)
    >>> dx, dgamma, dbeta = batch_norm_backward(dy, cache)
    >>> torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True).backward(dy)
    >>> torch.allclose(dx, x.grad)
    True
    >>> BatchNorm1d(3)                            # the same transform as a module, equal to torch.nn.BatchNorm1d
    BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
"""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_int, check_real

__all__ = ["batch_norm_forward", "batch_norm_backward", "BatchNormFunction", "BatchNorm1d"]


def _reduce_dims(x):
    if x.dim() not in (2, 3):
        raise ValueError(f"x must have shape (m, C) or (m, C, L), got {tuple(x.shape)}")
    return (0,) if x.dim() == 2 else (0, 2)


def _bcast(v, x):
    return v if x.dim() == 2 else v[None, :, None]


def batch_norm_forward(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5):
    """Batch-norm transform in training mode (batch statistics), returning what the backward pass needs.

    Args:
        x: minibatch ``(m, C)`` or ``(m, C, L)``.
        gamma, beta: scale and shift ``(C,)``.
        eps: added to the variance before the square root.
    Returns:
        ``(y, cache)``: ``y`` has the shape of ``x``; ``cache`` is a dict with ``x_hat``, ``inv_std`` ``(C,)``,
        ``gamma``, ``mean`` ``(C,)``, ``var`` ``(C,)`` (biased) and ``n`` (values per feature).
    Example: ``y, cache = batch_norm_forward(torch.randn(32, 4), torch.ones(4), torch.zeros(4))``
    """
    eps = check_real("eps", eps, low=0.0)
    dims = _reduce_dims(x)
    mean = x.mean(dims)
    var = ((x - _bcast(mean, x)) ** 2).mean(dims)
    inv_std = 1.0 / torch.sqrt(var + eps)
    x_hat = (x - _bcast(mean, x)) * _bcast(inv_std, x)
    y = _bcast(gamma, x) * x_hat + _bcast(beta, x)
    n = x.numel() // x.shape[1]
    return y, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "mean": mean, "var": var, "n": n}


def batch_norm_backward(dy: torch.Tensor, cache: dict):
    """Gradients of the batch-norm transform by hand, given ``dL/dy`` and the forward ``cache``.

    With ``g = gamma * dy`` (the gradient reaching ``x_hat``) and ``n`` values per feature::

        dbeta = sum(dy),  dgamma = sum(dy * x_hat),
        dx = inv_std / n * (n g - sum(g) - x_hat * sum(g * x_hat))

    The two subtracted sums are the paths through ``mu`` and through ``var``: every example's output depends
    on every other example of the batch.

    Args:
        dy: upstream gradient, shape of ``x``.
        cache: from :func:`batch_norm_forward`.
    Returns:
        ``(dx, dgamma, dbeta)`` with shapes of ``x``, ``(C,)``, ``(C,)``.
    Example: ``dx, dgamma, dbeta = batch_norm_backward(torch.ones_like(y), cache)``
    """
    x_hat, inv_std, gamma, n = cache["x_hat"], cache["inv_std"], cache["gamma"], cache["n"]
    dims = _reduce_dims(dy)
    dbeta = dy.sum(dims)
    dgamma = (dy * x_hat).sum(dims)
    g = dy * _bcast(gamma, dy)
    dx = _bcast(inv_std / n, dy) * (n * g - _bcast(g.sum(dims), dy) - x_hat * _bcast((g * x_hat).sum(dims), dy))
    return dx, dgamma, dbeta


class BatchNormFunction(torch.autograd.Function):
    """Autograd wrapper whose backward is :func:`batch_norm_backward` (so a net trains with our gradients)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, eps):
        y, cache = batch_norm_forward(x, gamma, beta, eps)
        ctx.cache = cache
        return y

    @staticmethod
    def backward(ctx, dy):
        dx, dgamma, dbeta = batch_norm_backward(dy, ctx.cache)
        return dx, dgamma, dbeta, None


class BatchNorm1d(nn.Module):
    """Batch normalization over ``(m, C)`` or ``(m, C, L)`` inputs, equal to ``torch.nn.BatchNorm1d``.

    Same arguments, parameters (``weight`` = gamma, ``bias`` = beta) and buffers (``running_mean``,
    ``running_var``, ``num_batches_tracked``) as torch's, so ``load_state_dict`` works both ways. The gradient
    is the hand-written :func:`batch_norm_backward`.

    Args:
        num_features: ``C``.
        eps: added to the variance.
        momentum: weight of the new batch in the running averages; ``None`` = cumulative average
            (``1 / num_batches_tracked``).
        affine: learn ``weight`` and ``bias`` (else gamma = 1, beta = 0).
        track_running_stats: keep running statistics and use them in eval mode; if False, eval mode uses the
            batch statistics too.
    Example: ``bn = BatchNorm1d(64); y = bn(x)``
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True):
        super().__init__()
        self.num_features = check_int("num_features", num_features, low=1)
        self.eps = check_real("eps", eps, low=0.0)
        self.momentum = check_real("momentum", momentum, low=0.0, high=1.0, allow_none=True)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if self.affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x):
        """Normalize ``x`` ``(m, C)`` or ``(m, C, L)``: batch statistics in training mode, running ones in eval."""
        if x.dim() not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"expected input (m, {self.num_features}) or (m, {self.num_features}, L), "
                             f"got {tuple(x.shape)}")
        gamma = self.weight if self.affine else torch.ones(self.num_features, dtype=x.dtype, device=x.device)
        beta = self.bias if self.affine else torch.zeros(self.num_features, dtype=x.dtype, device=x.device)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            n = x.numel() // x.shape[1]
            if n < 2 and self.training:
                raise ValueError(f"batch norm needs more than one value per feature in training mode, got input "
                                 f"{tuple(x.shape)}")
            y = BatchNormFunction.apply(x, gamma, beta, self.eps)
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    dims = _reduce_dims(x)
                    mean = x.mean(dims)
                    unbiased_var = x.var(dims, unbiased=True)
                    self.num_batches_tracked += 1
                    factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum)
                    self.running_mean.mul_(1 - factor).add_(factor * mean)
                    self.running_var.mul_(1 - factor).add_(factor * unbiased_var)
            return y
        inv_std = 1.0 / torch.sqrt(self.running_var + self.eps)
        x_hat = (x - _bcast(self.running_mean, x)) * _bcast(inv_std, x)
        return _bcast(gamma, x) * x_hat + _bcast(beta, x)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
