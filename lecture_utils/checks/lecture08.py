"""Checkers for the exercises of lecture 08 (coordinate descent, Polyak averaging, distillation).

Each checker calls the student's function on a few inputs, compares with a reference computed here (closed
forms, the lecture's formulas) and on a mismatch raises :class:`~lecture_utils.checks.CheckFailed` naming the
input, the expected and the received value, with a hint when the answer matches a typical mistake.

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

from ._core import as_array, CheckFailed, exercise, expect_close, match_mistake, passed, try_call

__all__ = ["check_coordinate_minimizer", "check_ema", "check_distillation_loss"]


# ---------------------------------------------------------------------------------------------------------
@exercise(1)
def check_coordinate_minimizer(coordinate_minimizer) -> bool:
    """Check ``coordinate_minimizer(A, b, x, i)``: ``x`` with coordinate ``i`` moved to the exact minimizer of
    ``f(x) = 1/2 x^T A x - b^T x`` along that coordinate, every other coordinate unchanged.

    The reference is the closed form ``x_i = (b_i - sum_{j != i} A_ij x_j) / A_ii``.
    """
    rng = np.random.default_rng(8)
    M = rng.standard_normal((4, 4))
    A4 = M @ M.T + np.eye(4)
    cases = [(np.array([[2.2, -2.0], [-2.0, 2.2]]), np.zeros(2), np.array([1.0, 0.5]), 0),
             (np.array([[2.2, -2.0], [-2.0, 2.2]]), np.zeros(2), np.array([1.0, 0.5]), 1),
             (A4, rng.standard_normal(4), rng.standard_normal(4), 2),
             (np.diag([1.0, 5.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.array([9.0, 9.0, 9.0]), 1)]
    for A, b, x, i in cases:
        inputs = f"A = {np.round(A, 3).tolist()}, b = {np.round(b, 3).tolist()}, x = {np.round(x, 3).tolist()}, i = {i}"
        x_in = x.copy()
        got = as_array(try_call(coordinate_minimizer, A.copy(), b.copy(), x_in, i, what="coordinate_minimizer",
                                may_modify=False), "coordinate_minimizer", inputs)
        expected = x.copy()
        expected[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
        if got.shape == ():
            raise CheckFailed(f"coordinate_minimizer({inputs}) returned the number {float(got):.6g}; return the whole "
                              f"vector x with coordinate {i} replaced (expected {np.round(expected, 6).tolist()}).")
        wrong_diag = x.copy()
        wrong_diag[i] = (b[i] - A[i] @ x) / A[i, i]
        grad_step = x.copy()
        grad_step[i] = x[i] - (A[i] @ x - b[i])
        all_coords = np.linalg.solve(A, b)
        hint = match_mistake(got, {
            "that subtracts the whole row A[i] @ x, including the diagonal term A[i, i] * x[i]; the sum runs over "
            "j != i only (or add A[i, i] * x[i] back).": wrong_diag,
            "that takes a gradient step on coordinate i; the exercise asks for the exact minimizer along it, where "
            "the partial derivative A[i] @ x - b[i] becomes zero.": grad_step,
            "that jumps to the minimizer of f over all coordinates (np.linalg.solve(A, b)); coordinate descent "
            "changes coordinate i only.": all_coords,
        })
        expect_close(got, expected, what=f"coordinate_minimizer(A, b, x, i={i})", inputs=inputs, rtol=1e-8,
                     atol=1e-10, hint=hint or "set the partial derivative (A x - b)_i to zero and solve for x_i.")
    return passed("coordinate_minimizer sets one coordinate to its exact minimizer and leaves the others alone, "
                  "on four quadratics including the lecture's coupled case.")


# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_ema(ema) -> bool:
    """Check ``ema(xs, decay)``: the exponential Polyak average of the iterates ``xs`` (shape ``(T, d)``), one row per
    iterate, starting from the first iterate: ``avg_1 = x_1``, ``avg_t = decay * avg_{t-1} + (1 - decay) * x_t``.
    """
    rng = np.random.default_rng(3)
    cases = [(np.array([[1.0], [3.0], [5.0]]), 0.5), (rng.standard_normal((12, 2)), 0.9),
             (rng.standard_normal((6, 3)) * 4, 0.0)]
    for xs, decay in cases:
        inputs = f"xs of shape {xs.shape} (first rows {np.round(xs[:2], 3).tolist()}), decay = {decay}"
        got = as_array(try_call(ema, xs.copy(), decay, what="ema"), "ema", inputs)
        expected = np.empty_like(xs)
        expected[0] = xs[0]
        for t in range(1, len(xs)):
            expected[t] = decay * expected[t - 1] + (1 - decay) * xs[t]
        from_zero = np.empty_like(xs)
        acc = np.zeros(xs.shape[1])
        for t in range(len(xs)):
            acc = decay * acc + (1 - decay) * xs[t]
            from_zero[t] = acc
        swapped = np.empty_like(xs)
        swapped[0] = xs[0]
        for t in range(1, len(xs)):
            swapped[t] = (1 - decay) * swapped[t - 1] + decay * xs[t]
        uniform = np.cumsum(xs, 0) / np.arange(1, len(xs) + 1)[:, None]
        hint = match_mistake(got, {
            "that starts the average at zero, which drags the first rows towards 0; start it at the first iterate "
            "(avg_1 = x_1), as torch's AveragedModel does.": from_zero,
            "that swaps decay and 1 - decay: decay is the weight of the OLD average.": swapped,
            "that is the uniform (running mean) average; the exponential one weights recent iterates more.": uniform,
            "that returns only the last average; return one row per iterate.": expected[-1],
        })
        expect_close(got, expected, what="ema(xs, decay)", inputs=inputs, rtol=1e-8, atol=1e-10,
                     hint=hint or "avg_t = decay * avg_{t-1} + (1 - decay) * x_t, with avg_1 = x_1.")
    return passed("ema equals the exponential Polyak average on three sequences (decay 0.5, 0.9 and 0).")


# ---------------------------------------------------------------------------------------------------------
def _reference_kd(s, y, t, tau, lam):
    hard = F.cross_entropy(s, y)
    soft = -(torch.softmax(t / tau, 1) * torch.log_softmax(s / tau, 1)).sum(1).mean()
    return hard, soft


@exercise(3)
def check_distillation_loss(distillation_loss) -> bool:
    """Check ``distillation_loss(student_logits, y, teacher_logits, tau, lam)`` (torch tensors in, scalar tensor out):
    ``H(y, P_S) + lam * tau**2 * H(P_T^tau, P_S^tau)`` averaged over the batch, with ``P^tau = softmax(logits / tau)``.
    """
    g = torch.Generator().manual_seed(0)
    cases = []
    for n, k, tau, lam in ((4, 3, 1.0, 0.5), (8, 5, 4.0, 1.0), (6, 10, 2.5, 0.3)):
        s = torch.randn(n, k, generator=g, dtype=torch.float64) * 2
        t = torch.randn(n, k, generator=g, dtype=torch.float64) * 3
        y = torch.randint(0, k, (n,), generator=g)
        cases.append((s, y, t, tau, lam))
    for s, y, t, tau, lam in cases:
        inputs = f"a batch of {len(y)} examples, {s.shape[1]} classes, tau = {tau}, lam = {lam}"
        got = try_call(distillation_loss, s.clone(), y.clone(), t.clone(), tau, lam, what="distillation_loss")
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise CheckFailed(f"distillation_loss for {inputs} should return a scalar torch tensor, got "
                              f"{type(got).__name__}{'' if not isinstance(got, torch.Tensor) else tuple(got.shape)}")
        hard, soft = _reference_kd(s, y, t, tau, lam)
        expected = hard + lam * tau ** 2 * soft
        kl = F.kl_div(torch.log_softmax(s / tau, 1), torch.softmax(t / tau, 1), reduction="batchmean")
        no_tau_in_student = -(torch.softmax(t / tau, 1) * torch.log_softmax(s, 1)).sum(1).mean()
        hint = match_mistake(float(got.detach()), {
            "that leaves out the tau**2 factor on the soft term (Hinton's convention keeps the soft gradients the "
            "same size at every temperature).": float(hard + lam * soft),
            "that uses the KL divergence for the soft term; the lecture's formula is the cross-entropy "
            "H(P_T, P_S) = KL + the teacher's entropy (same gradient, different value).": float(hard + lam * tau ** 2 * kl),
            "that softens only the teacher: the student's logits must be divided by tau too.":
                float(hard + lam * tau ** 2 * no_tau_in_student),
            "that returns only the soft term; add the hard-label cross-entropy H(y, P_S).": float(lam * tau ** 2 * soft),
            "that returns only the hard-label cross-entropy; add lam * tau**2 * H(P_T^tau, P_S^tau).": float(hard),
            "that sums over the batch instead of averaging.": float((hard + lam * tau ** 2 * soft) * len(y)),
        })
        expect_close(float(got.detach()), float(expected), what="distillation_loss", inputs=inputs, rtol=1e-6,
                     atol=1e-9, hint=hint or "hard = F.cross_entropy(s, y); soft = -(softmax(t / tau) * "
                     "log_softmax(s / tau)).sum(1).mean(); return hard + lam * tau**2 * soft.")
        if tau == 4.0:
            s_req = s.clone().requires_grad_(True)
            out = try_call(distillation_loss, s_req, y.clone(), t.clone(), tau, lam, what="distillation_loss")
            if not out.requires_grad:
                raise CheckFailed("distillation_loss returned a tensor without a gradient with respect to the "
                                  "student's logits: compute it with torch operations only (no .item() or numpy).")
    return passed("distillation_loss equals H(y, P_S) + lam tau^2 H(P_T^tau, P_S^tau) on three batches and "
                  "keeps the gradient to the student's logits.")
