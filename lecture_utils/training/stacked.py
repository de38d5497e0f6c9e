"""K nets of one architecture held as stacked tensors: one batched forward, backward and optimizer step for all K.

Introduced for lectures 07 and 08 (a claim about seeds or learning rates is measured over K runs trained together)
and driven by :func:`lecture_utils.training.batched.fit_many`. Every parameter gets a leading model axis, ``(K, out,
in)`` for a weight, so one ``torch.baddbmm`` computes a layer for all K models and one backward gives all K
gradients. The stacked parameters are contiguous blocks of one vector ``flat`` (their gradients of ``grad``), so an
elementwise optimizer step on ``flat`` is K independent steps; :meth:`StackedMLP.expand` spreads a per-model value
(a learning rate) over ``flat``.

Example::

    >>> import torch
    >>> from lecture_utils.training import nets
    >>> stack = StackedMLP([nets.MLP(4, (8,), 3) for _ in range(5)])
    >>> stack.forward(torch.zeros(5, 7, 4)).shape               # each of the K models its own minibatch
    torch.Size([5, 7, 3])
    >>> type(stack.net(2)).__name__                            # an ordinary module with model 2's weights
    'MLP'
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .batchnorm import BatchNorm1d as OurBatchNorm1d
from .nets import MLP

__all__ = ["StackedMLP", "StackedOptimizer", "task_losses", "OPTIMIZERS"]

_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "gelu": F.gelu,
                "identity": lambda z: z}
_IN_PLACE = {"relu": torch.relu_, "tanh": torch.tanh_, "sigmoid": torch.sigmoid_}  # without autograd: no copies
_CONFIG = ("in_dim", "hidden", "out_dim", "batch_norm", "skip", "aux_heads", "activation")
#: The optimizers :class:`StackedOptimizer` implements (``torch.optim`` class names).
OPTIMIZERS = ("SGD", "Adam", "AdamW")


def task_losses(out, y):
    """:func:`lecture_utils.training.train.task_loss` of each model: cross-entropy for int labels, else MSE.

    Args:
        out: logits ``(K, B, C)`` as :meth:`StackedMLP.forward` returns them. y: labels ``(K, B)`` int64, or
            targets ``(K, B, C)``.
    Returns:
        ``(K,)`` tensor, one mean loss per model. Example: ``task_losses(stack.forward(X[idx]), y[idx])``
    """
    if y.dim() == 2 and not torch.is_floating_point(y):  # logsumexp minus the true logit: 4x F.cross_entropy's speed
        z = out.transpose(1, 2)  # contiguous (K, C, B)
        return (torch.logsumexp(z, 1) - z.gather(1, y.unsqueeze(1)).squeeze(1)).mean(1)
    return ((out - y.reshape(out.shape)) ** 2).flatten(1).mean(1)


class StackedMLP:
    """K :class:`lecture_utils.training.nets.MLP` nets of identical architecture as one stacked model.

    Args:
        nets: a sequence of K >= 1 MLPs with the same widths, batch norm, skip, aux_heads and activation, same
            dtype and device, all parameters trainable. Batch norm must be affine with running statistics
            (``torch.nn.BatchNorm1d`` or ours), with the same ``eps`` and ``momentum`` in every net.
    Attributes:
        params: ``(K, *shape)`` per parameter of ``net.parameters()``; flat, grad: ``(K * P,)`` holding them all
        and their gradients; buffers: the batch-norm statistics of every model.
    Example: ``stack = StackedMLP([nets.MLP(64, (32,), 10) for _ in range(3)])``
    """

    def __init__(self, nets):
        if isinstance(nets, nn.Module) or not hasattr(nets, "__len__"):
            raise TypeError(f"nets must be a list of nets.MLP, got {type(nets).__name__}")
        nets = list(nets)
        if not nets:
            raise ValueError("nets must hold at least one net (K >= 1), got an empty list")
        for k, net in enumerate(nets):
            if type(net) is not MLP:
                raise TypeError(f"nets[{k}] is a {type(net).__name__}; only lecture_utils.training.nets.MLP is "
                                "supported (Linear -> optional BatchNorm1d -> activation, skip, aux heads)")
        ref = nets[0]
        named = list(ref.named_parameters())
        for k, net in enumerate(nets):
            for key in _CONFIG:
                if getattr(net, key) != getattr(ref, key):
                    raise ValueError(f"nets must share one architecture: nets[{k}].{key} = {getattr(net, key)!r} "
                                     f"but nets[0].{key} = {getattr(ref, key)!r}")
            mine = list(net.named_parameters())
            if [(n, p.shape) for n, p in mine] != [(n, p.shape) for n, p in named]:
                raise ValueError(f"nets[{k}] has other parameters or shapes than nets[0]")
            for n, p in mine:
                if not p.requires_grad:
                    raise ValueError(f"nets[{k}].{n} is frozen (requires_grad=False); frozen parameters are not "
                                     "supported")
                if p.dtype != named[0][1].dtype or p.device != named[0][1].device:
                    raise ValueError(f"nets[{k}].{n} is {p.dtype} on {p.device}, but nets[0] is "
                                     f"{named[0][1].dtype} on {named[0][1].device}")
        self.K = len(nets)
        self.config = {key: getattr(ref, key) for key in _CONFIG}
        self._template = ref  # its architecture only: net(k) copies it and overwrites every value
        self.names = [n for n, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.sizes = [self.K * p.numel() for _, p in named]
        with torch.no_grad():
            by_name = [dict(net.named_parameters()) for net in nets]
            self.flat = torch.cat([torch.stack([d[n].detach() for d in by_name]).reshape(-1) for n in self.names])
        self.grad = torch.zeros_like(self.flat)
        #: The stacked parameters, ``(K, *shape)`` views of :attr:`flat` (leaves whose ``.grad`` are views of
        #: :attr:`grad`, so one backward fills it).
        self.params = self._views(self.flat)
        for q, g in zip(self.params, self._views(self.grad)):
            q.requires_grad_()
            q.grad = g
        self.model_index = torch.cat([torch.arange(self.K, device=self.flat.device).repeat_interleave(size // self.K)
                                      for size in self.sizes])
        self.bn_layers = [i for i, m in enumerate(ref.norms) if not isinstance(m, nn.Identity)]
        self.eps, self.momentum = [], []
        for i in self.bn_layers:
            for k, net in enumerate(nets):
                m = net.norms[i]
                if not isinstance(m, (nn.BatchNorm1d, OurBatchNorm1d)) or not m.affine or not m.track_running_stats:
                    raise ValueError(f"nets[{k}].norms[{i}]: only affine batch norm with running statistics "
                                     "(torch.nn.BatchNorm1d or batchnorm.BatchNorm1d, the defaults) is supported")
                if (m.eps, m.momentum) != (ref.norms[i].eps, ref.norms[i].momentum):
                    raise ValueError(f"nets[{k}].norms[{i}] has eps/momentum {m.eps}/{m.momentum}, nets[0] "
                                     f"{ref.norms[i].eps}/{ref.norms[i].momentum}")
                if m.momentum is None and int(m.num_batches_tracked) != int(ref.norms[i].num_batches_tracked):
                    raise ValueError("batch norm with momentum=None needs the same num_batches_tracked in every net")
            self.eps.append(ref.norms[i].eps)
            self.momentum.append(ref.norms[i].momentum)
        stack = lambda attr, i: torch.stack([getattr(n.norms[i], attr).detach().clone() for n in nets])  # noqa
        #: Batch-norm buffers, one entry per batch-norm layer: ``(K, C)``, ``(K, C)`` and ``(K,)``.
        self.buffers = {key: [stack(key, i) for i in self.bn_layers]
                        for key in ("running_mean", "running_var", "num_batches_tracked")}

    def _views(self, flat):
        return [b.view(self.K, *s) for b, s in zip(flat.split(self.sizes), self.shapes)]

    def expand(self, values):
        """A per-model value ``(K,)`` (learning rates, a mask) spread over :attr:`flat`'s layout ``(K * P,)``."""
        return values[self.model_index]

    def forward(self, X, *, train: bool = True, shared: bool = False, flat=None):
        """Logits of all K models; in training mode batch norm also moves each model's running statistics.

        Activations are kept feature-major, ``(K, C, B)``: each layer is one ``torch.baddbmm`` and each batch norm
        one ``torch.nn.functional.batch_norm`` over ``(1, K * C, B)``, i.e. per model and feature over its batch.

        Args:
            X: ``(K, B, ...)``, row k the minibatch of model k; with ``shared=True`` ``(n, ...)`` for every model.
            train: batch statistics (and running-statistics updates) in batch norm, else running statistics.
            flat: parameters in :attr:`flat`'s layout to use instead (e.g. an average).
        Returns:
            logits ``(K, B, out_dim)``, or ``(logits, [aux logits (K, B, out_dim)])`` with aux heads.
        Example: ``logits = stack.forward(X[idx])  # idx (K, B)``
        """
        K, cfg = self.K, self.config
        if not shared and (X.dim() < 3 or len(X) != K):
            raise ValueError(f"X must have shape (K={K}, B, ...) (or pass shared=True), got {tuple(X.shape)}")
        w = dict(zip(self.names, self.params if flat is None else self._views(flat)))

        def linear(x, name):
            W, bias = w[name + ".weight"], w.get(name + ".bias")
            if x.dim() == 2:  # an input shared by all models: one matrix product (K * out, in) @ (in, n)
                z = torch.matmul(W, x)
                return z if bias is None else z + bias.unsqueeze(-1)
            return torch.bmm(W, x) if bias is None else torch.baddbmm(bias.unsqueeze(-1), W, x)

        act = _ACTIVATIONS[cfg["activation"]]
        if not torch.is_grad_enabled():
            act = _IN_PLACE.get(cfg["activation"], act)
        x = X.reshape(len(X), -1).t() if shared else X.reshape(K, X.shape[1], -1).transpose(1, 2)
        hs = []
        for i in range(len(cfg["hidden"])):
            if i in self.bn_layers and not train:  # eval: fold the running statistics into the Linear layer
                self._fold(w, i)
                z = linear(x, f"folded.{i}")
            else:
                z = linear(x, f"linears.{i}")
            if i in self.bn_layers and train:
                z = self._batch_norm(z, self.bn_layers.index(i), w)
            h = act(z)
            if cfg["skip"] and i > 0:
                x = (linear(x, f"projections.{i}") if f"projections.{i}.weight" in w else x) + h
            else:
                x = h
            hs.append(x)
        logits = linear(x, "out").transpose(1, 2)
        if not cfg["aux_heads"]:
            return logits
        return logits, [linear(h, f"heads.{i}").transpose(1, 2) for i, h in enumerate(hs[:-1])]

    def _batch_norm(self, z, j, w):
        i, (K, C, B) = self.bn_layers[j], z.shape
        count = self.buffers["num_batches_tracked"][j]
        count += 1
        factor = self.momentum[j] if self.momentum[j] is not None else 1.0 / float(count.max())  # None: cumulative
        out = F.batch_norm(z.reshape(1, K * C, B), self.buffers["running_mean"][j].view(-1),
                           self.buffers["running_var"][j].view(-1), w[f"norms.{i}.weight"].reshape(-1),
                           w[f"norms.{i}.bias"].reshape(-1), True, factor, self.eps[j])
        return out.view(K, C, B)

    def _fold(self, w, i):
        """Eval-mode batch norm after Linear ``i`` as one Linear: ``(W, b)`` scaled by ``gamma / sqrt(var + eps)``."""
        j = self.bn_layers.index(i)
        scale = w[f"norms.{i}.weight"] / torch.sqrt(self.buffers["running_var"][j] + self.eps[j])
        w[f"folded.{i}.weight"] = w[f"linears.{i}.weight"] * scale.unsqueeze(-1)
        shift = w[f"norms.{i}.bias"]
        w[f"folded.{i}.bias"] = (w[f"linears.{i}.bias"] - self.buffers["running_mean"][j]) * scale + shift

    @torch.no_grad()
    def evaluate(self, X, y, flat=None):
        """Loss and accuracy of every model on ``(X, y)`` in eval mode, as ``train.evaluate`` computes them.

        Args:
            X: inputs ``(n, ...)`` shared by all models. y: labels ``(n,)`` or targets ``(n, C)``.
            flat: parameters in :attr:`flat`'s layout to evaluate instead (e.g. an average).
        Returns:
            ``(loss, acc)``, two ``(K,)`` numpy arrays (accuracy NaN for regression).
        Example: ``loss, acc = stack.evaluate(ds.X_test, ds.y_test)``
        """
        K, n = self.K, len(X)
        chunk = max(256, 4096 // K)  # the activations of K * chunk examples stay in the cache
        classification = y.dim() == 1 and not torch.is_floating_point(y)
        total = torch.zeros(K, dtype=torch.float64, device=X.device)
        correct = torch.zeros(K, dtype=torch.float64, device=X.device)
        for i in range(0, n, chunk):
            out = self.forward(X[i:i + chunk], train=False, shared=True, flat=flat)
            out = out[0] if isinstance(out, tuple) else out
            yk = y[i:i + chunk].expand(K, *y[i:i + chunk].shape)
            total += task_losses(out, yk).double() * yk.shape[1]
            if classification:
                correct += (out.contiguous().argmax(-1) == yk).sum(1).double()
        acc = (correct / max(n, 1)).cpu().numpy() if classification else np.full(K, math.nan)
        return (total / max(n, 1)).cpu().numpy(), acc

    def batch_norm_state(self) -> dict:
        """A copy of the batch-norm buffers, for :meth:`restore_batch_norm_state`."""
        return {key: [t.clone() for t in ts] for key, ts in self.buffers.items()}

    @torch.no_grad()
    def restore_batch_norm_state(self, state: dict, models) -> None:
        """Put back the batch-norm buffers of the given models (an index tensor or list) from ``state``."""
        for key, ts in self.buffers.items():
            for t, old in zip(ts, state[key]):
                t[models] = old[models]

    @torch.no_grad()
    def write_to(self, net: nn.Module, k: int, flat=None) -> nn.Module:
        """Copy model ``k``'s parameters (from ``flat`` if given) and batch-norm buffers into ``net``; returns it."""
        for p, q in zip(net.parameters(), self.params if flat is None else self._views(flat)):
            p.copy_(q[k])
        for key, ts in self.buffers.items():
            for i, t in zip(self.bn_layers, ts):
                getattr(net.norms[i], key).copy_(t[k])
        return net

    def net(self, k: int, flat=None) -> nn.Module:
        """Model ``k`` as a new ordinary ``nets.MLP`` (weights and batch-norm buffers). Example: ``stack.net(0)``"""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < self.K:
            raise ValueError(f"k must be an int in [0, {self.K - 1}], got {k!r}")
        return self.write_to(copy.deepcopy(self._template), k, flat)


class StackedOptimizer:
    """SGD, Adam or AdamW on stacked parameters (:attr:`StackedMLP.flat`): K independent steps, each with its own
    learning rate.

    The updates follow ``torch.optim``'s single-tensor code line by line (same hyperparameters, same order), so
    model k's trajectory equals ``torch.optim`` on model k alone up to rounding.

    Args:
        name: one of :data:`OPTIMIZERS`. hyper: the ``torch.optim`` defaults of that optimizer (``momentum``,
            ``betas``, ``weight_decay``, ...; ``lr`` is passed to :meth:`step`).
    Example: ``opt = StackedOptimizer("SGD", {"momentum": 0.9}); opt.step(stack.flat, stack.grad, 0.1)``
    """

    def __init__(self, name: str, hyper: dict):
        if name not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")
        self.name, self.state, self.t = name, {}, 0
        self.hyper = dict(hyper)
        #: The learning rate in ``hyper`` (every model's, unless :meth:`step` is given others).
        self.lr = float(self.hyper.get("lr", 1e-3))
        if name == "AdamW":
            self.hyper["decoupled_weight_decay"] = True

    @classmethod
    def from_spec(cls, opt, opt_kwargs: dict | None = None) -> "StackedOptimizer":
        """From ``torch.optim.SGD``/``Adam``/``AdamW`` plus ``opt_kwargs``, a name for :func:`lecture_utils.optim.make`
        (with ``opt_kwargs``), or ``lecture_utils.optim``'s ``SGD``, ``Adam``, ``AdamW``.

        Example: ``StackedOptimizer.from_spec(torch.optim.Adam, {"lr": 1e-3})``
        """
        from .. import optim as our_optim

        opt_kwargs = dict(opt_kwargs or {})
        dummy = [torch.zeros(1, requires_grad=True)]  # torch fills in every default and checks the values
        if isinstance(opt, torch.optim.Optimizer):
            raise TypeError("opt must not be an optimizer instance (it is bound to one net's parameters); pass its "
                            "class with opt_kwargs, a name like 'adam', or one of lecture_utils.optim's optimizers")
        if isinstance(opt, our_optim.Optimizer):
            if opt_kwargs:
                raise ValueError("opt_kwargs are only used with an optimizer class or name; set hyperparameters on "
                                 "our optimizer instead, e.g. optim.SGD(lr=0.1)")
            built = opt.to_torch(dummy)
        elif isinstance(opt, str):
            built = our_optim.make(opt, **opt_kwargs).to_torch(dummy)
        elif isinstance(opt, type) and issubclass(opt, torch.optim.Optimizer):
            built = opt(dummy, **opt_kwargs)
        else:
            raise TypeError("opt must be a torch.optim class, an optimizer name or one of lecture_utils.optim's "
                            f"optimizers; got {type(opt).__name__}")
        name = type(built).__name__
        if name not in OPTIMIZERS:
            raise ValueError(f"opt {name} is not supported for batched training; supported: {', '.join(OPTIMIZERS)}")
        return cls(name, built.defaults)

    @torch.no_grad()
    def step(self, p, grad, lr, frozen=None) -> None:
        """Update ``p`` in place from ``grad`` (same shape) with the learning rate ``lr`` (a float, or a tensor
        that broadcasts to ``p``: :meth:`StackedMLP.expand` of K rates). Entries where the bool tensor ``frozen``
        is True keep their value and optimizer state. Example: ``opt.step(stack.flat, stack.grad, lr)``
        """
        h, st = self.hyper, self.state
        saved = [] if frozen is None else [(t, t[frozen].clone()) for t in (p, *st.values())]
        g = -grad if h.get("maximize") else grad  # grad itself stays as it is
        self.t += 1
        wd = h.get("weight_decay", 0)
        if self.name == "SGD":
            mom, damp = h.get("momentum", 0), h.get("dampening", 0)
            if wd:
                g = g.add(p, alpha=wd)
            if mom:
                if "buf" not in st:
                    st["buf"] = g.clone()
                else:
                    st["buf"].mul_(mom).add_(g, alpha=1 - damp)
                g = g.add(st["buf"], alpha=mom) if h.get("nesterov") else st["buf"]
            _sub_scaled(p, g, lr)
        else:
            b1, b2 = h.get("betas", (0.9, 0.999))
            if wd:
                if h.get("decoupled_weight_decay"):
                    p.mul_(1 - lr * wd)
                else:
                    g = g.add(p, alpha=wd)
            if "m" not in st:
                st["m"], st["v"] = torch.zeros_like(p), torch.zeros_like(p)
                if h.get("amsgrad"):
                    st["v_max"] = torch.zeros_like(p)
            st["m"].lerp_(g, 1 - b1)
            st["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
            v = st["v"]
            if h.get("amsgrad"):
                v = torch.maximum(st["v_max"], v, out=st["v_max"])
            denom = (v.sqrt() / math.sqrt(1 - b2 ** self.t)).add_(h.get("eps", 1e-8))
            _sub_scaled(p, st["m"].div(denom), lr / (1 - b1 ** self.t))
        for t, rows in saved:
            t[frozen] = rows


def _sub_scaled(p, g, scale):
    """``p -= scale * g`` for a float or a tensor ``scale``."""
    if isinstance(scale, torch.Tensor):
        p.addcmul_(g, scale, value=-1)
    else:
        p.add_(g, alpha=-scale)
