"""Surfaces a student makes: from a typed formula (:func:`from_expression`) or a torch function
(:func:`from_function`), with gradients and Hessians from autograd (lectures 01, 02 and 05, and the formula box
of the 2D explorer).

Example::

    >>> from lecture_utils import custom_surfaces
    >>> s = custom_surfaces.from_expression("x**2 + 3*y**2", bounds=[(-2, 2), (-2, 2)])
    >>> s
    Surface('x**2 + 3*y**2', dim=2, bounds=((-2.0, 2.0), (-2.0, 2.0)))
    >>> s.grad([1.0, 1.0])
    array([2., 6.])
"""
from __future__ import annotations

import ast
import math
import unicodedata
from typing import Callable

import numpy as np

from ._validate import check_int
from .surfaces import Surface, check_bounds

__all__ = ["from_function", "from_expression"]


def _autograd_surface(name, dim, bounds, fb, formula):
    """Wrap a batched torch function ``(B, d) -> (B,)`` as a Surface with autograd derivatives."""
    import torch

    def value(X):
        with torch.no_grad():
            return fb(torch.as_tensor(X, dtype=torch.float64)).numpy()

    def grad(X):
        Xt = torch.as_tensor(X, dtype=torch.float64).clone().requires_grad_(True)
        v = fb(Xt)
        if not v.requires_grad:
            return np.zeros_like(X)
        (g,) = torch.autograd.grad(v.sum(), Xt, allow_unused=True)
        return np.zeros_like(X) if g is None else g.detach().numpy()

    def hess(X):
        Xt = torch.as_tensor(X, dtype=torch.float64).clone().requires_grad_(True)
        v = fb(Xt)
        H = np.zeros((X.shape[0], dim, dim))
        if not v.requires_grad:
            return H
        (g,) = torch.autograd.grad(v.sum(), Xt, create_graph=True, allow_unused=True)
        if g is None or not g.requires_grad:
            return H
        for i in range(dim):
            (row,) = torch.autograd.grad(g[:, i].sum(), Xt, retain_graph=True, allow_unused=True)
            if row is not None:
                H[:, i, :] = row.detach().numpy()
        return H

    return Surface(name, dim, bounds, value, grad, hess, formula=formula)


def from_function(fn: Callable, dim: int, bounds=None, *, name: str = "custom") -> Surface:
    """A surface from a torch function ``fn(x)`` taking a tensor of shape ``(d,)`` and returning a scalar.

    Batched by ``torch.func.vmap`` (falling back to a loop when ``fn`` cannot be vmapped); gradient and
    Hessian come from autograd. Example: ``from_function(lambda x: (x ** 2).sum(), dim=2)``
    """
    import torch

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    dim = check_int("dim", dim, low=1, high=10_000)
    bounds = check_bounds(bounds, dim)
    probe = torch.tensor([0.5 * (lo + hi) for lo, hi in bounds], dtype=torch.float64)
    try:
        out = fn(probe)
    except Exception as exc:  # the user's function failed: say so with its own error
        raise ValueError(f"fn failed on a test point {probe.tolist()}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise ValueError(f"fn must return a scalar torch tensor for x of shape ({dim},), got {out!r}")

    batched = torch.func.vmap(fn)
    try:
        batched(torch.stack([probe, probe]))
    except Exception:  # data-dependent Python control flow: evaluate point by point
        def batched(X):
            return torch.stack([fn(x).reshape(()) for x in X])

    def fb(X):
        return batched(X).reshape(X.shape[0])

    return _autograd_surface(name, dim, bounds, fb, formula=name)


_FUNCS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "log": "log", "sqrt": "sqrt", "abs": "abs",
    "tanh": "tanh", "sinh": "sinh", "cosh": "cosh", "arctan": "atan", "atan": "atan", "sigmoid": "sigmoid",
    "relu": "relu", "log1p": "log1p",
}
_FUNCS2 = {"min": "minimum", "max": "maximum"}
_CONSTS = {"pi": math.pi, "e": math.e}
_ALLOWED_TEXT = ("numbers, the variables {vars}, the constants pi and e, the operators + - * / ** (^ means **), "
                 "parentheses and the functions " + ", ".join(sorted(_FUNCS) + sorted(_FUNCS2)))


