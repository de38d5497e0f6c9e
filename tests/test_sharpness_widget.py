"""SharpnessWidget driven headless: its artists hold fit_sharpness's records, the 2/lr line follows the slider at both
ends, stop and start are heard, divergence is a status line, the static figure renders."""
import asyncio

import numpy as np
import pytest
import torch

from lecture_utils.training import data, nets, sharpness
from widgets.sharpness import SharpnessWidget


@pytest.fixture(scope="module")
def ds():
    d = data.digits(seed=0, device="cpu")
    return d.X_train[:60], torch.eye(10)[d.y_train[:60]]


def make_net():
    return nets.MLP(64, (6,), 10, activation="tanh")


def test_run_draws_the_records_of_fit_sharpness(ds):
    w = SharpnessWidget(make_net, ds, lr=0.8, num_steps=40, every=10, seed=3, live=False)
    hist = w.run()
    torch.manual_seed(3)
    ref = sharpness.run_sharpness([make_net()], ds, [0.8], 40, every=10, num_iters=20, seed=3)
    np.testing.assert_allclose(hist.sharpness, ref.sharpness, rtol=1e-6)
    np.testing.assert_allclose(hist.step_loss, ref.step_loss, rtol=1e-6)
    np.testing.assert_allclose(w.lines["loss"].get_ydata(), ref.step_loss[0], rtol=1e-6)
    np.testing.assert_allclose(w.lines["sharpness"].get_xdata(), [0, 10, 20, 30, 40])
    np.testing.assert_allclose(w.lines["sharpness"].get_ydata(), ref.sharpness[0], rtol=1e-6)
    assert w.lines["threshold"].get_ydata()[0] == pytest.approx(2 / 0.8)
    lo, hi = w.ax_sharp.get_ylim()
    assert lo == 0 and hi >= max(2 / 0.8, ref.sharpness.max())
    assert w.ax_loss.get_xlim() == (0, 40) and w.ax_loss.get_yscale() == "log"
    assert "done" in w.status_text and "step 40/40" in w.status_text
    assert not w.running and not w.controls["start"].disabled and w.controls["stop"].disabled
    assert w.to_png()[:4] == b"\x89PNG"


@pytest.mark.parametrize("end", ["min", "max"])
def test_the_threshold_line_follows_the_slider_at_its_ends(ds, end):
    w = SharpnessWidget(make_net, ds, lr=1.0, lr_range=(0.05, 5.0), num_steps=20, live=False)
    w.displayed = True   # draw every change, as on screen
    slider = w.controls["lr"]
    slider.value = 10 ** (slider.min if end == "min" else slider.max)
    lr = w.lr
    assert lr == pytest.approx(0.05 if end == "min" else 5.0)
    assert w.lines["threshold"].get_ydata()[0] == pytest.approx(2 / lr)
    assert w.ax_sharp.get_ylim()[1] >= 2 / lr
    assert f"{2 / lr:.3g}" in w.status_text and not w.error
    hist = w.run()                       # and training at that rate is a result, whatever happens
    assert hist.steps[-1] <= 20 and not w.error
    assert w.to_png()[:4] == b"\x89PNG"


def test_steps_slider_at_both_ends(ds):
    w = SharpnessWidget(make_net, ds, num_steps=20, max_steps=200, live=False)
    w.controls["steps"].value = 10
    assert w.ax_loss.get_xlim() == (0, 10)
    w.controls["steps"].value = 200
    assert w.ax_sharp.get_xlim() == (0, 200)
    hist = w.run(num_steps=10)
    assert hist.steps[-1] == 10 and w.controls["steps"].value == 10


def test_divergence_is_a_status_line_not_an_error(ds):
    w = SharpnessWidget(make_net, ds, lr=1.0, lr_range=(0.01, 1e4), num_steps=200, every=10, live=False)
    hist = w.run(lr=1e4)
    assert hist.diverged[0] and "diverged at step" in w.status_text and not w.error
    assert hist.steps[-1] < 200


def test_start_in_an_event_loop_and_stop(ds):
    w = SharpnessWidget(make_net, ds, lr=0.5, num_steps=2000, max_steps=2000, every=5, live=False)

    async def main():
        w.start()
        assert w.task is not None
        for _ in range(100_000):
            await asyncio.sleep(0)
            if w.history is not None and w.history.steps[-1] >= 10:
                break
        assert w.running
        w.controls["stop"].click()
        await w.task

    asyncio.run(main())
    assert not w.running and "stopped" in w.status_text and 10 <= w.history.steps[-1] < 2000


def test_start_without_an_event_loop_runs_synchronously(ds):
    w = SharpnessWidget(make_net, ds, num_steps=10, live=False)
    w.controls["start"].click()
    assert w.history is not None and w.history.steps[-1] == 10 and not w.running


def test_same_seed_same_run_and_close(ds):
    w = SharpnessWidget(make_net, ds, lr=0.3, num_steps=20, seed=1, live=False)
    a = w.run().step_loss.copy()
    b = w.run().step_loss
    np.testing.assert_array_equal(a, b)          # every run starts from the same initial weights
    w.close()
    assert w.closed and w.history is None


@pytest.mark.parametrize("kwargs, exc", [
    ({"make_net": 3}, TypeError),
    ({"lr": 0.0}, ValueError),
    ({"lr": 100.0}, ValueError),
    ({"lr_range": (1.0, 0.5)}, ValueError),
    ({"num_steps": 5}, ValueError),
    ({"every": 0}, ValueError),
])
def test_bad_arguments_are_refused(ds, kwargs, exc):
    args = {"make_net": make_net, "data": ds, "live": False}
    args.update(kwargs)
    with pytest.raises(exc):
        SharpnessWidget(**args)
