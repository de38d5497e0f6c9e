"""BatchScalingWidget driven headless: what its artists and status hold after every control move, at the ends of
every control, with a reference sweep and without, and that it agrees with steps_to_target itself."""
import numpy as np
import pytest
import torch

from lecture_utils.training import data, nets, noise_scale as NS
from widgets.batch_scaling import BatchScalingWidget


@pytest.fixture(scope="module")
def ds():
    return data.blobs(n=400, num_classes=3, dim=4, std=1.5, seed=0, device="cpu")


def make(seed):
    torch.manual_seed(seed)
    return nets.MLP(4, (16,), 3)


REF = (np.array([8, 16, 32, 64]), np.array([200.0, 110.0, 70.0, 60.0]))


def widget(ds, **kw):
    args = dict(make_net=make, target=0.4, seeds=(0, 1), batch_size=16, lr=0.3, batch_sizes=(4, 8, 16, 32, 64, 128),
                max_steps=600, live=False)
    args.update(kw)
    return BatchScalingWidget(ds, **args)


def test_the_artists_hold_the_run_of_the_current_setting(ds):
    w = widget(ds, reference=REF, fit=NS.fit_critical_batch(*REF))
    r = w.result
    ref = NS.steps_to_target(make, ds, 16, [0.3], [0, 1], 0.4, max_steps=600, patience=w.patience)
    np.testing.assert_array_equal(r.steps, ref.steps)
    np.testing.assert_allclose(r.losses, ref.losses)
    for k, line in enumerate(w.lines["seeds"]):
        np.testing.assert_allclose(line.get_xdata(), r.record_steps * 16)
        np.testing.assert_allclose(line.get_ydata(), r.losses[:, 0, k])
    hit = np.isfinite(r.steps[0])
    assert hit.all()
    np.testing.assert_allclose(w.lines["points"].get_xdata(), r.steps[0] * 16)
    np.testing.assert_allclose(w.lines["points"].get_ydata(), r.steps[0])
    med = np.median(r.steps[0])
    assert list(w.lines["point"].get_ydata()) == [med] and list(w.lines["point"].get_xdata()) == [med * 16]
    assert np.all(w.lines["reached"].get_ydata() <= 0.4)
    assert w.lines["target"].get_ydata()[0] == 0.4
    text = w.status_text
    assert "batch size 16" in text and "reached in 2 of 2 seeds" in text and f"median {med:,.0f} steps" in text
    np.testing.assert_allclose(w.lines["reference"].get_ydata(), REF[1])
    np.testing.assert_allclose(w.lines["reference"].get_xdata(), REF[0] * REF[1])
    assert w.to_png()[:4] == b"\x89PNG"


def test_each_control_move_recomputes_once_and_draws(ds):
    w = widget(ds)
    calls = []
    original = NS.steps_to_target

    def counting(*a, **k):
        calls.append((a[2], a[3], k.get("lr_schedule")))
        return original(*a, **k)

    NS.steps_to_target = counting
    try:
        w.controls["batch_size"].value = 64
        w.controls["lr"].value = 0.6
        w.controls["warmup"].value = 20
        w.run(batch_size=8, lr=0.2, warmup=0)   # three controls, one run
    finally:
        NS.steps_to_target = original
    assert [c[0] for c in calls] == [64, 64, 64, 8]
    assert calls[2][2] is not None and calls[2][2](1.0, 0) == pytest.approx(1 / 20) and calls[3][2] is None
    assert w.result.batch_size == 8 and "batch size 8, learning rate 0.2, warmup 0 steps" in w.status_text
    assert not w.error


@pytest.mark.parametrize("controls", [
    {"batch_size": 4}, {"batch_size": 128}, {"lr": 0.01}, {"lr": 4.0}, {"warmup": 0}, {"warmup": 200},
    {"batch_size": 128, "lr": 4.0, "warmup": 200}, {"batch_size": 4, "lr": 0.01, "warmup": 200},
])
def test_every_control_at_its_ends_gives_a_result_not_an_error(ds, controls):
    w = widget(ds)
    w.run(**controls)
    assert not w.error, w.error
    assert w.result is not None and w.status_text.startswith("batch size")
    assert "reached in" in w.status_text or "none of 2 seeds" in w.status_text
    ylo, yhi = w.ax_loss.get_ylim()
    assert 0 < ylo < yhi and np.isfinite(yhi)
    assert w.to_png()[:4] == b"\x89PNG"


def test_a_rate_that_kills_the_net_is_reported_not_raised(ds):
    w = widget(ds)
    w.run(batch_size=128, lr=4.0)
    if not np.isfinite(w.result.steps).any():
        assert "none of 2 seeds" in w.status_text
        assert len(w.lines["point"].get_xdata()) == 0


def test_bad_arguments_are_refused_by_name(ds):
    with pytest.raises(ValueError, match="batch_size must be one of"):
        widget(ds, batch_size=10)
    with pytest.raises(ValueError, match="lr_range"):
        widget(ds, lr_range=(1.0, 0.5))
    with pytest.raises(ValueError, match="target"):
        widget(ds, target=0.0)
    with pytest.raises(TypeError, match="make_net"):
        widget(ds, make_net=3)
    with pytest.raises(ValueError, match="reference"):
        widget(ds, reference=([1, 2], [3.0]))
    with pytest.raises(ValueError, match="unknown control"):
        widget(ds).set(momentum=0.9)


def test_the_default_net_and_close(ds):
    w = BatchScalingWidget(ds, target=0.5, seeds=(0,), batch_size=32, lr=0.3, batch_sizes=(16, 32), max_steps=200,
                           live=False)
    assert w.result.steps.shape == (1, 1)
    w.close()
    assert w.closed and w.result is None