#: What a formula may not use, named as a student would recognize it in what they typed.
_NOT_ALLOWED = {
    ast.Attribute: "attribute access ('.')", ast.Subscript: "indexing ('[...]')", ast.Lambda: "lambda",
    ast.Compare: "comparisons (<, >, ==)", ast.BoolOp: "'and' / 'or'", ast.IfExp: "'if ... else'",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.List: "a list ('[...]')", ast.Tuple: "a tuple (a comma)",
    ast.Set: "a set ('{...}')", ast.Dict: "a dict ('{...}')", ast.Starred: "'*' unpacking",
    ast.JoinedStr: "an f-string", ast.NamedExpr: "assignment (':=')", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_OPERATORS = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
              ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^ between integers", ast.Not: "not", ast.Invert: "~"}


def _describe_name(name: str) -> str:
    """A name as typed, with the Unicode names of its non-ASCII characters (look-alikes of x and y)."""
    odd = [f"{ch!r} is {unicodedata.name(ch, 'an unnamed character')}" for ch in name if not ch.isascii()]
    return f"{name!r}" + (f" ({'; '.join(odd)}, not a Latin letter)" if odd else "")


def _compile_expression(expr: str, variables: tuple[str, ...]):
    """Turn a formula into a function of torch tensors, allowing only a small set of names and operators."""
    import torch

    allowed = _ALLOWED_TEXT.format(vars=", ".join(variables))
    text = expr.replace("^", "**")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ValueError(f"could not parse formula {expr!r}{col}: {exc.msg}. A formula may use {allowed}.") from None
    except (RecursionError, MemoryError):
        raise ValueError(f"formula {expr[:40]!r}... is nested too deeply to read") from None

    binops = {ast.Add: torch.add, ast.Sub: torch.sub, ast.Mult: torch.mul, ast.Div: torch.div, ast.Pow: torch.pow}

    def refuse(node, what):
        seg = ast.get_source_segment(text, node) or ""
        raise ValueError(f"formula {expr!r} uses {what}{f' ({seg!r})' if seg else ''}, which is not allowed. "
                         f"A formula may use {allowed}.")

    def number(node):
        seg = ast.get_source_segment(text, node) or repr(node.value)
        try:
            val = float(node.value)
        except OverflowError:
            val = math.inf
        if not math.isfinite(val):
            raise ValueError(f"the number {seg[:24]}{'...' if len(seg) > 24 else ''} in formula {expr[:60]!r} is too "
                             f"large: numbers must be finite, at most about 1.8e308")
        return lambda env: torch.tensor(val, dtype=torch.float64)

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or v is None or isinstance(v, (str, bytes, complex)) or v is Ellipsis:
                kind = {bool: "True/False", complex: "complex numbers (j)", str: "text in quotes",
                        bytes: "text in quotes"}.get(type(v), repr(v))
                refuse(node, kind)
            return number(node)
        if isinstance(node, ast.Name):
            if node.id in variables:
                return lambda env, n=node.id: env[n]
            if node.id in _CONSTS:
                val = _CONSTS[node.id]
                return lambda env: torch.tensor(val, dtype=torch.float64)
            raise ValueError(f"unknown name {_describe_name(node.id)} in formula {expr!r}. A formula may use {allowed}.")
        if isinstance(node, ast.BinOp):
            if type(node.op) not in binops:
                refuse(node, f"the operator {_OPERATORS.get(type(node.op), type(node.op).__name__)}")
            op, left, right = binops[type(node.op)], build(node.left), build(node.right)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                refuse(node, f"the operator {_OPERATORS.get(type(node.op), type(node.op).__name__)}")
            inner, sign = build(node.operand), (-1.0 if isinstance(node.op, ast.USub) else 1.0)
            return lambda env: sign * inner(env)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                refuse(node, "a call of something that is not a function name")
            fname = node.func.id
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                refuse(node, f"keyword or '*' arguments to {fname}()")
            if fname in _FUNCS and len(node.args) == 1:
                f, arg = getattr(torch, _FUNCS[fname]), build(node.args[0])
                return lambda env: f(arg(env))
            if fname in _FUNCS2 and len(node.args) == 2:
                f, a, b = getattr(torch, _FUNCS2[fname]), build(node.args[0]), build(node.args[1])
                return lambda env: f(*torch.broadcast_tensors(a(env), b(env)))
            if fname in _FUNCS or fname in _FUNCS2:
                n = 1 if fname in _FUNCS else 2
                raise ValueError(f"{fname}() takes {n} argument(s) in formula {expr!r}, got {len(node.args)}")
            raise ValueError(f"unknown function {_describe_name(fname)} in formula {expr!r}. A formula may use "
                             f"{allowed}.")
        refuse(node, _NOT_ALLOWED.get(type(node), f"a {type(node).__name__} expression"))

    try:
        return build(tree)
    except RecursionError:
        raise ValueError(f"formula {expr[:40]!r}... is nested too deeply to read") from None


def from_expression(expr: str, bounds=None, *, dim: int | None = None, name: str | None = None) -> Surface:
    """A surface from a formula a student types, such as ``"x**2 - y**2"`` or ``"sin(x) + 0.1*x^2"``.

    The formula is parsed into torch operations from an allow-list (never ``eval``): numbers, the variables
    ``x`` (1D) or ``x, y`` (2D), ``pi``, ``e``, ``+ - * / **`` (``^`` is read as ``**``) and common
    functions. Anything else raises ``ValueError`` saying what is allowed.

    Args:
        expr: the formula.
        bounds: plotting box (default ``(-3, 3)`` per axis).
        dim: 1 or 2; by default 2 if ``y`` appears in the formula, else 1.
    Example: ``from_expression("x**2 + 3*y**2", bounds=[(-2, 2), (-2, 2)])``
    """
    import torch

    if not isinstance(expr, str):
        raise TypeError(f"expr must be a string formula, got {type(expr).__name__}")
    if not expr.strip():
        raise ValueError("expr is empty: type a formula in x (1D) or x and y (2D), such as 'x**2 - y**2'")
    if len(expr) > 500:
        raise ValueError(f"expr is too long ({len(expr)} characters; at most 500)")
    if dim is None:
        try:
            used = {n.id for n in ast.walk(ast.parse(expr.replace("^", "**"), mode="eval")) if isinstance(n, ast.Name)}
        except (SyntaxError, RecursionError, MemoryError):
            used = set()
        dim = 2 if "y" in used else 1
    dim = check_int("dim", dim, low=1, high=2)
    variables = ("x",) if dim == 1 else ("x", "y")
    f = _compile_expression(expr, variables)
    bounds = check_bounds(bounds, dim)

    def fb(X):
        env = {v: X[:, i] for i, v in enumerate(variables)}
        out = f(env)
        return out + 0.0 * X[:, 0] if out.dim() == 0 else out

    probe = torch.tensor([[0.5 * (lo + hi) for lo, hi in bounds]], dtype=torch.float64)
    fb(probe)  # surfaces any remaining error now rather than at the first plot
    return _autograd_surface(name or expr, dim, bounds, fb, formula=f"${expr}$" if len(expr) < 60 else expr)
