import os

import matplotlib

# Headless tests: never open a window, whatever the user's matplotlibrc says.
matplotlib.use("Agg", force=True)
os.environ.setdefault("LECTURE_DEVICE", "cpu")


import pytest  # noqa: E402
import torch  # noqa: E402

# Two CPU cores on the course machines: one intra-op thread avoids oversubscription when
# pytest, the browser and JupyterLab share them (small tensors gain nothing from threads).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _default_dtype_is_restored():
    """A test that changes torch's default dtype must not leak it into the next module."""
    previous = torch.get_default_dtype()
    yield
    leaked = torch.get_default_dtype()
    if leaked != previous:
        torch.set_default_dtype(previous)
        pytest.fail(f"the test left torch's default dtype at {leaked} (was {previous})")


@pytest.fixture
def float64_default():
    """torch's default dtype is float64 during the test (modules opt in with ``pytestmark``), then restored."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)
