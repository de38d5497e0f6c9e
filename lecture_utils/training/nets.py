"""Small nets for the lectures: an MLP and a CNN for 8 x 8 digits, each with optional batch norm, skips and
auxiliary heads.

Introduced in lecture 07 (batch norm) and used in 08 (auxiliary heads, skip connections, distillation).

Output convention: ``net(X)`` returns the logits ``(n, out_dim)``. With ``aux_heads=True`` it returns a tuple
``(logits, aux_logits)`` where ``aux_logits`` is a list with one ``(n, out_dim)`` tensor per auxiliary head,
lowest layer first, in training and in eval mode alike. :func:`main_output` picks the logits out of either form,
and :func:`lecture_utils.training.train.fit` adds ``aux_weight`` times the mean auxiliary loss to the training loss.

Example::

    >>> import torch
    >>> from lecture_utils.training import nets
    >>> X = torch.zeros(5, 64)
    >>> nets.MLP(64, hidden=(64, 64), out_dim=10, batch_norm=True)(X).shape   # logits (n, 10)
    torch.Size([5, 10])
    >>> logits, aux = nets.MLP(64, hidden=(64, 64), out_dim=10, aux_heads=True)(X)
    >>> len(aux), aux[0].shape                    # one auxiliary head, on the first hidden layer
    (1, torch.Size([5, 10]))
    >>> nets.SmallCNN(num_classes=10)(X).shape    # takes (n, 64) or (n, 1, 8, 8)
    torch.Size([5, 10])
    >>> nets.count_parameters(nets.MLP(64, (32,), 10))   # 64 * 32 + 32 + 32 * 10 + 10
    2410
"""
from __future__ import annotations

from torch import nn

from .._validate import check_choice, check_int

__all__ = ["MLP", "SmallCNN", "main_output", "count_parameters", "init_weights", "ACTIVATIONS", "INITS",
           "make_activation"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "identity")
#: The most parameters a net of the course may have (100 million floats, 400 MB).
MAX_PARAMETERS = 100_000_000
INITS = ("torch", "kaiming", "xavier")


def init_weights(net: nn.Module, init: str = "kaiming") -> nn.Module:
    """Re-initialize every Linear and Conv2d weight of ``net`` in place; returns ``net``.

    ``"torch"`` leaves PyTorch's default; ``"kaiming"`` draws ``N(0, 2 / fan_in)`` (He et al. 2015, for ReLU);
    ``"xavier"`` draws Glorot-uniform weights. Biases become 0 for the last two.
    Example: ``init_weights(net, "kaiming")``
    """
    check_choice("init", init, INITS)
    if init == "torch":
        return net
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if init == "kaiming":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def make_activation(name: str) -> nn.Module:
    """The activation module for ``name`` (one of :data:`ACTIVATIONS`). Example: ``make_activation("tanh")``"""
    check_choice("activation", name, ACTIVATIONS)
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
            "identity": nn.Identity}[name]()


def _norm_layer(kind, width, dims: int):
    """Batch norm by kind: False = none, True/"torch" = torch's, "ours" = the from-scratch one (lecture 07)."""
    if kind is False or kind is None:
        return nn.Identity()
    if kind is True or kind == "torch":
        return nn.BatchNorm1d(width) if dims == 1 else nn.BatchNorm2d(width)
    if kind == "ours":
        if dims != 1:
            raise ValueError("batch_norm='ours' is available for the MLP only (BatchNorm1d from scratch)")
        from .batchnorm import BatchNorm1d

        return BatchNorm1d(width)
    raise ValueError(f"batch_norm must be False, True, 'torch' or 'ours'; got {kind!r}")


def _check_flags(batch_norm, skip, aux_heads):
    if batch_norm not in (False, True, None, "torch", "ours"):
        raise ValueError(f"batch_norm must be False, True, 'torch' or 'ours'; got {batch_norm!r}")
    for name, v in (("skip", skip), ("aux_heads", aux_heads)):
        if not isinstance(v, bool):
            raise TypeError(f"{name} must be True or False, got {v!r}")


