"""Exercise checkers: each tells a student in plain words what is wrong (which input, expected vs got).

One module per lecture, ``lecture01`` to ``lecture09`` (the exercise cells of notebooks 00 to 09 call them), all
built on :func:`expect_close` and friends from :mod:`lecture_utils.checks._core`. A checker returns ``True`` and
prints a short confirmation when the answer is right, and raises :class:`CheckFailed` (an ``AssertionError``)
with the explanation otherwise.

Example (the building blocks; each lecture module shows a checker at work)::

    >>> from lecture_utils.checks import expect_close, passed
    >>> expect_close(0.5, 0.5, what="your slope", inputs="x = 1")    # silent when right
    >>> passed("the slope is right")
    Correct: the slope is right
    True
    >>> expect_close(0.25, 0.5, what="your slope", inputs="x = 1")
    Traceback (most recent call last):
    ...
    lecture_utils.checks._core.CheckFailed: your slope for x = 1 is wrong: expected 0.5, got 0.25.
"""
from ._core import (CheckFailed, NotAttempted, as_array, describe_difference, exercise, expect_close, expect_true,
                    expect_tuple, is_close, match_mistake, passed, try_call)

__all__ = ["CheckFailed", "NotAttempted", "as_array", "describe_difference", "exercise", "expect_close", "expect_true",
           "expect_tuple", "is_close", "match_mistake", "passed", "try_call"]
