"""Checkers for the exercises of lecture 11 (schedules and scale): a warmup-then-cosine schedule and the gradient
noise scale.

:func:`check_warmup_cosine` compares the student's schedule, step by step, with torch's own
``SequentialLR([LinearLR, CosineAnnealingLR])`` run here on four settings (a one-step warmup, a nonzero
``eta_min``, a warmup that is most of the run); :func:`check_noise_scale` compares with the unbiased estimate of
``B_simple = tr(Sigma) / |G|^2`` on gradients with more examples than parameters and fewer. On a mismatch they raise
:class:`~lecture_utils.checks.CheckFailed` naming the setting, the first steps (or the value) that differ and the
likely mistake when exactly one typical mistake explains every setting (off by one, the wrong phase, a biased
variance, ...). Numbers may be floats, numpy or torch scalars, in float32 or float64 (relative tolerance 1e-5 for
the schedule, 1e-4 for the noise scale, which float32 arithmetic meets and every typical mistake misses by far).

Example::

    >>> import math
    >>> from lecture_utils.checks import lecture11
    >>> def warmup_cosine(base_lr, step, warmup_steps, total_steps, start_factor, eta_min):
    ...     if step < warmup_steps:
    ...         return base_lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    ...     t = (step - warmup_steps) / (total_steps - warmup_steps)
    ...     return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t)) / 2
    >>> lecture11.check_warmup_cosine(warmup_cosine)    # doctest: +ELLIPSIS
    Correct: warmup_cosine equals torch's SequentialLR(LinearLR, CosineAnnealingLR) at every step of 4 settings...
    True
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from ._core import CheckFailed, as_array, exercise, expect_close, matches, passed, plain, try_call

__all__ = ["check_warmup_cosine", "check_noise_scale"]

#: Relative tolerance of the schedule (float32 rates are within about 1e-7).
RTOL = 1e-5

# (base_lr, warmup_steps, total_steps, start_factor, eta_min): eta_min = 0 and not, a one-step warmup, a long one
_SCHEDULES = [(0.1, 5, 30, 0.1, 0.0), (2.0, 3, 12, 0.5, 0.02), (0.4, 10, 16, 0.25, 0.04), (1.0, 1, 6, 0.2, 0.1)]


def _torch_schedule(base_lr, warmup_steps, total_steps, start_factor, eta_min):
    """The rate torch sets before each of the ``total_steps`` steps (the reference)."""
    from torch.optim import lr_scheduler as L

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's notes about the epoch argument
        sched = L.SequentialLR(opt, [L.LinearLR(opt, start_factor, 1.0, warmup_steps),
                                     L.CosineAnnealingLR(opt, total_steps - warmup_steps, eta_min)],
                               milestones=[warmup_steps])
        out = []
        for t in range(total_steps):
            out.append(opt.param_groups[0]["lr"])
            if t < total_steps - 1:
                opt.step()
                sched.step()
    return np.array(out)


def _schedule_mistakes(b, W, T, s, e):
    """What each typical mistake gives at every step 0..T-1 of one setting (NaN where a formula fails)."""
    steps = np.arange(T, dtype=float)
    cos = lambda x: (1 + np.cos(np.pi * x)) / 2  # noqa: E731
    warm = b * (s + (1 - s) * np.minimum(steps, W) / W)
    after = steps >= W
    right = np.where(after, e + (b - e) * cos((steps - W) / (T - W)), warm)

    def with_cosine(decay, warmup=warm):
        return np.where(after, decay, warmup)

    with np.errstate(all="ignore"):
        return {
            "off by one in the warmup: at step t < warmup_steps the rate is base_lr * (start_factor + (1 - "
            "start_factor) * t / warmup_steps), so step 0 uses start_factor * base_lr (you used t + 1).":
                with_cosine(right, b * (s + (1 - s) * np.minimum(steps + 1, W) / W)),
            "the warmup reaches base_lr one step early (dividing by warmup_steps - 1); it reaches it at step "
            "warmup_steps, where the cosine starts.":
                with_cosine(right, b * (s + (1 - s) * steps / (W - 1))) if W > 1 else right,  # (not shown at W = 1)
            "the cosine phase counts from step 0; it starts at step warmup_steps, so use step - warmup_steps.":
                with_cosine(e + (b - e) * cos(steps / (T - W))),
            "the cosine starts one step late (the milestone is warmup_steps, not warmup_steps + 1).":
                with_cosine(e + (b - e) * cos(np.maximum(steps - W - 1, 0) / (T - W)),
                            b * (s + (1 - s) * np.minimum(steps, W) / W)),
            "the cosine's period is total_steps - warmup_steps (T_max of CosineAnnealingLR), not total_steps.":
                with_cosine(e + (b - e) * cos((steps - W) / T)),
            "the warmup starts at 0; it starts at start_factor * base_lr.": with_cosine(right, b * steps / W),
            "eta_min is ignored: the cosine decays to eta_min, not to 0.": with_cosine(b * cos((steps - W) / (T - W))),
            "eta_min is added but not subtracted: eta_min + (base_lr - eta_min) * (1 + cos) / 2.":
                with_cosine(e + b * cos((steps - W) / (T - W))),
            "the cosine factor is (1 + cos(pi x)) / 2, not cos(pi x).":
                with_cosine(e + (b - e) * np.cos(np.pi * (steps - W) / (T - W))),
            "that decays linearly after the warmup; the decay is a half cosine.":
                with_cosine(e + (b - e) * (1 - (steps - W) / (T - W))),
            "there is no warmup: the rate starts at base_lr and follows one cosine over all steps.":
                e + (b - e) * cos(steps / T),
        }, right


def _scalar(value, what, inputs):
    arr = as_array(value, what, inputs)
    if arr.size != 1:
        raise CheckFailed(f"{what} for {inputs} should return one number (the rate of that step), got an array of "
                          f"shape {arr.shape}.")
    return float(arr.reshape(()))


@exercise(1)
def check_warmup_cosine(warmup_cosine) -> bool:
    """Check ``warmup_cosine(base_lr, step, warmup_steps, total_steps, start_factor, eta_min) -> lr``: a linear warmup
    from ``start_factor * base_lr`` that reaches ``base_lr`` at step ``warmup_steps``, then a half cosine to
    ``eta_min`` over ``total_steps - warmup_steps`` steps: torch's ``SequentialLR([LinearLR(opt, start_factor, 1.0,
    warmup_steps), CosineAnnealingLR(opt, total_steps - warmup_steps, eta_min)], milestones=[warmup_steps])``."""
    got, expected, names, mistakes = [], [], [], {}
    for b, W, T, s, e in _SCHEDULES:
        inputs = f"base_lr = {b}, warmup_steps = {W}, total_steps = {T}, start_factor = {s}, eta_min = {e}"
        rates = [_scalar(try_call(warmup_cosine, b, t, W, T, s, e, what="warmup_cosine",
                                  inputs=f"{inputs}, step = {t}"), "warmup_cosine", f"{inputs}, step = {t}")
                 for t in range(T)]
        reference = _torch_schedule(b, W, T, s, e)
        candidates, mine = _schedule_mistakes(b, W, T, s, e)
        assert np.allclose(mine, reference, rtol=1e-12, atol=1e-15)  # the closed form the mistakes vary
        got.append(np.array(rates))
        expected.append(reference)
        names.append(f"{inputs} (entry [t] is step t)")
        for hint, values in candidates.items():
            mistakes.setdefault(hint, []).append(values)
    _grade(got, expected, names, mistakes, what="warmup_cosine", rtol=RTOL, atol=1e-9,
           advice="before step warmup_steps the rate is base_lr * (start_factor + (1 - start_factor) * step / "
           "warmup_steps); from there (1 + cos(pi (step - warmup_steps) / (total_steps - warmup_steps))) / 2 "
           "scales base_lr - eta_min.")
    return passed(f"warmup_cosine equals torch's SequentialLR(LinearLR, CosineAnnealingLR) at every step of "
                  f"{len(_SCHEDULES)} settings, including a one-step warmup and a nonzero eta_min.")


def _grade(got, expected, names, mistakes, *, what, rtol, atol, advice):
    """Raise at the first wrong setting; name the mistake only if exactly one explains EVERY setting."""
    for g, e, name in zip(got, expected, names):
        if g.shape != np.shape(e) or not np.allclose(g, e, rtol=rtol, atol=atol):
            found = [h for h, values in mistakes.items()
                     if all(matches(gi, v, rtol, atol) for gi, v in zip(got, values))]
            expect_close(g, e, what=what, inputs=name, rtol=rtol, atol=atol,
                         hint=found[0] if len(found) == 1 else "", advice=advice)


# ---------------------------------------------------------------------------------------------------------
def _noise_scale_cases():
    g = torch.Generator().manual_seed(11)
    return [("grads of 40 examples x 6 parameters (mean 0.3 in every entry, noise 1)",
             0.3 + torch.randn(40, 6, generator=g, dtype=torch.float64)),
            ("grads of 200 examples x 3 parameters (a strong mean gradient [2, -1, 1])",
             torch.tensor([2.0, -1.0, 1.0], dtype=torch.float64) + 3 * torch.randn(200, 3, generator=g,
                                                                                     dtype=torch.float64)),
            ("grads of 12 examples x 30 parameters (more parameters than examples)",
             torch.linspace(-1, 1, 30, dtype=torch.float64) + 0.8 * torch.randn(12, 30, generator=g,
                                                                                 dtype=torch.float64))]


def _noise_scale_mistakes(G):
    """The right value and what each typical mistake gives, for per-example gradients ``G`` (n, P)."""
    G = G.numpy()
    n, P = G.shape
    mean = G.mean(0)
    sq = mean @ mean
    dev = ((G - mean) ** 2).sum()
    tr = dev / (n - 1)

    def ratio(trace, signal):
        return trace / signal if signal != 0 else np.nan

    right = ratio(tr, sq - tr / n)
    with np.errstate(all="ignore"):
        return {
            "the variance divides by n; the unbiased estimate of tr(Sigma) divides sum |g_i - g_bar|^2 by n - 1.":
                ratio(dev / n, sq - dev / n / n),
            "|g_bar|^2 is not corrected: it overestimates |G|^2 by tr(Sigma) / n (the noise of the mean); use "
            "|g_bar|^2 - tr(Sigma) / n.": ratio(tr, sq),
            "the correction has the wrong sign: |G|^2 = |g_bar|^2 - tr(Sigma) / n.": ratio(tr, sq + tr / n),
            "the ratio is upside down: B_simple = tr(Sigma) / |G|^2 (noise over signal).":
                (sq - tr / n) / tr,
            "|G| is not squared: B_simple divides by |G|^2.": ratio(tr, np.sqrt(sq - tr / n)) if sq > tr / n
            else np.nan,
            "that averages the variances over the parameters; tr(Sigma) is their SUM over all parameters.":
                ratio(tr / P, sq - tr / P / n),
            "the gradients are not centred: tr(Sigma) sums |g_i - g_bar|^2, not |g_i|^2.":
                ratio((G ** 2).sum() / (n - 1), sq - (G ** 2).sum() / (n - 1) / n),
            "the variance is taken over the wrong axis (across the parameters of each example); Sigma is the "
            "covariance over the examples (axis 0).":
                ratio(G.var(axis=1, ddof=1).sum(), sq - G.var(axis=1, ddof=1).sum() / n),
            "that sums standard deviations; tr(Sigma) sums the variances of the parameters.":
                ratio(G.std(axis=0, ddof=1).sum(), sq - G.std(axis=0, ddof=1).sum() / n),
        }, right


@exercise(2)
def check_noise_scale(noise_scale) -> bool:
    """Check ``noise_scale(grads) -> B_simple`` for per-example gradients ``grads`` of shape ``(n, P)``: the unbiased
    ``tr(Sigma) = sum_i |g_i - g_bar|^2 / (n - 1)``, ``|G|^2 = |g_bar|^2 - tr(Sigma) / n`` and their ratio."""
    got, expected, names, mistakes = [], [], [], {}
    for name, G in _noise_scale_cases():
        out = try_call(noise_scale, G, what="noise_scale", may_modify=False, inputs=name)
        value = as_array(plain(out), "noise_scale", name)
        if value.size != 1:
            raise CheckFailed(f"noise_scale for {name} should return one number (B_simple), got an array of shape "
                              f"{value.shape}. Likely mistake: a sum or mean over the wrong axis, or a missing "
                              f"reduction to one number.")
        candidates, right = _noise_scale_mistakes(G)
        got.append(value.reshape(()))
        expected.append(right)
        names.append(name)
        for hint, v in candidates.items():
            mistakes.setdefault(hint, []).append(v)
    _grade(got, expected, names, mistakes, what="noise_scale", rtol=1e-4, atol=0.0,
           advice="B_simple = tr(Sigma) / |G|^2 with the unbiased tr(Sigma) (sum of |g_i - g_bar|^2 over the "
           "examples, divided by n - 1) and |G|^2 = |g_bar|^2 - tr(Sigma) / n.")
    return passed("noise_scale gives the unbiased B_simple = tr(Sigma) / |G|^2, with more examples than parameters "
                  "and with fewer.")

