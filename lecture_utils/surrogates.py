"""Surrogate losses against the margin ``m = y f(x)`` (labels ``y`` in ``{-1, +1}``): the 0-1 loss we care about
and the smooth or convex losses we minimize instead (lecture 01; the hinge loss trains the linear classifier of
lecture 03).

Example (margins -1, 0.5 and 2)::

    >>> from lecture_utils import surrogates
    >>> surrogates.zero_one_loss([-1.0, 0.5, 2.0])
    array([1., 0., 0.])
    >>> surrogates.hinge_loss([-1.0, 0.5, 2.0])   # max(0, 1 - m): also penalizes the small margin 0.5
    array([2. , 0.5, 0. ])
"""
from __future__ import annotations

import math
import numpy as np

from ._validate import check_array, scalar_or_array

__all__ = ["zero_one_loss", "hinge_loss", "logistic_loss", "squared_loss", "surrogate_losses"]


def zero_one_loss(margin):
    """0-1 loss: 1 when the margin ``y f(x)`` is <= 0 (wrong side or on the boundary), else 0.

    Example: ``zero_one_loss([-1.0, 0.0, 2.0])  # [1, 1, 0]``
    """
    m = check_array("margin", margin)
    return scalar_or_array((m <= 0).astype(float))


def hinge_loss(margin):
    """Hinge loss ``max(0, 1 - m)``: a convex upper bound on the 0-1 loss. Example: ``hinge_loss(0.5)  # 0.5``"""
    m = check_array("margin", margin)
    return scalar_or_array(np.maximum(0.0, 1.0 - m))


def logistic_loss(margin):
    """Logistic loss in bits, ``log2(1 + e^{-m})``: smooth, convex, equal to 1 at ``m = 0``, above the 0-1 loss.

    Computed with ``logaddexp`` so that large negative margins do not overflow.
    Example: ``logistic_loss(0.0)  # 1.0``
    """
    m = check_array("margin", margin)
    return scalar_or_array(np.logaddexp(0.0, -m) / math.log(2.0))


def squared_loss(margin):
    """Squared loss on labels ``+-1`` written in the margin: ``(y - f)^2 = (1 - m)^2`` since ``y^2 = 1``.

    Example: ``squared_loss(3.0)  # 4.0`` (it also punishes being *too* right)
    """
    m = check_array("margin", margin)
    return scalar_or_array((1.0 - m) ** 2)


def surrogate_losses(margin) -> dict:
    """The four losses of lecture 01 on the same margins.

    Returns ``{"0-1": ..., "hinge": ..., "logistic": ..., "squared": ...}``, each shaped like ``margin``.
    Example: ``surrogate_losses(np.linspace(-2, 2, 5))["hinge"]``
    """
    return {"0-1": zero_one_loss(margin), "hinge": hinge_loss(margin),
            "logistic": logistic_loss(margin), "squared": squared_loss(margin)}
