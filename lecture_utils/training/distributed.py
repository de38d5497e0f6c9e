"""Data-parallel SGD on a real distributed engine: ``torch.distributed`` (gloo backend) and
``DistributedDataParallel`` in several worker processes (lecture 11).

Every step draws one global minibatch of ``batch_size`` examples; worker ``r`` of ``N`` takes its shard, rows
``r * b`` to ``(r + 1) * b`` with ``b = batch_size / N``, computes the mean loss on it, and DDP averages the N shard
gradients by all-reduce during ``backward``. The average of N shard means is the mean over the whole global batch,
so N workers follow the same parameters as one process on the whole batch, to rounding (tested in float64 for N = 2
and 3, with and without momentum).

- :func:`train_data_parallel` starts N workers on this machine with ``torch.multiprocessing`` (spawn; a rendezvous
  on ``tcp://127.0.0.1:<free port>``), joins every one of them, destroys each process group (also when a worker
  fails: the call then raises that worker's error) and returns a :class:`DataParallelResult`.
- :func:`train_one_process` runs the same loop in this process without ``torch.distributed``: the reference.
- :func:`train_worker` is the loop itself, the same under ``torchrun`` with no code change::

      torchrun --nproc-per-node 2 -m lecture_utils.training.distributed --steps 20 --out result.npz
      # on two machines (run on each; --node-rank 0 on the first, 1 on the second):
      torchrun --nnodes 2 --nproc-per-node 2 --node-rank 0 --master-addr HOST0 --master-port 29500 \\
          -m lecture_utils.training.distributed --steps 20

  ``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; the script then joins with
  ``init_method="env://"``. Without ``torchrun`` the same command line (``--workers N``) calls
  :func:`train_data_parallel`.

Example (the reference loop; a doctest never starts processes)::

    >>> res = train_one_process(num_steps=3, batch_size=32, hidden=(8,), seed=0)
    >>> res.losses.shape, sorted(res.params)[:2]
    ((3,), ['linears.0.bias', 'linears.0.weight'])
"""
from __future__ import annotations

import argparse
import datetime
import os
import pickle
import socket
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validate import check_choice, check_int, check_real

__all__ = ["DataParallelResult", "train_data_parallel", "train_one_process", "train_worker", "free_port",
           "WorkerError", "MAX_WORKERS", "main"]

#: The most worker processes one call may start on this machine.
MAX_WORKERS = 16
_DTYPES = {"float64": torch.float64, "float32": torch.float32}


class WorkerError(RuntimeError):
    """A worker failed with an error that could not be sent back as itself (or died without a word)."""


class _RemoteTraceback(Exception):
    """The traceback of a worker's error, attached as the cause of the error raised here."""

    def __init__(self, tb: str):
        super().__init__(tb)

    def __str__(self):
        return self.args[0]


@dataclass
class DataParallelResult:
    """What a data-parallel run returns.

    Attributes:
        params: final parameters by name, ``{name: array}`` (rank 0's; all ranks hold the same, see
            ``rank_difference``).
        losses: ``(num_steps,)`` the global minibatch loss of each step (mean of the shards' losses).
        worker_losses: ``(num_workers, num_steps)`` each worker's loss on its shard.
        num_workers, batch_size (global), num_steps.
        train_seconds: the training loop's time on rank 0 (between two barriers; no start-up).
        total_seconds: the whole call, starting the processes included.
        rank_difference: the largest difference between any two ranks' final parameters (0 when DDP kept them
            in step).
    """

    params: dict
    losses: np.ndarray
    worker_losses: np.ndarray
    num_workers: int
    batch_size: int
    num_steps: int
    train_seconds: float
    total_seconds: float
    rank_difference: float = 0.0
    config: dict = field(default_factory=dict, repr=False)

    @property
    def examples_per_second(self) -> float:
        """Global examples per second of the training loop (``num_steps * batch_size / train_seconds``)."""
        return self.num_steps * self.batch_size / max(self.train_seconds, 1e-12)

    def flat(self) -> np.ndarray:
        """All parameters as one vector, in the order of ``net.parameters()``."""
        return np.concatenate([np.ravel(self.params[k]) for k in self.config.get("names", sorted(self.params))])


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on now (the OS picks it). Example: ``free_port()``"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_port(port) -> int:
    port = check_int("port", port, low=1024, high=65535)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise ValueError(f"port {port} on 127.0.0.1 is in use; pass another port, or port=None for a free "
                             "one") from None
    return port


