"""Continuation by Gaussian homotopy: smooth a wiggly function, then sharpen it while tracking a minimizer (lecture 08).

**Convention.** The Gaussian homotopy of ``f`` at smoothing ``sigma >= 0`` is the convolution with the normal
density of *standard deviation* ``sigma``:

    ``g(x, sigma) = integral f(y) k_sigma(x - y) dy``,   ``k_sigma(u) = exp(-u^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)``,

i.e. ``g(x, sigma) = E[f(x + sigma Z)]`` with ``Z ~ N(0, 1)``, and ``g(x, 0) = f(x)``. (The lecture notes print the
kernel once with ``t`` and once with ``t^2`` in the normalization; here the parameter is always the standard
deviation.) For a sum of sinusoids and a quadratic the homotopy has a closed form, because

    ``E[sin(w (x + sigma Z) + p)] = exp(-w^2 sigma^2 / 2) sin(w x + p)``  and  ``E[(x + sigma Z)^2] = x^2 + sigma^2``:

smoothing damps each wave by a factor that falls fast with its frequency, and leaves the bowl in place.

Example (from x0 = -4, tracking the minimizer while sigma shrinks from 3 to 0 ends at the global minimum)::

    >>> from lecture_utils import continuation
    >>> f = continuation.wiggly()
    >>> res = continuation.continuation(f, x0=-4.0, sigmas=continuation.sigma_schedule(3.0, 60))
    >>> x_star, _ = f.global_minimum()
    >>> round(res.x_final, 3), round(x_star, 3)
    (-2.294, -2.294)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_array, check_int, check_real
from .surfaces import Surface

__all__ = ["SinusoidSum", "wiggly", "gaussian_smooth_numeric", "local_minimize", "continuation", "sigma_schedule",
           "ContinuationResult", "local_minima"]


class SinusoidSum:
    """``f(x) = sum_k a_k sin(w_k x + p_k) + quadratic * x^2 + linear * x`` and its Gaussian homotopy in closed form.

    Args:
        amplitudes, frequencies, phases: ``(K,)`` arrays (phases default to 0).
        quadratic: weight of ``x^2`` (> 0 makes a global minimum exist).
        linear: weight of ``x``.
        bounds: ``(low, high)`` plotting box.
    Methods take ``x`` of any shape and a smoothing ``sigma >= 0`` and broadcast over ``x``.
    Example: ``f = SinusoidSum([1, 0.5], [1.3, 4.0], [1, 2], quadratic=0.05); f.value(0.3, sigma=1.0)``
    """

    def __init__(self, amplitudes, frequencies, phases=None, *, quadratic: float = 0.0, linear: float = 0.0,
                 bounds=(-6.0, 6.0)):
        self.amplitudes = check_array("amplitudes", amplitudes, ndim=1)
        self.frequencies = check_array("frequencies", frequencies, ndim=1)
        self.phases = np.zeros_like(self.amplitudes) if phases is None else check_array("phases", phases, ndim=1)
        if not (len(self.amplitudes) == len(self.frequencies) == len(self.phases)):
            raise ValueError(f"amplitudes, frequencies and phases must have the same length, got "
                             f"{len(self.amplitudes)}, {len(self.frequencies)}, {len(self.phases)}")
        for name, arr in (("amplitudes", self.amplitudes), ("frequencies", self.frequencies), ("phases", self.phases)):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
        self.quadratic = check_real("quadratic", quadratic)
        self.linear = check_real("linear", linear)
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise TypeError(f"bounds must be a pair (low, high), got {bounds!r}") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"bounds must be finite with low < high, got {bounds!r}")
        self.bounds = (lo, hi)

    def __repr__(self):
        return f"SinusoidSum({self.formula()})"

    def formula(self) -> str:
        """The function as a LaTeX string (for titles)."""
        parts = []
        for a, w, p in zip(self.amplitudes, self.frequencies, self.phases):
            arg = f"{w:g}x" + (f" + {p:g}" if p > 0 else (f" - {-p:g}" if p < 0 else ""))
            coef = "" if a == 1 else ("-" if a == -1 else f"{a:g}")
            parts.append(f"{coef}\\sin({arg})")
        if self.quadratic:
            parts.append(f"{self.quadratic:g}x^2")
        if self.linear:
            parts.append(f"{self.linear:g}x")
        return "$" + " + ".join(parts).replace("+ -", "- ") + "$"

    def damping(self, sigma: float) -> np.ndarray:
        """The factor ``exp(-w_k^2 sigma^2 / 2)`` by which smoothing multiplies each wave, shape ``(K,)``."""
        sigma = check_real("sigma", sigma, low=0.0)
        return np.exp(-0.5 * (self.frequencies * sigma) ** 2)

    def _x(self, x):
        return np.asarray(check_array("x", x), dtype=float)

    def value(self, x, sigma: float = 0.0):
        """``g(x, sigma)``: the Gaussian-smoothed function (``f`` itself at ``sigma = 0``), same shape as ``x``."""
        x = self._x(x)
        damp = self.damping(sigma)
        waves = np.sin(np.multiply.outer(x, self.frequencies) + self.phases) @ (self.amplitudes * damp)
        return waves + self.quadratic * (x ** 2 + sigma ** 2) + self.linear * x

    def grad(self, x, sigma: float = 0.0):
        """``d g / d x`` at smoothing ``sigma``, same shape as ``x``."""
        x = self._x(x)
        coef = self.amplitudes * self.frequencies * self.damping(sigma)
        return np.cos(np.multiply.outer(x, self.frequencies) + self.phases) @ coef + 2 * self.quadratic * x + self.linear

    def hessian(self, x, sigma: float = 0.0):
        """``d^2 g / d x^2`` at smoothing ``sigma``, same shape as ``x``."""
        x = self._x(x)
        coef = -self.amplitudes * self.frequencies ** 2 * self.damping(sigma)
        return np.sin(np.multiply.outer(x, self.frequencies) + self.phases) @ coef + 2 * self.quadratic

    def curvature_bound(self, sigma: float = 0.0) -> float:
        """An upper bound ``L`` on ``|g''|``: ``sum |a_k| w_k^2 exp(-w_k^2 sigma^2 / 2) + 2 |quadratic|``."""
        return float(np.sum(np.abs(self.amplitudes) * self.frequencies ** 2 * self.damping(sigma))
                     + 2 * abs(self.quadratic))

    def surface(self, sigma: float = 0.0) -> Surface:
        """``g(., sigma)`` as a 1D :class:`~lecture_utils.surfaces.Surface`, to run any optimizer on it."""
        sigma = check_real("sigma", sigma, low=0.0)
        return Surface(f"smoothed(sigma={sigma:g})", 1, [self.bounds],
                       lambda X: self.value(X[:, 0], sigma), lambda X: self.grad(X, sigma),
                       lambda X: self.hessian(X, sigma)[:, :, None],
                       formula=self.formula() + (rf", $\sigma={sigma:g}$" if sigma else ""), search_grid=4001)

    def global_minimum(self, sigma: float = 0.0, num: int = 20001):
        """``(x*, g(x*, sigma))``: the lowest point inside :attr:`bounds` (dense grid, then polished by
        :func:`local_minimize`)."""
        xs = np.linspace(*self.bounds, check_int("num", num, low=3))
        x0 = xs[np.argmin(self.value(xs, sigma))]
        x = local_minimize(self, x0, sigma)
        return float(x), float(self.value(x, sigma))


def wiggly() -> SinusoidSum:
    """The lecture's example: ``sin(1.3x + 1) + 0.5 sin(4x + 2) + 0.25 sin(9x) + 0.05 x^2`` on ``[-6, 6]``.

    Several local minima; plain descent from ``x0 = -4`` stops in a poor one, continuation from heavy
    smoothing finds the global minimum. Example: ``wiggly().global_minimum()``
    """
    return SinusoidSum([1.0, 0.5, 0.25], [1.3, 4.0, 9.0], [1.0, 2.0, 0.0], quadratic=0.05, bounds=(-6.0, 6.0))


def gaussian_smooth_numeric(fn, x, sigma: float, *, num: int = 2001, width: float = 8.0):
    """``g(x, sigma)`` by numerical quadrature of ``f(x + sigma u)`` against the standard normal density.

    Works for any vectorized ``fn`` (no closed form needed); the trapezoidal rule on ``u in [-width, width]``.

    Args:
        fn: a function of a numpy array, e.g. ``f.value`` or ``np.abs``.
        x: points ``(n,)``. sigma: standard deviation of the kernel (``0`` returns ``fn(x)``).
        num: quadrature nodes. width: half-width of the range in standard deviations.
    Returns:
        ``(n,)`` smoothed values. Example: ``gaussian_smooth_numeric(np.abs, [0.0], 1.0)  # sqrt(2/pi)``
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    x = check_array("x", x)
    sigma = check_real("sigma", sigma, low=0.0)
    num = check_int("num", num, low=3)
    width = check_real("width", width, low=0.0, low_open=True)
    if sigma == 0:
        return np.asarray(fn(x), dtype=float)
    u = np.linspace(-width, width, num)
    weights = np.exp(-0.5 * u ** 2) / np.sqrt(2 * np.pi)
    vals = np.asarray(fn(np.add.outer(x, sigma * u)), dtype=float)
    return np.trapezoid(vals * weights, u, axis=-1)


