"""Building blocks for exercise checkers, shared by every lecture's checks (:mod:`lecture_utils.checks.lecture01`
to ``lecture09``): :class:`CheckFailed`, the error a wrong answer raises; :func:`try_call`, which turns a crash of
the student's code into a message naming the input; :func:`expect_close` / :func:`expect_true`, which compare;
:func:`match_mistake`, which recognizes a typical mistake by its value (with ``unique=True`` only when no other
candidate gives the same value); :func:`expect_tuple`, which unpacks a returned pair; :func:`is_close`, a comparison
that never raises; and :func:`passed`, the confirmation. Messages stay short: arrays are shown whole only when they have a
few entries (otherwise their shape and first entries), and a message longer than :data:`MAX_MESSAGE` characters is
cut in the middle, so the hint at its end survives.

Example::

    >>> from lecture_utils.checks._core import match_mistake
    >>> hints = {"that is the forward difference": 3.31, "you divided by h instead of 2h": 6.02}
    >>> match_mistake(3.31, hints)
    'that is the forward difference'
    >>> match_mistake(3.01, hints)                # no known mistake gives 3.01
    ''
"""
from __future__ import annotations

import copy
import math
import functools
import inspect

import numpy as np


#: How a rejection is shown in a notebook: a short red box with the message, no traceback through checker code.
_RED, _RESET = "\x1b[1;31m", "\x1b[0m"

#: Longest message a :class:`CheckFailed` keeps; a longer one keeps its start (the input) and its end (the hint).
MAX_MESSAGE = 1000


class CheckFailed(AssertionError):
    """A student's answer is wrong; the message says which input, what was expected, what came back, and the likely
    mistake when the checker recognizes it.

    In a notebook IPython shows only the message, in red (``_render_traceback_``), not a traceback through the
    checker's internals; the cell still fails, so Run All stops there and CI notices a wrong reference solution.
    A message longer than :data:`MAX_MESSAGE` characters is cut in the middle.
    """

    def __init__(self, *args):
        if len(args) == 1 and isinstance(args[0], str):
            args = (_clip_middle(args[0], MAX_MESSAGE),)
        super().__init__(*args)

    def _render_traceback_(self) -> list[str]:
        lines = str(self).splitlines() or [""]
        return [f"{_RED}Not yet right:{_RESET} {lines[0]}"] + [f"  {line}" for line in lines[1:]]


class NotAttempted(Exception):
    """The student's function still raises ``NotImplementedError`` (the stub): the exercise is not attempted yet."""


def exercise(number: int):
    """Decorator for a checker: ``@exercise(2)`` makes it say, when the stub still raises ``NotImplementedError``,
    one friendly line ("Exercise 2 is not attempted yet: ...") and return ``None`` instead of failing, so Run All
    goes on and the cell shows that line alone (no ``False`` under it). A right answer returns ``True``, a wrong one
    raises :class:`CheckFailed`."""
    def deco(checker):
        @functools.wraps(checker)
        def wrapper(*args, **kwargs):
            if args and not callable(args[0]):
                raise CheckFailed(f"{checker.__name__} grades a function: pass your function itself (without "
                                  f"parentheses), not {type(args[0]).__name__} {_short(args[0])}. It should be a "
                                  f"function.")
            try:
                return checker(*args, **kwargs)
            except NotAttempted:
                print(f"Exercise {number} is not attempted yet: replace the `raise NotImplementedError` line in the "
                      f"cell above with your code, then run the cell again.")
                return None
        wrapper.exercise = number
        return wrapper
    return deco


