"""Data-parallel SGD with torch.distributed (gloo, DistributedDataParallel) in real worker processes: N workers with
per-worker batch b follow one process with batch N * b step for step (float64, to 1e-10), with and without
momentum; a failing worker's error is raised here and no process is left behind; bad input is refused; the same
script runs under torchrun."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lecture_utils.training import distributed as D

ROOT = Path(__file__).resolve().parents[1]
PER_WORKER = 16
STEPS = 12


def children() -> list[str]:
    """Command lines of this process's live child processes, multiprocessing's resource tracker left out (it is
    shared machinery that lives as long as this process, not a worker)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        if ppid == me and "resource_tracker" not in cmd and stat[stat.rindex(")") + 2] != "Z":
            found.append(f"{entry.name}: {cmd[:120]}")
    return found


@pytest.fixture(autouse=True)
def no_worker_outlives_a_test():
    yield
    assert not children(), f"processes left behind: {children()}"


_RUNS = {}


def run(num_workers, momentum):
    """One data-parallel run and its one-process reference, cached for the tests of this module."""
    key = (num_workers, momentum)
    if key not in _RUNS:
        kw = dict(num_steps=STEPS, batch_size=PER_WORKER * num_workers, lr=0.2, momentum=momentum, seed=3,
                  hidden=(12,))
        _RUNS[key] = (D.train_data_parallel(num_workers, timeout=180, **kw), D.train_one_process(**kw))
    return _RUNS[key]


@pytest.mark.parametrize("num_workers", [2, 3])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_workers_follow_one_process_on_the_whole_batch(num_workers, momentum):
    par, one = run(num_workers, momentum)
    assert par.num_workers == num_workers and par.batch_size == PER_WORKER * num_workers
    assert par.rank_difference == 0.0  # DDP keeps every replica identical
    np.testing.assert_allclose(par.flat(), one.flat(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(par.losses, one.losses, rtol=0, atol=1e-10)  # step for step
    assert par.worker_losses.shape == (num_workers, STEPS)
    assert not np.allclose(par.worker_losses[0], par.worker_losses[1])  # the shards really differ
    assert par.losses[-1] < par.losses[0]


def test_the_comparison_can_fail():
    """One process on a single worker's shard size (b instead of N * b) ends elsewhere: the equality above is
    not automatic."""
    par, _ = run(2, 0.9)
    small = D.train_one_process(num_steps=STEPS, batch_size=PER_WORKER, lr=0.2, momentum=0.9, seed=3, hidden=(12,))
    assert np.abs(par.flat() - small.flat()).max() > 1e-3
    other_seed = D.train_one_process(num_steps=STEPS, batch_size=2 * PER_WORKER, lr=0.2, momentum=0.9, seed=4,
                                     hidden=(12,))
    assert np.abs(par.flat() - other_seed.flat()).max() > 1e-3


def test_a_failing_worker_fails_the_call_with_its_error_and_leaves_no_process():
    with pytest.raises(ValueError, match="worker 1 failed on purpose at step 2") as info:
        D.train_data_parallel(3, num_steps=STEPS, batch_size=3 * PER_WORKER, fail_at=(1, 2), timeout=180)
    assert "failed on purpose" in str(info.value.__cause__)  # the worker's traceback, as the cause
    assert "train_worker" in str(info.value.__cause__)
    assert any("worker 1 of 3" in note for note in getattr(info.value, "__notes__", []))
    assert not children()


def test_a_run_past_its_timeout_is_stopped_and_leaves_no_process():
    with pytest.raises(TimeoutError, match="timeout=2 s"):
        D.train_data_parallel(2, num_steps=1_000_000, batch_size=32, timeout=2)
    assert not children()


def test_a_port_in_use_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ValueError, match=f"port {port} on 127.0.0.1 is in use"):
            D.train_data_parallel(2, port=port)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_workers": 0}, ValueError, "num_workers must be >= 1"),
    ({"num_workers": -2}, ValueError, "num_workers"),
    ({"num_workers": D.MAX_WORKERS + 1}, ValueError, "num_workers must be <="),
    ({"num_workers": 2.0}, TypeError, "num_workers"),
    ({"num_workers": 3, "batch_size": 64}, ValueError, "divisible by num_workers=3"),
    ({"num_workers": 2, "batch_size": 100_000}, ValueError, "larger than the"),
    ({"num_workers": 2, "lr": 0.0}, ValueError, "lr"),
    ({"num_workers": 2, "momentum": 1.0}, ValueError, "momentum"),
    ({"num_workers": 2, "dtype": "float16"}, ValueError, "dtype"),
    ({"num_workers": 2, "port": 80}, ValueError, "port must be >= 1024"),
    ({"num_workers": 2, "timeout": 0}, ValueError, "timeout"),
    ({"num_workers": 2, "data": (np.zeros((10, 3)), np.zeros(9, dtype=int))}, ValueError, "data must be"),
    ({"num_workers": 2, "data": 5}, TypeError, "data must be"),
])
def test_bad_input_is_refused_before_any_process_starts(kwargs, error, match):
    with pytest.raises(error, match=match):
        D.train_data_parallel(**kwargs)
    assert not children()


def test_the_same_script_runs_under_torchrun(tmp_path):
    """torchrun --nproc-per-node 2 -m lecture_utils.training.distributed: the module's command line, joining with
    env://, gives the parameters of one process on the whole batch."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this python")
    out = tmp_path / "result.npz"
    cmd = [str(torchrun), "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port",
           str(D.free_port()), "-m", "lecture_utils.training.distributed", "--steps", str(STEPS), "--batch-size",
           "32", "--lr", "0.2", "--momentum", "0.9", "--hidden", "12", "--seed", "3", "--out", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2 workers, global batch 32" in proc.stdout
    saved = np.load(out)
    one = D.train_one_process(num_steps=STEPS, batch_size=32, lr=0.2, momentum=0.9, seed=3, hidden=(12,))
    for name, value in one.params.items():
        np.testing.assert_allclose(saved[f"param:{name}"], value, rtol=0, atol=1e-10)
    np.testing.assert_allclose(saved["losses"], one.losses, rtol=0, atol=1e-10)


def test_one_process_reference_checks_its_input_too():
    with pytest.raises(ValueError, match="num_steps"):
        D.train_one_process(num_steps=0)
    res = D.train_one_process(num_steps=2, batch_size=8, hidden=(4,))
    assert res.examples_per_second > 0 and res.num_workers == 1