def local_minimize(f: SinusoidSum, x0, sigma: float = 0.0, *, max_steps: int = 5000, tol: float = 1e-9):
    """The local minimizer of ``g(., sigma)`` in the basin of each start point, by gradient descent with ``lr = 1/L``.

    ``L`` is :meth:`SinusoidSum.curvature_bound`, a bound on ``|g''|``. In one dimension a step of ``|g'(x)| / L``
    can never jump over a critical point ``c`` (because ``|g'(x)| = |g'(x) - g'(c)| <= L |x - c|``), so the
    iterates stay in the basin they start in: this is plain descent, never a jump to a lower valley.

    Args:
        f: a :class:`SinusoidSum`. x0: start point(s), any shape. sigma: smoothing.
        max_steps: step budget. tol: stop when every ``|g'|`` is below this.
    Returns:
        minimizers, same shape as ``x0``. Example: ``local_minimize(wiggly(), -4.0)``
    """
    if not isinstance(f, SinusoidSum):
        raise TypeError(f"f must be a SinusoidSum, got {type(f).__name__}")
    sigma = check_real("sigma", sigma, low=0.0)
    max_steps = check_int("max_steps", max_steps, low=1)
    tol = check_real("tol", tol, low=0.0)
    x = np.array(check_array("x0", x0), dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite")
    lr = 1.0 / max(f.curvature_bound(sigma), 1e-12)
    for _ in range(max_steps):
        g = f.grad(x, sigma)
        if np.all(np.abs(g) < tol):
            break
        x = x - lr * g
    return x


def sigma_schedule(sigma_max: float = 3.0, num: int = 60, *, kind: str = "linear") -> np.ndarray:
    """Decreasing smoothing levels ``sigma_0 = sigma_max > ... > sigma_N = 0`` (the sequence ``t_0 > ... > t_N``).

    Args:
        sigma_max: the heaviest smoothing. num: number of levels after the first.
        kind: ``"linear"`` (equal steps) or ``"geometric"`` (equal ratios, then a last step to 0).
    Returns:
        ``(num + 1,)`` array ending in 0. Example: ``sigma_schedule(3.0, 30)``
    """
    sigma_max = check_real("sigma_max", sigma_max, low=0.0, low_open=True)
    num = check_int("num", num, low=1)
    if kind == "linear":
        return np.linspace(sigma_max, 0.0, num + 1)
    if kind == "geometric":
        return np.append(np.geomspace(sigma_max, sigma_max * 1e-3, num), 0.0)
    raise ValueError(f"kind must be one of 'linear', 'geometric'; got {kind!r}")


@dataclass
class ContinuationResult:
    """What :func:`continuation` returns.

    Attributes:
        sigmas: ``(N + 1,)`` smoothing levels, decreasing to 0.
        xs: ``(N + 1, B)`` the minimizer tracked at each level (``B`` start points).
        values: ``(N + 1, B)`` ``g(xs, sigma)`` at each level.
        x_start: ``(B,)`` start points.
    """

    sigmas: np.ndarray
    xs: np.ndarray
    values: np.ndarray
    x_start: np.ndarray

    @property
    def x_final(self):
        """The minimizer found for the original function (``sigma = 0``): a float for one start point."""
        out = self.xs[-1]
        return float(out[0]) if out.shape == (1,) else out


def continuation(f: SinusoidSum, x0, sigmas=None, *, max_steps: int = 5000) -> ContinuationResult:
    """The continuation method: minimize ``g(., sigma_0)``, then each ``g(., sigma_k)`` from the previous answer.

    With ``sigma_0`` large enough, ``g(., sigma_0)`` is nearly the bowl alone, so the local minimization from
    ``x0`` finds its single minimum; each later level starts from there and follows the valley as it sharpens.

    Args:
        f: a :class:`SinusoidSum`.
        x0: start point(s), a float or ``(B,)``.
        sigmas: decreasing smoothing levels ending in 0 (default :func:`sigma_schedule`).
        max_steps: local minimization budget per level.
    Returns:
        :class:`ContinuationResult`. Example: ``continuation(wiggly(), -4.0).x_final``
    """
    if not isinstance(f, SinusoidSum):
        raise TypeError(f"f must be a SinusoidSum, got {type(f).__name__}")
    sigmas = sigma_schedule() if sigmas is None else check_array("sigmas", sigmas, ndim=1)
    if len(sigmas) < 1 or np.any(sigmas < 0) or np.any(np.diff(sigmas) > 0):
        raise ValueError("sigmas must be a non-empty, non-increasing sequence of values >= 0")
    x = np.atleast_1d(check_array("x0", x0)).astype(float).reshape(-1)
    start = x.copy()
    xs = np.empty((len(sigmas), len(x)))
    values = np.empty_like(xs)
    for k, s in enumerate(sigmas):
        x = local_minimize(f, x, float(s), max_steps=max_steps)
        xs[k] = x
        values[k] = f.value(x, float(s))
    return ContinuationResult(np.asarray(sigmas, dtype=float), xs, values, start)


def local_minima(f: SinusoidSum, sigma: float = 0.0, num: int = 4001) -> np.ndarray:
    """All local minimizers of ``g(., sigma)`` inside the bounds, sorted by position (grid scan, then polished).

    Example: ``len(local_minima(wiggly(), 0.0))`` counts the traps plain descent can fall into.
    """
    if not isinstance(f, SinusoidSum):
        raise TypeError(f"f must be a SinusoidSum, got {type(f).__name__}")
    xs = np.linspace(*f.bounds, check_int("num", num, low=3))
    v = f.value(xs, sigma)
    idx = np.flatnonzero((v[1:-1] < v[:-2]) & (v[1:-1] <= v[2:])) + 1
    if len(idx) == 0:
        return np.empty(0)
    pts = local_minimize(f, xs[idx], sigma)
    return np.unique(np.round(pts, 8))
