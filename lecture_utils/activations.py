"""Activation functions and their derivatives written through the activation itself:
``sigma' = sigma (1 - sigma)``, ``tanh' = 1 - tanh^2``, ``relu' = step`` (lecture 01; checked against autograd).

Example::

    >>> from lecture_utils import activations
    >>> activations.activation_derivative("sigmoid", 0.0)
    0.25
    >>> activations.activation_derivative("relu", [-1.0, 2.0])
    array([0., 1.])
"""
from __future__ import annotations

import numpy as np

from ._validate import check_array, check_choice, scalar_or_array

__all__ = ["sigmoid", "tanh", "relu", "activation", "activation_derivative", "ACTIVATIONS"]


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + e^{-x})``, without overflow for large ``|x|``."""
    x = check_array("x", x)
    return scalar_or_array(np.exp(-np.logaddexp(0.0, -x)))


def tanh(x):
    """Hyperbolic tangent."""
    return scalar_or_array(np.tanh(check_array("x", x)))


def relu(x):
    """``max(x, 0)``."""
    return scalar_or_array(np.maximum(check_array("x", x), 0.0))


ACTIVATIONS = ("sigmoid", "tanh", "relu")


def activation(name: str, x):
    """The activation ``name`` (one of :data:`ACTIVATIONS`) at ``x``."""
    check_choice("name", name, ACTIVATIONS)
    return {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}[name](x)


def activation_derivative(name: str, x):
    """Derivative of an activation computed from its own output (lecture 01).

    ``sigmoid' = s (1 - s)``, ``tanh' = 1 - t^2``, ``relu' = step(x)`` (1 if ``x > 0`` else 0, as torch uses at 0).
    Example: ``activation_derivative("sigmoid", 0.0)  # 0.25``
    """
    check_choice("name", name, ACTIVATIONS)
    y = np.asarray(activation(name, x), dtype=float)
    if name == "sigmoid":
        return scalar_or_array(y * (1.0 - y))
    if name == "tanh":
        return scalar_or_array(1.0 - y ** 2)
    return scalar_or_array((y > 0).astype(float))  # relu(x) > 0 exactly when x > 0
