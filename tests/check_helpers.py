"""Helpers of the checker test batteries (imported by the test files beside it; not a test module)."""
import pytest

from lecture_utils.checks import CheckFailed


def rejected(checker, fn, *needles, max_len: int = 600):
    """``checker(fn)`` raises CheckFailed with a message under ``max_len`` characters containing every needle;
    returns the message."""
    with pytest.raises(CheckFailed) as info:
        checker(fn)
    msg = str(info.value)
    assert len(msg) < max_len, f"{len(msg)} characters: {msg}"
    for needle in needles:
        assert needle in msg, f"{needle!r} not in: {msg}"
    return msg