def try_call(fn, *args, what: str = "your function", may_modify: bool = True, inputs: str = "", **kwargs):
    """Call the student's ``fn`` on copies of the arguments and return what it returns.

    A stub that raises ``NotImplementedError`` becomes :class:`NotAttempted`; any other crash a
    :class:`CheckFailed` naming the input it crashed on (``inputs``, the checker's words for the input, or else a
    short rendering of the arguments; the cause stays attached). With ``may_modify=False`` a function that changes
    an argument in place (an array, a tensor, a list) is told which one. The objects the student passed to the
    checker are never modified: ``fn`` gets copies.
    """
    if not callable(fn):
        raise CheckFailed(f"{what} should be a function, but got {type(fn).__name__} {_short(fn)}")
    call_args = [_copy(a) for a in args]
    call_kwargs = {k: _copy(v) for k, v in kwargs.items()}
    shown = inputs or _shown(args, kwargs)
    try:
        out = fn(*call_args, **call_kwargs)
    except NotImplementedError:
        raise NotAttempted(what) from None
    except Exception as exc:  # the student's code failed: report where, keep the cause attached
        text = _clip_middle(" ".join(str(exc).split()), 240)
        raise CheckFailed(f"{what} raised {type(exc).__name__}: {text}\n(called with {shown})") from exc
    if not may_modify:
        for name, before, after in _changed(fn, args, kwargs, call_args, call_kwargs):
            raise CheckFailed(f"{what} changed its argument {name} in place (called with {shown}); "
                              f"the exercise asks you to leave the inputs alone and return a new value. "
                              f"Hint: x = x - ... makes a new array, x -= ... (or x[i] = ...) overwrites the "
                              f"caller's; copy first if you need to write into it.")
    return out


def expect_tuple(out, names, *, what: str, inputs: str = ""):
    """``out`` as a tuple of ``len(names)`` items (a returned tuple or list), else :class:`CheckFailed` saying
    what came back. Example: ``x_new, v_new = expect_tuple(out, ("x_new", "v_new"), what="momentum_step")``"""
    where = f" for {inputs}" if inputs else ""
    if isinstance(out, (tuple, list)) and len(out) == len(names):
        return tuple(out)
    want = f"({', '.join(names)})"
    if isinstance(out, (tuple, list)):
        got = f"a {type(out).__name__} of {len(out)} items"
    elif out is None:
        got = "None (a missing `return`?)"
    else:
        got = f"{type(out).__name__} {_short(out)}"
    kind = {2: "pair", 3: "triple"}.get(len(names), f"{len(names)} values")
    raise CheckFailed(f"{what}{where} should return the {kind} {want}, got {got}. "
                      f"Hint: return {', '.join(names)}")


def _copy(value):
    if hasattr(value, "detach") and hasattr(value, "clone"):
        return value.detach().clone().requires_grad_(value.requires_grad) if value.is_floating_point() else \
            value.clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, dict)):
        return copy.deepcopy(value)
    return value


def _same(a, b) -> bool:
    try:
        if hasattr(a, "detach"):
            a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
        if isinstance(a, np.ndarray):
            return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
        if isinstance(a, (list, dict)):
            return a == b
    except (TypeError, ValueError):
        return True
    return True


def _changed(fn, args, kwargs, call_args, call_kwargs):
    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # a builtin without a signature
        names = []
    for i, (before, after) in enumerate(zip(args, call_args)):
        if not _same(before, after):
            yield (f"`{names[i]}`" if i < len(names) else f"number {i + 1}"), before, after
    for k in kwargs:
        if not _same(kwargs[k], call_kwargs[k]):
            yield k, kwargs[k], call_kwargs[k]


def _shown(args, kwargs) -> str:
    return ", ".join([_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()])


def describe_difference(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """Where two same-shape arrays differ, short: the first few differing entries and the largest difference."""
    g, e = np.atleast_1d(got), np.atleast_1d(expected)
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol)
    where = np.argwhere(bad)
    if g.size == 1:
        return f"expected {_num(e.ravel()[0])}, got {_num(g.ravel()[0])}"
    if g.size <= 6:  # short enough to show whole
        return f"expected {_short(expected)}, got {_short(got)}"
    first = "; ".join(f"[{', '.join(map(str, ix))}] expected {_num(e[tuple(ix)])}, got {_num(g[tuple(ix)])}"
                      for ix in where[:3])
    with np.errstate(invalid="ignore"):
        diff = np.where(np.isfinite(g) & np.isfinite(e), np.abs(g - e), np.inf)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return (f"{int(bad.sum())} of {g.size} entries differ, first {first}; largest difference "
            f"{_num(diff[worst])} at [{', '.join(map(str, worst))}]")


def _num(v) -> str:
    v = float(v)
    return f"{v:.6g}"


