"""Critical points of a surface: where the gradient vanishes, found by Newton's method from a grid of starts and
classified by the eigenvalues of the Hessian (minimum, maximum, saddle, degenerate). Lecture 05 classifies them;
every lecture's widgets mark the minima.

:class:`lecture_utils.surfaces.Surface` calls :func:`find_critical_points` on first use of its
``critical_points`` (the known closed-form points plus the ones the search finds inside the plotting box).

Example::

    >>> from lecture_utils import surfaces
    >>> s = surfaces.get("himmelblau")
    >>> [c.kind for c in s.critical_points].count("minimum")
    4
    >>> classify_hessian([[2.0, 0.0], [0.0, -2.0]])
    'saddle'
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CriticalPoint", "classify_hessian", "newton_polish", "find_critical_points"]


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes, with its kind from the Hessian's eigenvalues."""

    point: np.ndarray
    kind: str  # "minimum", "maximum", "saddle" or "degenerate"
    value: float


def classify_hessian(H, tol: float = 1e-6) -> str:
    """Kind of a critical point from its Hessian ``H`` ``(d, d)`` (a number for ``d = 1``): ``"minimum"`` if every
    eigenvalue is positive, ``"maximum"`` if every one is negative, ``"saddle"`` with both signs, else
    ``"degenerate"``; eigenvalues within ``tol`` times the largest one count as zero."""
    H = np.atleast_2d(np.asarray(H, dtype=float))
    eig = np.linalg.eigvalsh(H)
    scale = tol * max(1.0, float(np.abs(eig).max()))
    if np.all(eig > scale):
        return "minimum"
    if np.all(eig < -scale):
        return "maximum"
    if eig.min() < -scale and eig.max() > scale:
        return "saddle"
    return "degenerate"


def newton_polish(surface, X, num_steps: int = 5, *, max_step=None, box=None) -> np.ndarray:
    """Newton steps ``x <- x - H^{-1} grad f`` from each row of ``X`` ``(B, d)``, towards the nearest critical
    point of any kind.

    A tiny ridge keeps singular Hessians (inflection points, the monkey saddle) solvable; ``max_step`` clips each
    step per coordinate; with ``box=(lo, hi)`` a row that stops being finite restarts at ``lo``. Returns ``(B, d)``.
    """
    X = np.array(X, dtype=float).reshape(-1, surface.dim)
    eye = np.eye(surface.dim)
    with np.errstate(all="ignore"):
        for _ in range(num_steps):
            step = np.linalg.solve(surface.hessian_batch(X) + 1e-12 * eye, surface.grad_batch(X)[..., None])[..., 0]
            if max_step is not None:
                step = np.clip(step, -max_step, max_step)
            X = X - step
            if box is not None:
                X = np.where(np.isfinite(X), X, box[0])
    return X


def find_critical_points(surface) -> list[CriticalPoint]:
    """The known critical points of ``surface`` plus, unless ``surface.search`` is False, those Newton's method
    finds inside its plotting box from a grid of ``surface.search_grid`` points per axis; minima first, lowest
    value first."""
    known = surface.known_points
    if not surface.search:
        return [CriticalPoint(p, k, float(surface.value(p))) for p, k in known]
    lo = np.array([b[0] for b in surface.bounds])
    hi = np.array([b[1] for b in surface.bounds])
    n = surface.search_grid
    axes = [np.linspace(lo[i], hi[i], n) for i in range(surface.dim)]
    X = np.stack([m.ravel() for m in np.meshgrid(*axes)], axis=1)
    X = newton_polish(surface, X, num_steps=80, max_step=hi - lo, box=(lo, hi))
    with np.errstate(all="ignore"):
        g = surface.grad_batch(X)
        f = surface.value_batch(X)
    span = hi - lo
    ok = (np.all(np.isfinite(X), axis=1) & np.isfinite(f)
          & np.all((X >= lo - 1e-9 * span) & (X <= hi + 1e-9 * span), axis=1)
          & (np.linalg.norm(g, axis=1) < 1e-7 * (1.0 + np.abs(f))))
    found = [CriticalPoint(p, kind, float(surface.value(p))) for p, kind in known]
    cand = np.unique(np.round(X[ok], 6), axis=0)
    tol = 1e-4 * float(np.linalg.norm(span))
    for p in cand:
        if any(np.linalg.norm(p - c.point) < tol for c in found):
            continue
        # Polish the rounded point with a few Newton steps before classifying it.
        q = newton_polish(surface, p[None, :], num_steps=5)[0]
        if not np.all(np.isfinite(q)) or np.linalg.norm(q - p) > tol:
            q = p
        found.append(CriticalPoint(q, surface.classify(q), float(surface.value(q))))
    found.sort(key=lambda c: (c.kind != "minimum", c.value))
    return found
