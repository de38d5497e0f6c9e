"""Seeding and device choice in one place: every lecture's setup cell (00 to 09) calls these.

:func:`base_seed` reads the course's base seed from ``COURSE_SEED`` (0 when unset), so that CI can rerun every
notebook at several seeds; :func:`set_seed` seeds python, numpy and torch at once; :func:`get_device` picks CUDA,
then Apple MPS, then the CPU (``LECTURE_DEVICE`` or ``prefer`` forces one).

Example::

    >>> from lecture_utils import base_seed, get_device, set_seed
    >>> set_seed(0)
    0
    >>> get_device("cpu")
    device(type='cpu')
    >>> isinstance(base_seed(), int)              # COURSE_SEED, or 0
    True
"""
from __future__ import annotations

import os
import random

import numpy as np

from ._validate import check_int

#: Environment variable that forces a device, e.g. ``LECTURE_DEVICE=cpu``.
DEVICE_ENV = "LECTURE_DEVICE"
#: Environment variable holding the base seed of every notebook, e.g. ``COURSE_SEED=1`` (default 0).
SEED_ENV = "COURSE_SEED"
_DEVICES = ("cuda", "mps", "cpu")


def base_seed() -> int:
    """The course's base seed: ``COURSE_SEED`` from the environment, 0 when unset.

    Every random draw in a notebook derives from it (``seed=base + 3``, a generator from it, ...), so that CI can
    run each notebook at several base seeds and every claim is checked at all of them.
    Raises ``ValueError`` naming ``COURSE_SEED`` when it is not an integer in ``[0, 2**31 - 1]``.
    Example: ``SEED = base_seed()``
    """
    raw = os.environ.get(SEED_ENV, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{SEED_ENV} must be a non-negative integer, got {raw!r}") from None
    if not 0 <= value <= 2**31 - 1:
        raise ValueError(f"{SEED_ENV} must be in [0, 2**31 - 1], got {value}")
    return value


def set_seed(seed: int) -> int:
    """Seed python's ``random``, numpy's global generator and torch (CPU and CUDA). Returns the seed.

    Example: ``set_seed(0)``
    """
    import torch

    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def get_device(prefer: str | None = None, *, name: str = "prefer"):
    """The torch device to train on: CUDA, then Apple MPS, then CPU.

    ``prefer`` (or the environment variable ``LECTURE_DEVICE``) forces one of ``"cuda"``, ``"mps"``,
    ``"cpu"``; asking for one that is not available raises ``ValueError`` naming the argument (``name``, for
    callers that take a ``device`` argument) and the devices available. Example: ``get_device("cpu")``
    """
    import torch

    choice = prefer if prefer is not None else os.environ.get(DEVICE_ENV) or None
    if isinstance(choice, torch.device):
        choice = str(choice)
    if choice is not None:
        if not isinstance(choice, str) or choice.split(":")[0].lower() not in _DEVICES:
            src = name if prefer is not None else DEVICE_ENV
            hint = " (an NVIDIA GPU is 'cuda', Apple's is 'mps')" if str(choice).lower() == "gpu" else ""
            raise ValueError(f"{src} must be one of {', '.join(_DEVICES)}{hint}, got {choice!r}; available here: "
                             f"{', '.join(d for d in _DEVICES if _available(d))}")
        kind = choice.split(":")[0].lower()
        if not _available(kind):
            raise ValueError(f"{name if prefer is not None else DEVICE_ENV}={choice!r} asks for a device that is not "
                             f"available here; "
                             f"available: {', '.join(d for d in _DEVICES if _available(d))}")
        return torch.device(choice.lower())
    for kind in _DEVICES:
        if _available(kind):
            return torch.device(kind)
    return torch.device("cpu")


def _available(kind: str) -> bool:
    import torch

    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        backend = getattr(torch.backends, "mps", None)
        return bool(backend is not None and backend.is_available())
    return True
