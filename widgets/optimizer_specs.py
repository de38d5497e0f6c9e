"""Optimizers as the explorers offer them: a spec (name, dict or object) with its sliders for lr and momentum.

Introduced with the lecture 01/03 explorers. :class:`OptSpec` reads one spec (``"adam"``, ``{"name": "sgd",
"lr": 0.1}`` or an optimizer object) and rebuilds the optimizer with the rates the sliders hold;
:func:`optimizer_controls` makes those sliders, one row per optimizer, in the optimizer's colour. Besides the
names of :func:`lecture_utils.optim.make`, the explorers know ``"gd"``: plain gradient descent, ``x - lr * g``
(an SGD without momentum and without a momentum slider, titled "GD"; the default-rate tables treat it as
``"sgd"``).

Example::

    specs = parse_optimizers(["sgd", "momentum", "adam"])
    controls, rows = optimizer_controls(specs, [1e-3, 1e-3, 0.1], [None] * 3)
"""
from __future__ import annotations

import ipywidgets
import numpy as np

from lecture_utils import optim

from .controls import float_slider, log_slider
from .style import color

__all__ = ["LR_RANGE", "MAX_OPTIMIZERS", "GD_NAME", "OptSpec", "parse_optimizers", "per_optimizer", "suffix",
           "optimizer_controls"]

#: Learning-rate slider range shared by the explorers.
LR_RANGE = (1e-5, 10.0)
#: At most this many optimizers in one explorer (more lines are unreadable).
MAX_OPTIMIZERS = 6
#: The explorers' name for plain gradient descent (no momentum).
GD_NAME = "gd"


class OptSpec:
    """One optimizer of an explorer: its class and fixed hyperparameters; lr and momentum come from sliders.

    ``spec`` is a name for :func:`lecture_utils.optim.make` (``"adam"``), a dict ``{"name": "adam", "lr": 0.1}``
    or an optimizer instance. ``momentum_key`` is ``"momentum"`` (SGD, RMSprop), ``"beta1"`` (Adam, AdamW) or
    ``None`` (Adagrad).
    """

    def __init__(self, spec, arg: str = "optimizers"):
        self.explicit_lr = not isinstance(spec, str) and not (isinstance(spec, dict) and "lr" not in spec)
        self.plain = False  # "gd": plain gradient descent, no momentum slider
        if isinstance(spec, str):
            self.plain = spec.lower() == GD_NAME
            opt = optim.make("sgd" if self.plain else spec)
            self.name = spec.lower()
        elif isinstance(spec, dict):
            spec = dict(spec)
            name = spec.pop("name", None)
            if not isinstance(name, str):
                raise ValueError(f"{arg}: a dict spec needs a 'name' key (an optimizer name), got {spec!r}")
            self.plain = name.lower() == GD_NAME
            if self.plain and spec.get("momentum", 0.0):
                raise ValueError(f"{arg}: 'gd' is plain gradient descent, without momentum (use 'momentum'); "
                                 f"got momentum={spec['momentum']!r}")
            opt = optim.make("sgd" if self.plain else name, **spec)
            self.name = name.lower()
        elif isinstance(spec, optim.Optimizer):
            opt = spec
            self.name = type(spec).__name__.lower()
        else:
            raise TypeError(f"{arg} entries must be optimizer names (gd, sgd, momentum, nesterov, adagrad, rmsprop, "
                            f"adam, adamw), dicts with a 'name' key, or optimizer objects; "
                            f"got {type(spec).__name__}")
        self.cls = type(opt)
        hp = opt.hyperparameters()
        if "beta1" in hp:
            hp["betas"] = (hp.pop("beta1"), hp.pop("beta2"))
        self.hp = hp
        if isinstance(opt, optim.Adam):
            self.momentum_key = "beta1"
        elif isinstance(opt, (optim.SGD, optim.RMSprop)) and not self.plain:
            self.momentum_key = "momentum"
        else:
            self.momentum_key = None
        self.nesterov = bool(getattr(opt, "nesterov", False))
        self.opt = opt

    @property
    def lr(self) -> float:
        return self.hp["lr"]

    @property
    def momentum(self) -> float | None:
        if self.momentum_key == "beta1":
            return self.hp["betas"][0]
        if self.momentum_key == "momentum":
            return self.hp["momentum"]
        return None

    def build(self, lr: float, momentum: float | None = None) -> optim.Optimizer:
        """The optimizer with this ``lr`` (and momentum or beta1 when it has one)."""
        hp = dict(self.hp, lr=float(lr))
        if momentum is not None and self.momentum_key == "beta1":
            hp["betas"] = (float(momentum), hp["betas"][1])
        elif momentum is not None and self.momentum_key == "momentum":
            hp["momentum"] = float(momentum)
        return self.cls(**hp)

    @property
    def kind(self) -> str:
        """The optimizer's kind, as a name of :func:`lecture_utils.optim.make`: 'sgd', 'momentum', 'nesterov',
        'adam', 'adamw', 'rmsprop' or 'adagrad' (an SGD with momentum is 'momentum'), or 'gd'."""
        if self.plain:
            return GD_NAME
        if self.cls is optim.SGD:
            return "nesterov" if self.nesterov else ("momentum" if self.hp.get("momentum") else "sgd")
        return self.cls.__name__.lower()

    @property
    def rate_kind(self) -> str:
        """The kind the default-rate tables know: :attr:`kind`, with 'gd' read as 'sgd'."""
        return "sgd" if self.plain else self.kind

    @property
    def title(self) -> str:
        """Name for a control row: 'GD', 'SGD', 'momentum', 'Nesterov', 'Adam', ..."""
        if self.plain:
            return "GD"
        if self.cls is optim.SGD:
            return "Nesterov" if self.nesterov else ("momentum" if self.hp.get("momentum") else "SGD")
        return self.cls.__name__

    def label(self, opt: optim.Optimizer) -> str:
        """The legend and status label of ``opt`` built from this spec: ``'GD(lr=0.1)'`` for 'gd', else the
        optimizer's own (``'Adam(lr=0.01)'``)."""
        return f"GD(lr={opt.lr:g})" if self.plain else opt.label


