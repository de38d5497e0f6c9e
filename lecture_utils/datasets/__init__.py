"""Small real data sets that ship inside the package (nothing is downloaded at run time).

The handwritten digits (:func:`load_digits`, numpy arrays; see ``datasets/README.md`` for the source and licence)
are the data of lecture 04 (minibatch SGD on softmax regression) and, as torch tensors through
:func:`lecture_utils.training.data.digits`, of the small nets of lectures 07 and 08.

Example::

    >>> from lecture_utils.datasets import load_digits
    >>> X_train, y_train, X_test, y_test = load_digits(split=0.25, seed=0)
    >>> X_train.shape, X_test.shape               # 8 x 8 pixels flattened to 64 features in [0, 1]
    ((1347, 64), (450, 64))
    >>> sorted(set(y_train.tolist()))
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
"""
from __future__ import annotations

from importlib import resources

import numpy as np

from .._validate import check_int, check_real

__all__ = ["load_digits"]


def load_digits(split: float | None = 0.25, seed: int = 0, *, flatten: bool = True, scale: bool = True):
    """The UCI handwritten digits: 1,797 images of 8 x 8 pixels, labels 0..9 (see datasets/README.md).

    Args:
        split: fraction held out as a test set, drawn with a stratified shuffle; ``None`` returns all data.
        seed: seed of the shuffle.
        flatten: images as rows of 64 features (``True``) or ``(N, 8, 8)`` arrays.
        scale: pixels divided by 16 into ``[0, 1]`` (``True``) or raw 0..16.
    Returns:
        ``(X_train, y_train, X_test, y_test)`` as float64 / int64 numpy arrays, or ``(X, y)`` if ``split`` is None.
    Example: ``X, y, Xt, yt = load_digits()``
    """
    split = check_real("split", split, low=0.0, high=1.0, low_open=True, high_open=True, allow_none=True)
    seed = check_int("seed", seed, low=0)
    with resources.files(__name__).joinpath("digits.npz").open("rb") as fh:
        data = np.load(fh)
        images, labels = data["images"].astype(np.float64), data["labels"].astype(np.int64)
    if scale:
        images /= 16.0
    X = images.reshape(len(images), -1) if flatten else images
    if split is None:
        return X, labels
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):  # stratified: every class in the same proportion in both parts
        idx = rng.permutation(np.flatnonzero(labels == c))
        test[idx[: int(round(split * len(idx)))]] = True
    train_idx = rng.permutation(np.flatnonzero(~test))
    test_idx = rng.permutation(np.flatnonzero(test))
    return X[train_idx], labels[train_idx], X[test_idx], labels[test_idx]
