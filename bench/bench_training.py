"""Training throughput of train.fit against a standard DataLoader loop, and time to 95% test accuracy on digits.

Run: python -m bench.bench_training [--epochs 10] [--repeats 3] [--batch-size 64] [--device cpu] [--threads 1]

Three loops train the same MLP (64 -> 64 -> 64 -> 10, SGD with momentum) on the same digits tensors, in the same
process, interleaved (each repeat runs all three):

- ``DataLoader``: ``torch.utils.data.DataLoader(TensorDataset(X, y), batch_size, shuffle=True)``, the loop most
  tutorials write (the baseline);
- ``index loop``: a hand-written loop that slices the tensors with one ``torch.randperm`` per epoch;
- ``train.fit``: our generator (the same idea plus metrics, no test set so no evaluation inside the timing).

Each is timed ``--repeats`` times after one warm-up epoch; the best time counts. Then time to 95% test accuracy:
``train.fit`` and the DataLoader loop train the same net from the same initialization with Adam, evaluating on
the 450 test images every 5 steps (evaluation included in the time), until the test accuracy reaches 0.95.
"""
from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from lecture_utils import get_device, optim, set_seed
from lecture_utils.training import data, nets, train


def make_net(seed: int):
    set_seed(seed)
    return nets.MLP(64, hidden=(64, 64), out_dim=10)


def dataloader_epochs(net, X, y, epochs, batch_size, lr):
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss.item()


def index_epochs(net, X, y, epochs, batch_size, lr):
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=gen).to(X.device)
        for start in range(0, len(X), batch_size):
            idx = perm[start:start + batch_size]
            loss = F.cross_entropy(net(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss.item()


def fit_epochs(net, X, y, epochs, batch_size, lr):
    hist = train.run(net, (X, y), optim.SGD(lr=lr, momentum=0.9), epochs=epochs, batch_size=batch_size,
                     drop_last=False, log_initial=False, progress=False)
    return hist.last["train_loss"]


def timed_once(fn, net0, X, y, epochs, batch_size, lr, device):
    net = copy.deepcopy(net0).to(device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn(net, X, y, epochs, batch_size, lr)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def time_to_accuracy_fit(net, ds, target, batch_size, lr, max_epochs):
    t = time.perf_counter()
    for rec in train.fit(net, ds, optim.Adam(lr=lr), epochs=max_epochs, batch_size=batch_size, eval_every=5,
                         log_initial=False, drop_last=False, progress=False):
        if rec["test_acc"] >= target:
            return time.perf_counter() - t, rec["step"], rec["epoch"]
    return float("nan"), rec["step"], rec["epoch"]


def time_to_accuracy_dataloader(net, ds, target, batch_size, lr, max_epochs):
    t = time.perf_counter()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(ds.X_train, ds.y_train), batch_size=batch_size, shuffle=True)
    step = 0
    for epoch in range(max_epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 5 == 0:
                net.eval()
                with torch.no_grad():
                    acc = (net(ds.X_test).argmax(1) == ds.y_test).float().mean().item()
                net.train()
                if acc >= target:
                    return time.perf_counter() - t, step, step / len(loader)
    return float("nan"), step, float(max_epochs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default=None, help="cpu, cuda or mps (default: get_device())")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads for torch (default 1: the tensors are tiny, and on a shared 2-core machine "
                         "a second thread mostly waits)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = get_device(args.device)
    ds = data.digits(device=device)
    X, y = ds.X_train, ds.y_train
    n_examples = args.epochs * len(X)
    net0 = make_net(0)

    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; digits "
          f"{len(X)} training images, MLP 64-64-64-10 ({nets.count_parameters(net0)} parameters), batch "
          f"{args.batch_size}, {args.epochs} epochs, best of {args.repeats}")
    loops = [("DataLoader(TensorDataset, shuffle=True)", dataloader_epochs),
             ("index loop (randperm + slicing)", index_epochs), ("train.fit", fit_epochs)]
    timed_once(fit_epochs, net0, X, y, 1, args.batch_size, 0.05, device)  # warm-up (lazy inits, caches)
    best = {name: float("inf") for name, _ in loops}
    for _ in range(args.repeats):  # interleaved, so a busy spell on a shared machine hits every loop alike
        for name, fn in loops:
            best[name] = min(best[name], timed_once(fn, net0, X, y, args.epochs, args.batch_size, 0.05, device))
    rows = [(name, best[name], n_examples / best[name]) for name, _ in loops]
    base = rows[0][2]
    print(f"\n{'loop':<42}{'seconds':>9}{'examples/s':>13}{'vs DataLoader':>15}")
    for name, seconds, rate in rows:
        print(f"{name:<42}{seconds:>9.3f}{rate:>13,.0f}{rate / base:>14.2f}x")

    print(f"\nTime to {args.target:.0%} test accuracy (Adam lr 3e-3, batch {args.batch_size}, test set of "
          f"{len(ds.X_test)} evaluated every 5 steps, evaluation included):")
    print(f"{'loop':<42}{'seconds':>9}{'steps':>8}{'epochs':>8}{'ms/step':>9}")
    for name, fn in [("DataLoader(TensorDataset, shuffle=True)", time_to_accuracy_dataloader),
                     ("train.fit", time_to_accuracy_fit)]:
        net = copy.deepcopy(net0).to(device)
        seconds, steps, epochs = fn(net, ds, args.target, args.batch_size, 3e-3, 50)
        print(f"{name:<42}{seconds:>9.3f}{steps:>8d}{epochs:>8.1f}{1e3 * seconds / steps:>9.2f}")
    print("(the two loops shuffle with different generators, so they need different numbers of steps)")


if __name__ == "__main__":
    main()
