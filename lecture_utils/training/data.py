"""Small data sets as tensors on the training device: synthetic ones and the UCI digits, no download.

Used by the small nets of lectures 07 (digits) and 08 (digits, and blobs for curricula); lecture 04's numpy
loops take the same digits from :func:`lecture_utils.datasets.load_digits`. Every generator takes a
``seed`` (an int or a ``numpy.random.Generator``), draws with numpy (so the numbers are the same on every
device), splits into train and test parts and returns a :class:`Dataset` of float32 inputs and int64 labels
(float32 targets for regression) on ``device``. Pass ``device="numpy"`` to get numpy arrays instead.

Example::

    >>> from lecture_utils.training import data
    >>> ds = data.digits()                        # 1,347 train / 450 test images of 8 x 8 pixels, 64 features
    >>> X, y, X_test, y_test = ds                 # a Dataset unpacks like a 4-tuple
    >>> tuple(X.shape), X.dtype, y.dtype, ds.num_classes
    ((1347, 64), torch.float32, torch.int64, 10)
    >>> blobs = data.blobs(n=600, device="numpy")  # numpy arrays, and a difficulty per example
    >>> blobs.X_train.shape, blobs.difficulty_train.shape
    ((450, 2), (450,))
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

from .._validate import check_int, check_real

__all__ = ["Dataset", "digits", "regression", "moons", "spirals", "blobs", "blob_margin", "standardize", "as_tensors"]


@dataclass
class Dataset:
    """A train/test split held in memory (torch tensors on one device, or numpy arrays).

    Attributes:
        X_train: inputs, shape ``(n_train, *feature_shape)``, float32.
        y_train: labels ``(n_train,)`` int64 for classification, targets ``(n_train, out_dim)`` float32 for
            regression.
        X_test, y_test: the held-out part, same layout.
        task: ``"classification"`` or ``"regression"``.
        num_classes: number of classes (``None`` for regression).
        name: short description used in titles, e.g. ``"digits"``.
        difficulty_train, difficulty_test: per-example difficulty (``(n,)`` float32) where the generator
            defines one (:func:`blobs`), else ``None``.
        info: generator-specific extras as numpy arrays, e.g. ``info["means"]`` for :func:`blobs`.

    A Dataset unpacks like ``(X_train, y_train, X_test, y_test)``. Example: ``X, y, Xt, yt = data.moons()``
    """

    X_train: object
    y_train: object
    X_test: object
    y_test: object
    task: str = "classification"
    num_classes: int | None = None
    name: str = ""
    difficulty_train: object = None
    difficulty_test: object = None
    info: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

    def __len__(self):
        return 4

    def __repr__(self):
        shape = tuple(self.X_train.shape[1:])
        dev = "numpy" if isinstance(self.X_train, np.ndarray) else self.X_train.device
        return (f"Dataset({self.name!r}, {self.task}, train={len(self.X_train)}, test={len(self.X_test)}, "
                f"features={shape}, classes={self.num_classes}, device={dev})")

    @property
    def in_dim(self) -> int:
        """Number of input features (product of the feature shape)."""
        return int(np.prod(self.X_train.shape[1:]))

    @property
    def out_dim(self) -> int:
        """Width of the net's output: the number of classes, or the number of regression targets."""
        if self.task == "classification":
            return int(self.num_classes)
        return int(self.y_train.shape[1]) if self.y_train.ndim > 1 else 1

    @property
    def device(self):
        """The torch device of the tensors (``None`` for numpy data)."""
        return None if isinstance(self.X_train, np.ndarray) else self.X_train.device

    def to(self, device) -> "Dataset":
        """The same data on ``device`` (a torch device or name, or ``"numpy"``); a no-op when already there."""
        return _convert(self, device)

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "Dataset":
        """The first ``n_train`` training and ``n_test`` test examples (the splits are already shuffled)."""
        n_train = check_int("n_train", n_train, low=1, allow_none=True)
        n_test = check_int("n_test", n_test, low=1, allow_none=True)
        cut = lambda a, n: a if a is None or n is None else a[:n]  # noqa: E731
        return replace(self, X_train=cut(self.X_train, n_train), y_train=cut(self.y_train, n_train),
                       difficulty_train=cut(self.difficulty_train, n_train), X_test=cut(self.X_test, n_test),
                       y_test=cut(self.y_test, n_test), difficulty_test=cut(self.difficulty_test, n_test))


# ---------------------------------------------------------------------------------------------------------
# Conversion helpers
# ---------------------------------------------------------------------------------------------------------
def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, low=0))


