"""Data-parallel SGD on gloo workers against one process, and per-example gradients by vmap against a loop
(lecture 11).

Run: python -m bench.bench_distributed [--steps 150] [--batches 256 1024] [--hidden 256 256] [--workers 1 2 4]
                                       [--repeats 2] [--examples 256]

Part 1, the same run for every row of a table: an MLP 64-(hidden)-10 on the digits (1,347 images), SGD with lr
0.05, ``B`` examples per GLOBAL step (one table per ``B`` of ``--batches``: a larger batch is more arithmetic for
the same all-reduce), ``--steps`` steps, float32. The baseline is :func:`train_one_process` (one thread, no
``torch.distributed``); each other row is :func:`train_data_parallel` with N gloo worker processes of one torch
thread each, every worker on ``batch / N`` examples per step, gradients averaged by DDP's all-reduce. Reported:
examples per second of the training loop (between two barriers, so start-up is excluded), their ratio to the
baseline measured in the same run, and the whole call including starting the processes (each imports torch).
Each configuration runs ``--repeats`` times, interleaved; the best counts. The final parameters are compared with
the baseline's as a check.

Part 2: the per-example gradients of ``--examples`` digits, ``torch.func.vmap`` over ``grad`` against a Python
loop of one backward pass per example, same net (64-32-10, float32), best of 5, and their largest difference.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from lecture_utils.training import data, nets
from lecture_utils.training.distributed import train_data_parallel, train_one_process
from lecture_utils.training.noise_scale import per_example_gradients, per_example_gradients_loop


def part1(args, batch):
    kw = dict(num_steps=args.steps, batch_size=batch, hidden=tuple(args.hidden), lr=0.05, dtype="float32",
              seed=0)
    torch.set_num_threads(1)
    print(f"\n{os.cpu_count()} CPU cores; MLP 64-{'-'.join(map(str, args.hidden))}-10, global batch {batch}, "
          f"{args.steps} steps, float32, one torch thread per process; best of {args.repeats}")
    best = {}
    results = {}
    for _ in range(args.repeats):
        for n in [0] + list(args.workers):  # 0: one process, no torch.distributed
            t = time.perf_counter()
            res = train_one_process(**kw) if n == 0 else train_data_parallel(n, threads=1, timeout=600, **kw)
            total = time.perf_counter() - t
            loop, whole = best.get(n, (np.inf, np.inf))
            best[n] = (min(loop, res.train_seconds), min(whole, total))
            results[n] = res
    base_loop = best[0][0]
    print(f"\n{'':<24}{'loop s':>8}{'examples/s':>12}{'vs one process':>16}{'whole call s':>14}"
          f"{'max |param diff|':>18}")
    for n, (loop, whole) in best.items():
        name = "one process" if n == 0 else f"{n} gloo worker{'s' if n > 1 else ''}"
        diff = np.abs(results[n].flat() - results[0].flat()).max()
        print(f"{name:<24}{loop:>8.2f}{args.steps * batch / loop:>12,.0f}{base_loop / loop:>15.2f}x"
              f"{whole:>14.1f}{diff:>18.1e}", flush=True)
    return best


def part2(args):
    ds = data.digits(device="cpu")
    X, y = ds.X_train[:args.examples], ds.y_train[:args.examples]
    torch.manual_seed(0)
    net = nets.MLP(64, (32,), 10)
    per_example_gradients(net, X[:8], y[:8])  # warm-up
    times = {"vmap": np.inf, "loop": np.inf}
    for _ in range(5):
        t = time.perf_counter()
        G = per_example_gradients(net, X, y)
        times["vmap"] = min(times["vmap"], time.perf_counter() - t)
        t = time.perf_counter()
        G_loop = per_example_gradients_loop(net, X, y)
        times["loop"] = min(times["loop"], time.perf_counter() - t)
    print(f"\nPer-example gradients of {len(X)} digits, MLP 64-32-10 ({G.shape[1]} parameters), float32, best of 5: "
          f"vmap(grad) {1e3 * times['vmap']:.1f} ms, a loop of backward passes {1e3 * times['loop']:.1f} ms: "
          f"vmap {times['loop'] / times['vmap']:.1f}x faster; largest difference "
          f"{float((G - G_loop).abs().max()):.1e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--examples", type=int, default=256)
    args = ap.parse_args(argv)
    for batch in args.batches:
        part1(args, batch)
    print("(What limits it on 2 cores: every step ends in an all-reduce of every gradient through gloo's TCP "
          "sockets on localhost, a fixed cost per step that one process never pays; one worker pays it with nothing "
          "gained. Two workers split the arithmetic over both cores, so the gain grows with the arithmetic per step "
          "(the larger batch), but they wait for each other at every all-reduce, and any other program on the "
          "machine slows the slower one. Four workers share two cores: they time-slice, and each all-reduce waits "
          "for the one that was descheduled. The whole call is dominated by starting the processes, each importing "
          "torch. Parameter differences are float32 rounding: the shards' gradients are summed in another order.)")
    part2(args)


if __name__ == "__main__":
    main()
