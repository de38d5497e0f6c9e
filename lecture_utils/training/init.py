"""Weight initialization schemes and what they do to activations across depth (lecture 05).

A layer with ``m`` inputs (``fan_in``) and ``n`` outputs (``fan_out``) gets weights drawn from:

- ``"constant"``: every weight equal to ``value``: all hidden units compute the same thing and, since they also
  get the same gradient, stay equal forever (no symmetry breaking);
- ``"uniform_fan_in"``: ``U(-1/sqrt(m), 1/sqrt(m))`` (also torch's default for ``nn.Linear``);
- ``"glorot_uniform"``: ``U(-sqrt(6)/sqrt(m + n), sqrt(6)/sqrt(m + n))`` (Glorot & Bengio 2010; some lecture
  notes print the bound as ``6/sqrt(m + n)``: the 6 sits under the square root), variance ``2 / (m + n)``;
- ``"glorot_normal"``: ``N(0, 2 / (m + n))``;
- ``"he_normal"``: ``N(0, 2 / m)`` (He et al. 2015, for ReLU);
- ``"normal"``: ``N(0, std^2)`` with a fixed ``std`` (0.01 makes signals vanish with depth, 1.0 explode).

The draws use torch's own routines (``uniform_`` / ``normal_`` with a ``torch.Generator``), so with the same
generator they equal ``torch.nn.init.xavier_uniform_`` / ``xavier_normal_`` / ``kaiming_normal_``.

Example (through 10 tanh layers Glorot keeps the signal; weights of std 0.01 make it vanish)::

    >>> from lecture_utils.training import init
    >>> init.uniform_bound("glorot_uniform", 3, 3)   # sqrt(6) / sqrt(3 + 3)
    1.0
    >>> glorot = init.activation_stats("glorot_uniform", depth=10, width=64, activation="tanh")
    >>> small = init.activation_stats("normal", depth=10, width=64, activation="tanh", std=0.01)
    >>> glorot["std"].shape                       # one standard deviation per layer
    (10,)
    >>> bool(glorot["std"][-1] > 0.1), bool(small["std"][-1] < 1e-9)
    (True, True)
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .._validate import check_choice, check_int, check_real

__all__ = ["SCHEMES", "uniform_bound", "weight_std", "init_weight_", "initialize", "activation_stats",
           "deep_mlp"]

SCHEMES = ("constant", "uniform_fan_in", "glorot_uniform", "glorot_normal", "he_normal", "normal")


def uniform_bound(scheme: str, fan_in: int, fan_out: int) -> float:
    """The half-width ``a`` of ``U(-a, a)`` for ``"uniform_fan_in"`` or ``"glorot_uniform"``.

    Example: ``uniform_bound("glorot_uniform", 256, 256)  # sqrt(6) / sqrt(512) = 0.108``
    """
    check_choice("scheme", scheme, ("uniform_fan_in", "glorot_uniform"))
    fan_in = check_int("fan_in", fan_in, low=1)
    fan_out = check_int("fan_out", fan_out, low=1)
    if scheme == "uniform_fan_in":
        return 1.0 / math.sqrt(fan_in)
    return math.sqrt(6.0) / math.sqrt(fan_in + fan_out)


def weight_std(scheme: str, fan_in: int, fan_out: int, *, std: float = 0.01) -> float:
    """Standard deviation of one weight under ``scheme`` (0 for ``"constant"``); ``U(-a, a)`` has ``a / sqrt(3)``."""
    check_choice("scheme", scheme, SCHEMES)
    if scheme == "constant":
        return 0.0
    if scheme in ("uniform_fan_in", "glorot_uniform"):
        return uniform_bound(scheme, fan_in, fan_out) / math.sqrt(3.0)
    if scheme == "glorot_normal":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if scheme == "he_normal":
        return math.sqrt(2.0 / fan_in)
    return check_real("std", std, low=0.0)


def init_weight_(weight: torch.Tensor, scheme: str, *, generator: torch.Generator | None = None,
                 std: float = 0.01, value: float = 0.1) -> torch.Tensor:
    """Fill a ``(fan_out, fan_in)`` weight tensor in place with ``scheme``; returns it.

    Args:
        weight: the weight of an ``nn.Linear`` (rows are output units).
        scheme: one of :data:`SCHEMES`.
        generator: a ``torch.Generator`` for reproducible draws (None: torch's global generator).
        std: standard deviation for ``"normal"``.
        value: the constant for ``"constant"``.
    Example: ``init_weight_(layer.weight, "glorot_uniform", generator=torch.Generator().manual_seed(0))``
    """
    check_choice("scheme", scheme, SCHEMES)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D tensor (fan_out, fan_in), got {type(weight).__name__} "
                         f"{tuple(getattr(weight, 'shape', ()))}")
    fan_out, fan_in = weight.shape
    with torch.no_grad():
        if scheme == "constant":
            return weight.fill_(check_real("value", value))
        if scheme in ("uniform_fan_in", "glorot_uniform"):
            a = uniform_bound(scheme, fan_in, fan_out)
            return weight.uniform_(-a, a, generator=generator)
        return weight.normal_(0.0, weight_std(scheme, fan_in, fan_out, std=std), generator=generator)


def initialize(net: nn.Module, scheme: str, *, seed: int | None = 0, std: float = 0.01, value: float = 0.1,
               bias: float = 0.0) -> nn.Module:
    """Initialize every ``nn.Linear`` of ``net`` with ``scheme`` (biases set to ``bias``); returns ``net``.

    Example: ``initialize(nets.MLP(2, hidden=(8,), out_dim=1), "constant", value=0.5)``
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    bias = check_real("bias", bias)
    for layer in net.modules():
        if isinstance(layer, nn.Linear):
            init_weight_(layer.weight, scheme, generator=gen, std=std, value=value)
            if layer.bias is not None:
                with torch.no_grad():
                    layer.bias.fill_(bias)
    return net


_ACTS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda z: z}