def _config(num_workers, *, data, hidden, num_steps, batch_size, lr, momentum, seed, dtype, threads, fail_at):
    """The checked settings every worker receives (plain Python objects and numpy arrays: they are pickled)."""
    num_workers = check_int("num_workers", num_workers, low=1, high=MAX_WORKERS)
    batch_size = check_int("batch_size", batch_size, low=1)
    if batch_size % num_workers:
        nearest = batch_size // num_workers * num_workers or num_workers
        raise ValueError(f"batch_size={batch_size} must be divisible by num_workers={num_workers}: each worker "
                         f"takes an equal shard of every global minibatch (try {nearest})")
    if data is None:
        from .data import digits

        ds = digits(seed=check_int("seed", seed, low=0), device="numpy")
        X, y = ds.X_train, ds.y_train
    else:
        try:
            X, y = (np.asarray(a.detach().cpu() if hasattr(a, "detach") else a) for a in data)
        except (TypeError, ValueError):
            raise TypeError("data must be None (the digits) or a pair (X, y) of arrays") from None
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"data must be (X of shape (n, d), integer labels y of shape (n,)), got shapes "
                             f"{X.shape} and {y.shape}")
    if batch_size > len(X):
        raise ValueError(f"batch_size={batch_size} is larger than the {len(X)} training examples")
    hidden = tuple(check_int("hidden width", h, low=1, high=4096) for h in hidden)
    if fail_at is not None:
        fail_at = (check_int("fail_at rank", fail_at[0], low=0), check_int("fail_at step", fail_at[1], low=0))
    return {"X": np.asarray(X, dtype=np.float64), "y": np.asarray(y, dtype=np.int64), "hidden": hidden,
            "num_steps": check_int("num_steps", num_steps, low=1, high=1_000_000), "batch_size": batch_size,
            "lr": check_real("lr", lr, low=0.0, low_open=True), "momentum": check_real("momentum", momentum, low=0.0,
                                                                                        high=1.0, high_open=True),
            "seed": check_int("seed", seed, low=0), "dtype": check_choice("dtype", dtype, tuple(_DTYPES)),
            "threads": check_int("threads", threads, low=1, high=64), "num_workers": num_workers, "fail_at": fail_at}


def _global_batches(n, batch_size, num_steps, seed):
    """The global minibatches of every step: consecutive slices of one permutation per epoch (short ends dropped)."""
    gen = torch.Generator().manual_seed(seed)
    per_epoch = n // batch_size
    perm = None
    for step in range(num_steps):
        if step % per_epoch == 0:
            perm = torch.randperm(n, generator=gen)
        start = (step % per_epoch) * batch_size
        yield perm[start:start + batch_size]


def train_worker(config: dict, rank: int = 0, world_size: int = 1, distributed: bool = False) -> dict:
    """The training loop of one worker (or of the single process): returns plain lists, never tensors.

    With ``distributed`` the process group must be initialized already (``torch.distributed.init_process_group``)
    and the net is wrapped in ``DistributedDataParallel``; worker ``rank`` trains on its shard of every global
    minibatch. Returns ``{"names", "params" (lists), "losses" (one per step), "seconds"}``.
    """
    from torch.nn.parallel import DistributedDataParallel

    from .nets import MLP

    dtype = _DTYPES[config["dtype"]]
    X = torch.as_tensor(config["X"], dtype=dtype)
    y = torch.as_tensor(config["y"])
    torch.manual_seed(config["seed"])  # the same initial weights in every worker (DDP also broadcasts rank 0's)
    net = MLP(X.shape[1], config["hidden"], int(y.max()) + 1).to(dtype)
    model = DistributedDataParallel(net) if distributed else net
    opt = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    shard = config["batch_size"] // world_size
    losses = []
    if distributed:
        torch.distributed.barrier()
    t0 = time.perf_counter()
    for step, idx in enumerate(_global_batches(len(X), config["batch_size"], config["num_steps"], config["seed"])):
        if config["fail_at"] is not None and tuple(config["fail_at"]) == (rank, step):
            raise ValueError(f"worker {rank} failed on purpose at step {step} (fail_at)")
        mine = idx[rank * shard:(rank + 1) * shard]
        loss = torch.nn.functional.cross_entropy(model(X[mine]), y[mine])
        opt.zero_grad(set_to_none=True)
        loss.backward()  # DDP: the shard gradients are averaged over the workers here
        opt.step()
        losses.append(float(loss.detach()))
    if distributed:
        torch.distributed.barrier()
    seconds = time.perf_counter() - t0
    names = [n for n, _ in net.named_parameters()]
    return {"names": names, "params": [p.detach().cpu().double().numpy().tolist() for p in net.parameters()],
            "shapes": [list(p.shape) for p in net.parameters()], "losses": losses, "seconds": seconds}


