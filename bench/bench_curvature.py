"""Curvature without the Hessian: the top eigenvalue by Lanczos on Hessian-vector products against forming the full
Hessian and ``torch.linalg.eigvalsh``; a 41 x 41 loss-landscape grid batched against point by point; the
sharpness of K nets from one stacked backward against K separate operators.

Run: python -m bench.bench_curvature [--repeats 3] [--limit-sizes 8000 11000 14000] [--threads 1]

1. Same net, same data, same run: ``MLP(64, (h,), 10, tanh)`` in float64 on 200 digits, with about 200, 1,000 and
   5,000 parameters. Lanczos: a fresh ``HessianOperator`` and 30 Lanczos steps (the top eigenvalue to about 1e-12
   relative here, printed). Full: ``exact_hessian`` (P Hessian-vector products; vectorized for P <= 2,000) and
   ``eigvalsh``. Best of ``--repeats`` (one run at 5,000 parameters), after a warm-up. Ratio = full / Lanczos.
2. The full route at ``--limit-sizes`` parameters, once each, until one takes more than a minute: the size at which
   forming and diagonalizing the Hessian stops being possible within a minute on this machine.
3. ``grid_2d`` on a 41 x 41 grid (1,681 points) for lecture 10's nets (``MLP(64, (16, 16), 10)`` and a 6-layer
   net with skips) on 200 digits: batched (``vmap``, chunks of 128) against one point at a time, best of
   ``--repeats``, interleaved.
4. The sharpness of K = 12 nets (lecture 10's edge-of-stability size, float32, 200 digits, MSE): 10 Lanczos steps
   with ``StackedHessian`` (one backward for all K) against K ``HessianOperator``s, best of ``--repeats``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lecture_utils.training import curvature, data, nets, sharpness
from lecture_utils.training import loss_landscape as ll
from lecture_utils.training.stacked import StackedMLP

WIDTHS = {"~200": 3, "~1,000": 13, "~5,000": 66}


def _net(h, seed=0):
    torch.manual_seed(seed)
    return nets.MLP(64, (h,), 10, activation="tanh").double()


def best(fn, repeats):
    out, t_best = None, np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def lanczos_top(net, X, y):
    return curvature.lanczos(curvature.HessianOperator(net, X, y), k=1, num_iters=30, seed=0).eigenvalues[0]


def full_top(net, X, y):
    return float(torch.linalg.eigvalsh(curvature.exact_hessian(net, X, y))[-1])


def part_eigen(X, y, repeats):
    print("\n1. top Hessian eigenvalue: Lanczos (30 Hessian-vector products) vs the full Hessian + eigvalsh")
    print(f"{'params':>8} {'Lanczos s':>10} {'full s':>9} {'form s':>8} {'eigvalsh s':>10} {'full/Lanczos':>13} "
          f"{'rel. diff':>10}")
    lanczos_top(_net(3), X, y)  # warm-up
    for label, h in WIDTHS.items():
        net = _net(h)
        P = nets.count_parameters(net)
        r = repeats if P < 3000 else 1
        t_l, lam = best(lambda: lanczos_top(net, X, y), repeats)
        t_form, H = best(lambda: curvature.exact_hessian(net, X, y), r)
        t_eig, ev = best(lambda H=H: torch.linalg.eigvalsh(H), r)
        full = float(ev[-1])
        print(f"{P:>8,} {t_l:>10.3f} {t_form + t_eig:>9.3f} {t_form:>8.3f} {t_eig:>10.3f} "
              f"{(t_form + t_eig) / t_l:>12.0f}x {abs(lam - full) / full:>10.1e}")
        del H


def part_limit(X, y, sizes):
    print("\n2. the full route at larger sizes (once each; stops after the first one over 60 s)")
    print(f"{'params':>8} {'form s':>8} {'eigvalsh s':>10} {'total s':>8} {'GiB':>5}")
    for P_target in sizes:
        h = max(1, round((P_target - 10) / 75))
        net = _net(h)
        P = nets.count_parameters(net)
        t = time.perf_counter()
        H = curvature.exact_hessian(net, X, y)
        t_form = time.perf_counter() - t
        t = time.perf_counter()
        torch.linalg.eigvalsh(H)
        t_eig = time.perf_counter() - t
        print(f"{P:>8,} {t_form:>8.1f} {t_eig:>10.1f} {t_form + t_eig:>8.1f} {P * P * 8 / 2**30:>5.2f}", flush=True)
        del H
        if t_form + t_eig > 60:
            print(f"   forming and diagonalizing the Hessian takes more than a minute from {P:,} parameters on")
            print("   (meanwhile 30 Lanczos steps at that size cost 30 Hessian-vector products)")
            return
    print(f"   every size up to {sizes[-1]:,} took under a minute")


def part_grid(X, y, repeats):
    print("\n3. a 41 x 41 loss-landscape grid (1,681 losses on 200 digits): batched vs point by point")
    print(f"{'net':>28} {'params':>7} {'batched s':>10} {'pointwise s':>12} {'ratio':>7} {'max diff':>9}")
    alphas = np.linspace(-1, 1, 41)
    for label, make in (("MLP(64, (16, 16), 10)", lambda: nets.MLP(64, (16, 16), 10)),
                        ("MLP(64, (16,) * 6, skips)", lambda: nets.MLP(64, (16,) * 6, 10, skip=True))):
        torch.manual_seed(0)
        net = make()
        d1, d2 = ll.random_direction(net, seed=1), ll.random_direction(net, seed=2)
        ll.grid_2d(net, X, y, d1, d2, alphas[:3], alphas[:3])  # warm-up
        tb, tp = np.inf, np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            g = ll.grid_2d(net, X, y, d1, d2, alphas, alphas)
            tb = min(tb, time.perf_counter() - t)
            t = time.perf_counter()
            ref = ll.grid_2d(net, X, y, d1, d2, alphas, alphas, batched=False)
            tp = min(tp, time.perf_counter() - t)
        print(f"{label:>28} {nets.count_parameters(net):>7,} {tb:>10.3f} {tp:>12.3f} {tp / tb:>6.1f}x "
              f"{np.abs(g.losses - ref.losses).max():>9.1e}")


def part_stacked(repeats, K=12):
    print(f"\n4. sharpness of K = {K} nets (10 Lanczos steps): one stacked backward vs K separate operators")
    ds = data.digits(seed=0, device="cpu")
    X, y = ds.X_train[:200], torch.eye(10)[ds.y_train[:200]]
    models = []
    for k in range(K):
        torch.manual_seed(k)
        models.append(nets.MLP(64, (16, 16), 10, activation="tanh"))
    stack = StackedMLP(models)
    V0 = torch.randn(K, nets.count_parameters(models[0]), generator=torch.Generator().manual_seed(0))

    def stacked():  # the same start vectors for both: the results differ by rounding only
        return curvature.lanczos(sharpness.StackedHessian(stack, X, y), k=1, num_iters=10, v0=V0).eigenvalues[:, 0]

    def separate():
        return [curvature.lanczos(curvature.HessianOperator(m, X, y), k=1, num_iters=10, v0=V0[k]).eigenvalues[0]
                for k, m in enumerate(models)]

    stacked(), separate()
    ts, s = best(stacked, repeats)
    tl, l_ = best(separate, repeats)
    print(f"   stacked {ts:.3f} s, separate {tl:.3f} s: ratio {tl / ts:.1f}x; largest relative difference of the "
          f"sharpness {np.max(np.abs(s - np.array(l_)) / np.array(l_)):.1e} (float32, the same start vectors)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit-sizes", type=int, nargs="*", default=[8000, 11000, 14000])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as the lectures use)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = data.digits(seed=0, device="cpu")
    X, y = ds.X_train[:200].double(), ds.y_train[:200]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); 200 digits, cross-entropy, float64")
    part_eigen(X, y, args.repeats)
    part_grid(X.float(), y, args.repeats)
    part_stacked(args.repeats)
    if args.limit_sizes:
        part_limit(X, y, args.limit_sizes)


if __name__ == "__main__":
    main()
