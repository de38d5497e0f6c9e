"""K seeds of lecture 07's deep MLP trained together (batched.run_many) against a loop of train.run, one epoch each.

Run: python -m bench.bench_batched [--repeats 3] [--ks 1 4 16 64] [--threads 1]

The net is lecture 07's: ``MLP(64, hidden=(64,) * 6, out_dim=10, init="kaiming")``, with and without batch norm,
SGD with lr 0.1, batch 64, one epoch of the 1,347 digits training images. Model k is built after ``set_seed(k)``
and shuffled with ``seed=k`` in both runs, so the two compute the same K trajectories (the largest difference of
their per-epoch training losses is printed as a check). Two settings:

- ``as in lecture 07``: the run the notebook does, with the step-0 record (loss on the training set) and the
  test-set evaluation at the end of the epoch;
- ``training only``: no records but the final one and no test set, i.e. the training steps alone.

Each (setting, K) pair is timed ``--repeats`` times, interleaved (loop, batched, loop, ...), after a warm-up; the
best time counts. The ratio is loop time / batched time in the same process. A last line times the batched matrix
products of one epoch alone (the part of the work no implementation avoids), for comparison.
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

from lecture_utils import optim, set_seed
from lecture_utils.training import batched, data, nets, train


def lecture07_nets(K: int, batch_norm: bool):
    out = []
    for seed in range(K):
        set_seed(seed)
        out.append(nets.MLP(64, hidden=(64,) * 6, out_dim=10, batch_norm=batch_norm, init="kaiming"))
    return out


def loop(models, data_, **kw):
    return [train.run(net, data_, optim.SGD(lr=0.1), epochs=1, batch_size=64, seed=k, progress=False, **kw)
            for k, net in enumerate(models)]


def together(models, data_, **kw):
    return batched.run_many(models, data_, optim.SGD(lr=0.1), epochs=1, batch_size=64, seeds=range(len(models)),
                            progress=False, **kw)


def timed(fn, models0, data_, **kw):
    models = copy.deepcopy(models0)
    t = time.perf_counter()
    result = fn(models, data_, **kw)
    return time.perf_counter() - t, result


def matmul_floor(K: int, steps: int, repeats: int) -> float:
    """Seconds of the batched matrix products alone of ``steps`` training steps of K models: per step 7 forward
    (``baddbmm``) and 13 backward (``bmm``) products of ``(K, 64, 64) @ (K, 64, 64)`` (the output layer counted
    as a full one). What no implementation of this training can go below on this core."""
    W, x, b = torch.randn(K, 64, 64), torch.randn(K, 64, 64), torch.randn(K, 64, 1)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(steps):
            for _ in range(7):
                torch.baddbmm(b, W, x)
            for _ in range(13):
                torch.bmm(W, x)
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as the lectures use)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = data.digits(device="cpu")
    settings = {"as in lecture 07": (ds, {}),
                "training only": ((ds.X_train, ds.y_train), {"log_initial": False})}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); lecture 07's MLP 64-(64 x 6)-10 "
          f"(kaiming init), SGD lr 0.1, batch 64, one epoch of {len(ds.X_train)} digits; best of {args.repeats}")
    timed(together, lecture07_nets(2, True), ds)  # warm-up: lazy initializations of the kernels
    timed(loop, lecture07_nets(1, True), ds)
    print(f"\n{'setting':<18}{'batch norm':>11}{'K':>5}{'loop ms':>10}{'batched ms':>12}{'ratio':>8}"
          f"{'max |loss diff|':>17}")
    for setting, (data_, kw) in settings.items():
        for bn in (False, True):
            for K in args.ks:
                models0 = lecture07_nets(K, bn)
                best = {"loop": np.inf, "batched": np.inf}
                for _ in range(args.repeats):
                    t_loop, hists = timed(loop, models0, data_, **kw)
                    t_batched, res = timed(together, models0, data_, **kw)
                    best["loop"], best["batched"] = min(best["loop"], t_loop), min(best["batched"], t_batched)
                gap = max(np.abs(h["train_loss"] - res["train_loss"][k]).max() for k, h in enumerate(hists))
                print(f"{setting:<18}{'yes' if bn else 'no':>11}{K:>5}{1e3 * best['loop']:>10.1f}"
                      f"{1e3 * best['batched']:>12.1f}{best['loop'] / best['batched']:>7.1f}x{gap:>17.1e}",
                      flush=True)
    steps = 21  # 1,347 = 21 x 64 + 3 examples
    print(f"\nThe batched matrix products alone, {steps} steps x 20 products (K, 64, 64) @ (K, 64, 64), hot in the "
          "cache: " + ", ".join(f"K = {K}: {1e3 * matmul_floor(K, steps, args.repeats):.1f} ms" for K in args.ks))
    print("(the rest of the batched time is the elementwise work, activations, batch norm, loss and optimizer step, "
          "and eager PyTorch's cost per operation; the loop pays that cost K times. The loss differences are float32 "
          "rounding, grown in the most sensitive seeds: in float64 the runs agree to 1e-15.)")


if __name__ == "__main__":
    main()