def _resolve_device(device):
    if isinstance(device, str) and device == "numpy":
        return "numpy"
    import torch

    from ..device import get_device

    if device is None or isinstance(device, (str, torch.device)):
        return get_device(device, name="device")  # an unknown or unavailable device is a ValueError naming the available ones
    raise TypeError(f"device must be None, 'numpy', a device name like 'cpu' or a torch.device; got {device!r}")


def _convert(ds: Dataset, device) -> Dataset:
    device = _resolve_device(device)
    out = {}
    for f in fields(ds):
        value = getattr(ds, f.name)
        if f.name.startswith(("X_", "y_", "difficulty_")) and value is not None:
            value = as_tensors(value, device=device)
        out[f.name] = value
    return Dataset(**out)


def as_tensors(*arrays, device=None):
    """Move numpy arrays or tensors to ``device``: floats as float32, integers as int64.

    Args:
        *arrays: numpy arrays or torch tensors.
        device: torch device or name; ``None`` = :func:`lecture_utils.get_device`; ``"numpy"`` = numpy arrays.
    Returns:
        One converted array if one was given, else a tuple. Example: ``X, y = as_tensors(X, y, device="cpu")``
    """
    device = _resolve_device(device)
    out = []
    for a in arrays:
        if device == "numpy":
            a = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
            a = a.astype(np.int64 if np.issubdtype(a.dtype, np.integer) else np.float32, copy=False)
        else:
            import torch

            t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
            dtype = torch.int64 if not (t.is_floating_point() or t.is_complex()) and t.dtype != torch.bool \
                else torch.float32
            a = t.to(device=device, dtype=dtype)
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


def _split(X, y, test_size, rng, *, task, num_classes, name, device, difficulty=None, info=None) -> Dataset:
    n = len(X)
    n_test = int(round(test_size * n))
    if n_test < 1 or n - n_test < 1:
        raise ValueError(f"test_size={test_size} leaves an empty train or test part for n={n}")
    perm = rng.permutation(n)
    te, tr = perm[:n_test], perm[n_test:]
    ds = Dataset(X[tr], y[tr], X[te], y[te], task=task, num_classes=num_classes, name=name,
                 difficulty_train=None if difficulty is None else difficulty[tr],
                 difficulty_test=None if difficulty is None else difficulty[te], info=dict(info or {}))
    return _convert(ds, device)


#: The most examples a synthetic data set may have: the course's nets train on a few thousand.
MAX_EXAMPLES = 10_000_000


def _common(n, test_size, noise):
    n = check_int("n", n, low=4, high=MAX_EXAMPLES)
    test_size = check_real("test_size", test_size, low=0.0, high=1.0, low_open=True, high_open=True)
    noise = check_real("noise", noise, low=0.0, high=1e6)
    return n, test_size, noise


# ---------------------------------------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------------------------------------
def digits(split: float = 0.25, seed: int = 0, *, device=None, image: bool = False,
           standardize_inputs: bool = False) -> Dataset:
    """The UCI handwritten digits (1,797 images, 8 x 8 pixels, 10 classes) as a :class:`Dataset`.

    Wraps :func:`lecture_utils.datasets.load_digits` (stratified split, pixels scaled to ``[0, 1]``).

    Args:
        split: fraction held out for testing (0.25 gives 1,347 train / 450 test).
        seed: seed of the stratified shuffle.
        device: torch device (``None`` = ``get_device()``) or ``"numpy"``.
        image: inputs shaped ``(n, 1, 8, 8)`` for a CNN instead of ``(n, 64)``.
        standardize_inputs: subtract the training mean and divide by the training standard deviation per pixel
            (see :func:`standardize`).
    Returns:
        Dataset with ``X_train`` ``(n_train, 64)`` (or ``(n_train, 1, 8, 8)``) float32, ``y_train`` int64 in 0..9.
    Example: ``X, y, Xt, yt = data.digits(device="cpu")``
    """
    from ..datasets import load_digits

    X, y, Xt, yt = load_digits(split=split, seed=seed, flatten=True)
    ds = Dataset(X, y, Xt, yt, task="classification", num_classes=10, name="digits")
    if standardize_inputs:
        ds = standardize(ds)
    if image:
        ds = replace(ds, X_train=ds.X_train.reshape(-1, 1, 8, 8), X_test=ds.X_test.reshape(-1, 1, 8, 8))
    return _convert(ds, device)


