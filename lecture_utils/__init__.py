"""Compute core of the course: surfaces, optimizers, data, small nets, training and exercise checkers.

Nothing here draws; the ``widgets`` package draws on top of it. Example::

    from lecture_utils import surfaces, optim, set_seed, get_device
"""
from __future__ import annotations

from . import optim, surfaces
from .device import base_seed, get_device, set_seed

__all__ = ["surfaces", "optim", "set_seed", "get_device", "base_seed"]
__version__ = "0.1.0"
