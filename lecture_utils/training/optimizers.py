"""Torch optimizers from any form the course accepts: a ``torch.optim`` instance or class, one of our numpy
optimizers from :mod:`lecture_utils.optim` (which equal ``torch.optim`` step for step), or a name such as
``"adam"``. Used by the training loops of lectures 07 and 08.

Example::

    >>> import torch
    >>> from lecture_utils import optim
    >>> from lecture_utils.training.optimizers import make_optimizer
    >>> net = torch.nn.Linear(3, 2)
    >>> type(make_optimizer(optim.SGD(lr=0.1, momentum=0.9), net.parameters())).__name__
    'SGD'
    >>> make_optimizer("adam", net.parameters(), lr=1e-3).defaults["lr"]
    0.001
"""
from __future__ import annotations

import torch

__all__ = ["make_optimizer"]


def make_optimizer(opt, params, **opt_kwargs) -> torch.optim.Optimizer:
    """A ``torch.optim.Optimizer`` over ``params`` from any of the forms :func:`fit` accepts.

    Args:
        opt: a ``torch.optim.Optimizer`` instance (returned as is; ``params`` is ignored), a ``torch.optim``
            class (built with ``opt_kwargs``), a :class:`lecture_utils.optim.Optimizer` instance (its ``.to_torch``)
            or class (built with ``opt_kwargs``), an
            optimizer name such as ``"adam"`` or ``"momentum"`` (:func:`lecture_utils.optim.make` with
            ``opt_kwargs``), or a callable ``params -> optimizer``.
        params: the parameters to optimize (``net.parameters()``).
        **opt_kwargs: hyperparameters for a class or a name, e.g. ``lr=0.1``.
    Returns:
        A ``torch.optim.Optimizer``. Example: ``make_optimizer(torch.optim.SGD, net.parameters(), lr=0.1)``
    """
    from .. import optim as our_optim

    if isinstance(opt, torch.optim.Optimizer):
        if opt_kwargs:
            raise ValueError("opt_kwargs are only used with an optimizer class or name, not with an instance")
        return opt
    if isinstance(opt, our_optim.Optimizer):
        if opt_kwargs:
            raise ValueError("opt_kwargs are only used with an optimizer class or name; set hyperparameters "
                             "on our optimizer instead, e.g. optim.SGD(lr=0.1)")
        return opt.to_torch(params)
    if isinstance(opt, str):
        return our_optim.make(opt, **opt_kwargs).to_torch(params)
    if isinstance(opt, type) and issubclass(opt, our_optim.Optimizer):  # optim.SGD, not optim.SGD(lr=0.1)
        return opt(**opt_kwargs).to_torch(params)
    if isinstance(opt, type) and issubclass(opt, torch.optim.Optimizer):
        return opt(params, **opt_kwargs)
    if callable(opt):
        made = opt(params, **opt_kwargs)
        if not isinstance(made, torch.optim.Optimizer):
            raise TypeError(f"opt(params) must return a torch.optim.Optimizer, got {type(made).__name__}")
        return made
    raise TypeError("opt must be a torch.optim optimizer or class, one of lecture_utils.optim's optimizers, an "
                    f"optimizer name like 'adam', or a callable params -> optimizer; got {type(opt).__name__}")
