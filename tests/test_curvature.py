"""Curvature from Hessian-vector products against exact answers: the full Hessian of nets small enough to form it
(torch.autograd.functional.hessian and finite differences of gradients), and quadratics in closed form."""
import numpy as np
import pytest
import torch

from lecture_utils.training import curvature, data, nets, train
from lecture_utils.training.curvature import HessianOperator, MatrixOperator


def _net(seed=0, hidden=(16, 16), batch_norm=False, activation="tanh", in_dim=4, out_dim=3):
    torch.manual_seed(seed)
    return nets.MLP(in_dim, hidden, out_dim, activation=activation, batch_norm=batch_norm).double()


@pytest.fixture(scope="module")
def blobs():
    ds = data.blobs(n=200, num_classes=3, dim=4, std=1.0, seed=0, device="cpu")
    return ds.X_train.double(), ds.y_train


@pytest.fixture(scope="module")
def trained(blobs):
    """A 403-parameter tanh net after 300 steps of full-batch GD, its exact Hessian and spectrum."""
    X, y = blobs
    net = _net()
    train.run(net, (X, y), torch.optim.SGD, epochs=300, batch_size=len(X), opt_kwargs={"lr": 0.5}, seed=0,
              progress=False)
    H = curvature.exact_hessian(net, X, y)
    return net, H, torch.linalg.eigvalsh(H).flip(0).numpy()


