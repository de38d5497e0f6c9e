"""The result of every optimizer run in the course: positions, values and gradient norms of ``B`` runs at every step,
and where each run converged or diverged.

``optim.run`` (lectures 03 and 05), the second-order and line-search methods (lecture 06), coordinate descent
(lecture 08) and the gradient-free searches (lecture 09) all return a :class:`Trajectory`, so one widget or plot
draws any of them. Divergence is a result: a run that overflows stops where it was last finite and records the step.

Example (on the bowl with curvatures 1 and 10, lr 0.5 is stable along x only, where the second start stays)::

    >>> from lecture_utils import optim, surfaces
    >>> traj = optim.run(surfaces.get("quadratic"), optim.SGD(lr=0.5), [[1.0, 1.0], [2.0, 0.0]], 300)
    >>> traj.xs.shape, traj.status(0), traj.status(1)
    ((301, 2, 2), 'diverged at step 255', 'converged at step 18')
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Trajectory"]


@dataclass
class Trajectory:
    """What :func:`lecture_utils.optim.run` (and every other method) returns. Shapes: ``T = num_steps + 1`` positions, ``B`` start points, ``d`` dims.

    Attributes:
        xs: ``(T, B, d)`` positions; a diverged point stays at its last finite position.
        values: ``(T, B)`` objective values (NaN from the step a point diverged).
        grad_norms: ``(T, B)`` norms of the raw (unclipped) gradient at each position.
        lrs: ``(num_steps,)`` learning rate used at each step (for the line-search and second-order methods:
            the step length taken, with one start point; NaN with several, whose steps differ).
        diverged_at: ``(B,)`` first step whose value or position was not finite, -1 if never.
        converged_at: ``(B,)`` first step whose gradient norm was under ``tol``, -1 if never.
        label: legend label of the method.
    """

    xs: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    lrs: np.ndarray
    diverged_at: np.ndarray
    converged_at: np.ndarray
    label: str = ""
    tol: float = 1e-5
    extras: dict = field(default_factory=dict)

    @property
    def num_steps(self) -> int:
        return self.xs.shape[0] - 1

    @property
    def final(self) -> np.ndarray:
        """Last positions, shape ``(B, d)``."""
        return self.xs[-1]

    def status(self, i: int = 0) -> str:
        """One line for start point ``i``: 'converged at step 41', 'diverged at step 7' or 'not converged ...'."""
        if self.diverged_at[i] >= 0:
            return f"diverged at step {int(self.diverged_at[i])}"
        if self.converged_at[i] >= 0:
            return f"converged at step {int(self.converged_at[i])}"
        return f"not converged after {self.num_steps} steps (|grad| = {self.grad_norms[-1, i]:.2g})"
