"""Checkers for the exercises of lecture 08 (coordinate descent, Polyak averaging, distillation).

Each checker calls the student's function on a few inputs, compares with a reference computed here (closed
forms, the lecture's formulas, autograd for the gradient of the distillation loss) and on a mismatch raises
:class:`~lecture_utils.checks.CheckFailed` naming the input, the expected and the received value, with a hint when
the answer matches a typical mistake. Answers may be lists, numpy arrays or torch tensors, float32 or float64:
values are compared at a relative tolerance of 1e-5 (absolute 1e-5 times the largest entry), which float32
arithmetic meets (about 1e-7 per operation) and no typical mistake does. Inputs must not be changed in place.

Example::

    >>> from lecture_utils.checks import lecture08
    >>> def coordinate_minimizer(A, b, x, i):
    ...     x = x.copy()
    ...     x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
    ...     return x
    >>> lecture08.check_coordinate_minimizer(coordinate_minimizer)   # doctest: +ELLIPSIS
    Correct: coordinate_minimizer sets one coordinate to its exact minimizer and leaves the others alone, ...
    True
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._core import (CheckFailed, as_array, exercise, expect_close, match_mistake, passed, try_call)

__all__ = ["check_coordinate_minimizer", "check_ema", "check_distillation_loss"]

#: float32 answers are within about 1e-6 relative; no typical mistake is that close.
RTOL = 1e-5

_NEVER = float("nan")  # a candidate that does not apply to this input (never matches)


def _atol(expected) -> float:
    return RTOL * max(1.0, float(np.max(np.abs(expected))))


def _fmt(a) -> str:
    return str(np.round(np.asarray(a, dtype=float), 3).tolist())


# ---------------------------------------------------------------------------------------------------------
def _coordinate_step(A, b, x, i):
    out = x.copy()
    out[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
    return out


@exercise(1)
def check_coordinate_minimizer(coordinate_minimizer) -> bool:
    """Check ``coordinate_minimizer(A, b, x, i)``: ``x`` with coordinate ``i`` moved to the exact minimizer of
    ``f(x) = 1/2 x^T A x - b^T x`` along that coordinate, every other coordinate unchanged, ``x`` itself left alone.

    The reference is the closed form ``x_i = (b_i - sum_{j != i} A_ij x_j) / A_ii``.
    """
    rng = np.random.default_rng(8)
    M = rng.standard_normal((4, 4))
    A4 = M @ M.T + np.eye(4)
    coupled = np.array([[2.2, -2.0], [-2.0, 2.2]])  # the lecture's coupled quadratic
    cases = [(coupled, np.zeros(2), np.array([0.8, 0.5]), 0),
             (coupled, np.zeros(2), np.array([0.8, 0.5]), 1),
             (A4, rng.standard_normal(4), rng.standard_normal(4), 2),
             (np.diag([1.0, 5.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.array([9.0, 9.0, 9.0]), 1)]
    for A, b, x, i in cases:
        inputs = (f"A = {_fmt(A)}, b = {_fmt(b)}, x = {_fmt(x)}, i = {i}" if len(x) < 4 else
                  f"a random 4x4 SPD A, b = {_fmt(b)}, x = {_fmt(x)}, i = {i}")
        got = try_call(coordinate_minimizer, A, b, x, i, what="coordinate_minimizer", may_modify=False,
                       inputs=inputs)
        got = as_array(got, "coordinate_minimizer", inputs)
        expected = _coordinate_step(A, b, x, i)
        if got.shape == ():
            raise CheckFailed(f"coordinate_minimizer for {inputs} returned the number {float(got):.6g}; return the "
                              f"whole vector x (a copy) with coordinate {i} replaced.")
        n = len(x)
        rest = A[i] @ x - A[i, i] * x[i]
        candidates = {
            "that subtracts the whole row A[i] @ x, including the diagonal term A[i, i] * x[i]; the sum runs over "
            "j != i only.": np.where(np.arange(n) == i, (b[i] - A[i] @ x) / A[i, i], x),
            "that takes a gradient step on coordinate i; the exercise asks for the exact minimizer along it, where "
            "the partial derivative (A x - b)_i becomes zero.": np.where(np.arange(n) == i, x - (A[i] @ x - b[i]), x),
            "that jumps to the minimizer of f over all coordinates (the solution of A x = b); coordinate descent "
            "changes coordinate i only.": np.linalg.solve(A, b),
            "that updates every coordinate at once from the old x (a Jacobi step); change coordinate i only.":
                (b - A @ x + np.diag(A) * x) / np.diag(A),
            "the division by A[i, i] is missing: set the partial derivative to zero and solve for x_i.":
                np.where(np.arange(n) == i, b[i] - rest, x),
            "that multiplies by A[i, i] instead of dividing by it.":
                np.where(np.arange(n) == i, (b[i] - rest) * A[i, i], x),
            "the sign is flipped: x_i = (b_i - sum over j != i of A_ij x_j) / A_ii.":
                np.where(np.arange(n) == i, (rest - b[i]) / A[i, i], x),
            "x came back unchanged: move coordinate i to its minimizer.": x,
        }
        sweep = x.copy()
        for j in range(n):
            sweep = _coordinate_step(A, b, sweep, j)
        candidates["that is a full sweep over all coordinates; the exercise asks for one coordinate."] = sweep
        for j in range(n):
            if j != i:
                candidates[f"that changes coordinate {j}; the exercise asks for coordinate i = {i} (Python counts "
                           f"from 0)."] = _coordinate_step(A, b, x, j)
        hint = match_mistake(got, candidates, rtol=RTOL, atol=_atol(expected), unique=True)
        expect_close(got, expected, what=f"coordinate_minimizer(A, b, x, i={i})", inputs=inputs, rtol=RTOL,
                     atol=_atol(expected), hint=hint, advice="set the partial derivative (A x - b)_i to zero and solve "
                                                             "for x_i, keeping the other coordinates.")
    return passed("coordinate_minimizer sets one coordinate to its exact minimizer and leaves the others alone, "
                  "on four quadratics including the lecture's coupled case.")


# ---------------------------------------------------------------------------------------------------------
def _ema(xs, decay, start=None, lag=False):
    out = np.empty_like(xs)
    acc = xs[0] if start is None else start
    for t in range(len(xs)):
        if t == 0 and start is None:
            out[0] = acc
            continue
        acc = decay * acc + (1 - decay) * (xs[t - 1] if lag else xs[t])
        out[t] = acc
    return out


@exercise(2)
def check_ema(ema) -> bool:
    """Check ``ema(xs, decay)``: the exponential Polyak average of the iterates ``xs`` (shape ``(T, d)``), one row per
    iterate, starting from the first iterate: ``avg_1 = x_1``, ``avg_t = decay * avg_{t-1} + (1 - decay) * x_t``.
    """
    rng = np.random.default_rng(3)
    cases = [(np.array([[1.0], [3.0], [5.0]]), 0.5), (rng.standard_normal((12, 2)), 0.9),
             (rng.standard_normal((6, 3)) * 4 + 2, 0.0), (rng.standard_normal((5, 4)) + 1, 0.3)]
    for xs, decay in cases:
        T, d = xs.shape
        inputs = (f"xs = {_fmt(xs)}, decay = {decay}" if xs.size <= 6 else
                  f"xs of shape {xs.shape} (first row {_fmt(xs[0])}), decay = {decay}")
        got = try_call(ema, xs, decay, what="ema", may_modify=False, inputs=inputs)
        got = as_array(got, "ema(xs, decay)", inputs)
        expected = _ema(xs, decay)
        from_zero = _ema(xs, decay, start=np.zeros(d))
        steps = np.arange(1, T + 1)[:, None]
        with np.errstate(all="ignore"):
            corrected = from_zero / (1 - decay ** steps)
        hint = match_mistake(got, {
            "that starts the average at zero, which drags the first rows towards 0; start it at the first iterate "
            "(avg_1 = x_1), as torch's AveragedModel does.": from_zero,
            "that is the bias-corrected average from zero (Adam's correction, pandas' ewm with adjust=True); the "
            "exercise starts at avg_1 = x_1 and needs no correction.": corrected if decay > 0 else _NEVER,
            "that swaps decay and 1 - decay: decay is the weight of the OLD average.": _ema(xs, 1 - decay)
                if decay != 0.5 else _NEVER,
            "that is the uniform (running mean) average; the exponential one weights recent iterates more.":
                np.cumsum(xs, 0) / steps,
            "that averages x_{t-1} into avg_t (lagged by one); avg_t takes in the current iterate x_t.":
                _ema(xs, decay, lag=True),
            "that returns the iterates themselves; average them.": xs if decay > 0 else _NEVER,
            "that returns only the last average; return one row per iterate.": expected[-1],
            "that drops the first row: there is one average per iterate, the first being x_1 itself.": expected[1:],
            "that returns the averages of each column as a row (the wrong axis); average over the iterates, "
            "one row per iterate.": _ema(xs.T.copy(), decay) if T > 1 else _NEVER,
        }, rtol=RTOL, atol=_atol(expected), unique=True)
        expect_close(got, expected, what="ema(xs, decay)", inputs=inputs, rtol=RTOL, atol=_atol(expected),
                     hint=hint, advice="each average keeps a fraction decay of the previous average and takes "
                                       "(1 - decay) of the current iterate, starting from the first iterate.")
    return passed("ema equals the exponential Polyak average on four sequences (decay 0.5, 0.9, 0 and 0.3).")


# ---------------------------------------------------------------------------------------------------------
def _soft(t, s):
    """Cross-entropy between the distributions ``t`` (probabilities) and ``softmax`` of ``s``, batch mean."""
    return -(t * torch.log_softmax(s, 1)).sum(1).mean()


@exercise(3)
def check_distillation_loss(distillation_loss) -> bool:
    """Check ``distillation_loss(student_logits, y, teacher_logits, tau, lam)`` (torch tensors in, scalar tensor out):
    ``H(y, P_S) + lam * tau**2 * H(P_T^tau, P_S^tau)`` averaged over the batch, with ``P^tau = softmax(logits / tau)``.

    Its value is compared on three batches, and its gradient with respect to the student's logits (through
    ``backward``) with autograd's gradient of the reference.
    """
    g = torch.Generator().manual_seed(0)
    cases = []
    for n, k, tau, lam in ((4, 3, 2.0, 0.5), (8, 5, 4.0, 1.0), (6, 10, 2.5, 0.3)):
        s = torch.randn(n, k, generator=g, dtype=torch.float64) * 2
        t = torch.randn(n, k, generator=g, dtype=torch.float64) * 3
        y = torch.randint(0, k, (n,), generator=g)
        cases.append((s, y, t, tau, lam))
    for s, y, t, tau, lam in cases:
        inputs = f"a batch of {len(y)} examples, {s.shape[1]} classes, tau = {tau}, lam = {lam}"
        got = try_call(distillation_loss, s, y, t, tau, lam, what="distillation_loss", may_modify=False,
                       inputs=inputs)
        if got is None:
            raise CheckFailed(f"distillation_loss for {inputs} returned None. Likely mistake: a missing `return` "
                              "statement.")
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise CheckFailed(f"distillation_loss for {inputs} should return a scalar torch tensor (the batch "
                              f"mean), got {type(got).__name__}"
                              f"{'' if not isinstance(got, torch.Tensor) else ' of shape ' + str(tuple(got.shape))}"
                              ". Hint: build it from torch operations and average over the batch.")
        value = as_array(got, "distillation_loss", inputs).reshape(())
        hard = F.cross_entropy(s, y)
        p_t, p_t1 = torch.softmax(t / tau, 1), torch.softmax(t, 1)
        soft = _soft(p_t, s / tau)
        expected = float(hard + lam * tau ** 2 * soft)
        kl = F.kl_div(torch.log_softmax(s / tau, 1), p_t, reduction="batchmean")
        candidates = {
            "that leaves out the tau**2 factor on the soft term (Hinton's convention keeps the soft gradients the "
            "same size at every temperature).": hard + lam * soft,
            "that uses tau where the factor is tau**2.": hard + lam * tau * soft,
            "that uses the KL divergence for the soft term; the lecture's formula is the cross-entropy "
            "H(P_T, P_S) = KL + the teacher's entropy (same gradient, different value).": hard + lam * tau ** 2 * kl,
            "that softens only the teacher: the student's logits must be divided by tau too.":
                hard + lam * tau ** 2 * _soft(p_t, s),
            "that softens only the student: the teacher's logits must be divided by tau too.":
                hard + lam * tau ** 2 * _soft(p_t1, s / tau),
            "teacher and student are swapped in the soft term: the teacher's probabilities weight the student's "
            "log-probabilities.": hard + lam * tau ** 2 * _soft(torch.softmax(s / tau, 1), t / tau),
            "that returns only the soft term; add the hard-label cross-entropy H(y, P_S).": lam * tau ** 2 * soft,
            "that returns only the hard-label cross-entropy; add the soft term.": hard,
            "lam multiplies the hard term; in the lecture's formula it weights the soft term.":
                lam * hard + tau ** 2 * soft,
            "that weights the hard term by (1 - lam); the lecture's formula keeps it at weight 1.":
                (1 - lam) * hard + lam * tau ** 2 * soft,
            "lam is missing from the soft term.": hard + tau ** 2 * soft if lam != 1 else _NEVER,
            "that averages the soft term over the classes too; sum over the classes, average over the batch.":
                hard + lam * tau ** 2 * soft / s.shape[1],
            "that sums over the batch instead of averaging.": (hard + lam * tau ** 2 * soft) * len(y),
            "the soft term is summed over the batch, the hard one averaged: average both.":
                hard + lam * tau ** 2 * soft * len(y),
        }
        hint = match_mistake(value, {h: float(v) for h, v in candidates.items()}, rtol=RTOL, unique=True)
        expect_close(value, expected, what="distillation_loss", inputs=inputs, rtol=RTOL, atol=1e-9,
                     hint=hint, advice="the hard-label cross-entropy plus lam * tau**2 times the cross-entropy "
                                       "between the teacher's and the student's softened distributions, averaged "
                                       "over the batch.")
        # The gradient with respect to the student's logits, through the student's own backward pass.
        s_req = s.clone().requires_grad_(True)  # fresh tensors, passed directly, so that s_req gets the gradient
        out = try_call(lambda: distillation_loss(s_req, y.clone(), t.clone(), tau, lam), what="distillation_loss",
                       inputs=inputs)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            raise CheckFailed(f"distillation_loss for {inputs} returned a tensor without a gradient with respect to "
                              "the student's logits: compute it with torch operations only (no .item(), .detach() "
                              "or numpy).")
        try_call(lambda: out.reshape(()).backward(), what="the backward pass of distillation_loss "
                 "(loss.backward())", inputs=inputs)
        grad = s_req.grad
        if grad is None:
            raise CheckFailed(f"distillation_loss for {inputs}: no gradient reached the student's logits in "
                              "loss.backward(); build the loss from student_logits itself, not from a copy.")
        s_ref = s.clone().requires_grad_(True)
        hard_r = F.cross_entropy(s_ref, y)
        soft_r = _soft(p_t, s_ref / tau)
        g_ref, g_hard, g_soft = (torch.autograd.grad(f, s_ref, retain_graph=True)[0].numpy() for f in
                                 (hard_r + lam * tau ** 2 * soft_r, hard_r, lam * tau ** 2 * soft_r))
        g_hint = match_mistake(grad, {
            "the soft term carries no gradient: the student's logits were detached (or turned into numbers) in "
            "it.": g_hard,
            "the hard term carries no gradient: the student's logits were detached (or turned into numbers) in "
            "it.": g_soft,
        }, rtol=RTOL, atol=_atol(g_ref), unique=True)
        expect_close(grad, g_ref, what="the gradient of distillation_loss with respect to student_logits",
                     inputs=inputs, rtol=RTOL, atol=_atol(g_ref),
                     hint=g_hint, advice="the value is right but the gradient is not: is some part computed outside "
                                         "torch (numpy, .item(), .detach())?")
    return passed("distillation_loss equals H(y, P_S) + lam tau^2 H(P_T^tau, P_S^tau) on three batches, and so does "
                  "its gradient with respect to the student's logits.")