def expect_close(got, expected, *, what: str, inputs: str = "", rtol: float = 1e-6, atol: float = 1e-8,
                 hint: str = "", advice: str = "") -> None:
    """Raise :class:`CheckFailed` unless ``got`` matches ``expected`` in shape and value.

    ``hint`` names the mistake the answer was recognized as (shown as "Likely mistake: ..."); ``advice`` is a
    general pointer shown as "Hint: ..." when no mistake was recognized.
    """
    where = f" for {inputs}" if inputs else ""
    g = as_array(got, what, inputs)
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        raise CheckFailed(f"{what}{where} has shape {g.shape}, expected shape {e.shape}."
                          + (f" Hint: {hint or advice}" if hint or advice else ""))
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=False):
        raise CheckFailed(f"{what}{where} is wrong: {describe_difference(g, e, rtol, atol)}."
                          + (f" Likely mistake: {hint}" if hint else f" Hint: {advice}" if advice else ""))


def expect_true(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def as_array(got, what: str, inputs: str = "", *, allow_nan: bool = False) -> np.ndarray:
    """The student's answer as a float array: numbers, lists, numpy arrays and torch tensors (even ones that
    require grad) are accepted. ``CheckFailed`` naming ``what`` and the ``inputs`` for None (a missing
    ``return``), complex numbers (their imaginary part is never dropped silently), strings, generators and other
    non-numbers, and for NaN or infinity unless ``allow_nan``."""
    where = f" for {inputs}" if inputs else ""
    if got is None:
        raise CheckFailed(f"{what}{where} returned None. Likely mistake: a missing `return` statement.")
    got = plain(got)
    if isinstance(got, (str, bytes, dict, set)) or inspect.isgenerator(got) or callable(got):
        raise CheckFailed(f"{what}{where} should be a number or an array of numbers, got {type(got).__name__} "
                          f"{_short(got)}")
    try:
        raw = np.asarray(got)
        if np.iscomplexobj(raw):
            raise CheckFailed(f"{what}{where} has complex values {_short(raw)}; expected real numbers.")
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError, RuntimeError):
        raise CheckFailed(f"{what}{where} should be a number or an array of numbers (all rows the same length), "
                          f"got {type(got).__name__} {_short(got)}") from None
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(np.atleast_1d(arr)))
        at = "" if arr.size <= 6 else (f" ({len(bad)} of {arr.size} entries, the first at "
                                       f"[{', '.join(map(str, bad[0]))}])")
        raise CheckFailed(f"{what}{where} is not finite (NaN or infinity): {_short(arr)}{at}. Likely mistake: a "
                          f"division by zero or an overflow.")
    return arr


def match_mistake(got, candidates: dict, rtol: float = 1e-6, atol: float = 1e-9, *, unique: bool = False) -> str:
    """The hint of the first typical mistake whose value equals ``got`` ("" when none does).

    ``candidates`` maps a hint ("you divided by h instead of 2h") to what that mistake returns on the same input;
    candidates that are not finite never match. With ``unique=True`` the answer is named only when exactly one
    candidate matches: two mistakes that give the same value on this input cannot be told apart, and a wrong
    diagnosis is worse than none.
    """
    g = _real(got)
    if g is None:
        return ""
    matches = []
    for hint, value in candidates.items():
        v = _real(value)
        if v is not None and g.shape == v.shape and np.all(np.isfinite(v)) and np.allclose(g, v, rtol=rtol,
                                                                                            atol=atol):
            if not unique:
                return hint
            matches.append(hint)
    return matches[0] if len(matches) == 1 else ""