def _worker_main(rank, world_size, config, port, timeout, conn):
    """Entry point of a spawned worker: join the group, train, send ``("ok", result)`` or ``("error", ...)``."""
    import torch.distributed as dist

    try:
        torch.set_num_threads(config["threads"])
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout))
        conn.send(("ok", rank, train_worker(config, rank, world_size, distributed=True)))
    except BaseException as exc:  # reported to the parent, which raises it
        try:
            payload = pickle.dumps(exc)
        except Exception:  # an exception that cannot travel: its text does
            payload = None
        backend = isinstance(exc, getattr(dist, "DistBackendError", ())) or "gloo" in str(exc).lower()
        try:
            conn.send(("error", rank, payload, type(exc).__name__, str(exc), traceback.format_exc(), backend))
        except OSError:  # the parent has stopped listening (it already raised another worker's error)
            pass
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        conn.close()


def _result(per_rank: dict, config: dict, total_seconds: float) -> DataParallelResult:
    first = per_rank[0]
    arrays = [np.asarray(p, dtype=float).reshape(s) for p, s in zip(first["params"], first["shapes"])]
    diff = 0.0
    for r in per_rank:
        for a, b in zip(first["params"], per_rank[r]["params"]):
            diff = max(diff, float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0)))
    worker_losses = np.array([per_rank[r]["losses"] for r in sorted(per_rank)], dtype=float)
    cfg = {k: v for k, v in config.items() if k not in ("X", "y")}
    cfg["names"] = first["names"]
    return DataParallelResult(dict(zip(first["names"], arrays)), worker_losses.mean(0), worker_losses,
                              len(per_rank), config["batch_size"], config["num_steps"], first["seconds"],
                              total_seconds, diff, cfg)


def train_one_process(*, data=None, hidden=(16,), num_steps: int = 20, batch_size: int = 64, lr: float = 0.1,
                      momentum: float = 0.0, seed: int = 0, dtype: str = "float64") -> DataParallelResult:
    """The same training in this process, without ``torch.distributed``: the reference for
    :func:`train_data_parallel` (arguments as there). Example: ``train_one_process(batch_size=64, num_steps=20)``"""
    config = _config(1, data=data, hidden=hidden, num_steps=num_steps, batch_size=batch_size, lr=lr,
                     momentum=momentum, seed=seed, dtype=dtype, threads=1, fail_at=None)
    t0 = time.perf_counter()
    out = train_worker(config)
    return _result({0: out}, config, time.perf_counter() - t0)


def train_data_parallel(num_workers: int = 2, *, data=None, hidden=(16,), num_steps: int = 20, batch_size: int = 64,
                        lr: float = 0.1, momentum: float = 0.0, seed: int = 0, dtype: str = "float64",
                        threads: int = 1, port: int | None = None, timeout: float = 120.0,
                        fail_at: tuple | None = None) -> DataParallelResult:
    """Train a small MLP with SGD in ``num_workers`` processes, gradients averaged by DDP's all-reduce (gloo).

    Args:
        num_workers: worker processes, 1 to :data:`MAX_WORKERS`.
        data: ``None`` (the digits' training split drawn with ``seed``) or ``(X (n, d), y (n,) int labels)``.
        hidden: hidden widths of :class:`lecture_utils.training.nets.MLP` (ReLU), initialized from ``seed``.
        num_steps: optimizer steps; batch_size: examples of each GLOBAL minibatch (divisible by ``num_workers``);
        lr, momentum: ``torch.optim.SGD``'s; dtype: ``"float64"`` or ``"float32"``; threads: torch threads per worker.
        port: the rendezvous port on 127.0.0.1 (``None``: a free one; a port in use is refused).
        timeout: seconds for the whole call (and for each collective); stragglers are then stopped.
        fail_at: ``(rank, step)``: that worker raises ``ValueError`` there (to see, and test, a failure).
    Returns:
        :class:`DataParallelResult`. Every worker has been joined and its process group destroyed when this
        returns or raises; a worker's error is raised here as itself (its traceback as the cause).
    Example: ``res = train_data_parallel(2, batch_size=64, num_steps=20)``
    """
    import multiprocessing.connection as mpc

    config = _config(num_workers, data=data, hidden=hidden, num_steps=num_steps, batch_size=batch_size, lr=lr,
                     momentum=momentum, seed=seed, dtype=dtype, threads=threads, fail_at=fail_at)
    timeout = check_real("timeout", timeout, low=1.0, high=86_400.0)
    port = free_port() if port is None else _check_port(port)
    ctx = torch.multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    procs, conns, results, errors = [], {}, {}, []
    try:
        for rank in range(num_workers):
            recv, send = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_worker_main, args=(rank, num_workers, config, port, timeout, send), daemon=True,
                            name=f"data-parallel-worker-{rank}")
            p.start()
            send.close()  # the worker holds the only sending end: a dead worker closes the pipe
            procs.append(p)
            conns[recv] = rank
        deadline = time.monotonic() + timeout
        while conns and time.monotonic() < deadline:
            for conn in mpc.wait(list(conns), timeout=min(0.5, max(deadline - time.monotonic(), 0.01))):
                rank = conns.pop(conn)
                try:
                    msg = conn.recv()
                except EOFError:  # the worker died without a word (killed, out of memory, ...)
                    procs[rank].join(5)
                    errors.append(("died", rank, None, "WorkerError", f"worker {rank} exited with code "
                                   f"{procs[rank].exitcode} without reporting", "", False))
                    continue
                finally:
                    conn.close()
                if msg[0] == "ok":
                    results[rank] = msg[2]
                else:
                    errors.append(msg)
            if errors and not any(not e[6] for e in errors):
                deadline = min(deadline, time.monotonic() + 3.0)  # a gloo error: wait briefly for its cause
            elif errors:
                break
        if errors:
            _raise(min(errors, key=lambda e: (e[6], e[0] == "died")), num_workers)
        if conns:
            raise TimeoutError(f"data-parallel training with {num_workers} workers did not finish within "
                               f"timeout={timeout:g} s; the workers were stopped")
    finally:  # first the workers (one may still be writing into its pipe), then the pipes
        _stop(procs, grace=5.0 if len(results) == num_workers else 1.0)
        for conn in conns:
            conn.close()
    return _result(results, config, time.perf_counter() - t0)


