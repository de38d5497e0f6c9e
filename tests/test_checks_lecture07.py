"""Lecture 07 checkers: right answers pass, each typical mistake gets its own plain-words hint."""
import numpy as np
import pytest
import torch

from lecture_utils.checks import CheckFailed, lecture07


def fold_right(W, b, mean, var, gamma, beta, eps):
    scale = gamma / torch.sqrt(var + eps)
    return scale[:, None] * W, scale * (b - mean) + beta


def bn2d_right(x, gamma, beta, eps):
    mu = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), unbiased=False, keepdim=True)
    return gamma[None, :, None, None] * (x - mu) / torch.sqrt(var + eps) + beta[None, :, None, None]


def test_right_answers_pass(capsys):
    assert lecture07.check_fold_batch_norm(fold_right) is True
    assert lecture07.check_batch_norm_2d(bn2d_right) is True
    assert "Correct" in capsys.readouterr().out


def test_numpy_answers_pass():
    def fold_np(W, b, mean, var, gamma, beta, eps):
        W, b, mean, var, gamma, beta = (np.asarray(t) for t in (W, b, mean, var, gamma, beta))
        s = gamma / np.sqrt(var + eps)
        return s[:, None] * W, s * (b - mean) + beta

    assert lecture07.check_fold_batch_norm(fold_np)


@pytest.mark.parametrize("wrong, hint", [
    (lambda W, b, m, v, g, be, eps: ((g / torch.sqrt(v))[:, None] * W, g / torch.sqrt(v) * (b - m) + be),
     "eps is missing"),
    (lambda W, b, m, v, g, be, eps: ((g / (v + eps))[:, None] * W, b), "divides by the variance"),
    (lambda W, b, m, v, g, be, eps: (fold_right(W, b, m, v, g, be, eps)[0], g / torch.sqrt(v + eps) * b + be),
     "running mean is not subtracted"),
    (lambda W, b, m, v, g, be, eps: (fold_right(W, b, m, v, g, be, eps)[0], g / torch.sqrt(v + eps) * (b - m)),
     "beta is missing"),
    (lambda W, b, m, v, g, be, eps: (fold_right(W, b, m, v, g, be, eps)[0], b - m + be), "bias was not scaled"),
    (lambda W, b, m, v, g, be, eps: (W * (g / torch.sqrt(v + eps))[None, :], b), "COLUMNS"),
    (lambda W, b, m, v, g, be, eps: (fold_right(W, b, m, v, g, be, eps)[0].T, b), "transposed"),
    (lambda W, b, m, v, g, be, eps: fold_right(W, b, m, v, g, be, eps)[0], "pair"),
])
def test_fold_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        lecture07.check_fold_batch_norm(wrong)


def _bn2d(axes, unbiased=False, use_eps=True, affine=True):
    def f(x, gamma, beta, eps):
        mu = x.mean(axes, keepdim=True)
        var = x.var(axes, unbiased=unbiased, keepdim=True)
        y = (x - mu) / torch.sqrt(var + (eps if use_eps else 0.0))
        return gamma[None, :, None, None] * y + beta[None, :, None, None] if affine else y
    return f


@pytest.mark.parametrize("wrong, hint", [
    (_bn2d((0,)), "batch axis only"),
    (_bn2d((0, 1, 2, 3)), "channels too"),
    (_bn2d((0, 2, 3), unbiased=True), "unbiased variance"),
    (_bn2d((0, 2, 3), use_eps=False), "eps is missing"),
    (_bn2d((0, 2, 3), affine=False), "gamma and beta are missing"),
    (lambda x, gamma, beta, eps: x, "expected"),
])
def test_bn2d_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        lecture07.check_batch_norm_2d(wrong)


def test_stub_and_crash_are_explained():
    def crash(x, gamma, beta, eps):
        return x.mean(axis=7)

    with pytest.raises(CheckFailed, match="raised"):
        lecture07.check_batch_norm_2d(crash)
    with pytest.raises(CheckFailed, match="should be a function"):
        lecture07.check_fold_batch_norm(3)
