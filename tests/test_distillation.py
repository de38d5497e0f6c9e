"""The distillation loss against its formula written out in numpy, torch's KL divergence, and a training run."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecture_utils.training import data, distillation, nets, train


def numpy_formula(s, y, t, tau, lam, tau_squared):
    """H(y, P_S) + lam [tau^2] H(P_T^tau, P_S^tau), averaged over the batch, in float64 numpy."""
    s, t = s.astype(np.float64), t.astype(np.float64)

    def softmax(z):
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)

    p_s = softmax(s)
    hard = -np.log(p_s[np.arange(len(y)), y]).mean()
    p_t_tau, p_s_tau = softmax(t / tau), softmax(s / tau)
    soft = -(p_t_tau * np.log(p_s_tau)).sum(1).mean()
    return hard + lam * (tau ** 2 if tau_squared else 1.0) * soft


@pytest.mark.parametrize("tau,lam,tau_squared", [(1.0, 0.5, True), (4.0, 1.0, True), (4.0, 1.0, False),
                                                 (10.0, 0.0, True), (2.5, 3.0, False)])
def test_loss_equals_the_formula(tau, lam, tau_squared):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(16, 5, generator=g, dtype=torch.float64) * 3
    t = torch.randn(16, 5, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, 5, (16,), generator=g)
    got = distillation.distillation_loss(s, y, t, tau=tau, lam=lam, tau_squared=tau_squared)
    ref = numpy_formula(s.numpy(), y.numpy(), t.numpy(), tau, lam, tau_squared)
    assert float(got) == pytest.approx(ref, rel=1e-12, abs=1e-12)


def test_soft_term_differs_from_kl_by_the_teacher_entropy_and_has_the_same_gradient():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(8, 4, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(8, 4, generator=g, dtype=torch.float64)
    tau = 3.0
    p_t = distillation.soft_targets(t, tau)
    ce = distillation.soft_cross_entropy(p_t, s, tau)
    kl = F.kl_div(F.log_softmax(s / tau, 1), p_t, reduction="batchmean")
    entropy = -(p_t * p_t.log()).sum(1).mean()
    assert float(ce.detach()) == pytest.approx(float((kl + entropy).detach()), rel=1e-12)
    (g_ce,) = torch.autograd.grad(ce, s)
    (g_kl,) = torch.autograd.grad(F.kl_div(F.log_softmax(s / tau, 1), p_t, reduction="batchmean"), s)
    torch.testing.assert_close(g_ce, g_kl)
    # gradient of the soft term w.r.t. the logits is (P_S^tau - P_T^tau) / tau (per example, batch-averaged)
    torch.testing.assert_close(g_ce, (distillation.soft_targets(s.detach(), tau) - p_t) / tau / 8)


def test_soft_targets_soften_with_temperature():
    logits = torch.tensor([[4.0, 1.0, 0.0]])
    p1, p5 = distillation.soft_targets(logits, 1.0), distillation.soft_targets(logits, 5.0)
    ent = lambda p: float(-(p * p.log()).sum())  # noqa: E731
    assert ent(p5) > ent(p1)
    torch.testing.assert_close(p1, torch.softmax(logits, 1))
    assert float(distillation.soft_targets(logits, 1e6).max()) == pytest.approx(1 / 3, abs=1e-5)


def test_no_gradient_flows_into_the_teacher():
    t = torch.randn(4, 3, requires_grad=True)
    s = torch.randn(4, 3, requires_grad=True)
    distillation.distillation_loss(s, torch.tensor([0, 1, 2, 0]), t).backward()
    assert t.grad is None and s.grad is not None


def test_distillation_loss_plugs_into_train_fit():
    ds = data.digits(device="cpu").subset(200, 100)
    torch.manual_seed(0)
    teacher = nets.MLP(64, (32,), 10)
    train.run(teacher, ds, "adam", epochs=20, opt_kwargs={"lr": 1e-2}, seed=0, progress=False)
    logits = distillation.teacher_logits(teacher, ds.X_train)
    assert logits.shape == (200, 10)
    loss = distillation.DistillationLoss(logits, tau=4.0, lam=1.0)
    idx = torch.arange(5, 15)
    s = torch.randn(10, 10)
    ref = distillation.distillation_loss(s, ds.y_train[idx], logits[idx], 4.0, 1.0)
    torch.testing.assert_close(loss(s, ds.y_train[idx], idx), ref)
    # lam = 0 is plain cross-entropy: the same run as fit's default loss, step for step
    runs = {}
    for name, fn in (("plain", None), ("lam0", distillation.DistillationLoss(logits, tau=4.0, lam=0.0)),
                     ("distilled", distillation.DistillationLoss(logits, tau=4.0, lam=2.0))):
        torch.manual_seed(1)
        student = nets.MLP(64, (16,), 10)
        train.run(student, ds, "adam", epochs=15, opt_kwargs={"lr": 1e-2}, seed=0, loss=fn, progress=False)
        runs[name] = student
    for p, q in zip(runs["plain"].parameters(), runs["lam0"].parameters()):
        torch.testing.assert_close(p, q)
    # the soft term pulls the student's softened outputs towards the teacher's
    p_t = distillation.soft_targets(logits, 4.0)

    def kl_to_teacher(net):
        with torch.no_grad():
            return float(F.kl_div(F.log_softmax(net(ds.X_train) / 4.0, 1), p_t, reduction="batchmean"))

    assert kl_to_teacher(runs["distilled"]) < 0.8 * kl_to_teacher(runs["plain"])


def test_bad_inputs():
    s = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="tau"):
        distillation.distillation_loss(s, torch.tensor([0, 1]), s, tau=0.0)
    with pytest.raises(ValueError, match="lam"):
        distillation.distillation_loss(s, torch.tensor([0, 1]), s, lam=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        distillation.distillation_loss(s, torch.tensor([0, 1]), torch.zeros(2, 4))
