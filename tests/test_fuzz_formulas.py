"""Formulas a student types, fuzzed: whatever the text, from_expression returns a surface or raises ValueError /
TypeError with a message that says what is allowed; it never runs code, never hangs, never warns."""
import string
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lecture_utils import custom_surfaces

HOSTILE = [
    "__import__('os').system('echo hi')", "x.__class__.__mro__", "().__class__", "open('/etc/passwd')",
    "eval('1')", "exec('x=1')", "globals()", "lambda: x", "[x for x in range(9)]", "{x: 1}", "x if y else 2",
    "x and y", "x < y", "x[0]", "x.real", "*x", "f'{x}'", "(y := 2)", "x % 2", "x // 2", "x @ y", "x << 2", "~x",
    "not x", "1" + "0" * 309, "1e999", "-1e999", "10**10**10", "x**1e308", "exp(exp(exp(exp(x))))", "1/0 + x",
    "(" * 10_000 + "x" + ")" * 10_000, "(" * 199 + "x" + ")" * 199, "-" * 499 + "x", "x" + "**x" * 160,
    "х**2", "ｘ**2 + ｙ", "x²", "x\u200b+1", "sin(x, 2)", "max(x)", "sin()", "sin(x=1)", "True", "None", "2j", "'x'",
    "", "   ", "x +", "((x)", "sqrt(-1) + x", "log(0*x)", "pi*e*x", "relu(x) - sigmoid(y)",
]


def _check(expr):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            s = custom_surfaces.from_expression(expr)
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            assert msg and len(msg) < 600, msg
            return "rejected"
        X = np.array([[0.5] * s.dim, [-2.0] * s.dim, [3.0] * s.dim])
        v, g = s.value(X), s.grad(X)  # values may be inf or NaN (a result), but no exception, no warning
        assert v.shape == (3,) and g.shape == (3, s.dim)
        return "accepted"


@pytest.mark.parametrize("expr", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_formulas_get_a_surface_or_a_clear_error(expr):
    outcome = _check(expr)
    dangerous = ("__", "open(", "eval(", "exec(", "globals(", "lambda", " for ", "[", ".", ":=")
    if any(d in expr for d in dangerous):
        assert outcome == "rejected", expr


def test_what_the_messages_say():
    def msg(expr):
        with pytest.raises(ValueError) as e:
            custom_surfaces.from_expression(expr)
        return str(e.value)

    assert "the operator %" in msg("x % 2") and "'x % 2'" in msg("x % 2")
    assert "too large" in msg("1" + "0" * 309) and "too large" in msg("1e999")
    assert "CYRILLIC SMALL LETTER HA" in msg("х**2")  # a look-alike of x
    assert "attribute access" in msg("x.__class__") and "BinOp" not in msg("x // 2")
    assert "may use numbers, the variables x" in msg("foo(x)")
    assert "too long" in msg("(" * 10_000 + "x" + ")" * 10_000)
    with pytest.raises(TypeError, match="dim must be an integer"):
        custom_surfaces.from_expression("x**2", dim=2.0)
    with pytest.raises(TypeError, match="dim must be an integer"):
        custom_surfaces.from_expression("x**2", dim=True)


ALPHABET = string.ascii_letters[:8] + "xy" * 6 + "0123456789.+-*/^() ,_" + "eπ²х"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_random_text(expr):
    _check(expr)


TOKENS = ["x", "y", "2", "0.5", "1e308", "pi", "e", "+", "-", "*", "/", "**", "^", "(", ")", "sin(", "exp(", "log(",
          "max(", ",", "sqrt(", "abs(", " "]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_random_token_sequences(tokens):
    _check("".join(tokens))