class MLP(nn.Module):
    """A fully connected net: ``[Linear -> BatchNorm? -> activation] x len(hidden) -> Linear``.

    Args:
        in_dim: number of input features (inputs of any shape ``(n, ...)`` are flattened).
        hidden: widths of the hidden layers, e.g. ``(64, 64)``; ``()`` gives a linear model.
        out_dim: number of outputs (classes, or regression targets).
        batch_norm: ``False``; ``True`` (``torch.nn.BatchNorm1d`` between each hidden Linear and its activation,
            as Ioffe & Szegedy place it); or ``"ours"`` (the from-scratch :class:`lecture_utils.training.batchnorm.BatchNorm1d`).
        skip: residual connections: each hidden layer after the first computes ``h + f(h)`` (a bias-free linear
            projection of ``h`` replaces ``h`` when the widths differ).
        aux_heads: a linear classifier on every hidden layer but the last; the forward pass then returns
            ``(logits, [aux_logits_1, ...])`` (see the module docstring).
        activation: one of ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"gelu"``, ``"identity"``.
        init: weights of the Linear layers: ``"torch"`` (PyTorch's default, about ``U(-1/sqrt(m), 1/sqrt(m))``
            for ``m`` inputs), ``"kaiming"`` (He et al.: ``N(0, 2/m)``, zero biases; keeps ReLU signals at the
            same scale through depth) or ``"xavier"`` (Glorot uniform ``U(-sqrt(6/(m+n)), sqrt(6/(m+n)))``,
            zero biases).
    Shapes: ``(n, in_dim)`` in, ``(n, out_dim)`` logits out.
    Example: ``net = MLP(64, hidden=(64,) * 6, out_dim=10, batch_norm=True)``
    """

    def __init__(self, in_dim: int, hidden=(64, 64), out_dim: int = 10, *, batch_norm=False, skip: bool = False,
                 aux_heads: bool = False, activation: str = "relu", init: str = "torch"):
        super().__init__()
        in_dim = check_int("in_dim", in_dim, low=1)
        check_choice("init", init, INITS)
        out_dim = check_int("out_dim", out_dim, low=1)
        hidden = tuple(check_int("hidden width", h, low=1) for h in _as_tuple("hidden", hidden))
        _check_flags(batch_norm, skip, aux_heads)
        check_choice("activation", activation, ACTIVATIONS)
        widths = (in_dim,) + hidden + (out_dim,)
        count = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
        if count > MAX_PARAMETERS:
            raise ValueError(f"in_dim={in_dim}, hidden={hidden}, out_dim={out_dim} give {count:,} parameters; "
                             f"the course's nets have at most {MAX_PARAMETERS:,} (a few hundred MB)")
        self.in_dim, self.hidden, self.out_dim = in_dim, hidden, out_dim
        self.batch_norm, self.skip, self.aux_heads, self.activation = batch_norm, skip, aux_heads, activation
        widths = (in_dim,) + hidden
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(_norm_layer(batch_norm, b, 1) for b in hidden)
        self.acts = nn.ModuleList(make_activation(activation) for _ in hidden)
        self.projections = nn.ModuleList(
            nn.Identity() if (not skip or i == 0 or a == b) else nn.Linear(a, b, bias=False)
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])))
        self.heads = nn.ModuleList(nn.Linear(h, out_dim) for h in hidden[:-1]) if aux_heads else nn.ModuleList()
        self.out = nn.Linear(widths[-1], out_dim)
        self.init = init
        init_weights(self, init)

    def _hidden(self, x, before_norm=False):
        x = x.reshape(len(x), -1)
        pre, hs = [], []
        for i, (lin, norm, act, proj) in enumerate(zip(self.linears, self.norms, self.acts, self.projections)):
            a = lin(x)
            z = norm(a)
            pre.append(a if before_norm else z)
            h = act(z)
            x = proj(x) + h if (self.skip and i > 0) else h
            hs.append(x)
        return pre, hs

    def forward(self, x):
        """Logits ``(n, out_dim)``; with aux heads ``(logits, [aux logits per head])``."""
        _, hs = self._hidden(x)
        logits = self.out(hs[-1] if hs else x.reshape(len(x), -1))
        if not self.aux_heads:
            return logits
        return logits, [head(h) for head, h in zip(self.heads, hs[:-1])]

    def hidden_inputs(self, x, before_norm: bool = False) -> list:
        """The input of each hidden layer's activation (after batch norm when present), one ``(n, width)`` each.

        These are the "layer inputs" whose distributions Ioffe & Szegedy track (internal covariate shift,
        lecture 07). With ``before_norm=True`` the outputs of the Linear layers (the inputs of batch norm) are
        returned instead; without batch norm both are the same.
        Example: ``z = net.hidden_inputs(X)[2]  # third hidden layer``
        """
        return self._hidden(x, before_norm)[0]

    def extra_repr(self):
        return (f"batch_norm={self.batch_norm}, skip={self.skip}, aux_heads={self.aux_heads}, "
                f"activation={self.activation!r}, init={self.init!r}")