def standardize(ds: Dataset, eps: float = 1e-8) -> Dataset:
    """Shift and scale every input feature to mean 0 and standard deviation 1 on the training part.

    The test part uses the training statistics (never its own). Constant features (e.g. the always-blank corner
    pixels of the digits) are only centred. Introduced in lecture 07 (input standardization and conditioning).

    Args:
        ds: a :class:`Dataset` (tensors or numpy).
        eps: standard deviations below this count as constant.
    Returns:
        A new Dataset on the same device. Example: ``ds = data.standardize(data.digits())``
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds must be a Dataset, got {type(ds).__name__}")
    eps = check_real("eps", eps, low=0.0)
    X, Xt = ds.X_train, ds.X_test
    mean = X.mean(0, keepdims=True) if isinstance(X, np.ndarray) else X.mean(0, keepdim=True)
    std = X.std(0, keepdims=True) if isinstance(X, np.ndarray) else X.std(0, correction=0, keepdim=True)
    std = std * (std > eps) + 1.0 * (std <= eps)
    return replace(ds, X_train=(X - mean) / std, X_test=(Xt - mean) / std)


def regression(n: int = 200, noise: float = 0.1, seed=0, *, test_size: float = 0.25, dim: int = 1,
               device=None) -> Dataset:
    """A smooth nonlinear regression task: ``y = sin(3 x_1) + 0.5 x_2 ... + noise`` with ``x`` in ``[-1, 1]^dim``.

    The target is ``sin(3 x_1)`` plus ``0.5 * mean(x_2 .. x_dim)`` (linear in the extra inputs), plus Gaussian
    noise of standard deviation ``noise``.

    Args:
        n: number of examples (train + test).
        noise: standard deviation of the label noise.
        seed: int or ``numpy.random.Generator``.
        test_size: fraction held out.
        dim: number of input features.
        device: torch device (``None`` = ``get_device()``) or ``"numpy"``.
    Returns:
        Dataset with ``X`` ``(n, dim)`` and ``y`` ``(n, 1)`` float32, task ``"regression"``.
    Example: ``ds = data.regression(n=100, noise=0.05)``
    """
    n, test_size, noise = _common(n, test_size, noise)
    dim = check_int("dim", dim, low=1, high=10_000)
    rng = _rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, dim))
    clean = np.sin(3 * X[:, 0]) + (0.5 * X[:, 1:].mean(1) if dim > 1 else 0.0)
    y = (clean + noise * rng.standard_normal(n))[:, None]
    return _split(X, y, test_size, rng, task="regression", num_classes=None, name="regression", device=device)


def moons(n: int = 400, noise: float = 0.15, seed=0, *, test_size: float = 0.25, device=None) -> Dataset:
    """Two interleaving half circles (two classes), as in scikit-learn's ``make_moons``.

    Args:
        n: number of examples (half per class, train + test).
        noise: standard deviation of the Gaussian noise added to each point.
        seed: int or ``numpy.random.Generator``.
        test_size: fraction held out.
        device: torch device (``None`` = ``get_device()``) or ``"numpy"``.
    Returns:
        Dataset with ``X`` ``(n, 2)`` float32 and ``y`` ``(n,)`` int64 in ``{0, 1}``.
    Example: ``ds = data.moons(n=400, noise=0.2)``
    """
    n, test_size, noise = _common(n, test_size, noise)
    rng = _rng(seed)
    n0 = n // 2
    t0 = rng.uniform(0, math.pi, n0)
    t1 = rng.uniform(0, math.pi, n - n0)
    upper = np.stack([np.cos(t0), np.sin(t0)], 1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    return _split(X, y, test_size, rng, task="classification", num_classes=2, name="moons", device=device)


def spirals(n: int = 600, num_classes: int = 3, noise: float = 0.2, seed=0, *, turns: float = 1.0,
            test_size: float = 0.25, device=None) -> Dataset:
    """Interleaved spiral arms in the plane, one per class (a task a linear model cannot solve).

    Arm ``c`` is ``r (cos(t + 2 pi c / K), sin(t + 2 pi c / K))`` with ``r`` in ``[0, 1]`` and
    ``t = 2 pi turns r``, plus Gaussian noise of standard deviation ``noise * 0.1`` on each coordinate.

    Args:
        n: number of examples (split evenly between classes, train + test).
        num_classes: number of arms ``K`` (>= 2).
        noise: noise level (0 = points exactly on the arms).
        seed: int or ``numpy.random.Generator``.
        turns: how many times each arm winds around the centre.
        test_size: fraction held out.
        device: torch device (``None`` = ``get_device()``) or ``"numpy"``.
    Returns:
        Dataset with ``X`` ``(n, 2)`` float32 in roughly ``[-1, 1]^2`` and ``y`` ``(n,)`` int64.
    Example: ``ds = data.spirals(n=600, num_classes=3)``
    """
    n, test_size, noise = _common(n, test_size, noise)
    num_classes = check_int("num_classes", num_classes, low=2, high=1000)
    turns = check_real("turns", turns, low=0.0, low_open=True)
    rng = _rng(seed)
    y = np.arange(n) % num_classes
    r = rng.uniform(0.05, 1.0, n)
    t = 2 * math.pi * turns * r + 2 * math.pi * y / num_classes
    X = r[:, None] * np.stack([np.cos(t), np.sin(t)], 1) + 0.1 * noise * rng.standard_normal((n, 2))
    return _split(X, y.astype(np.int64), test_size, rng, task="classification", num_classes=num_classes,
                  name="spirals", device=device)


def blobs(n: int = 600, num_classes: int = 3, dim: int = 2, std: float = 1.0, seed=0, *, spread: float = 2.5,
          test_size: float = 0.25, return_difficulty: bool = False, device=None):
    """Gaussian blobs, one per class, with a per-example difficulty score (for curriculum learning, lecture 08).

    Class means are drawn once from ``N(0, spread^2 I)``; each point is its class mean plus ``N(0, std^2 I)``.
    Classes are balanced, so the Bayes-optimal classifier assigns each point to the nearest true mean, and its
    decision boundary between classes ``c`` and ``k`` is the hyperplane halfway between ``mu_c`` and ``mu_k``.

    **Difficulty** of a point ``x`` with label ``c`` is minus its *margin*, the signed distance to that boundary:

        ``margin(x) = min_{k != c} (||x - mu_k||^2 - ||x - mu_c||^2) / (2 ||mu_k - mu_c||)``,
        ``difficulty = -margin``.

    A point deep inside its own class region has a large negative difficulty (easy); a point on the boundary has
    difficulty 0; a point that lies on the wrong side (the Bayes classifier gets it wrong) has positive
    difficulty. The score is in the units of ``x`` and uses the true means, not a fitted model.

    Args:
        n: number of examples (train + test, split evenly between classes).
        num_classes: number of blobs (>= 2).
        dim: input dimension.
        std: standard deviation of each blob (larger = more overlap = harder task).
        seed: int or ``numpy.random.Generator`` (draws the means, the points and the split).
        spread: standard deviation of the class means around the origin.
        test_size: fraction held out.
        return_difficulty: also return the training difficulties as a second value.
        device: torch device (``None`` = ``get_device()``) or ``"numpy"``.
    Returns:
        Dataset (``X`` ``(n, dim)`` float32, ``y`` ``(n,)`` int64, with ``difficulty_train`` ``(n_train,)``,
        ``difficulty_test`` and ``info["means"]`` ``(num_classes, dim)`` always filled), or
        ``(Dataset, difficulty_train)`` if ``return_difficulty``.
    Example: ``ds, difficulty = data.blobs(n=600, std=1.5, return_difficulty=True); easy_first = difficulty.argsort()``
    """
    n, test_size, _ = _common(n, test_size, 0.0)
    num_classes = check_int("num_classes", num_classes, low=2, high=1000)
    dim = check_int("dim", dim, low=1, high=10_000)
    std = check_real("std", std, low=0.0, low_open=True, high=1e6)
    spread = check_real("spread", spread, low=0.0, low_open=True)
    if not isinstance(return_difficulty, bool):
        raise TypeError(f"return_difficulty must be True or False, got {return_difficulty!r}")
    rng = _rng(seed)
    means = spread * rng.standard_normal((num_classes, dim))
    y = np.arange(n) % num_classes
    X = means[y] + std * rng.standard_normal((n, dim))
    difficulty = -blob_margin(X, y, means)
    ds = _split(X, y.astype(np.int64), test_size, rng, task="classification", num_classes=num_classes,
                name="blobs", device=device, difficulty=difficulty, info={"means": means})
    return (ds, ds.difficulty_train) if return_difficulty else ds


def blob_margin(X, y, means) -> np.ndarray:
    """Signed distance of each point to the Bayes boundary of its class (nearest-mean rule); see :func:`blobs`.

    Args:
        X: points ``(n, dim)``; y: labels ``(n,)``; means: class means ``(K, dim)``.
    Returns:
        ``(n,)`` margins: positive = correct side. Example: ``blob_margin(X, y, means)``
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    means = np.asarray(means, dtype=float)
    sq = ((X[:, None, :] - means[None, :, :]) ** 2).sum(-1)  # (n, K)
    own = sq[np.arange(len(X)), y]
    gap = np.linalg.norm(means[None, :, :] - means[y][:, None, :], axis=-1)  # (n, K): ||mu_k - mu_c||
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (sq - own[:, None]) / (2 * gap)
    m[np.arange(len(X)), y] = np.inf
    return m.min(1)

