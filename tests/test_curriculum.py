"""Curriculum orders: Bengio et al.'s conditions on the weights, and what the orders feed train.fit."""
import numpy as np
import pytest
import torch

from lecture_utils.training import curriculum, data, nets, train


def test_ranks_follow_the_difficulty_order():
    d = np.array([3.0, -1.0, 0.5, 10.0, -4.0])
    r = curriculum.difficulty_ranks(d)
    np.testing.assert_allclose(r, np.array([3, 1, 2, 4, 0]) / 4)
    assert np.argsort(r).tolist() == np.argsort(d).tolist()


@pytest.mark.parametrize("kind", ["easy_to_hard", "stochastic", "hard_to_easy"])
def test_weights_satisfy_bengios_definition(kind):
    rng = np.random.default_rng(0)
    d = rng.standard_normal(200)
    lams = np.linspace(0, 1, 11)
    W = np.stack([curriculum.example_weights(d, lam, kind) for lam in lams])
    assert np.all((W >= 0) & (W <= 1))
    np.testing.assert_array_equal(W[-1], np.ones(200))  # W_1(x) = 1: the real task
    assert np.all(np.diff(W, axis=0) >= -1e-15)  # W_lambda(x) grows with lambda
    H = [curriculum.weights_entropy(w) for w in W]
    assert np.all(np.diff(H) > 0)  # the entropy of Q_lambda grows
    assert H[-1] == pytest.approx(np.log(200))


def test_easy_to_hard_pool_is_the_easiest_fraction():
    d = np.arange(100.0)[::-1]  # example 99 is the easiest
    w = curriculum.example_weights(d, 0.0, "easy_to_hard", start_fraction=0.2)
    assert set(np.flatnonzero(w)) == set(range(80, 100))
    w = curriculum.example_weights(d, 0.5, "hard_to_easy", start_fraction=0.2)
    assert set(np.flatnonzero(w)) == set(range(0, 60))


@pytest.mark.parametrize("kind", curriculum.KINDS)
def test_orders_yield_n_valid_indices_from_the_current_pool(kind):
    rng = np.random.default_rng(1)
    d = rng.standard_normal(50)
    order = curriculum.curriculum_order(d, kind, ramp_epochs=4, start_fraction=0.2)
    assert order.kind == kind
    g = torch.Generator().manual_seed(0)
    for epoch in range(6):
        idx = order(epoch, 50, g)
        assert idx.dtype == torch.int64 and idx.shape == (50,)
        w = curriculum.example_weights(d, min(epoch / 4, 1.0), kind, start_fraction=0.2)
        assert np.all(w[idx.numpy()] > 0)
        if kind in ("easy_to_hard", "hard_to_easy"):
            pool = np.flatnonzero(w)
            counts = np.bincount(idx.numpy(), minlength=50)[pool]
            assert counts.max() - counts.min() <= 1  # every pool member used evenly
        if kind == "random" or epoch >= 4:
            if kind != "stochastic":
                assert sorted(idx.tolist()) == list(range(50))


def test_stochastic_order_draws_easy_examples_more_often_early():
    d = np.linspace(-1, 1, 400)
    order = curriculum.curriculum_order(d, "stochastic", ramp_epochs=10, sharpness=5.0)
    g = torch.Generator().manual_seed(0)
    idx = torch.cat([order(0, 400, g) for _ in range(50)]).numpy()
    easy, hard = np.mean(idx < 100), np.mean(idx >= 300)
    # expected shares from the weights exp(-5 r): about 0.56 and 0.04
    w = np.exp(-5 * curriculum.difficulty_ranks(d))
    w /= w.sum()
    assert easy == pytest.approx(w[:100].sum(), abs=0.02)
    assert hard == pytest.approx(w[300:].sum(), abs=0.02)


def test_fit_trains_on_the_curriculum_order():
    ds = data.blobs(n=120, num_classes=3, std=1.0, seed=0, device="cpu")
    d = ds.difficulty_train.numpy()
    order = curriculum.curriculum_order(d, "easy_to_hard", ramp_epochs=3, start_fraction=0.25)
    seen = []

    def loss(y_hat, y, idx):
        seen.append(idx.clone())
        return torch.nn.functional.cross_entropy(y_hat, y)

    train.run(nets.MLP(2, (8,), 3), ds, "sgd", epochs=1, batch_size=30, opt_kwargs={"lr": 0.1}, order=order,
              loss=loss, seed=0, progress=False)
    used = torch.cat(seen).numpy()
    easiest = np.argsort(d)[: int(np.ceil(0.25 * len(d)))]
    assert set(used) <= set(easiest.tolist())
    assert len(used) == len(d)


def test_bad_inputs():
    with pytest.raises(ValueError, match="kind"):
        curriculum.curriculum_order(np.zeros(5), "hardest_first")
    with pytest.raises(ValueError, match="start_fraction"):
        curriculum.example_weights(np.zeros(5), 0.0, start_fraction=0.0)
    with pytest.raises(ValueError, match="lam"):
        curriculum.example_weights(np.zeros(5), 1.5)
    order = curriculum.curriculum_order(np.zeros(5))
    with pytest.raises(ValueError, match="5 training examples"):
        order(0, 6, torch.Generator())
