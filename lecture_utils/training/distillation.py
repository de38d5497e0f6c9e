"""Knowledge distillation: a small student learns from the softened outputs of a teacher (lecture 08).

The loss (FitNets / Hinton et al. 2015) is

    ``L = H(y, P_S) + lambda * tau^2 * H(P_T^tau, P_S^tau)``,

with ``P^tau = softmax(logits / tau)`` the *softened* class probabilities at temperature ``tau``, ``H(p, q) =
-sum_k p_k log q_k`` the cross-entropy and ``H(y, P_S)`` the usual loss on the true labels (``P_S = P_S^1``).

**The tau^2 convention.** The gradient of the soft term with respect to the student logits is
``(P_S^tau - P_T^tau) / tau``, which shrinks like ``1 / tau^2`` for large ``tau`` (Hinton et al. 2015, sec. 2).
Multiplying the soft term by ``tau^2`` keeps its weight comparable across temperatures, so ``lambda`` means the
same thing at every ``tau``; this is the default (``tau_squared=True``). With ``tau_squared=False`` the loss is
the lecture's formula exactly as printed. The soft term is a cross-entropy, not a KL divergence: the two differ by
the teacher's entropy, a constant for the student, so their gradients are equal.

Example::

    >>> import torch
    >>> from lecture_utils.training import distillation
    >>> distillation.soft_targets(torch.tensor([[2.0, 0.0]]), tau=4.0)   # softer than the softmax at tau = 1
    tensor([[0.6225, 0.3775]])
    >>> g = torch.Generator().manual_seed(0)
    >>> student, teacher, y = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), torch.tensor([0, 1, 2, 0])
    >>> loss = distillation.distillation_loss(student, y, teacher, tau=4.0, lam=1.0)
    >>> hard = distillation.distillation_loss(student, y, teacher, tau=4.0, lam=0.0)   # lam = 0: the usual loss
    >>> torch.allclose(hard, torch.nn.functional.cross_entropy(student, y)), bool(loss > hard)
    (True, True)
    >>> distillation.DistillationLoss(teacher, tau=4.0, lam=1.0)   # the same loss for train.fit(loss=...)
    DistillationLoss(tau=4, lam=1, tau_squared=True)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_real

__all__ = ["soft_targets", "soft_cross_entropy", "distillation_loss", "DistillationLoss", "teacher_logits"]


def soft_targets(logits, tau: float = 1.0):
    """``softmax(logits / tau)``: class probabilities softened by the temperature ``tau`` > 0, shape ``(n, K)``.

    Example: ``soft_targets(torch.tensor([[2.0, 0.0]]), tau=2.0)  # [[0.731, 0.269]]``
    """
    tau = check_real("tau", tau, low=0.0, low_open=True)
    return torch.softmax(torch.as_tensor(logits) / tau, dim=-1)


def soft_cross_entropy(target_probs, logits, tau: float = 1.0):
    """Mean over the batch of ``H(p, softmax(logits / tau)) = -sum_k p_k log softmax(logits / tau)_k``.

    Args:
        target_probs: ``(n, K)`` rows that sum to 1 (e.g. the teacher's soft targets).
        logits: ``(n, K)`` the student's logits.
        tau: temperature.
    Returns:
        scalar tensor. Example: ``soft_cross_entropy(soft_targets(t, 4.0), s, 4.0)``
    """
    tau = check_real("tau", tau, low=0.0, low_open=True)
    if target_probs.shape != logits.shape:
        raise ValueError(f"target_probs and logits must have the same shape, got {tuple(target_probs.shape)} "
                         f"and {tuple(logits.shape)}")
    return -(target_probs * F.log_softmax(logits / tau, dim=-1)).sum(-1).mean()


def distillation_loss(student_logits, y, teacher_logits, tau: float = 4.0, lam: float = 1.0, *,
                      tau_squared: bool = True):
    """``H(y, P_S) + lambda [tau^2] H(P_T^tau, P_S^tau)``, averaged over the batch.

    Args:
        student_logits: ``(n, K)``. y: true labels ``(n,)`` (int64). teacher_logits: ``(n, K)`` (no gradient flows
            into them). tau: temperature > 0. lam: weight ``lambda`` >= 0 of the soft term.
        tau_squared: multiply the soft term by ``tau^2`` (Hinton's convention, see the module docstring).
    Returns:
        scalar tensor. Example: ``distillation_loss(s, y, t, tau=4.0, lam=1.0)``
    """
    tau = check_real("tau", tau, low=0.0, low_open=True)
    lam = check_real("lam", lam, low=0.0)
    if not isinstance(tau_squared, bool):
        raise TypeError(f"tau_squared must be True or False, got {tau_squared!r}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student and teacher logits must have the same shape, got {tuple(student_logits.shape)} "
                         f"and {tuple(teacher_logits.shape)}")
    hard = F.cross_entropy(student_logits, y)
    soft = soft_cross_entropy(soft_targets(teacher_logits.detach(), tau), student_logits, tau)
    return hard + lam * (tau * tau if tau_squared else 1.0) * soft


@torch.no_grad()
def teacher_logits(teacher, X, batch_size: int = 4096):
    """The teacher's logits on ``X`` in eval mode (computed once, then reused every epoch), shape ``(n, K)``.

    Example: ``T = teacher_logits(teacher, ds.X_train)``
    """
    from .nets import main_output

    was = teacher.training
    teacher.eval()
    try:
        return torch.cat([main_output(teacher(X[i:i + batch_size])) for i in range(0, len(X), batch_size)])
    finally:
        teacher.train(was)


class DistillationLoss:
    """A loss for :func:`lecture_utils.training.train.fit` that distils precomputed teacher logits into the student.

    ``train.fit`` passes the indices of each minibatch into the training set (``idx``), which pick the matching
    rows of ``teacher_logits_train``.

    Args:
        teacher_logits_train: ``(n_train, K)`` teacher logits on the training set (:func:`teacher_logits`).
        tau, lam, tau_squared: as in :func:`distillation_loss`.
    Example: ``train.run(student, ds, "adam", loss=DistillationLoss(teacher_logits(teacher, ds.X_train)))``
    """

    def __init__(self, teacher_logits_train, tau: float = 4.0, lam: float = 1.0, *, tau_squared: bool = True):
        self.teacher_logits_train = torch.as_tensor(teacher_logits_train).detach()
        self.tau = check_real("tau", tau, low=0.0, low_open=True)
        self.lam = check_real("lam", lam, low=0.0)
        self.tau_squared = tau_squared

    def __call__(self, y_hat, y, idx):
        t = self.teacher_logits_train.to(y_hat.device)[idx]
        return distillation_loss(y_hat, y, t, self.tau, self.lam, tau_squared=self.tau_squared)

    def __repr__(self):
        return f"DistillationLoss(tau={self.tau:g}, lam={self.lam:g}, tau_squared={self.tau_squared})"
