"""Batched optim.run against torch.optim point by point: 10,000 start points x 500 Adam steps on Rosenbrock.

Run: python -m bench.bench_optim [--points 10000] [--steps 500] [--baseline-points 40]

The baseline is what a student would write: one torch parameter per start point, ``torch.optim.Adam``, the
surface's value and gradient by autograd, 500 steps, then the next point. Running it for all 10,000 points
would take minutes, so it runs for ``--baseline-points`` points and is scaled to the full count (the work per
point is identical). Both runs end at the same positions, which the script checks.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lecture_utils import optim, surfaces


def torch_point_by_point(x0: np.ndarray, num_steps: int, lr: float) -> np.ndarray:
    finals = []
    for p0 in x0:
        p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=lr)
        for _ in range(num_steps):
            opt.zero_grad()
            loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
            loss.backward()
            opt.step()
        finals.append(p.detach().numpy().copy())
    return np.array(finals)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--baseline-points", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # the baseline's tensors are tiny: threads only add overhead
    s = surfaces.get("rosenbrock")
    rng = np.random.default_rng(0)
    x0 = rng.uniform([-2, -1], [2, 3], size=(args.points, 2))
    lr = 1e-2

    ours = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        traj = optim.run(s, optim.Adam(lr=lr), x0, num_steps=args.steps)
        ours.append(time.perf_counter() - t)
    t_ours = min(ours)

    nb = args.baseline_points
    t = time.perf_counter()
    ref = torch_point_by_point(x0[:nb], args.steps, lr)
    t_ref_part = time.perf_counter() - t
    t_ref = t_ref_part * args.points / nb
    np.testing.assert_allclose(traj.final[:nb], ref, rtol=1e-6, atol=1e-9)

    print(f"Adam on Rosenbrock, {args.points} start points x {args.steps} steps (float64)")
    print(f"  optim.run, batched          : {t_ours * 1e3:9.1f} ms  (best of {args.repeats})")
    print(f"  torch.optim, point by point : {t_ref * 1e3:9.1f} ms  (measured on {nb} points: {t_ref_part:.2f} s, scaled)")
    print(f"  speed-up                    : {t_ref / t_ours:9.0f}x   (same final points to 1e-6)")
    return t_ref / t_ours


if __name__ == "__main__":
    main()