class _ConvBlock(nn.Module):
    def __init__(self, c_in, c_out, batch_norm, skip, activation):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm = _norm_layer(batch_norm, c_out, 2)
        self.act = make_activation(activation)
        self.skip = skip
        self.proj = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x):
        h = self.act(self.norm(self.conv(x)))
        return self.proj(x) + h if self.skip else h


class SmallCNN(nn.Module):
    """A small CNN for 8 x 8 images: ``[Conv3x3 -> BatchNorm? -> activation -> MaxPool2] x len(channels) -> Linear``.

    With the default two blocks the feature maps go 8x8 -> 4x4 -> 2x2.

    Args:
        num_classes: number of outputs.
        channels: output channels of each conv block (at most 3 blocks for 8 x 8 inputs).
        in_channels: channels of the input image.
        image_size: side of the square input image.
        batch_norm: ``False`` or ``True`` (``torch.nn.BatchNorm2d`` after each conv).
        skip: residual blocks: ``x + f(x)`` before pooling (1x1 conv projection when the channels change).
        aux_heads: a classifier (global average pool -> Linear) on every block but the last; the forward pass
            then returns ``(logits, [aux_logits, ...])``.
        activation: as in :class:`MLP`.
        init: as in :class:`MLP` (applied to the convolutions and Linear layers).
    Shapes: ``(n, in_channels * image_size**2)`` or ``(n, in_channels, image_size, image_size)`` in,
    ``(n, num_classes)`` out.
    Example: ``cnn = SmallCNN(num_classes=10, batch_norm=True)``
    """

    def __init__(self, num_classes: int = 10, channels=(16, 32), *, in_channels: int = 1, image_size: int = 8,
                 batch_norm=False, skip: bool = False, aux_heads: bool = False, activation: str = "relu",
                 init: str = "torch"):
        super().__init__()
        check_choice("init", init, INITS)
        num_classes = check_int("num_classes", num_classes, low=1)
        in_channels = check_int("in_channels", in_channels, low=1)
        image_size = check_int("image_size", image_size, low=2)
        channels = tuple(check_int("channels", c, low=1) for c in _as_tuple("channels", channels))
        if not channels or image_size // 2 ** len(channels) < 1:
            raise ValueError(f"channels must have between 1 and {int(image_size).bit_length() - 1} blocks for "
                             f"{image_size}x{image_size} images, got {channels}")
        if batch_norm == "ours":
            raise ValueError("batch_norm='ours' is for the MLP; use True for the CNN")
        _check_flags(batch_norm, skip, aux_heads)
        check_choice("activation", activation, ACTIVATIONS)
        self.in_channels, self.image_size, self.aux_heads = in_channels, image_size, aux_heads
        widths = (in_channels,) + channels
        self.blocks = nn.ModuleList(_ConvBlock(a, b, batch_norm, skip, activation)
                                    for a, b in zip(widths[:-1], widths[1:]))
        self.pool = nn.MaxPool2d(2)
        side = image_size // 2 ** len(channels)
        self.out = nn.Linear(channels[-1] * side * side, num_classes)
        self.heads = nn.ModuleList(nn.Linear(c, num_classes) for c in channels[:-1]) if aux_heads else nn.ModuleList()
        init_weights(self, init)

    def forward(self, x):
        """Logits ``(n, num_classes)``; with aux heads ``(logits, [aux logits per head])``."""
        if x.dim() == 2:
            x = x.reshape(len(x), self.in_channels, self.image_size, self.image_size)
        feats = []
        for block in self.blocks:
            x = self.pool(block(x))
            feats.append(x)
        logits = self.out(x.flatten(1))
        if not self.aux_heads:
            return logits
        return logits, [head(f.mean((2, 3))) for head, f in zip(self.heads, feats[:-1])]


def _as_tuple(name, value):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}") from None


def main_output(out):
    """The main logits from a net's output, whether or not it has auxiliary heads. Example: ``main_output(net(X))``"""
    return out[0] if isinstance(out, tuple) else out


def count_parameters(net: nn.Module) -> int:
    """Number of trainable scalars in ``net``. Example: ``count_parameters(MLP(64, (64,), 10))  # 4810``"""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)