def _stop(procs, grace: float = 5.0) -> None:
    """Join every worker; terminate, then kill, any that does not end within ``grace`` seconds."""
    end = time.monotonic() + grace
    for p in procs:
        p.join(max(end - time.monotonic(), 0.0))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(2.0)
        if p.is_alive():
            p.kill()
            p.join(2.0)
        p.close()


def _raise(err, num_workers):
    _, rank, payload, name, text, tb, _ = err
    exc = None
    if payload is not None:
        try:
            exc = pickle.loads(payload)
        except Exception:  # it pickled but does not unpickle here: its text still says what happened
            exc = None
    if not isinstance(exc, BaseException):
        exc = WorkerError(f"worker {rank} of {num_workers} failed: {name}: {text}")
    if hasattr(exc, "add_note"):
        exc.add_note(f"(raised in data-parallel worker {rank} of {num_workers}; its traceback is the cause above)")
    raise exc from (_RemoteTraceback(tb) if tb else None)


def main(argv=None) -> DataParallelResult:
    """Command line: under ``torchrun`` (``RANK`` set) each process runs :func:`train_worker` after joining with
    ``env://``; otherwise ``--workers N`` processes are started here by :func:`train_data_parallel`.
    Rank 0 prints a summary and, with ``--out``, saves the parameters and losses to an ``.npz`` file."""
    ap = argparse.ArgumentParser(prog="python -m lecture_utils.training.distributed", description=main.__doc__)
    ap.add_argument("--workers", type=int, default=2, help="processes to start when not under torchrun")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64, help="global minibatch (split over the workers)")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--hidden", type=int, nargs="*", default=[16])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="float64", choices=tuple(_DTYPES))
    ap.add_argument("--out", default=None, help="save params and losses here (.npz)")
    a = ap.parse_args(argv)
    kwargs = dict(hidden=tuple(a.hidden), num_steps=a.steps, batch_size=a.batch_size, lr=a.lr, momentum=a.momentum,
                  seed=a.seed, dtype=a.dtype)
    if "RANK" in os.environ:
        import torch.distributed as dist

        dist.init_process_group("gloo")  # env:// from torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
        try:
            rank, world = dist.get_rank(), dist.get_world_size()
            config = _config(world, data=None, threads=1, fail_at=None, **kwargs)
            out = train_worker(config, rank, world, distributed=True)
            gathered = [None] * world
            dist.all_gather_object(gathered, out)
        finally:
            dist.destroy_process_group()
        res = _result(dict(enumerate(gathered)), config, out["seconds"])
    else:
        rank, res = 0, train_data_parallel(a.workers, **kwargs)
    if rank == 0:
        print(f"{res.num_workers} workers, global batch {res.batch_size}, {res.num_steps} steps: final loss "
              f"{res.losses[-1]:.6f}, {res.examples_per_second:,.0f} examples/s, ranks differ by "
              f"{res.rank_difference:.1e}")
        if a.out:
            np.savez(a.out, losses=res.losses, worker_losses=res.worker_losses,
                     **{f"param:{k}": v for k, v in res.params.items()})
    return res


if __name__ == "__main__":
    main()
