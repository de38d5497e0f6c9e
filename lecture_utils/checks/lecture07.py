"""Checkers for the exercises of lecture 07 (batch normalization).

References are ``torch.nn.BatchNorm1d`` / ``torch.nn.functional.batch_norm`` in float64. On a mismatch the
message names the input, the expected and the received value, and a hint when the answer matches a typical
mistake (eps left out, standard deviation and variance mixed up, the mean not subtracted, the wrong axes
averaged, the unbiased variance used to normalize).

Example (batch norm in eval mode is an affine map, so it folds into the Linear layer before it)::

    >>> import torch
    >>> from lecture_utils.checks import lecture07
    >>> def fold_batch_norm(W, b, running_mean, running_var, gamma, beta, eps):
    ...     scale = gamma / torch.sqrt(running_var + eps)
    ...     return scale[:, None] * W, scale * (b - running_mean) + beta
    >>> lecture07.check_fold_batch_norm(fold_batch_norm)
    Correct: the folded Linear layer gives exactly the outputs of Linear + BatchNorm1d in eval mode.
    True
"""
from __future__ import annotations

import numpy as np

from ._core import as_array, CheckFailed, exercise, expect_close, expect_true, match_mistake, passed, try_call

__all__ = ["check_fold_batch_norm", "check_batch_norm_2d"]


# ---------------------------------------------------------------------------------------------------------
@exercise(1)
def check_fold_batch_norm(fold_batch_norm) -> bool:
    """Check ``fold_batch_norm(W, b, running_mean, running_var, gamma, beta, eps) -> (W_folded, b_folded)``.

    ``W`` ``(out, in)`` and ``b`` ``(out,)`` are a Linear layer followed by batch norm in eval mode with the
    given statistics and parameters (all ``(out,)``, float64 tensors). The folded Linear layer must give the same
    outputs as the pair, ``x @ W_folded.T + b_folded``; compared with ``torch.nn.Sequential(Linear,
    BatchNorm1d).eval()``.
    """
    import torch

    cases = [("3 x 5 layer, eps = 1e-5", 3, 5, 1e-5, 0), ("4 x 2 layer, eps = 0.5", 4, 2, 0.5, 1),
             ("1 x 6 layer, eps = 1e-3", 1, 6, 1e-3, 2)]
    for name, n_out, n_in, eps, seed in cases:
        g = torch.Generator().manual_seed(seed)
        lin = torch.nn.Linear(n_in, n_out).double()
        bn = torch.nn.BatchNorm1d(n_out, eps=eps).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(n_out, n_in, generator=g, dtype=torch.float64))
            lin.bias.copy_(torch.randn(n_out, generator=g, dtype=torch.float64))
            bn.running_mean.copy_(torch.randn(n_out, generator=g, dtype=torch.float64))
            bn.running_var.copy_(torch.rand(n_out, generator=g, dtype=torch.float64) * 2 + 0.1)
            bn.weight.copy_(torch.rand(n_out, generator=g, dtype=torch.float64) + 0.5)
            bn.bias.copy_(torch.randn(n_out, generator=g, dtype=torch.float64))
        pair = torch.nn.Sequential(lin, bn).eval()
        W, b = lin.weight.detach(), lin.bias.detach()
        mean, var = bn.running_mean.clone(), bn.running_var.clone()
        gamma, beta = bn.weight.detach().clone(), bn.bias.detach().clone()
        out = try_call(fold_batch_norm, W.clone(), b.clone(), mean.clone(), var.clone(), gamma.clone(),
                       beta.clone(), eps, what="fold_batch_norm")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise CheckFailed(f"fold_batch_norm should return a pair (W_folded, b_folded), got {type(out).__name__}")
        Wf, bf = as_array(out[0], "W_folded"), as_array(out[1], "b_folded")

        Wn, bnp, m, v = W.numpy(), b.numpy(), mean.numpy(), var.numpy()
        gm, bt = gamma.numpy(), beta.numpy()
        scale = gm / np.sqrt(v + eps)
        W_ref, b_ref = scale[:, None] * Wn, scale * (bnp - m) + bt
        inputs = f"{name}"
        expect_true(Wf.shape == W_ref.shape,
                    f"W_folded for {inputs} has shape {Wf.shape}, expected {W_ref.shape} (one row per output unit). "
                    "Hint: scale each ROW i of W by gamma_i / sqrt(var_i + eps): scale[:, None] * W.")
        w_hint = match_mistake(Wf, {
            "eps is missing: divide by sqrt(running_var + eps), not sqrt(running_var).":
                (gm / np.sqrt(v))[:, None] * Wn,
            "that divides by the variance; batch norm divides by the standard deviation sqrt(var + eps).":
                (gm / (v + eps))[:, None] * Wn,
            "gamma is missing from the scale: gamma / sqrt(var + eps).": (1 / np.sqrt(v + eps))[:, None] * Wn,
        })
        expect_close(Wf, W_ref, what="W_folded", inputs=inputs, rtol=1e-7, atol=1e-10, hint=w_hint)
        b_hint = match_mistake(bf, {
            "the running mean is not subtracted: the bias becomes scale * (b - running_mean) + beta.":
                scale * bnp + bt,
            "beta is missing: add it after scaling.": scale * (bnp - m),
            "the old bias b was dropped: it is shifted and scaled like every pre-activation, "
            "scale * (b - running_mean) + beta.": -scale * m + bt,
            "the bias was not scaled: scale * (b - running_mean) + beta, not b - running_mean + beta.":
                bnp - m + bt,
        })
        expect_close(bf, b_ref, what="b_folded", inputs=inputs, rtol=1e-7, atol=1e-10, hint=b_hint)
        x = torch.randn(7, n_in, generator=g, dtype=torch.float64)
        with torch.no_grad():
            expected = pair(x).numpy()
        expect_close(x.numpy() @ Wf.T + bf, expected, what="x @ W_folded.T + b_folded", inputs=inputs, rtol=1e-7,
                     atol=1e-9)
    return passed("the folded Linear layer gives exactly the outputs of Linear + BatchNorm1d in eval mode.")


# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_batch_norm_2d(batch_norm_2d) -> bool:
    """Check ``batch_norm_2d(x, gamma, beta, eps) -> y``: batch norm in training mode for images.

    ``x`` has shape ``(N, C, H, W)``; each channel ``c`` is normalized with the mean and the (biased) variance of
    all ``N * H * W`` values of that channel, then scaled by ``gamma[c]`` and shifted by ``beta[c]``. Compared
    with ``torch.nn.functional.batch_norm(..., training=True)`` (what ``torch.nn.BatchNorm2d`` computes).
    """
    import torch
    import torch.nn.functional as F

    cases = [("x of shape (4, 3, 5, 5), eps = 1e-5", (4, 3, 5, 5), 1e-5, 0),
             ("x of shape (2, 2, 3, 4), eps = 0.1", (2, 2, 3, 4), 0.1, 1),
             ("x of shape (6, 1, 2, 2), eps = 1e-3", (6, 1, 2, 2), 1e-3, 2)]
    for name, shape, eps, seed in cases:
        g = torch.Generator().manual_seed(seed)
        C = shape[1]
        x = 2 * torch.randn(*shape, generator=g, dtype=torch.float64) + torch.arange(C, dtype=torch.float64)[
            None, :, None, None]
        gamma = torch.rand(C, generator=g, dtype=torch.float64) + 0.5
        beta = torch.randn(C, generator=g, dtype=torch.float64)
        got = as_array(try_call(batch_norm_2d, x.clone(), gamma.clone(), beta.clone(), eps, what="batch_norm_2d"),
                        "batch_norm_2d(...)")
        expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps).numpy()

        xn, gm, bt = x.numpy(), gamma.numpy()[None, :, None, None], beta.numpy()[None, :, None, None]

        def norm(axes, ddof=0, with_eps=True):
            mu = xn.mean(axes, keepdims=True)
            var = xn.var(axes, keepdims=True, ddof=ddof)
            return gm * (xn - mu) / np.sqrt(var + (eps if with_eps else 0.0)) + bt

        hint = match_mistake(got, {
            "you averaged over the batch axis only, so every pixel position got its own statistics; batch norm "
            "for images shares them over the batch AND the spatial axes: mean over (0, 2, 3).": norm((0,)),
            "you averaged over the channels too (that is layer norm's idea); keep one mean and variance per "
            "channel: axes (0, 2, 3).": norm((0, 1, 2, 3)) if C > 1 else np.full(1, np.nan),
            "that normalizes with the unbiased variance (divide by n - 1); the forward pass uses the biased one "
            "(divide by n). The unbiased one only goes into running_var.": norm((0, 2, 3), ddof=1),
            "eps is missing inside the square root: sqrt(var + eps).": norm((0, 2, 3), with_eps=False),
            "gamma and beta are missing: y = gamma[c] * x_hat + beta[c].":
                (xn - xn.mean((0, 2, 3), keepdims=True)) / np.sqrt(xn.var((0, 2, 3), keepdims=True) + eps),
        })
        expect_close(got, expected, what="batch_norm_2d(x, gamma, beta, eps)", inputs=name, rtol=1e-7,
                     atol=1e-9, hint=hint)
    return passed("your batch norm for images equals torch.nn.functional.batch_norm in training mode.")