def test_hessian_vector_products_equal_the_full_hessian(trained, blobs):
    net, H, _ = trained
    X, y = blobs
    op = HessianOperator(net, X, y)
    assert op.dim == sum(p.numel() for p in net.parameters()) == 403
    V = torch.randn(3, op.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(op(V), V @ H, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(op(V[0]), H @ V[0], rtol=1e-9, atol=1e-12)
    assert op.num_products == 4
    assert op.loss == pytest.approx(train.evaluate(net, X, y)["loss"], rel=1e-12)


def test_the_full_hessian_equals_finite_differences_of_the_gradient(trained, blobs):
    net, H, _ = trained
    X, y = blobs
    f, Xp, yp = curvature.functional_loss(net, X, y)
    theta = curvature.flat_parameters(net)
    h = 1e-5
    for i in (0, 100, 402):
        e = torch.zeros_like(theta)
        e[i] = h
        grads = [torch.autograd.functional.jacobian(f, theta + s * e) for s in (1, -1)]
        torch.testing.assert_close((grads[0] - grads[1]) / (2 * h), H[i], rtol=1e-5, atol=1e-8)


def test_lanczos_top_five_agree_with_the_exact_spectrum(trained, blobs):
    net, _, exact = trained
    X, y = blobs
    res = curvature.lanczos(HessianOperator(net, X, y), k=5, num_iters=80, seed=3)
    np.testing.assert_allclose(res.eigenvalues, exact[:5], rtol=1e-6)
    assert res.num_products == 80 and res.eigenvalues.shape == (5,) and res.vectors.shape == (5, 403)
    assert (res.residuals < 1e-6 * exact[0]).all()
    # The vectors are eigenvectors: H y = theta y
    _, H, _ = trained
    torch.testing.assert_close(res.vectors @ H, res.vectors * torch.as_tensor(res.eigenvalues)[:, None],
                               rtol=0, atol=1e-6 * exact[0])
    # Fewer steps are less accurate, and the residual bound says so.
    rough = curvature.lanczos(HessianOperator(net, X, y), k=5, num_iters=6, seed=3)
    assert np.abs(rough.eigenvalues - exact[:5]).max() > 1e-6 * exact[0]
    nearest = np.abs(rough.eigenvalues[:, None] - exact[None, :]).min(1)
    assert (nearest <= rough.residuals + 1e-12).all()  # some eigenvalue lies within ||H y - theta y|| of theta


def test_power_iteration_finds_the_top_eigenvalue_and_warm_starts_help(trained, blobs):
    net, _, exact = trained
    X, y = blobs
    op = HessianOperator(net, X, y)
    top = exact[np.argmax(np.abs(exact))]
    res = curvature.power_iteration(op, num_iters=3000, tol=1e-13, seed=0)
    assert res.eigenvalues.shape == () and res.vectors.shape == (403,)
    assert res.eigenvalues == pytest.approx(top, rel=1e-6)
    warm = curvature.power_iteration(op, num_iters=3000, tol=1e-13, v0=res.vectors)
    assert warm.num_products < res.num_products and warm.eigenvalues == pytest.approx(top, rel=1e-6)
    few = curvature.power_iteration(op, num_iters=3, tol=0.0, seed=0)
    assert few.num_products == 3 and abs(few.eigenvalues - top) > 1e-4 * abs(top)


def test_hutchinson_trace_within_its_stated_error(trained, blobs):
    net, H, _ = trained
    X, y = blobs
    est = curvature.hutchinson_trace(HessianOperator(net, X, y), num_samples=400, seed=0)
    exact = float(torch.trace(H))
    off = float((H ** 2).sum() - (torch.diag(H) ** 2).sum())
    stated = np.sqrt(2 * off / 400)  # the standard error of the mean of 400 Rademacher samples
    assert abs(est.estimate - exact) < 4 * stated
    assert 0.8 * stated < est.stderr < 1.25 * stated
    assert est.samples.shape == (400,)


def test_slq_moments_match_the_exact_spectrum(trained, blobs):
    net, H, exact = trained
    X, y = blobs
    sld = curvature.slq(HessianOperator(net, X, y), num_probes=20, num_iters=40, seed=0)
    assert sld.nodes.shape == sld.weights.shape == (20, 40)
    np.testing.assert_allclose(sld.weights.sum(1), 1.0, rtol=1e-10)
    est = sld.moments([0, 1, 2, 3])
    true = np.array([np.mean(exact ** k) for k in range(4)])
    assert est[0] == pytest.approx(1.0)
    # tr(H^k) / P estimated from 20 probes: within 4 standard errors of v^T H^k v / P over probes
    Hk = [torch.linalg.matrix_power(H, k) for k in (1, 2, 3)]
    for k, M in zip((1, 2, 3), Hk):
        off = float((M ** 2).sum() - (torch.diag(M) ** 2).sum())
        stated = np.sqrt(2 * off / 20) / len(exact)
        assert abs(est[k] - true[k]) < 4 * stated + 1e-9, (k, est[k], true[k], stated)
    grid = np.linspace(exact.min() - 1, exact.max() + 1, 4001)
    phi = sld.density(grid, width=0.02)
    assert np.trapezoid(phi, grid) == pytest.approx(1.0, rel=1e-3)
    assert np.trapezoid(phi * grid, grid) == pytest.approx(est[1], abs=1e-4)
    assert sld.nodes.max() == pytest.approx(exact[0], rel=1e-6)  # the extreme nodes converge first


def test_slq_on_a_diagonal_matrix_is_exact():
    lam = np.linspace(-1.0, 5.0, 30)
    sld = curvature.slq(MatrixOperator(np.diag(lam)), num_probes=3, num_iters=10, seed=0)
    # Rademacher probes on a diagonal matrix: v^T A^k v / P = mean(lambda^k) exactly, and Gauss quadrature with
    # 10 nodes is exact for degrees below 20.
    np.testing.assert_allclose(sld.moments(range(20)), [np.mean(lam ** k) for k in range(20)], rtol=1e-8)
    full = curvature.slq(MatrixOperator(np.diag(lam)), num_probes=1, num_iters=30, seed=0)
    np.testing.assert_allclose(np.sort(full.nodes[0]), lam, atol=1e-10)
    np.testing.assert_allclose(full.weights[0], 1 / 30, rtol=1e-8)


def test_power_iteration_slows_with_a_small_eigengap_and_a_warm_start_skips_it():
    lam = np.r_[1.0, 0.97, np.linspace(0.9, 0.0, 20)]
    op = MatrixOperator(np.diag(lam))
    cold = curvature.power_iteration(op, 5000, tol=1e-12, seed=0)
    assert cold.eigenvalues == pytest.approx(1.0, rel=1e-6) and cold.num_products > 200
    e1 = np.eye(len(lam))[0]
    warm = curvature.power_iteration(op, 5000, tol=1e-12, v0=e1 + 1e-3 * np.ones(len(lam)))
    assert warm.eigenvalues == pytest.approx(1.0, rel=1e-6) and warm.num_products < cold.num_products / 2


def test_closed_forms_on_quadratics():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    lam = np.array([9.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.2, 0.1, 0.0, -0.3, -1.0, -2.0])
    A = Q @ np.diag(lam) @ Q.T
    A = 0.5 * (A + A.T)
    op = MatrixOperator(A)
    np.testing.assert_allclose(curvature.lanczos(op, k=12, num_iters=12, seed=0).eigenvalues, lam, atol=1e-10)
    assert curvature.power_iteration(op, 500, tol=1e-14, seed=0).eigenvalues == pytest.approx(9.0, rel=1e-10)
    t = curvature.hutchinson_trace(MatrixOperator(np.diag(lam)), num_samples=5, seed=0)
    assert t.estimate == pytest.approx(lam.sum()) and t.stderr == pytest.approx(0.0, abs=1e-12)
    # Repeated eigenvalues: the Krylov space of one start vector has 3 dimensions; Lanczos restarts and finds all.
    rep = np.array([3.0, 3.0, 3.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(curvature.lanczos(MatrixOperator(np.diag(rep)), k=6, num_iters=6).eigenvalues, rep,
                               atol=1e-10)
    # The most negative eigenvalue dominates: power iteration finds it (largest magnitude), Lanczos the largest.
    neg = MatrixOperator(np.diag([1.0, 0.5, -4.0]))
    assert curvature.power_iteration(neg, 300, tol=1e-14).eigenvalues == pytest.approx(-4.0)
    assert curvature.lanczos(neg, k=1, num_iters=3).eigenvalues[0] == pytest.approx(1.0)


class Quadratic(torch.nn.Module):
    """A "net" whose loss is 0.5 theta^T A theta (with the loss below): its Hessian is A."""

    def __init__(self, A):
        super().__init__()
        self.A = torch.as_tensor(A)
        self.theta = torch.nn.Parameter(torch.ones(len(A), dtype=torch.float64))

    def forward(self, x):
        return (0.5 * self.theta @ self.A @ self.theta).expand(len(x), 1)


def test_a_net_whose_loss_is_a_quadratic():
    A = np.diag([5.0, 2.0, 1.0, 0.0])
    A[0, 1] = A[1, 0] = 1.0
    net = Quadratic(A)
    X, y = torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64)
    value = lambda y_hat, y: y_hat.mean()  # noqa: E731
    torch.testing.assert_close(curvature.exact_hessian(net, X, y, value), torch.as_tensor(A))
    op = HessianOperator(net, X, y, value)
    np.testing.assert_allclose(curvature.lanczos(op, k=4, num_iters=4).eigenvalues, np.linalg.eigvalsh(A)[::-1],
                               atol=1e-12)


def test_a_loss_linear_in_the_parameters_has_zero_hessian():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1).double()
    X, y = torch.randn(5, 3, dtype=torch.float64), torch.zeros(5, 1, dtype=torch.float64)
    op = HessianOperator(net, X, y, lambda y_hat, y: y_hat.sum())
    assert torch.equal(op(torch.ones(2, 4, dtype=torch.float64)), torch.zeros(2, 4, dtype=torch.float64))
    assert curvature.lanczos(op, k=2, num_iters=4).eigenvalues.tolist() == [0.0, 0.0]


def test_batch_norm_in_training_mode_leaves_the_net_unchanged(blobs):
    X, y = blobs
    net = _net(batch_norm=True)
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    op = HessianOperator(net, X, y)  # mode="train": batch statistics
    H = curvature.exact_hessian(net, X, y)
    v = torch.randn(op.dim, dtype=torch.float64)
    torch.testing.assert_close(op(v), H @ v, rtol=1e-9, atol=1e-12)
    for k, t in net.state_dict().items():
        assert torch.equal(t, before[k]), k
    assert not net.training
    eval_op = HessianOperator(net, X, y, mode="eval")
    assert not torch.allclose(eval_op(v), op(v))  # running statistics: another function of the parameters
    assert eval_op.loss == pytest.approx(train.evaluate(net, X, y)["loss"], rel=1e-10)


def test_batched_operators_keep_a_diverged_row_apart():
    A = np.stack([np.diag([3.0, 1.0, 0.5]), np.diag([2.0, 1.0, 0.0]), np.full((3, 3), np.nan)])
    res = curvature.lanczos(MatrixOperator(A), k=2, num_iters=3, seed=0)
    assert res.eigenvalues.shape == (3, 2)
    np.testing.assert_allclose(res.eigenvalues[:2], [[3.0, 1.0], [2.0, 1.0]], atol=1e-12)
    assert np.isnan(res.eigenvalues[2]).all()
    p = curvature.power_iteration(MatrixOperator(A[:2]), 400, tol=1e-14)
    np.testing.assert_allclose(p.eigenvalues, [3.0, 2.0], rtol=1e-10)


def test_float32_nets_work_on_their_own_dtype(blobs):
    X, y = blobs
    torch.manual_seed(0)
    net = nets.MLP(4, (8,), 3, activation="tanh")
    op = HessianOperator(net, X, y)
    assert op.dtype == torch.float32
    res = curvature.lanczos(op, k=2, num_iters=40)
    exact = torch.linalg.eigvalsh(curvature.exact_hessian(net.double(), X, y)).flip(0)[:2].numpy()
    np.testing.assert_allclose(res.eigenvalues, exact, rtol=1e-4)


@pytest.mark.parametrize("call, match", [
    (lambda op: curvature.lanczos(op, k=0), "k must be >= 1"),
    (lambda op: curvature.lanczos(op, k=2, num_iters=10_000), "num_iters must be <="),
    (lambda op: curvature.power_iteration(op, num_iters=0), "num_iters must be >= 1"),
    (lambda op: curvature.power_iteration(op, tol=-1.0), "tol must be >= 0"),
    (lambda op: curvature.hutchinson_trace(op, num_samples=1), "num_samples must be >= 2"),
    (lambda op: curvature.slq(op, num_probes=0), "num_probes must be >= 1"),
    (lambda op: curvature.lanczos(op, seed=-1), "seed must be >= 0"),
    (lambda op: op(torch.zeros(5)), r"v must have shape \(26,\)"),
    (lambda op: curvature.slq(op).density([0.0], width=0.0), "width must be > 0"),
])
def test_bad_arguments_are_refused_by_name(call, match):
    torch.manual_seed(0)
    net = nets.MLP(3, (4,), 2, activation="tanh").double()
    op = HessianOperator(net, torch.randn(10, 3, dtype=torch.float64), torch.randint(0, 2, (10,)))
    with pytest.raises((ValueError, TypeError), match=match):
        call(op)


def test_bad_nets_data_and_modes_are_refused():
    X, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
    net = nets.MLP(3, (4,), 2)
    with pytest.raises(TypeError, match="net must be a torch.nn.Module"):
        HessianOperator("net", X, y)
    with pytest.raises(ValueError, match="mode must be one of"):
        HessianOperator(net, X, y, mode="test")
    with pytest.raises(ValueError, match="X and y need one positive length"):
        HessianOperator(net, X, y[:2])
    with pytest.raises(TypeError, match="loss must be a function"):
        HessianOperator(net, X, y, loss=3)
    with pytest.raises(TypeError, match="op must be an operator"):
        curvature.lanczos(np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        MatrixOperator([[1.0, 2.0], [0.0, 1.0]])
    frozen = nets.MLP(3, (4,), 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        HessianOperator(frozen, X, y)
