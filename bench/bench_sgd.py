"""Lecture 03-04 compute paths against the loops a student would write, as ratios measured in the same run.

Run: python -m bench.bench_sgd [--repeats 3]

1. ``sgd.sgd`` (numpy softmax regression on the digits, batch 32, 5 epochs) against the same training written
   with ``torch.optim.SGD`` and autograd in float64 on the same minibatches; both must end at the same weights.
2. ``TiltedLandscape.sgd_many`` (100 runs x 2000 updates at once) against ``sgd.sgd`` called run by run
   (measured on 5 runs and scaled: the work per run is identical); both must agree on full-batch runs.
3. ``minibatch.gradient_spread`` (per-example gradients once, one matrix product per batch size) against drawing each
   minibatch and calling ``grad`` on it; both must give spreads within 10 % of sigma / sqrt(n).
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from lecture_utils import minibatch, problems, sgd
from lecture_utils.datasets import load_digits


def best_of(fn, repeats):
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def torch_training(X, y, theta0, lr, batch_size, epochs):
    W = torch.nn.Parameter(torch.tensor(theta0).reshape(X.shape[1] + 1, 10).clone())
    opt = torch.optim.SGD([W], lr=lr)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(epochs):
        for s in range(0, len(y), batch_size):
            idx = slice(s, s + batch_size)
            loss = torch.nn.functional.cross_entropy(Xt[idx] @ W[:-1] + W[-1], yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return W.detach().numpy().ravel()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []

    X, y, _, _ = load_digits()
    prob = problems.SoftmaxRegression(X, y)
    theta0 = prob.init()
    t_ours, run = best_of(lambda: sgd.sgd(prob, theta0, lr=0.5, batch_size=32, num_epochs=5, order="fixed"),
                          args.repeats)
    t_torch, w_torch = best_of(lambda: torch_training(X, y, theta0, 0.5, 32, 5), args.repeats)
    assert np.allclose(run.theta, w_torch, rtol=1e-8, atol=1e-10), "sgd.sgd and torch ended at different weights"
    rows.append(("digits softmax, batch 32, 5 epochs", "torch.optim.SGD + autograd", t_torch, t_ours))

    land = problems.TiltedLandscape()
    t_many, xs = best_of(lambda: land.sgd_many(land.sharp_min, 0.02, 1, 2000, num_runs=100), args.repeats)
    t_loop5, _ = best_of(lambda: [sgd.sgd(land, [land.sharp_min], lr=0.02, batch_size=1, num_epochs=2000 / land.n,
                                          seed=s) for s in range(5)], 1)
    full_many = land.sgd_many(-0.5, 0.02, land.n, 200, num_runs=2)[:, 0]
    full_loop = sgd.sgd(land, [-0.5], lr=0.02, batch_size=land.n, num_epochs=200, order="fixed").thetas[:, 0]
    assert np.allclose(full_many, full_loop, rtol=1e-12), "sgd_many and sgd disagree on full-batch runs"
    rows.append(("100 SGD runs x 2000 updates (1D)", "sgd.sgd run by run (5 runs, x20)", t_loop5 * 20, t_many))

    theta = prob.init(scale=0.1, seed=0)
    sizes = 2 ** np.arange(11)
    t_spread, sp = best_of(lambda: minibatch.gradient_spread(prob, theta, sizes, num_draws=100, seed=0), args.repeats)

    def naive():
        rng = np.random.default_rng(0)
        g = prob.grad(theta)
        return np.array([np.sqrt(np.mean([np.sum((prob.grad(theta, rng.integers(0, prob.n, b)) - g) ** 2)
                                          for _ in range(100)])) for b in sizes])

    t_naive, naive_spread = best_of(naive, 1)
    for s in (sp.spread, naive_spread):
        assert np.allclose(s, sp.sigma / np.sqrt(sizes), rtol=0.15), "a spread is off sigma / sqrt(n)"
    rows.append(("gradient spread, 11 sizes x 100 draws", "grad() per drawn minibatch", t_naive, t_spread))

    print(f"{'task':42s} {'baseline':34s} {'baseline s':>10s} {'ours s':>8s} {'speed-up':>9s}")
    for task, base, tb, to in rows:
        print(f"{task:42s} {base:34s} {tb:10.3f} {to:8.3f} {tb / to:8.1f}x")


if __name__ == "__main__":
    main()
