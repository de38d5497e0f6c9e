"""TrainingDashboard driven headless: what its artists and status hold after runs, stops and failures."""
import asyncio

import numpy as np
import pytest
import torch

from lecture_utils import optim, set_seed
from lecture_utils.training import data, nets, train
from widgets.dashboard import TrainingDashboard


@pytest.fixture(scope="module")
def ds():
    return data.blobs(n=200, num_classes=3, dim=4, std=1.0, seed=0, device="cpu")


def configs():
    return {
        "plain": lambda: (nets.MLP(4, hidden=(16, 16), out_dim=3), optim.SGD(lr=0.1)),
        "batch norm": lambda: (nets.MLP(4, hidden=(16, 16), out_dim=3, batch_norm=True), optim.SGD(lr=0.1)),
    }


def test_run_draws_every_record_of_every_configuration(ds):
    dash = TrainingDashboard(configs(), ds, epochs=3, batch_size=32, seed=1, live=False)
    hist = dash.run()
    assert set(hist) == {"plain", "batch norm"}
    for label, h in hist.items():
        assert len(h) == 4 and h.last["epoch"] == 3.0
        tr, te, acc = dash.lines[label]
        np.testing.assert_allclose(tr.get_xdata(), h["epoch"])
        np.testing.assert_allclose(tr.get_ydata(), h["train_loss"])
        np.testing.assert_allclose(te.get_ydata(), h["test_loss"])
        np.testing.assert_allclose(acc.get_ydata(), h["test_acc"])
    assert dash.ax_loss.get_xlim() == (0, 3) and dash.ax_loss.get_yscale() == "log"
    lo, hi = dash.ax_loss.get_ylim()
    all_losses = np.concatenate([np.r_[h["train_loss"], h["test_loss"]] for h in hist.values()])
    assert lo < all_losses.min() and hi > all_losses.max()
    text = dash.status_text
    assert "device: cpu" in text and "done" in text and "plain: epoch 3.0/3" in text and "test acc" in text
    assert not dash.running and not dash.controls["start"].disabled and dash.controls["stop"].disabled
    assert dash.to_png()[:4] == b"\x89PNG"


def test_same_seed_gives_same_start_and_matches_fit(ds):
    dash = TrainingDashboard(configs(), ds, epochs=2, batch_size=32, seed=4, live=False)
    hist = dash.run()
    set_seed(4)
    net = nets.MLP(4, hidden=(16, 16), out_dim=3)
    ref = train.run(net, ds, optim.SGD(lr=0.1), epochs=2, batch_size=32, seed=4, progress=False)
    np.testing.assert_allclose(hist["plain"]["train_loss"], ref["train_loss"], rtol=1e-6)
    # both configurations start from the same weights of the shared layers: equal step-0 loss without BN effects
    assert hist["plain"]["test_loss"][0] == pytest.approx(ref["test_loss"][0])


def test_epochs_slider_and_argument(ds):
    dash = TrainingDashboard(configs(), ds, epochs=2, batch_size=64, live=False)
    dash.controls["epochs"].value = 4
    assert dash.ax_acc.get_xlim() == (0, 4)
    hist = dash.run(epochs=1)
    assert dash.controls["epochs"].value == 1 and all(h.last["epoch"] == 1.0 for h in hist.values())


def test_stop_from_a_callback_ends_the_run_early(ds):
    holder = {}

    def stopper(net, step, loss):
        if step == 3:
            holder["dash"].stop()

    cfg = {"plain": lambda: (nets.MLP(4, hidden=(8,), out_dim=3), optim.SGD(lr=0.1), {"callback": stopper})}
    dash = TrainingDashboard(cfg, ds, epochs=20, batch_size=16, eval_every=2, live=False)
    holder["dash"] = dash
    hist = dash.run()
    assert hist["plain"].last["step"] <= 4 and "stopped" in dash.status_text
    assert not dash.running


def test_start_in_an_event_loop_yields_and_stop_is_heard(ds):
    dash = TrainingDashboard(configs(), ds, epochs=30, batch_size=16, live=False)

    async def main():
        dash.start()
        assert dash.task is not None and dash.running is False  # scheduled, not yet started
        for _ in range(100_000):  # hand control to the loop until a first epoch is drawn
            await asyncio.sleep(0)
            if any(len(h) and h.last["epoch"] >= 1 for h in dash.history.values()):
                break
        assert dash.running  # the training runs in the loop, between our awaits
        dash.controls["stop"].click()
        await dash.task

    asyncio.run(main())
    assert not dash.running and "stopped" in dash.status_text
    assert 0 < max(h.last["epoch"] for h in dash.history.values()) < 30


def test_start_without_event_loop_runs_synchronously(ds):
    dash = TrainingDashboard(configs(), ds, epochs=1, batch_size=64, live=False)
    dash.controls["start"].click()
    assert all(h.last["epoch"] == 1.0 for h in dash.history.values()) and not dash.running


def test_divergence_is_reported_not_raised():
    reg = data.regression(n=80, seed=0, device="cpu")
    cfg = {"too fast": lambda: (nets.MLP(1, hidden=(16,), out_dim=1), optim.SGD(lr=50.0)),
           "fine": lambda: (nets.MLP(1, hidden=(16,), out_dim=1), optim.SGD(lr=0.05))}
    dash = TrainingDashboard(cfg, reg, epochs=30, batch_size=8, live=False)
    hist = dash.run()
    assert hist["too fast"].diverged and not hist["fine"].diverged
    assert "too fast: " in dash.status_text and "diverged at step" in dash.status_text
    assert hist["fine"].last["epoch"] == 30.0


def test_a_broken_factory_is_shown_by_the_button_and_raised_by_run(ds):
    dash = TrainingDashboard({"bad": lambda: nets.MLP(4, hidden=(8,), out_dim=3)}, ds, live=False)
    dash.controls["start"].click()
    assert "must return (net, opt)" in dash.error
    with pytest.raises(TypeError):
        dash.run()
    assert not dash.running and not dash.controls["start"].disabled


def test_gpu_free_device_argument(ds):
    dash = TrainingDashboard(configs(), ds, epochs=1, device=torch.device("cpu"), live=False)
    assert "device: cpu" in dash.status_text


@pytest.mark.parametrize("kwargs, exc", [
    ({"configs": {}}, TypeError),
    ({"configs": {"a": 3}}, TypeError),
    ({"epochs": 0}, ValueError),
    ({"batch_size": "64"}, TypeError),
    ({"eval_every": 0}, ValueError),
])
def test_bad_arguments_are_rejected(ds, kwargs, exc):
    args = {"configs": configs(), "data": ds, "live": False}
    args.update(kwargs)
    with pytest.raises(exc):
        TrainingDashboard(**args)


def test_live_canvas_waits_for_its_front_end(ds):
    """ipympl's front end is not ready while the displaying cell still runs: no draw then, a full one after."""
    dash = TrainingDashboard(configs(), ds, epochs=1, live=False)
    draws = []
    dash.fig.canvas.mpl_connect("draw_event", lambda event: draws.append(1))
    dash.live, dash.displayed = True, True          # what show() under the ipympl backend leaves behind
    dash.fig.canvas.syncing_data_url = True          # ipympl: the front end has not sent 'initialized' yet
    dash.run()
    assert not draws and dash.stale and len(dash.history["plain"]) == 2
    dash.fig.canvas.syncing_data_url = False         # the front end is ready
    dash.redraw(full=True)
    assert draws and not dash.stale
