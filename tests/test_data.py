"""Data sets: shapes, dtypes, devices, determinism, and the geometry each generator promises."""
import numpy as np
import pytest
import torch

from lecture_utils.datasets import load_digits
from lecture_utils.training import data


def test_digits_wraps_load_digits_exactly():
    ds = data.digits(split=0.25, seed=3, device="cpu")
    X, y, Xt, yt = load_digits(split=0.25, seed=3)
    assert (len(ds.X_train), len(ds.X_test)) == (1347, 450)
    assert ds.X_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    np.testing.assert_allclose(ds.X_train.numpy(), X, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(ds.y_test.numpy(), yt)
    assert ds.in_dim == 64 and ds.out_dim == 10 and ds.num_classes == 10 and ds.task == "classification"


def test_digits_image_layout_and_unpacking():
    flat = data.digits(device="cpu")
    img = data.digits(device="cpu", image=True)
    assert img.X_train.shape == (1347, 1, 8, 8)
    torch.testing.assert_close(img.X_train.reshape(1347, 64), flat.X_train)
    X, y, Xt, yt = flat
    assert X is flat.X_train and yt is flat.y_test


def test_digits_standardized_uses_training_statistics():
    raw = data.digits(device="numpy")
    std = data.digits(device="numpy", standardize_inputs=True)
    mean, sd = raw.X_train.mean(0), raw.X_train.std(0)
    varying = sd > 1e-8
    np.testing.assert_allclose(std.X_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(std.X_train.std(0)[varying], 1, rtol=1e-4)
    expected_test = (raw.X_test[:, varying] - mean[varying]) / sd[varying]
    np.testing.assert_allclose(std.X_test[:, varying], expected_test, rtol=1e-4, atol=1e-5)
    # constant pixels are only centred, never divided by zero
    assert np.isfinite(std.X_test).all() and (~varying).any()


def test_standardize_on_tensors_matches_numpy():
    ds = data.moons(n=200, seed=1, device="cpu")
    ref = data.standardize(ds.to("numpy"))
    got = data.standardize(ds)
    np.testing.assert_allclose(got.X_test.numpy(), ref.X_test, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [data.regression, data.moons, data.spirals, data.blobs])
def test_generators_are_deterministic_and_seed_sensitive(make):
    a, b, c = make(seed=5, device="cpu"), make(seed=5, device="cpu"), make(seed=6, device="cpu")
    torch.testing.assert_close(a.X_train, b.X_train)
    torch.testing.assert_close(a.y_test, b.y_test)
    assert not torch.equal(a.X_train, c.X_train)
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    torch.testing.assert_close(make(seed=g1, device="cpu").X_test, make(seed=g2, device="cpu").X_test)


@pytest.mark.parametrize("make", [data.regression, data.moons, data.spirals, data.blobs])
def test_split_sizes_and_numpy_output(make):
    ds = make(n=100, test_size=0.2, device="numpy")
    assert isinstance(ds.X_train, np.ndarray) and ds.X_train.dtype == np.float32
    assert len(ds.X_train) == 80 and len(ds.X_test) == 20
    assert ds.device is None and ds.to("cpu").X_train.device.type == "cpu"


def test_regression_targets_without_noise():
    ds = data.regression(n=50, noise=0.0, dim=3, seed=2, device="numpy")
    expected = np.sin(3 * ds.X_train[:, 0]) + 0.5 * ds.X_train[:, 1:].mean(1)
    np.testing.assert_allclose(ds.y_train[:, 0], expected, rtol=1e-5, atol=1e-6)
    assert ds.task == "regression" and ds.out_dim == 1 and ds.y_train.shape == (38, 1)


def test_moons_lie_on_their_half_circles_without_noise():
    ds = data.moons(n=200, noise=0.0, seed=0, device="numpy")
    X, y = np.concatenate([ds.X_train, ds.X_test]), np.concatenate([ds.y_train, ds.y_test])
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1), 1.0, rtol=1e-5)
    assert (X[y == 0, 1] >= -1e-6).all() and (X[y == 1, 1] <= 0.5 + 1e-6).all()
    assert (y == 0).sum() == 100


def test_spirals_follow_their_arms_without_noise():
    K = 4
    ds = data.spirals(n=400, num_classes=K, noise=0.0, turns=0.4, seed=0, device="numpy")
    X, y = ds.X_train.astype(float), ds.y_train
    r = np.linalg.norm(X, axis=1)
    angle = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * 0.4 * r + 2 * np.pi * y / K
    diff = np.angle(np.exp(1j * (angle - expected)))  # wrap to (-pi, pi]
    np.testing.assert_allclose(diff, 0, atol=1e-4)
    assert set(np.unique(y)) == set(range(K))


def _margin_by_projection(x, c, means):
    """Reference: distance to each bisecting hyperplane via the normal vector, signed, minimum over classes."""
    best = np.inf
    for k in range(len(means)):
        if k == c:
            continue
        normal = (means[k] - means[c]) / np.linalg.norm(means[k] - means[c])
        midpoint = (means[k] + means[c]) / 2
        best = min(best, float(np.dot(midpoint - x, normal)))
    return best


def test_blob_difficulty_is_minus_distance_to_bayes_boundary():
    ds, difficulty = data.blobs(n=300, num_classes=4, dim=3, std=1.5, seed=4, return_difficulty=True,
                                device="numpy")
    means = ds.info["means"]
    assert means.shape == (4, 3) and difficulty is ds.difficulty_train
    for i in range(0, len(ds.X_train), 7):
        ref = _margin_by_projection(ds.X_train[i].astype(float), ds.y_train[i], means)
        assert difficulty[i] == pytest.approx(-ref, rel=1e-4, abs=1e-4)
    # positive difficulty <=> the nearest-mean (Bayes) rule misclassifies the point
    nearest = np.argmin(((ds.X_test[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(ds.difficulty_test > 0, nearest != ds.y_test)
    assert 0 < (difficulty > 0).mean() < 0.5


def test_blob_difficulty_grows_with_overlap():
    easy = data.blobs(n=600, std=0.5, seed=1, device="numpy")
    hard = data.blobs(n=600, std=2.0, seed=1, device="numpy")
    assert np.median(hard.difficulty_train) > np.median(easy.difficulty_train)


def test_subset_keeps_alignment():
    ds = data.blobs(n=200, seed=0, device="cpu")
    sub = ds.subset(10, 5)
    assert len(sub.X_train) == 10 and len(sub.difficulty_train) == 10 and len(sub.y_test) == 5
    torch.testing.assert_close(sub.X_train, ds.X_train[:10])


@pytest.mark.parametrize("call, exc", [
    (lambda: data.moons(n=-3), ValueError),
    (lambda: data.moons(seed="a"), TypeError),
    (lambda: data.moons(test_size=1.5), ValueError),
    (lambda: data.spirals(num_classes=1), ValueError),
    (lambda: data.blobs(std=0), ValueError),
    (lambda: data.blobs(return_difficulty="yes"), TypeError),
    (lambda: data.digits(split=0), ValueError),
    (lambda: data.moons(device=3), TypeError),
    (lambda: data.standardize((1, 2)), TypeError),
])
def test_bad_arguments_are_rejected(call, exc):
    with pytest.raises(exc):
        call()
