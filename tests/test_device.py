"""set_seed and get_device: one place for seeding and device choice."""
import random

import numpy as np
import pytest
import torch

from lecture_utils import get_device, set_seed


def test_set_seed_makes_python_numpy_and_torch_repeat():
    set_seed(123)
    a = (random.random(), np.random.rand(), torch.rand(3))
    set_seed(123)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    set_seed(124)
    assert random.random() != a[0]


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (2**32, ValueError)])
def test_set_seed_rejects_bad_seeds(bad, exc):
    with pytest.raises(exc, match="seed"):
        set_seed(bad)


def test_get_device_order_and_override(monkeypatch):
    monkeypatch.delenv("LECTURE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else "cpu")
    assert get_device().type == expected
    assert get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("LECTURE_DEVICE", "cpu")
    assert get_device().type == "cpu"


def test_get_device_rejects_unknown_or_missing_devices(monkeypatch):
    with pytest.raises(ValueError, match="prefer must be one of cuda, mps, cpu"):
        get_device("tpu")
    monkeypatch.setenv("LECTURE_DEVICE", "gpu")
    with pytest.raises(ValueError, match="LECTURE_DEVICE must be one of"):
        get_device()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="not available"):
        get_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delenv("LECTURE_DEVICE")
    assert get_device().type == "cuda"  # CUDA first when present


def test_base_seed_comes_from_COURSE_SEED(monkeypatch):
    from lecture_utils import base_seed

    monkeypatch.delenv("COURSE_SEED", raising=False)
    assert base_seed() == 0
    monkeypatch.setenv("COURSE_SEED", "2")
    assert base_seed() == 2
    for bad in ("1.5", "-1", "two", str(2**31)):
        monkeypatch.setenv("COURSE_SEED", bad)
        with pytest.raises(ValueError, match="COURSE_SEED"):
            base_seed()


def test_notebook_setup_seeds_everything_from_the_base_seed(monkeypatch):
    import torch

    from widgets import notebook_setup

    monkeypatch.setenv("COURSE_SEED", "7")
    notebook_setup()
    a = (np.random.rand(), torch.rand(1).item())
    notebook_setup(seed=7)
    assert (np.random.rand(), torch.rand(1).item()) == a
    monkeypatch.setenv("COURSE_SEED", "8")
    notebook_setup()
    assert (np.random.rand(), torch.rand(1).item()) != a
