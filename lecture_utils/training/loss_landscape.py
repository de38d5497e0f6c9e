"""Pictures of a loss landscape: the loss along a line between two parameter vectors (Goodfellow, Vinyals & Saxe
2015), on a 2D slice along random filter-normalized directions (Li et al. 2018), and the training trajectory
projected on its principal directions.

Introduced in lecture 10. A slice shows the loss on a plane through ``center``:
``L(center + a d1 + b d2)`` on a grid of ``(a, b)``. Li et al. draw ``d1, d2`` at random and rescale every
*filter* (a row of a Linear weight, an output channel of a convolution) to the norm of the same filter of the
weights, so that a net whose weights were scaled up, which computes nearly the same function, does not look
flatter; biases and batch-norm parameters get 0 (their ``ignore='biasbn'``). The grid is evaluated for many points
at once with ``torch.func.vmap`` over ``functional_call`` (:func:`losses_at`; ``batched=False`` loads each point
into the net instead, the reference); :func:`functional_loss`, the loss as a function of a flat parameter vector,
is shared with :mod:`lecture_utils.training.curvature`. A 2D slice is two directions out of ``P``: it can show barriers and the
shape along those directions, and it cannot show what happens along the others.

Example::

    >>> import torch
    >>> from lecture_utils.training import loss_landscape as ll, nets
    >>> _ = torch.manual_seed(0)
    >>> net = nets.MLP(2, (8,), 2)
    >>> X, y = torch.randn(50, 2), torch.randint(0, 2, (50,))
    >>> d1, d2 = ll.random_direction(net, seed=1), ll.random_direction(net, seed=2)
    >>> [n.round(3).tolist() for n in ll.filter_norms(net, d1)] == [n.round(3).tolist() for n in ll.filter_norms(net)]
    True
    >>> g = ll.grid_2d(net, X, y, d1, d2, alphas=[-1, 0, 1], betas=[0, 1])
    >>> g.losses.shape                               # (len(betas), len(alphas))
    (2, 3)
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from .._validate import check_array, check_choice, check_int

__all__ = ["functional_loss", "flat_parameters", "trainable_parameters", "MODES", "losses_at", "interpolate", "random_direction", "filter_norms", "grid_2d", "Grid", "trajectory_pca",
           "TrajectoryPCA", "NORMALIZATIONS"]

#: How the loss treats batch norm and dropout: ``"train"`` (batch statistics) or ``"eval"`` (running statistics).
MODES = ("train", "eval")
#: How :func:`random_direction` rescales a direction: per filter (Li et al.), per layer (whole tensor), or not.
NORMALIZATIONS = ("filter", "layer", None)


def trainable_parameters(net) -> list:
    """``[(name, parameter), ...]`` of the parameters of ``net`` that require grad, in ``net.parameters()`` order:
    the coordinates of every flat parameter vector here. ``TypeError`` for a non-module, ``ValueError`` if none.
    Example: ``[n for n, _ in trainable_parameters(net)]``"""
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("net has no trainable parameters")
    return named


def flat_parameters(net: torch.nn.Module) -> torch.Tensor:
    """A detached copy of the trainable parameters of ``net`` as one vector ``(P,)`` (the order of
    ``net.parameters()``). Example: ``theta0 = flat_parameters(net)``"""
    return torch.cat([p.detach().reshape(-1) for _, p in trainable_parameters(net)]).clone()


def _placed(net, X, y):
    p0 = trainable_parameters(net)[0][1]
    X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"X and y need one positive length, got {len(X)} and {len(y)}")
    X = X.to(p0.device, p0.dtype if X.is_floating_point() else X.dtype)
    y = y.to(p0.device, p0.dtype if y.is_floating_point() else y.dtype)
    return X, y


def functional_loss(net: torch.nn.Module, X, y, loss=None, *, mode: str = "train"):
    """The loss of ``net`` on ``(X, y)`` as a function of its parameters: ``f(flat) -> scalar``.

    ``flat`` is a vector ``(P,)`` in the order of :func:`flat_parameters`; the net itself is not changed (its
    buffers are copied at every call, so batch norm's running statistics stay as they are). ``f`` works under
    ``torch.func.vmap`` for nets without batch norm in training mode (:func:`losses_at` handles those).

    Args:
        net: any module. X, y: inputs and labels (or targets), moved to the net's device and dtype.
        loss: ``loss(y_hat, y)``; ``None`` = :func:`lecture_utils.training.train.task_loss`.
        mode: ``"train"`` or ``"eval"`` (see :data:`MODES`).
    Returns:
        ``(f, X, y)``: the function and the placed data. Example: ``f, X, y = functional_loss(net, X, y)``
    """
    from torch.func import functional_call

    from .nets import main_output
    from .train import task_loss

    check_choice("mode", mode, MODES)
    loss_fn = task_loss if loss is None else loss
    if not callable(loss_fn):
        raise TypeError(f"loss must be a function loss(y_hat, y), got {type(loss).__name__}")
    named = trainable_parameters(net)
    names, shapes = [n for n, _ in named], [p.shape for _, p in named]
    sizes = [p.numel() for _, p in named]
    buffers = dict(net.named_buffers())
    X, y = _placed(net, X, y)

    def f(flat):
        params = {n: t.view(s) for n, t, s in zip(names, flat.split(sizes), shapes)}
        was = net.training
        net.train(mode == "train")
        try:
            out = functional_call(net, {**params, **{k: b.clone() for k, b in buffers.items()}}, (X,))
        finally:
            net.train(was)
        return loss_fn(main_output(out), y)

    return f, X, y


def _as_points(net, points):
    theta = flat_parameters(net)
    pts = points if isinstance(points, torch.Tensor) else torch.as_tensor(np.asarray(points, dtype=float))
    pts = pts.to(theta.device, theta.dtype)
    if pts.dim() == 1:
        pts = pts[None]
    if pts.dim() != 2 or pts.shape[1] != theta.numel():
        raise ValueError(f"points must have shape (N, {theta.numel()}) (one parameter vector per row), got "
                         f"{tuple(pts.shape)}")
    return pts


def losses_at(net: torch.nn.Module, X, y, points, loss=None, *, mode: str = "train", batched: bool = True,
              chunk_size: int = 128) -> np.ndarray:
    """The loss of ``net`` on ``(X, y)`` at each parameter vector in ``points`` ``(N, P)``: ``(N,)`` numpy.

    ``batched=True`` evaluates ``chunk_size`` points per call of ``torch.func.vmap(functional_loss)``;
    ``batched=False`` copies each point into a copy of the net and calls it (the reference). A net with batch norm
    in training mode uses each point's own batch statistics either way. The net is not changed.
    Example: ``losses_at(net, X, y, torch.stack([theta_a, theta_b]))``
    """
    chunk_size = check_int("chunk_size", chunk_size, low=1)
    check_choice("mode", mode, MODES)
    pts = _as_points(net, points)
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    if not batched:
        work = copy.deepcopy(net)
        f, _, _ = functional_loss(work, X, y, loss, mode=mode)
        with torch.no_grad():
            return np.array([float(f(p)) for p in pts])
    work = net
    if has_bn and mode == "train":  # vmap cannot update running statistics: use batch statistics only
        from torch.func import replace_all_batch_norm_modules_

        work = replace_all_batch_norm_modules_(copy.deepcopy(net))
    f, _, _ = functional_loss(work, X, y, loss, mode=mode)
    out = []
    with torch.no_grad():
        for i in range(0, len(pts), chunk_size):
            out.append(torch.func.vmap(f)(pts[i:i + chunk_size]).double().cpu())
    return torch.cat(out).numpy()


def interpolate(net: torch.nn.Module, theta_a, theta_b, X, y, alphas=None, loss=None, *, mode: str = "train",
                batched: bool = True) -> np.ndarray:
    """The loss along the line ``(1 - alpha) theta_a + alpha theta_b`` for each ``alpha``: ``(len(alphas),)``.

    ``alpha = 0`` is ``theta_a`` (e.g. the initialization), ``1`` is ``theta_b`` (the solution); values outside
    ``[0, 1]`` extrapolate. Default alphas: 41 points from -0.25 to 1.25.
    Example: ``interpolate(net, theta_init, theta_final, X, y, np.linspace(0, 1, 21))``
    """
    alphas = np.linspace(-0.25, 1.25, 41) if alphas is None else check_array("alphas", alphas, ndim=1)
    a = _as_points(net, theta_a)[0]
    b = _as_points(net, theta_b)[0]
    t = torch.as_tensor(alphas, dtype=a.dtype, device=a.device)[:, None]
    return losses_at(net, X, y, (1 - t) * a + t * b, loss, mode=mode, batched=batched)


def _filters(t: torch.Tensor) -> torch.Tensor:
    """A tensor as rows, one per filter: ``(out, -1)`` (a Linear weight's rows, a convolution's output channels)."""
    return t.reshape(t.shape[0], -1)


def random_direction(net: torch.nn.Module, seed: int = 0, *, normalization: str | None = "filter",
                     bias: str = "zero") -> torch.Tensor:
    """A random direction ``(P,)`` in parameter space, Gaussian, rescaled as Li et al. (2018) do.

    Args:
        net: the net whose weights set the scale. seed: seeds the Gaussian draw.
        normalization: ``"filter"``: every filter ``d_i`` of a weight tensor becomes ``d_i ||w_i|| / ||d_i||``
            (``w_i`` the same filter of the weights); ``"layer"``: the whole tensor gets the norm of the weight
            tensor; ``None``: no rescaling.
        bias: what 1D parameters (biases, batch-norm scales and shifts) get: ``"zero"`` (Li et al.'s default:
            they stay fixed) or ``"weights"`` (a copy of the parameters themselves, their ``ignore=''``).
    Returns:
        ``(P,)`` tensor in the order of :func:`lecture_utils.training.curvature.flat_parameters`.
    Example: ``d = random_direction(net, seed=SEED + 1)``
    """
    check_choice("normalization", normalization, NORMALIZATIONS)
    check_choice("bias", bias, ("zero", "weights"))
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    pieces = []
    for _, p in trainable_parameters(net):
        w = p.detach()
        d = torch.randn(w.shape, generator=gen, dtype=torch.float64).to(w.device, w.dtype)
        if w.dim() <= 1:
            d = torch.zeros_like(w) if bias == "zero" else w.clone()
        elif normalization == "filter":
            rows, wr = _filters(d), _filters(w)
            d = (rows * (wr.norm(dim=1, keepdim=True) / (rows.norm(dim=1, keepdim=True) + 1e-30))).reshape(w.shape)
        elif normalization == "layer":
            d = d * (w.norm() / (d.norm() + 1e-30))
        pieces.append(d.reshape(-1))
    return torch.cat(pieces)


def filter_norms(net: torch.nn.Module, flat=None) -> list:
    """The norm of every filter of every weight tensor (dim >= 2) of ``net``, or of the vector ``flat`` laid out
    like the net's parameters: a list of ``(out,)`` numpy arrays. Example: ``filter_norms(net, d)``"""
    named = trainable_parameters(net)
    if flat is None:
        tensors = [p.detach() for _, p in named]
    else:
        flat = _as_points(net, flat)[0]
        tensors = [t.view(p.shape) for t, (_, p) in zip(flat.split([p.numel() for _, p in named]), named)]
    return [_filters(t).norm(dim=1).double().cpu().numpy() for t in tensors if t.dim() >= 2]


@dataclass
class Grid:
    """Losses on a 2D slice: ``losses[i, j] = L(center + alphas[j] d1 + betas[i] d2)``, ``(len(betas), len(alphas))``."""

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray


def grid_2d(net: torch.nn.Module, X, y, d1, d2, alphas, betas, loss=None, *, center=None, mode: str = "train",
            batched: bool = True, chunk_size: int = 128) -> Grid:
    """The loss on the plane ``center + a d1 + b d2`` for every ``a`` in ``alphas`` and ``b`` in ``betas``.

    ``center`` defaults to the net's current parameters. All grid points go through :func:`losses_at`
    (batched over points). Example: ``g = grid_2d(net, X, y, d1, d2, np.linspace(-1, 1, 41), np.linspace(-1, 1, 41))``
    """
    alphas, betas = check_array("alphas", alphas, ndim=1), check_array("betas", betas, ndim=1)
    c = flat_parameters(net) if center is None else _as_points(net, center)[0]
    d1, d2 = _as_points(net, d1)[0], _as_points(net, d2)[0]
    A, B = np.meshgrid(alphas, betas)
    a = torch.as_tensor(A.ravel(), dtype=c.dtype, device=c.device)[:, None]
    b = torch.as_tensor(B.ravel(), dtype=c.dtype, device=c.device)[:, None]
    losses = losses_at(net, X, y, c + a * d1 + b * d2, loss, mode=mode, batched=batched, chunk_size=chunk_size)
    return Grid(alphas, betas, losses.reshape(len(betas), len(alphas)))


@dataclass
class TrajectoryPCA:
    """A training trajectory projected on its principal directions (Li et al. 2018, section 7).

    Attributes:
        center: ``(P,)`` the origin (the last point). directions: ``(k, P)`` orthonormal principal directions of
        ``thetas - center``. coords: ``(T, k)`` the projections. explained: ``(k,)`` the fraction of the
        trajectory's variance around ``center`` along each direction.
    """

    center: torch.Tensor
    directions: torch.Tensor
    coords: np.ndarray
    explained: np.ndarray


def trajectory_pca(thetas, num_components: int = 2, *, center=None) -> TrajectoryPCA:
    """Principal directions of a trajectory ``thetas`` ``(T, P)`` (parameter vectors in order) around its last
    point (or ``center``), from the SVD of ``thetas - center``.

    Example: ``pca = trajectory_pca(torch.stack(snapshots)); pca.coords  # (T, 2)``
    """
    th = thetas if isinstance(thetas, torch.Tensor) else torch.as_tensor(np.asarray(thetas, dtype=float))
    if th.dim() != 2 or len(th) < 2:
        raise ValueError(f"thetas must be (T, P) with T >= 2 parameter vectors, got shape {tuple(th.shape)}")
    k = check_int("num_components", num_components, low=1, high=min(th.shape))
    c = th[-1] if center is None else torch.as_tensor(center, dtype=th.dtype)
    M = (th - c).double()
    _, s, Vh = torch.linalg.svd(M, full_matrices=False)
    dirs = Vh[:k]
    # A sign convention: the trajectory starts at positive coordinates.
    sign = torch.sign(M[0] @ dirs.T)
    dirs = dirs * torch.where(sign == 0, torch.ones_like(sign), sign)[:, None]
    total = float((s ** 2).sum())
    explained = (s[:k] ** 2 / total).cpu().numpy() if total > 0 else np.zeros(k)
    return TrajectoryPCA(c.clone(), dirs.to(th.dtype), (M @ dirs.T).cpu().numpy(), explained)
