"""Building blocks for exercise checkers, shared by every lecture's checks (:mod:`lecture_utils.checks.lecture01`
to ``lecture09``): :class:`CheckFailed`, the error a wrong answer raises; :func:`try_call`, which turns a crash of
the student's code into a message naming the input; :func:`expect_close` / :func:`expect_true`, which compare;
:func:`match_mistake`, which recognizes a typical mistake by its value; and :func:`passed`, the confirmation.

Example::

    >>> from lecture_utils.checks._core import match_mistake
    >>> hints = {"that is the forward difference": 3.31, "you divided by h instead of 2h": 6.02}
    >>> match_mistake(3.31, hints)
    'that is the forward difference'
    >>> match_mistake(3.01, hints)                # no known mistake gives 3.01
    ''
"""
from __future__ import annotations

import numpy as np


class CheckFailed(AssertionError):
    """A student's answer is wrong; the message says what was tried, what was expected and what came back."""


def try_call(fn, *args, what: str = "your function", **kwargs):
    """Call the student's ``fn``; a crash becomes a :class:`CheckFailed` that names the input it crashed on."""
    if not callable(fn):
        raise CheckFailed(f"{what} should be a function, but got {type(fn).__name__}")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"{what} is still the TODO stub: replace `raise NotImplementedError` with your code") from None
    except Exception as exc:  # the student's code failed: report where, keep the cause attached
        shown = ", ".join([_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()])
        raise CheckFailed(f"{what} raised {type(exc).__name__}: {exc}  (called with {shown})") from exc


def expect_close(got, expected, *, what: str, inputs: str = "", rtol: float = 1e-6, atol: float = 1e-8,
                 hint: str = "") -> None:
    """Raise :class:`CheckFailed` unless ``got`` matches ``expected`` in shape and value."""
    where = f" for {inputs}" if inputs else ""
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}{where} should be a number or an array of numbers, got {type(got).__name__}") from None
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        raise CheckFailed(f"{what}{where} has shape {g.shape}, expected shape {e.shape}."
                          + (f" Hint: {hint}" if hint else ""))
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=False):
        raise CheckFailed(f"{what}{where} is wrong: expected {_short(e)}, got {_short(g)}."
                          + (f" Hint: {hint}" if hint else ""))


def expect_true(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def as_array(got, what: str, inputs: str = "") -> np.ndarray:
    """The student's answer as a float array (a torch tensor is detached first); ``CheckFailed`` naming ``what``
    and the ``inputs`` when it holds no numbers."""
    if hasattr(got, "detach") and hasattr(got, "cpu"):
        got = got.detach().cpu().numpy()
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        where = f" for {inputs}" if inputs else ""
        raise CheckFailed(f"{what}{where} should be an array or tensor of numbers, got {type(got).__name__}") from None


def match_mistake(got, candidates: dict, rtol: float = 1e-6, atol: float = 1e-9) -> str:
    """The hint of the first typical mistake whose value equals ``got`` ("" when none does).

    ``candidates`` maps a hint ("you divided by h instead of 2h") to what that mistake returns on the same input;
    candidates that are not finite never match.
    """
    if hasattr(got, "detach") and hasattr(got, "cpu"):
        got = got.detach().cpu().numpy()
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return ""
    for hint, value in candidates.items():
        v = np.asarray(value, dtype=float)
        if g.shape == v.shape and np.all(np.isfinite(v)) and np.allclose(g, v, rtol=rtol, atol=atol):
            return hint
    return ""


def passed(message: str) -> bool:
    """Print a one-line confirmation and return True (the value a notebook cell can assert on)."""
    print(f"Correct: {message}")
    return True


def _short(value) -> str:
    arr = np.asarray(value) if not callable(value) else None
    if arr is None or arr.dtype == object:
        return repr(value)[:80]
    if arr.ndim == 0:
        return f"{float(arr):.6g}" if np.issubdtype(arr.dtype, np.number) else repr(value)
    return np.array2string(arr, precision=4, threshold=8, separator=", ")