def is_close(got, expected, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether ``got`` has the shape and (finite) values of ``expected``; never raises (False for non-numbers).

    For tests inside a checker, e.g. whether a returned pair is in the wrong order:
    ``is_close(first, v_ref) and is_close(second, x_ref)``.
    """
    g, e = _real(got), _real(expected)
    if g is None or e is None:
        return False
    return g.shape == e.shape and bool(np.all(np.isfinite(g))) and bool(np.allclose(g, e, rtol=rtol, atol=atol))


def passed(message: str) -> bool:
    """Print a one-line confirmation and return True (the value a notebook cell can assert on)."""
    print(f"Correct: {message}")
    return True


def plain(value):
    """Torch tensors (also inside lists and tuples) as numpy arrays, detached; everything else unchanged."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        t = value.detach().cpu()
        try:
            return t.numpy()
        except TypeError:  # bfloat16 and friends have no numpy dtype
            return t.double().numpy()
    if isinstance(value, (list, tuple)) and any(hasattr(v, "detach") or isinstance(v, (list, tuple)) for v in value):
        return [plain(v) for v in value]
    return value


def _real(value):
    """``value`` as a float array, or None when it is not made of real numbers (complex ones included)."""
    try:
        raw = np.asarray(plain(value))
        if np.iscomplexobj(raw) or raw.dtype == object or raw.dtype.kind in "USV":
            return None
        return raw.astype(float)
    except (TypeError, ValueError, RuntimeError):
        return None


def _clip_middle(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = (limit * 3) // 5
    tail = limit - head - 7
    return f"{text[:head]} [...] {text[-tail:]}"


def _short(value, limit: int = 80) -> str:
    """A one-line rendering of ``value`` of at most about ``limit`` characters: a short array whole, a longer one
    as its shape and first entries."""
    value = plain(value)
    try:
        arr = np.asarray(value) if not (callable(value) or inspect.isgenerator(value)) else None
    except Exception:  # anything numpy cannot even look at
        arr = None
    if arr is None or arr.dtype == object or arr.dtype.kind in "USV":
        return _clip_middle(repr(value), limit)
    if arr.ndim == 0:
        return f"{float(arr):.6g}" if arr.dtype.kind in "biuf" else _clip_middle(repr(value), limit)
    if arr.size <= 6:
        text = _nested(arr)
        if len(text) <= limit:
            return text
    return f"array of shape {arr.shape} [{_nested(arr.ravel()[:3])[1:-1]}, ...]"


def _nested(arr: np.ndarray) -> str:
    """``[[1, 0.5], [2, 3]]``: entries with 6 significant digits, on one line."""
    if arr.ndim == 0:
        v = arr.item()
        return format(v, ".6g") if isinstance(v, (int, float, complex)) else repr(v)
    return "[" + ", ".join(_nested(a) for a in arr) + "]"


# ---- grading several cases at once, naming only a mistake that explains every case ------------------

class Named:
    """A test function that shows its formula in messages ("f(x) = x**3") instead of ``<lambda at 0x...>``."""

    def __init__(self, text: str, fn):
        self.text, self.fn = text, fn

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return self.text


def grade_cases(got, expected, inputs, mistakes, *, what, rtol, atol, hint=""):
    """Compare the answers of all cases; raise at the first wrong one, naming the mistake in ``mistakes``
    ({hint: its value in every case}) that explains EVERY case, else ``hint``. A one-entry array counts as a
    number where a number is expected."""
    arrays = []
    for g, e, name in zip(got, expected, inputs):
        g = as_array(plain(g), what, name)
        if np.ndim(e) == 0 and g.ndim:
            if g.size != 1:
                raise CheckFailed(f"{what} for {name} should be one number, got an array of shape {g.shape}.")
            g = g.reshape(())
        arrays.append(g)
    for g, e, name in zip(arrays, expected, inputs):
        e = np.asarray(e, dtype=float)
        if g.shape != e.shape or not np.allclose(g, e, rtol=rtol, atol=atol):
            found = [h for h, values in mistakes.items()
                     if all(matches(gi, v, rtol, atol) for gi, v in zip(arrays, values))]
            expect_close(g, e, what=what, inputs=name, rtol=rtol, atol=atol, hint=found[0] if found else hint)


def matches(got, value, rtol, atol) -> bool:
    """Whether the array ``got`` equals the finite candidate ``value`` (same shape, within the tolerances)."""
    v = np.asarray(value, dtype=float)
    return got.shape == v.shape and bool(np.all(np.isfinite(v))) and bool(np.allclose(got, v, rtol=rtol, atol=atol))


def each_case(cases, formula):
    """``formula(case)`` for every case; NaN where it overflows (a non-finite candidate never matches)."""
    out = []
    with np.errstate(all="ignore"):
        for case in cases:
            try:
                out.append(formula(*case))
            except (OverflowError, ZeroDivisionError, ValueError):
                out.append(math.nan)
    return out
