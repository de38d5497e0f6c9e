"""Second-order methods: iteration counts and final points against scipy.optimize.minimize, timing ratios.

Run: ``python -m bench.bench_second_order``. Prints three tables:

1. for each surface and start, our BFGS / L-BFGS / nonlinear CG / saddle-free Newton (Armijo) next to scipy's
   BFGS / L-BFGS-B / CG / Newton-CG: iterations, (f, grad f) evaluations and final points;
2. wall time of one solve, ours / scipy's (a ratio measured in this run; scipy's BFGS is the baseline);
3. batched over B start points at once vs one start point at a time (ratio), and the time of one Newton solve
   as n grows with the fitted log-log slope (about 3 for large n; small n is dominated by overheads).
"""
from __future__ import annotations

import time

import numpy as np
import scipy.optimize

from lecture_utils import surfaces
from lecture_utils.second_order import newton
from lecture_utils.second_order.methods import run_method

CASES = [("rosenbrock", (-1.2, 1.0)), ("rosenbrock", (2.0, -0.5)), ("beale", (1.0, 1.0)), ("beale", (2.0, 2.0)),
         ("himmelblau", (1.0, 1.0)), ("himmelblau", (-4.0, 4.0)), ("six_hump_camel", (1.5, 0.5)),
         ("quadratic_k100", (2.0, 1.0)), ("rosenbrock_4d", (-1.2, 1.0, -1.2, 1.0))]
PAIRS = [("bfgs", "BFGS"), ("lbfgs", "L-BFGS-B"), ("cg", "CG"), ("saddle_free_newton", "Newton-CG")]


def make_surface(name):
    if name == "quadratic_k100":
        return surfaces.get("quadratic", kappa=100, angle=0.4)
    if name == "rosenbrock_4d":
        return surfaces.get("rosenbrock_nd", n=4)
    return surfaces.get(name)


def ours(s, x0, method, **extra):
    kw = {"line_search": "armijo"} if method == "saddle_free_newton" else {}
    kw.update(extra)
    return run_method(method, s, np.array(x0), 1000, tol=1e-6, **kw)


def theirs(s, x0, method):
    f = lambda x: float(s.value(x))  # noqa: E731
    g = lambda x: np.asarray(s.grad(x), dtype=float)  # noqa: E731
    opts = ({"gtol": 1e-6} if method in ("BFGS", "CG") else {"gtol": 1e-9, "ftol": 1e-15} if method == "L-BFGS-B"
            else {"xtol": 1e-10})
    extra = {"hess": lambda x: np.asarray(s.hessian(x))} if method == "Newton-CG" else {}
    return scipy.optimize.minimize(f, np.array(x0, dtype=float), jac=g, method=method, options=opts, **extra)


def best_time(fn, repeats=5):
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def fmt(v):
    return "(" + ", ".join(f"{c:.5f}" for c in v) + ")"


def main():
    print("1. Same starts, same tolerance (|grad| < 1e-6): iterations, evaluations of (f, grad f), final points")
    print(f"{'surface':15s} {'start':>22s} {'ours':19s} {'iters':>5s} {'evals':>5s} {'final point':>26s} | "
          f"{'scipy':10s} {'nit':>4s} {'nfev':>4s} {'final point':>26s} {'agree':>5s}")
    for name, x0 in CASES:
        s = make_surface(name)
        for mine, ref in PAIRS:
            tr, res = ours(s, x0, mine), theirs(s, x0, ref)
            agree = np.allclose(tr.final[0], res.x, atol=1e-4)
            print(f"{name:15s} {fmt(x0):>22s} {mine:19s} {int(tr.iterations[0]):5d} "
                  f"{int(tr.extras['num_evals'][0]):5d} {fmt(tr.final[0]):>26s} | {ref:10s} {res.nit:4d} "
                  f"{res.nfev:4d} {fmt(res.x):>26s} {'yes' if agree else 'NO':>5s}")

    print("\n2. Wall time of one solve on Rosenbrock from (-1.2, 1), ours / scipy (same run, best of 5)")
    s = surfaces.get("rosenbrock")
    base = best_time(lambda: theirs(s, (-1.2, 1.0), "BFGS"))
    print(f"{'method':22s} {'ms':>8s} {'/ scipy BFGS':>13s}")
    for mine, ref in PAIRS:
        # Without the dense inverse-Hessian matrices that BFGS / L-BFGS keep for drawing by default.
        extra = {"inv_hessians": False} if mine in ("bfgs", "lbfgs") else {}
        t_ours = best_time(lambda: ours(s, (-1.2, 1.0), mine, **extra))
        t_ref = best_time(lambda: theirs(s, (-1.2, 1.0), ref))
        print(f"{'ours ' + mine:22s} {1e3 * t_ours:8.2f} {t_ours / base:13.2f}")
        print(f"{'scipy ' + ref:22s} {1e3 * t_ref:8.2f} {t_ref / base:13.2f}")

    print("\n3a. B start points at once vs one at a time (Himmelblau, 60 steps), time ratio loop / batch")
    s = surfaces.get("himmelblau")
    X0 = np.random.default_rng(0).uniform(-4.5, 4.5, size=(200, 2))
    print(f"{'method':20s} {'batch ms':>9s} {'loop ms':>9s} {'loop / batch':>13s}")
    for method in ("newton", "steepest_descent", "cg", "bfgs", "lbfgs"):
        tb = best_time(lambda: run_method(method, s, X0, 60), repeats=2)
        tl = best_time(lambda: [run_method(method, s, x, 60) for x in X0], repeats=1)
        print(f"{method:20s} {1e3 * tb:9.1f} {1e3 * tl:9.1f} {tl / tb:13.1f}")

    print("\n3b. One Newton solve H v = -g (torch.linalg.solve, one thread), time against n")
    sizes = [100, 200, 400, 800, 1600]
    times = newton.time_solve(sizes, repeats=3)
    for n, t in zip(sizes, times):
        print(f"n = {n:5d}: {1e3 * t:8.2f} ms  ({t / times[0]:7.1f} x the n = {sizes[0]} time)")
    slope = np.polyfit(np.log(sizes[2:]), np.log(times[2:]), 1)[0]
    print(f"log-log slope over n = {sizes[2]}..{sizes[-1]}: {slope:.2f} (O(n^3) predicts 3)")


if __name__ == "__main__":
    main()
