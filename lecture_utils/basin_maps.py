"""Where runs end: basin-of-attraction maps and the grid optimizers behind the phase diagram.

Lecture 03 colours 1D start points by the minimum gradient descent reaches (:func:`basin_map_1d`). Lecture 05
runs a whole grid of 2D start points in one batched ``optim.run`` call and classifies each end point by the
critical point it ends at (:func:`classify_endpoints`) and the step from which it stays there
(:func:`settle_steps`); :class:`GridSGD` and :class:`GridAdam` give every start point its own learning rate
and momentum, so one run covers a whole (lr, momentum) phase diagram. The widgets ``BasinMap``
(:mod:`widgets.basins`) and ``PhaseDiagram`` (:mod:`widgets.phase_diagram`) draw these.

Example (four start points on Himmelblau's function reach its four minima)::

    >>> from lecture_utils import basin_maps, optim, surfaces
    >>> s = surfaces.get("himmelblau")
    >>> traj = optim.run(s, optim.SGD(lr=0.01), [[0.0, 0.0], [-3.0, 3.0], [-3.0, -3.0], [3.0, -2.0]], 200)
    >>> codes, labels = basin_maps.classify_endpoints(s, traj)
    >>> [labels[c] for c in codes]
    ['minimum (3, 2)', 'minimum (-2.81, 3.13)', 'minimum (-3.78, -3.28)', 'minimum (3.58, -1.85)']
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import optim
from ._validate import check_array, check_real
from .surfaces import Surface, as_surface
from .trajectory import Trajectory

__all__ = ["BasinMap1D", "basin_map_1d", "classify_endpoints", "critical_point_labels", "settle_steps", "GridSGD",
           "GridAdam"]


@dataclass
class BasinMap1D:
    """What :func:`basin_map_1d` returns.

    Attributes:
        x0s: ``(B,)`` start points; finals: ``(B,)`` where each run ended.
        minima: ``(k,)`` the surface's local minima, sorted from left to right.
        labels: ``(B,)`` index into ``minima`` of the minimum reached, -1 if the run ended at none of them
            (still moving, or cycling), -2 if it diverged.
    """

    x0s: np.ndarray
    finals: np.ndarray
    minima: np.ndarray
    labels: np.ndarray

    def intervals(self) -> list[tuple[float, float, int]]:
        """Runs of consecutive start points with the same label: ``[(x_first, x_last, label), ...]``."""
        out, start = [], 0
        for i in range(1, len(self.labels) + 1):
            if i == len(self.labels) or self.labels[i] != self.labels[start]:
                out.append((float(self.x0s[start]), float(self.x0s[i - 1]), int(self.labels[start])))
                start = i
        return out


def basin_map_1d(surface, x0s, lr: float, num_steps: int = 500, tol: float = 1e-3) -> BasinMap1D:
    """Which local minimum does gradient descent reach from each start point? (lecture 03, 1D surfaces)

    Args:
        surface: a 1D Surface with at least one minimum inside its box.
        x0s: ``(B,)`` start points; lr: learning rate; num_steps: updates per run.
        tol: a run "reached" a minimum when it ends within ``tol`` of it.
    Returns:
        :class:`BasinMap1D`. Example: ``basin_map_1d(surfaces.get("multi_minima"), np.linspace(-4, 4, 801), 0.05)``
    """
    surface = as_surface(surface, dim=1)
    x0s = check_array("x0s", x0s, ndim=1)
    if x0s.size == 0 or not np.all(np.isfinite(x0s)):
        raise ValueError(f"x0s must hold at least one finite start point, got {x0s}")
    tol = check_real("tol", tol, low=0.0, low_open=True)
    traj = optim.run(surface, optim.SGD(lr=lr), x0s[:, None], num_steps=num_steps, tol=0.0)
    finals = traj.final[:, 0]
    minima = np.sort(surface.minima[:, 0])
    if minima.size == 0:
        raise ValueError(f"surface {surface.name!r} has no minimum inside its box {surface.bounds}")
    dist = np.abs(finals[:, None] - minima[None, :])
    labels = np.where(dist.min(axis=1) < tol, dist.argmin(axis=1), -1)
    labels[traj.diverged_at >= 0] = -2
    return BasinMap1D(x0s, finals, minima, labels.astype(np.int64))


def classify_endpoints(surface: Surface, traj: Trajectory, radius: float | None = None):
    """Which critical point each run of ``traj`` ends at.

    Args:
        surface: the surface the runs were made on (its ``critical_points`` are the candidates).
        traj: a batched :class:`~lecture_utils.trajectory.Trajectory` with ``B`` runs.
        radius: an end point within this distance of a critical point ends there (default 2% of the
            plotting box's diagonal).
    Returns:
        ``(codes, labels)``: ``codes`` of shape ``(B,)`` with ``-2`` for diverged, ``-1`` for "ended near no
        critical point", else an index into ``labels`` (one label per critical point, e.g.
        ``"minimum (3, 2)"``).
    Example: ``codes, labels = classify_endpoints(s, optim.run(s, optim.SGD(lr=0.01), X0, 200))``
    """
    crit = surface.critical_points
    pts = np.array([c.point for c in crit], dtype=float).reshape(-1, surface.dim)
    if radius is None:
        radius = 0.02 * float(np.linalg.norm([hi - lo for lo, hi in surface.bounds]))
    radius = check_real("radius", radius, low=0.0, low_open=True)
    end = traj.xs[-1]
    codes = np.full(end.shape[0], -1, dtype=np.int64)
    if len(pts):
        d2 = ((end[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
        nearest = np.argmin(d2, axis=1)
        close = d2[np.arange(end.shape[0]), nearest] <= radius * radius
        codes[close] = nearest[close]
    codes[traj.diverged_at >= 0] = -2
    return codes, critical_point_labels(crit)


def critical_point_labels(crit) -> list[str]:
    """Labels of the critical points, as :func:`classify_endpoints` returns them."""
    return [f"{c.kind} ({', '.join(f'{v:.3g}' for v in c.point)})" for c in crit]


def settle_steps(surface: Surface, traj: Trajectory, codes, radius: float | None = None):
    """First step after which each run stays within ``radius`` of the critical point it ends at.

    ``codes`` come from :func:`classify_endpoints`; runs that end near no critical point (or diverge) get -1.
    Returns an int array of shape ``(B,)``. Example: ``settle_steps(s, traj, codes)``
    """
    if radius is None:
        radius = 0.02 * float(np.linalg.norm([hi - lo for lo, hi in surface.bounds]))
    out = np.full(codes.shape, -1, dtype=np.int64)
    ok = codes >= 0
    if not ok.any():
        return out
    pts = np.array([c.point for c in surface.critical_points], dtype=float).reshape(-1, surface.dim)
    target = pts[codes[ok]]  # (b, d)
    d2 = ((traj.xs[:, ok, :] - target[None]) ** 2).sum(-1)  # (T, b)
    near = d2 <= radius * radius
    # stays[t] is True when the run is near at t and at every later step
    stays = np.logical_and.accumulate(near[::-1], axis=0)[::-1]
    out[ok] = np.where(stays.any(axis=0), np.argmax(stays, axis=0), -1)
    return out


class GridSGD(optim.SGD):
    """SGD with momentum whose ``lr`` and ``momentum`` differ per start point (one grid cell per row).

    The update is ``torch.optim.SGD``'s (dampening 0, no weight decay): ``buf = momentum * buf + g`` (``buf = g``
    on the first step), step ``-lr * buf`` (``-lr * (g + momentum * buf)`` with Nesterov). Used by
    :class:`widgets.PhaseDiagram` so that ``optim.run`` moves every (lr, momentum) pair at once.

    Args:
        lrs, momenta: arrays of shape ``(B,)``.
    Example: ``optim.run(s, GridSGD([0.1, 0.2], [0.0, 0.9]), [x0, x0], 100)``
    """

    def __init__(self, lrs, momenta, nesterov: bool = False):
        lrs = np.asarray(lrs, dtype=float).reshape(-1)
        momenta = np.asarray(momenta, dtype=float).reshape(-1)
        if lrs.shape != momenta.shape or not (np.all(lrs > 0) and np.all((momenta >= 0) & (momenta < 1))):
            raise ValueError("lrs and momenta must have the same shape, lrs > 0 and 0 <= momenta < 1")
        super().__init__(lr=1.0, momentum=0.5 if nesterov else 0.0, nesterov=nesterov)
        self._lrs, self._momenta = lrs[:, None], momenta[:, None]

    def update(self, x, g, state, lr, t):
        buf = state.get("buf")
        buf = g.copy() if buf is None else self._momenta * buf + g
        state["buf"] = buf
        step = g + self._momenta * buf if self.nesterov else buf
        return x - self._lrs * (lr / self.lr) * step  # lr / self.lr carries a schedule, if any


class GridAdam(optim.Adam):
    """Adam whose ``lr`` and ``beta1`` differ per start point (``beta2``, ``eps`` shared), for the phase diagram."""

    def __init__(self, lrs, beta1s, beta2: float = 0.999, eps: float = 1e-8):
        lrs = np.asarray(lrs, dtype=float).reshape(-1)
        beta1s = np.asarray(beta1s, dtype=float).reshape(-1)
        if lrs.shape != beta1s.shape or not (np.all(lrs > 0) and np.all((beta1s >= 0) & (beta1s < 1))):
            raise ValueError("lrs and beta1s must have the same shape, lrs > 0 and 0 <= beta1s < 1")
        super().__init__(lr=1.0, betas=(0.9, beta2), eps=eps)
        self._lrs = lrs[:, None]
        self.beta1 = beta1s[:, None]  # Adam.update broadcasts beta1 and the bias correction per row

    def update(self, x, g, state, lr, t):
        return super().update(x, g, state, self._lrs * (lr / self.lr), t)
