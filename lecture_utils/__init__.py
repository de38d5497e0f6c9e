"""Compute core of the course: surfaces, optimizers, data, small nets, training and exercise checkers.

Every lecture (00 to 09) imports from here; nothing here draws, the ``widgets`` package draws on top of it. The
package is laid out by concept: one module per idea at the top level (:mod:`~lecture_utils.surfaces`,
:mod:`~lecture_utils.optim`, :mod:`~lecture_utils.finite_differences`, :mod:`~lecture_utils.minibatch`, ...),
the torch side in :mod:`lecture_utils.training`, the second-order methods in :mod:`lecture_utils.second_order`,
the exercise checkers in :mod:`lecture_utils.checks` and the shipped data in :mod:`lecture_utils.datasets`.
``import lecture_utils`` loads only :mod:`~lecture_utils.surfaces`, :mod:`~lecture_utils.optim` and the seeding
and device helpers of :mod:`~lecture_utils.device`; import the other modules by name.

Example::

    >>> from lecture_utils import surfaces, optim, set_seed, get_device
    >>> set_seed(0)
    0
    >>> get_device("cpu")
    device(type='cpu')
    >>> traj = optim.run(surfaces.get("quadratic"), optim.SGD(lr=0.1), [2.0, 1.0], num_steps=200)
    >>> traj.status()
    'converged at step 116'
"""
from __future__ import annotations

from . import optim, surfaces
from .device import base_seed, get_device, set_seed

__all__ = ["surfaces", "optim", "set_seed", "get_device", "base_seed"]
__version__ = "0.1.0"
