"""Argument checks shared by every public function: each raises a clear error naming the argument.

Internal to the package (no lecture imports it directly), but it is why a student who passes a wrong value to
any function of any lecture reads which argument was wrong, what it got and what is allowed, instead of a numpy
traceback: ``check_real`` / ``check_int`` / ``check_choice`` for hyperparameters, ``check_array`` /
``as_float_array`` / ``as_points`` for data and start points, ``as_generator`` for seeds.

Example::

    >>> from lecture_utils._validate import as_points, check_real
    >>> as_points([1.0, 2.0], dim=2).shape         # one point becomes a batch of one
    (1, 2)
    >>> check_real("lr", -0.1, low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: lr must be > 0.0, got -0.1
"""
from __future__ import annotations

import math
import numbers

import numpy as np


def check_real(name: str, value, *, low=None, high=None, low_open=False, high_open=False, allow_none=False):
    """Return ``value`` as a float after checking it is a finite real number inside the given range.

    Raises ``TypeError`` for a non-number and ``ValueError`` for NaN, infinity or a value out of range;
    both messages name the argument and the allowed values.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}{_range(low, high, low_open, high_open)}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}{_range(low, high, low_open, high_open)}, got {value}")
    return value


def _range(low, high, low_open, high_open):
    if low is None or high is None:
        return ""
    return f" (allowed: {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'})"


def check_int(name: str, value, *, low=None, high=None, allow_none=False):
    """Return ``value`` as an int after checking it is an integer inside ``[low, high]``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_choice(name: str, value, choices):
    """Check that ``value`` is one of ``choices`` (compared with ==)."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_array(name: str, value, *, ndim=None, allow_nan=False):
    """Return ``value`` as a float64 array; ``TypeError`` if it holds no numbers, ``ValueError`` for NaN."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from exc
    if ndim is not None and arr.ndim not in (ndim if isinstance(ndim, tuple) else (ndim,)):
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    return arr


def as_float_array(name: str, value) -> np.ndarray:
    """``value`` (numbers, a list, a numpy array or a torch tensor, even one that requires grad) as a float64
    array. Complex numbers raise ``TypeError`` (their imaginary part would be dropped); so does anything else
    that is not numbers."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor: never keep its graph
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}") from exc
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real numbers, got complex values {arr.ravel()[:3].tolist()}")
    try:
        return np.array(arr, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}") from exc


def as_points(value, dim: int, name: str = "x0", *, what: str = "") -> np.ndarray:
    """``value`` as a ``(B, dim)`` float array of finite points: a ``(dim,)`` point becomes ``B = 1``, and a
    single number is one point when ``dim == 1``. ``what`` names the space in errors (a surface, say)."""
    X = as_float_array(name, value)
    where = f" for {what}" if what else ""
    if X.ndim == 0 and dim == 1:
        X = X.reshape(1, 1)
    elif X.ndim == 1 and X.shape[0] == dim:
        X = X[None, :]
    elif not (X.ndim == 2 and X.shape[1] == dim and X.shape[0] >= 1):
        raise ValueError(f"{name} must have shape ({dim},) or (B, {dim}){where}, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must be finite: it contains NaN or infinity")
    return X


def check_callable(name: str, fn):
    """Return ``fn`` after checking it can be called; ``TypeError`` naming the argument otherwise."""
    if not callable(fn):
        raise TypeError(f"{name} must be a function, got {type(fn).__name__}")
    return fn


def scalar_or_array(a):
    """A 0-d result as a Python float, anything else unchanged (functions that take a number or an array)."""
    return float(a) if np.ndim(a) == 0 else a


def as_generator(seed, name: str = "seed") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a non-negative integer seed, the Generator itself, or None (fresh
    entropy: not reproducible). scikit-learn's ``check_random_state`` idea; anything else raises
    ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(check_int(name, seed, low=0))


#: The most memory one call may allocate for its results (2 GiB): a bigger request is a typo, not a lesson.
MAX_BYTES = 2 * 1024 ** 3


def check_memory(name: str, value: int, bytes_each: int, per: str = "", *, extra: int = 0,
                 limit: int = MAX_BYTES) -> int:
    """Refuse a size argument whose results would take more than ``limit`` bytes: ``(value + extra) * bytes_each``.

    Raises ``ValueError`` naming ``name``, the memory the call would take and the largest allowed value.
    Example: ``check_memory("num_steps", 10**9, 8 * 4, "1 start point", extra=1)``
    """
    need = (int(value) + extra) * int(bytes_each)
    if need > limit:
        largest = max(limit // max(int(bytes_each), 1) - extra, 0)
        for_what = f" for {per}" if per else ""
        raise ValueError(f"{name}={value} would need {need / 1024 ** 3:.1f} GiB{for_what}; "
                         f"the largest allowed {name} is {largest:,}")
    return value