def parse_optimizers(optimizers, arg: str = "optimizers") -> list[OptSpec]:
    """A list of :class:`OptSpec` from one spec or a sequence of specs (1 to :data:`MAX_OPTIMIZERS`)."""
    if isinstance(optimizers, (str, dict, optim.Optimizer)):
        optimizers = [optimizers]
    try:
        items = list(optimizers)
    except TypeError:
        raise TypeError(f"{arg} must be an optimizer spec or a list of them, got {type(optimizers).__name__}") from None
    if not 1 <= len(items) <= MAX_OPTIMIZERS:
        raise ValueError(f"{arg} must hold 1 to {MAX_OPTIMIZERS} optimizers, got {len(items)}")
    return [OptSpec(s, arg) for s in items]


def per_optimizer(name: str, value, n: int, default):
    """Broadcast a scalar (or None -> ``default(i)``) to a list of ``n`` values; check a list's length."""
    if value is None:
        return [default(i) for i in range(n)]
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != n:
            raise ValueError(f"{name} must be a number or a list of {n} numbers (one per optimizer), "
                             f"got {len(value)} values")
        return list(value)
    return [value] * n


def suffix(i: int) -> str:
    """Control-name suffix of optimizer ``i``: '' for the first, '_1', '_2', ... for the others."""
    return "" if i == 0 else f"_{i}"


def optimizer_controls(specs, lrs, momenta, *, continuous_update=True):
    """Sliders per optimizer: ``lr``/``momentum`` (or ``beta1``) for the first, ``lr_1``/... for the others.

    Returns ``(controls, rows)``: a dict name -> slider and one HBox per optimizer with a coloured label.
    """
    controls, rows = {}, []
    for i, (spec, lr, mom) in enumerate(zip(specs, lrs, momenta)):
        sfx = suffix(i)
        lr_s = log_slider("lr", lr, *LR_RANGE, continuous_update=continuous_update)
        controls["lr" + sfx] = lr_s
        row = [ipywidgets.HTML(f'<b style="color:{color(i)}">{spec.title}</b>',
                               layout=ipywidgets.Layout(width="90px")), lr_s]
        if spec.momentum_key is not None:
            low = 0.01 if spec.nesterov else 0.0
            m_s = float_slider(spec.momentum_key, mom if mom is not None else spec.momentum, low, 0.99, 0.01,
                               continuous_update=continuous_update)
            controls[spec.momentum_key + sfx] = m_s
            row.append(m_s)
        rows.append(ipywidgets.HBox(row, layout=ipywidgets.Layout(flex_flow="row wrap")))
    return controls, rows