def deep_mlp(depth: int, width: int, activation: str = "tanh") -> nn.Sequential:
    """``depth`` square ``width x width`` Linear layers, each followed by ``activation`` (no output layer)."""
    depth = check_int("depth", depth, low=1)
    width = check_int("width", width, low=1)
    check_choice("activation", activation, tuple(_ACTS))
    act = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "identity": nn.Identity}[activation]
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), act()]
    return nn.Sequential(*layers)


def activation_stats(scheme: str, depth: int = 10, width: int = 256, activation: str = "tanh", *,
                     num_samples: int = 512, std: float = 0.01, seed: int = 0) -> dict:
    """Push standard-normal inputs through a deep MLP initialized with ``scheme``; statistics per layer.

    Args:
        scheme: one of :data:`SCHEMES`.
        depth, width: layers and units per layer.
        activation: ``"tanh"``, ``"relu"``, ``"sigmoid"`` or ``"identity"``.
        num_samples: inputs in the batch.
        std: weight std for ``scheme="normal"``.
        seed: seeds the inputs and the weights.
    Returns:
        dict of ``(depth,)`` arrays: ``"mean"``, ``"std"`` of the activations after each layer, ``"saturated"``
        (fraction with ``|h| > 0.99`` for tanh/sigmoid-like outputs), ``"dead"`` (fraction exactly 0), and
        ``"grad_std"``: the std of the gradient of ``sum(output)`` with respect to each layer's weight.
    Example: ``activation_stats("normal", std=1.0)["saturated"][-1]   # close to 1 for tanh``
    """
    net = initialize(deep_mlp(depth, width, activation), scheme, seed=seed, std=std)
    net = net.double()
    gen = torch.Generator().manual_seed(int(seed) + 1)
    num_samples = check_int("num_samples", num_samples, low=2)
    X = torch.randn(num_samples, width, generator=gen, dtype=torch.float64)
    acts = []
    h = X
    for layer in net:
        h = layer(h)
        if not isinstance(layer, nn.Linear):
            h.retain_grad()
            acts.append(h)
    h.sum().backward()
    stats = {"mean": [], "std": [], "saturated": [], "dead": [], "grad_std": []}
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for a, lin in zip(acts, linears):
        v = a.detach()
        stats["mean"].append(float(v.mean()))
        stats["std"].append(float(v.std()))
        stats["saturated"].append(float((v.abs() > 0.99).double().mean()))
        stats["dead"].append(float((v == 0).double().mean()))
        stats["grad_std"].append(float(lin.weight.grad.std()))
    return {k: np.array(v) for k, v in stats.items()}
