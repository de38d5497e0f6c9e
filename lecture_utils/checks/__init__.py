"""Exercise checkers: each tells a student in plain words what is wrong (which input, expected vs got).

One module per lecture (``lecture01``, ``lecture03``, ...), all built on :func:`expect_close` and friends
from ``lecture_utils.checks._core``. A checker returns ``True`` and prints a short confirmation when the
answer is right, and raises :class:`CheckFailed` (an ``AssertionError``) with the explanation otherwise.
"""
from ._core import CheckFailed, as_array, expect_close, expect_true, match_mistake, passed, try_call

__all__ = ["CheckFailed", "as_array", "expect_close", "expect_true", "match_mistake", "passed", "try_call"]
