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
