"""Checkers for the exercises of lecture 07 (batch normalization).

References are ``torch.nn.BatchNorm1d`` / ``torch.nn.functional.batch_norm`` in float64. On a mismatch the
message names the input, the expected and the received value, and a hint when the answer matches a typical
mistake (eps left out or outside the square root, standard deviation and variance mixed up, the mean not
subtracted, the wrong axes averaged, the unbiased variance used to normalize, rows and columns of W mixed up).
Answers may be torch tensors or numpy arrays, float32 or float64: they are compared at a relative tolerance of
1e-5 (and an absolute one of 1e-5 times the largest entry), which a float32 computation meets (its relative error
is about 1e-7 per operation) while every typical mistake is off by far more, on at least one input. The inputs
must not be changed in place (that would overwrite a model's weights or activations).

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

from ._core import (CheckFailed, as_array, exercise, expect_close, expect_tuple, is_close, match_mistake, passed,
                    try_call)

__all__ = ["check_fold_batch_norm", "check_batch_norm_2d"]

#: float32 answers are within about 1e-6 relative; no typical mistake is that close on every input.
RTOL = 1e-5

_NEVER = float("nan")  # a candidate that does not apply to this input (never matches)


def _atol(expected) -> float:
    return RTOL * max(1.0, float(np.max(np.abs(expected))))


# ---------------------------------------------------------------------------------------------------------
@exercise(1)
def check_fold_batch_norm(fold_batch_norm) -> bool:
    """Check ``fold_batch_norm(W, b, running_mean, running_var, gamma, beta, eps) -> (W_folded, b_folded)``.

    ``W`` ``(out, in)`` and ``b`` ``(out,)`` are a Linear layer followed by batch norm in eval mode with the
    given statistics and parameters (all ``(out,)``, float64 tensors). The folded Linear layer must give the same
    outputs as the pair, ``x @ W_folded.T + b_folded``; compared with ``torch.nn.Sequential(Linear,
    BatchNorm1d).eval()``. The first layer is square, so scaling the columns instead of the rows gives a wrong
    answer rather than a crash.
    """
    import torch

    cases = [("the 3 x 3 layer (eps = 0.1)", 3, 3, 0.1, 3), ("the 3 x 5 layer (eps = 1e-5)", 3, 5, 1e-5, 0),
             ("the 4 x 2 layer (eps = 0.5)", 4, 2, 0.5, 1), ("the 1 x 6 layer (eps = 1e-3)", 1, 6, 1e-3, 2)]
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
        W, b = lin.weight.detach().clone(), lin.bias.detach().clone()
        mean, var = bn.running_mean.clone(), bn.running_var.clone()
        gamma, beta = bn.weight.detach().clone(), bn.bias.detach().clone()
        inputs = name
        out = try_call(fold_batch_norm, W, b, mean, var, gamma, beta, eps, what="fold_batch_norm",
                       may_modify=False, inputs=inputs)
        Wf, bf = expect_tuple(out, ("W_folded", "b_folded"), what="fold_batch_norm", inputs=inputs)

        Wn, bnp, m, v = W.numpy(), b.numpy(), mean.numpy(), var.numpy()
        gm, bt = gamma.numpy(), beta.numpy()
        scale = gm / np.sqrt(v + eps)
        W_ref, b_ref = scale[:, None] * Wn, scale * (bnp - m) + bt
        if is_close(Wf, b_ref, rtol=RTOL) and is_close(bf, W_ref, rtol=RTOL):
            raise CheckFailed(f"fold_batch_norm for {inputs} returned the pair in the wrong order: it should "
                              "return (W_folded, b_folded), the matrix first.")
        Wf, bf = as_array(Wf, "W_folded", inputs), as_array(bf, "b_folded", inputs)
        square = n_out == n_in
        w_hint = match_mistake(Wf, {
            "that scales the COLUMNS of W; each ROW i (output unit i) is scaled by its own factor "
            "gamma_i / sqrt(var_i + eps).": Wn * scale[None, :] if square else _NEVER,
            "W_folded is transposed: it keeps the shape (out, in) of W.": W_ref.T if square else _NEVER,
            "eps is missing: divide by sqrt(running_var + eps), not sqrt(running_var).":
                (gm / np.sqrt(v))[:, None] * Wn,
            "eps belongs inside the square root: sqrt(running_var + eps), not sqrt(running_var) + eps.":
                (gm / (np.sqrt(v) + eps))[:, None] * Wn,
            "that divides by the variance; batch norm divides by the standard deviation sqrt(var + eps).":
                (gm / (v + eps))[:, None] * Wn,
            "that multiplies by the standard deviation; batch norm divides by it.":
                (gm * np.sqrt(v + eps))[:, None] * Wn,
            "gamma is missing from the scale gamma / sqrt(var + eps).": (1 / np.sqrt(v + eps))[:, None] * Wn,
            "W_folded is W unchanged: batch norm rescales every output unit, so the rows of W change too.": Wn,
        }, rtol=RTOL, atol=_atol(W_ref), unique=True)
        if Wf.shape != W_ref.shape:
            raise CheckFailed(f"W_folded for {inputs} has shape {Wf.shape}, expected {W_ref.shape} (one row per "
                              "output unit, like W). Hint: each output unit i gets its own factor, which "
                              "multiplies row i of W.")
        expect_close(Wf, W_ref, what="W_folded", inputs=inputs, rtol=RTOL, atol=_atol(W_ref), hint=w_hint,
                     advice="row i of W is scaled by the factor batch norm applies to output unit i.")
        b_hint = match_mistake(bf, {
            "the running mean is not subtracted: batch norm subtracts it from every pre-activation, the bias "
            "included.": scale * bnp + bt,
            "beta is missing: add it after scaling.": scale * (bnp - m),
            "the old bias b was dropped: it is shifted and scaled like every pre-activation.": -scale * m + bt,
            "the bias was not scaled: scale the shifted bias b - running_mean before adding beta.": bnp - m + bt,
            "beta was scaled too: it is added after the scaling.": scale * (bnp - m + bt),
            "the sign of the shift is flipped: subtract the running mean from b, not b from the mean.":
                scale * (m - bnp) + bt,
            "b_folded is b unchanged: batch norm shifts and scales the bias as well.": bnp,
        }, rtol=RTOL, atol=_atol(b_ref), unique=True)
        if bf.shape != b_ref.shape:
            raise CheckFailed(f"b_folded for {inputs} has shape {bf.shape}, expected {b_ref.shape} (one bias per "
                              "output unit).")
        expect_close(bf, b_ref, what="b_folded", inputs=inputs, rtol=RTOL, atol=_atol(b_ref), hint=b_hint,
                     advice="the bias goes through batch norm like any pre-activation: shifted, scaled, shifted.")
        x = torch.randn(7, n_in, generator=g, dtype=torch.float64)
        with torch.no_grad():
            expected = pair(x).numpy()
        expect_close(x.numpy() @ Wf.T + bf, expected, what="x @ W_folded.T + b_folded", inputs=inputs, rtol=RTOL,
                     atol=_atol(expected))
    return passed("the folded Linear layer gives exactly the outputs of Linear + BatchNorm1d in eval mode.")


# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_batch_norm_2d(batch_norm_2d) -> bool:
    """Check ``batch_norm_2d(x, gamma, beta, eps) -> y``: batch norm in training mode for images.

    ``x`` has shape ``(N, C, H, W)``; each channel ``c`` is normalized with the mean and the (biased) variance of
    all ``N * H * W`` values of that channel, then scaled by ``gamma[c]`` and shifted by ``beta[c]``. Compared
    with ``torch.nn.functional.batch_norm(..., training=True)`` (what ``torch.nn.BatchNorm2d`` computes). The first
    input has as many channels as columns (``W = C``), so ``gamma`` broadcast along the wrong axis gives a wrong
    answer rather than a crash; a large ``eps`` shows where ``eps`` went.
    """
    import torch
    import torch.nn.functional as F

    cases = [("x of shape (4, 3, 5, 3), eps = 1e-5", (4, 3, 5, 3), 1e-5, 0),
             ("x of shape (2, 2, 3, 4), eps = 0.1", (2, 2, 3, 4), 0.1, 1),
             ("x of shape (6, 1, 2, 2), eps = 1e-3", (6, 1, 2, 2), 1e-3, 2),
             ("x of shape (3, 4, 2, 5), eps = 0.5", (3, 4, 2, 5), 0.5, 3)]
    for name, shape, eps, seed in cases:
        g = torch.Generator().manual_seed(seed)
        C = shape[1]
        x = 2 * torch.randn(*shape, generator=g, dtype=torch.float64) + torch.arange(C, dtype=torch.float64)[
            None, :, None, None]
        gamma = torch.rand(C, generator=g, dtype=torch.float64) + 0.5
        beta = torch.randn(C, generator=g, dtype=torch.float64)
        got = try_call(batch_norm_2d, x, gamma, beta, eps, what="batch_norm_2d", may_modify=False, inputs=name)
        got = as_array(got, "batch_norm_2d(x, gamma, beta, eps)", name)
        expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps).numpy()

        xn = x.numpy()
        gm, bt = gamma.numpy()[None, :, None, None], beta.numpy()[None, :, None, None]

        def norm(axes, ddof=0, shift=True, root=lambda var: np.sqrt(var + eps), affine=(gm, bt)):
            mu = xn.mean(axes, keepdims=True) if shift else 0.0
            var = xn.var(axes, keepdims=True, ddof=ddof)
            return affine[0] * (xn - mu) / root(var) + affine[1]

        spatial = (0, 2, 3)
        hint = match_mistake(got, {
            "you averaged over the batch axis only, so every pixel position got its own statistics; batch norm "
            "for images shares them over the batch AND the spatial axes.": norm((0,)),
            "you averaged over the channels too (that is layer norm's idea); keep one mean and variance per "
            "channel.": norm((0, 1, 2, 3)) if C > 1 else _NEVER,
            "that averages each image on its own (instance norm); batch norm shares the statistics over the "
            "whole batch.": norm((2, 3)),
            "that averages over the batch and the height only; the width axis belongs in the average too.":
                norm((0, 2)),
            "that averages over the batch and the width only; the height axis belongs in the average too.":
                norm((0, 3)),
            "that normalizes with the unbiased variance (divide by n - 1); the forward pass uses the biased one "
            "(divide by n). The unbiased one only goes into running_var.": norm(spatial, ddof=1),
            "eps is missing inside the square root.": norm(spatial, root=np.sqrt),
            "eps belongs inside the square root: sqrt(var + eps), not sqrt(var) + eps.":
                norm(spatial, root=lambda var: np.sqrt(var) + eps),
            "that divides by the variance; normalize by the standard deviation sqrt(var + eps).":
                norm(spatial, root=lambda var: var + eps),
            "that takes the square root of the standard deviation; the standard deviation is sqrt(var + eps).":
                norm(spatial, root=lambda var: np.sqrt(np.sqrt(var) + eps)),
            "the mean is not subtracted.": norm(spatial, shift=False),
            "gamma and beta are missing: scale by gamma[c] and shift by beta[c] after normalizing.":
                norm(spatial, affine=(1.0, 0.0)),
            "gamma and beta are swapped: gamma scales, beta shifts.": norm(spatial, affine=(bt, gm)),
            "gamma and beta of shape (C,) were broadcast along the last axis (the width), not along the channels: "
            "reshape them to (1, C, 1, 1).": norm(spatial, affine=(gamma.numpy(), beta.numpy()))
                if shape[3] == C else _NEVER,
            "that normalizes with fixed statistics (mean 0, variance 1, the initial running statistics: eval "
            "mode); training mode uses the statistics of the batch.": gm * xn / np.sqrt(1 + eps) + bt,
        }, rtol=RTOL, atol=_atol(expected), unique=True)
        expect_close(got, expected, what="batch_norm_2d(x, gamma, beta, eps)", inputs=name, rtol=RTOL,
                     atol=_atol(expected), hint=hint, advice="normalize each channel with the mean and the biased "
                     "variance of its N * H * W values, then scale by gamma[c] and shift by beta[c].")
    return passed("your batch norm for images equals torch.nn.functional.batch_norm in training mode.")
