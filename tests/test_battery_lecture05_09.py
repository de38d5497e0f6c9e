"""The exercise checkers of lectures 05 to 09 under attack.

For every checker: a battery of the mistakes students really make, each rejected with a short message (under
600 characters) that names the input and, where the checker recognizes the mistake, names it correctly; hostile
returns (complex, NaN, inf, strings, generators, None, a wrong shape, a crash, in-place edits) rejected with a
message; every correct form (numpy or torch, list or array, float32 or float64, a tensor that requires grad)
accepted; and the notebook's own reference solution accepted.
"""
import json
import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecture_utils.checks import CheckFailed, lecture05, lecture06, lecture07, lecture08, lecture09
from check_helpers import rejected  # tests/check_helpers.py (tests/ is not a package)

ROOT = Path(__file__).resolve().parents[1]


def returning(fn, transform, which=None):
    """``fn`` with ``transform`` applied to its result (to item ``which`` of a returned pair)."""
    def wrapped(*args):
        out = fn(*args)
        if which is None:
            return transform(out)
        out = list(out)
        out[which] = transform(out[which])
        return tuple(out)
    return wrapped


def computing_in(dtype, fn):
    """``fn`` on its array arguments cast to ``dtype`` (numpy arrays and torch tensors alike): a student who
    computes in float32."""
    def cast(a):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            return a.astype(dtype)
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            return a.to(torch.float32 if dtype == np.float32 else torch.float64)
        return a
    return lambda *args: fn(*(cast(a) for a in args))


def as_torch_inputs(fn):
    """``fn`` on its numpy arguments turned into torch tensors (a student who works in torch)."""
    return lambda *args: fn(*(torch.as_tensor(a) if isinstance(a, np.ndarray) else a for a in args))


def crash(*args):
    raise ValueError("boom")


# ---------------------------------------------------------------------------------------------------------
# Correct answers (numpy), one per checker
# ---------------------------------------------------------------------------------------------------------
def clip_ok(g, max_norm):
    norm = np.linalg.norm(g)
    return g * (max_norm / norm) if norm > max_norm else g


def momentum_ok(x, v, g, lr, momentum):
    v = momentum * v - lr * g
    return x + v, v


def glorot_ok(fan_in, fan_out):
    return math.sqrt(6) / math.sqrt(fan_in + fan_out)


def best_momentum_ok(kappa):
    r = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    return 4 / (math.sqrt(kappa) + 1) ** 2, r * r


def newton_ok(g, H):
    return np.linalg.solve(H, -g)


def cg_beta_ok(g_new, g_old, kind):
    num = g_new @ g_new if kind == "FR" else g_new @ (g_new - g_old)
    return num / (g_old @ g_old)


def cg_ok(A, b, num_steps):
    x = np.zeros_like(b)
    r = b - A @ x
    d = r.copy()
    for _ in range(num_steps):
        Ad = A @ d
        alpha = (r @ r) / (d @ Ad)
        x = x + alpha * d
        r_new = r - alpha * Ad
        d = r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return x


def bfgs_ok(M, s, y):
    rho = 1.0 / (y @ s)
    I = np.eye(len(s))
    return (I - rho * np.outer(s, y)) @ M @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)


def fold_ok(W, b, running_mean, running_var, gamma, beta, eps):
    scale = gamma / torch.sqrt(running_var + eps)
    return scale[:, None] * W, scale * (b - running_mean) + beta


def bn2d_ok(x, gamma, beta, eps):
    mu = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), unbiased=False, keepdim=True)
    return gamma[None, :, None, None] * (x - mu) / torch.sqrt(var + eps) + beta[None, :, None, None]


def coordinate_ok(A, b, x, i):
    x = x.copy()
    x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
    return x


def ema_ok(xs, decay):
    out = np.empty_like(xs, dtype=float)
    out[0] = xs[0]
    for t in range(1, len(xs)):
        out[t] = decay * out[t - 1] + (1 - decay) * xs[t]
    return out


def kd_ok(s, y, t, tau, lam):
    hard = F.cross_entropy(s, y)
    soft = -(torch.softmax(t / tau, 1) * torch.log_softmax(s / tau, 1)).sum(1).mean()
    return hard + lam * tau ** 2 * soft


def pso_ok(x, v, pbest, gbest, r1, r2, inertia, cognitive, social):
    v_new = inertia * v + cognitive * r1 * (pbest - x) + social * r2 * (gbest - x)
    return x + v_new, v_new


def _box(surface):
    return np.array([b[0] for b in surface.bounds]), np.array([b[1] for b in surface.bounds])


def random_search_ok(surface, num_evals, rng):
    lo, hi = _box(surface)
    X = lo + (hi - lo) * rng.random((num_evals, surface.dim))
    values = surface.value(X)
    i = int(np.argmin(values))
    return X[i], float(values[i])


# name -> (checker, correct answer, number of returned items (None: one value), a piece of the first input)
SPECS = {
    "clip_by_norm": (lecture05.check_clip_by_norm, clip_ok, None, "g = [3.0, 4.0]"),
    "momentum_step": (lecture05.check_momentum_step, momentum_ok, 2, "x = [1.0, -2.0]"),
    "glorot_bound": (lecture05.check_glorot_bound, glorot_ok, None, "fan_in = 784"),
    "best_momentum": (lecture05.check_best_momentum, best_momentum_ok, 2, "kappa = 100"),
    "newton_step": (lecture06.check_newton_step, newton_ok, None, "H = [[2.0, 0.0], [0.0, 10.0]]"),
    "cg_beta": (lecture06.check_cg_beta, cg_beta_ok, None, "kind = 'FR'"),
    "linear_cg": (lecture06.check_linear_cg, cg_ok, None, "num_steps = 1"),
    "bfgs_update": (lecture06.check_bfgs_update, bfgs_ok, None, "M = [["),
    "fold_batch_norm": (lecture07.check_fold_batch_norm, fold_ok, 2, "3 x 3 layer"),
    "batch_norm_2d": (lecture07.check_batch_norm_2d, bn2d_ok, None, "shape (4, 3, 5, 3)"),
    "coordinate_minimizer": (lecture08.check_coordinate_minimizer, coordinate_ok, None, "i = 0"),
    "ema": (lecture08.check_ema, ema_ok, None, "decay = 0.5"),
    "distillation_loss": (lecture08.check_distillation_loss, kd_ok, None, "a batch of 4 examples"),
    "pso_step": (lecture09.check_pso_step, pso_ok, 2, "1 particle(s) in 2D"),
    "random_search": (lecture09.check_random_search, random_search_ok, 2, "surface 'himmelblau'"),
}
ARRAY_SPECS = [name for name in SPECS if name != "distillation_loss"]


def _slots(name):
    """(spec name, index of the returned item to attack) for every returned array or number."""
    n = SPECS[name][2]
    return [(name, None)] if n is None else [(name, k) for k in range(n)]


SLOTS = [slot for name in ARRAY_SPECS for slot in _slots(name)]
SLOT_IDS = [f"{name}[{k}]" if k is not None else name for name, k in SLOTS]


# ---------------------------------------------------------------------------------------------------------
# Every checker: the reference answer in every correct form passes; hostile returns are rejected
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SPECS))
def test_the_correct_answer_passes(name, capsys):
    check, ok, _, _ = SPECS[name]
    assert check(ok) is True
    assert capsys.readouterr().out.startswith("Correct:")


FORMS = {
    "a list": lambda o: np.asarray(o).tolist(),
    "a torch tensor": lambda o: torch.as_tensor(np.asarray(o)),
    "a torch tensor that requires grad": lambda o: torch.tensor(np.asarray(o, dtype=float), requires_grad=True),
    "float32": lambda o: np.asarray(o, dtype=np.float32),
    "a float32 tensor": lambda o: torch.as_tensor(np.asarray(o, dtype=np.float32)),
}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("name, which", SLOTS, ids=SLOT_IDS)
def test_every_numeric_form_of_the_answer_passes(name, which, form):
    check, ok, _, _ = SPECS[name]
    if name in ("fold_batch_norm", "batch_norm_2d"):
        to = FORMS[form]
        assert check(returning(ok, lambda o: to(o.detach().numpy()), which))
    else:
        assert check(returning(ok, FORMS[form], which))


HOSTILE = {
    "complex (zero imaginary part)": (lambda o: np.asarray(o) + 0j, "complex"),
    "complex": (lambda o: np.asarray(o) * (1 + 1j) + 1j, "complex"),
    "NaN": (lambda o: np.asarray(o, dtype=float) * np.nan, "not finite"),
    "inf": (lambda o: np.full(np.shape(o), np.inf), "not finite"),
    "a string": (lambda o: str(np.asarray(o).tolist()), "should be a number"),
    "a generator": (lambda o: (v for v in np.atleast_1d(o)), "should be a number"),
    "None": (lambda o: None, "None"),
    "one entry too many": (lambda o: np.append(np.asarray(o), 0.0), "shape"),
}


@pytest.mark.parametrize("attack", list(HOSTILE))
@pytest.mark.parametrize("name, which", SLOTS, ids=SLOT_IDS)
def test_hostile_returns_are_rejected_with_a_message(name, which, attack):
    check, ok, _, first = SPECS[name]
    transform, needle = HOSTILE[attack]
    if name == "batch_norm_2d":
        ok = returning(ok, lambda o: o.numpy())
    if name == "fold_batch_norm":
        ok = returning(ok, lambda o: tuple(a.numpy() for a in o))
    if name == "random_search" and which == 1 and needle == "shape":
        needle = "shape ()"  # best_value must be one number
    msg = rejected(check, returning(ok, transform, which), needle)
    assert first.split(" = ")[0] in msg or first in msg, msg


@pytest.mark.parametrize("name", list(SPECS))
def test_a_crash_names_the_input(name):
    check, _, _, first = SPECS[name]
    rejected(check, crash, "raised ValueError: boom", first)


@pytest.mark.parametrize("name", list(SPECS))
def test_a_missing_return_is_named(name):
    check, _, _, _ = SPECS[name]
    rejected(check, lambda *args: None, "None")


@pytest.mark.parametrize("name", list(SPECS))
def test_a_stub_is_not_attempted(name, capsys):
    check = SPECS[name][0]

    def stub(*args):
        raise NotImplementedError

    assert check(stub) is None
    assert "not attempted yet" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------
# The notebooks' own reference solutions pass
# ---------------------------------------------------------------------------------------------------------
def _solutions():
    """(notebook, checker, function name, solution code) for every checker call in notebooks 05 to 09."""
    found = []
    for path in sorted((ROOT / "notebooks").glob("0[5-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        blocks = []
        for cell in cells:
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and "<details" in text:
                blocks += [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]
        for module, checker, fn in re.findall(r"(lecture0[5-9])\.(check_\w+)\((\w+)\)", code):
            solution = [b for b in blocks if re.search(rf"^def {fn}\(", b, re.M)]
            found.append((path.name, f"{module}.{checker}", fn, solution[0] if solution else None))
    return found


SOLUTIONS = _solutions()


def test_every_checker_is_called_by_a_notebook():
    called = {c for _, c, _, _ in SOLUTIONS}
    mine = {f"{m.__name__.rsplit('.', 1)[1]}.{n}" for m in (lecture05, lecture06, lecture07, lecture08, lecture09)
            for n in m.__all__}
    assert called == mine


@pytest.mark.parametrize("notebook, checker, fn, solution", SOLUTIONS, ids=[s[1] for s in SOLUTIONS])
def test_the_notebook_solution_passes(notebook, checker, fn, solution, capsys):
    assert solution is not None, f"{notebook}: no python block defining {fn} inside a <details> solution"
    namespace = {"np": np, "math": math, "torch": torch, "F": F, "nn": torch.nn}
    exec(compile(solution, f"{notebook}:{fn}", "exec"), namespace)
    module, name = checker.split(".")
    check = getattr({"lecture05": lecture05, "lecture06": lecture06, "lecture07": lecture07, "lecture08": lecture08,
                     "lecture09": lecture09}[module], name)
    assert check(namespace[fn]) is True


# ---------------------------------------------------------------------------------------------------------
# More correct forms, per checker: torch, float32 arithmetic, other formulas that give the same answer
# ---------------------------------------------------------------------------------------------------------
def clip_torch(g, max_norm):
    g = torch.as_tensor(g)
    norm = torch.linalg.norm(g)
    return g * (max_norm / norm) if norm > max_norm else g


def clip_min_form(g, max_norm):
    norm = np.sqrt(np.sum(g ** 2))
    return g * min(1.0, max_norm / norm) if norm > 0 else g.copy()


def newton_torch(g, H):
    return torch.linalg.solve(torch.as_tensor(H), -torch.as_tensor(g))


def cg_beta_torch(g_new, g_old, kind):
    g_new, g_old = torch.as_tensor(g_new), torch.as_tensor(g_old)
    num = torch.dot(g_new, g_new) if kind.upper() == "FR" else torch.dot(g_new, g_new - g_old)
    return num / torch.dot(g_old, g_old)


def cg_recomputed_residual(A, b, num_steps):  # r = b - A x at every step, alpha = r.d / d.A d, a tolerance stop
    x = np.zeros(len(b))
    r = b - A @ x
    d = r.copy()
    for _ in range(num_steps):
        if np.linalg.norm(r) < 1e-12:
            break
        alpha = (r @ d) / (d @ A @ d)
        x = x + alpha * d
        r_new = b - A @ x
        d = r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return x


def cg_torch(A, b, num_steps):
    A, b = torch.as_tensor(A), torch.as_tensor(b)
    x = torch.zeros_like(b)
    r = b.clone()
    d = r.clone()
    for _ in range(num_steps):
        Ad = A @ d
        alpha = (r @ r) / (d @ Ad)
        x = x + alpha * d
        r_new = r - alpha * Ad
        d = r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return x


def bfgs_torch(M, s, y):
    M, s, y = (torch.as_tensor(a) for a in (M, s, y))
    rho = 1.0 / torch.dot(y, s)
    I = torch.eye(len(s), dtype=M.dtype)
    return (I - rho * torch.outer(s, y)) @ M @ (I - rho * torch.outer(y, s)) + rho * torch.outer(s, s)


def bfgs_expanded(M, s, y):
    rho = 1.0 / (y @ s)
    My = M @ y
    return M - rho * (np.outer(s, My) + np.outer(My, s)) + (rho * rho * (y @ My) + rho) * np.outer(s, s)


def fold_np(W, b, mean, var, gamma, beta, eps):
    W, b, mean, var, gamma, beta = (np.asarray(t) for t in (W, b, mean, var, gamma, beta))
    s = gamma / np.sqrt(var + eps)
    return s[:, None] * W, s * (b - mean) + beta


def bn2d_np(x, gamma, beta, eps):
    x, gamma, beta = x.numpy(), gamma.numpy(), beta.numpy()
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    var = ((x - mu) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - mu) / np.sqrt(var + eps) + beta.reshape(1, -1, 1, 1)


def bn2d_functional(x, gamma, beta, eps):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)


def bn2d_flatten(x, gamma, beta, eps):
    N, C, H, W = x.shape
    z = x.transpose(0, 1).reshape(C, -1)
    var, mu = torch.var_mean(z, dim=1, unbiased=False, keepdim=True)
    y = (gamma[:, None] * (z - mu) / torch.sqrt(var + eps) + beta[:, None]).reshape(C, N, H, W)
    return y.transpose(0, 1)


def coordinate_loop(A, b, x, i):
    total = sum(A[i, j] * x[j] for j in range(len(x)) if j != i)
    out = np.array(x, dtype=float)
    out[i] = (b[i] - total) / A[i, i]
    return out


def coordinate_torch(A, b, x, i):
    A, b, x = (torch.as_tensor(a) for a in (A, b, x))
    x = x.clone()
    x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
    return x


def ema_rows(xs, decay):  # a list of rows
    out = [xs[0]]
    for x in xs[1:]:
        out.append(decay * out[-1] + (1 - decay) * x)
    return out


def ema_torch(xs, decay):
    xs = torch.as_tensor(xs)
    out = [xs[0]]
    for x in xs[1:]:
        out.append(decay * out[-1] + (1 - decay) * x)
    return torch.stack(out)


def kd_soft_targets(s, y, t, tau, lam):
    return F.cross_entropy(s, y) + lam * tau ** 2 * F.cross_entropy(s / tau, torch.softmax(t / tau, 1))


def kd_kl_plus_entropy(s, y, t, tau, lam):
    p_t = torch.softmax(t / tau, 1)
    entropy = -(p_t * torch.log(p_t)).sum(1).mean()
    kl = F.kl_div(F.log_softmax(s / tau, dim=1), p_t, reduction="batchmean")
    return F.nll_loss(F.log_softmax(s, 1), y) + lam * tau ** 2 * (kl + entropy)


def kd_log_of_softmax(s, y, t, tau, lam):
    soft = -(torch.softmax(t / tau, 1) * torch.log(torch.softmax(s / tau, 1))).sum(1).mean()
    return F.cross_entropy(s, y) + lam * tau ** 2 * soft


def kd_course(s, y, t, tau, lam):
    from lecture_utils.training import distillation
    return distillation.distillation_loss(s, y, t, tau, lam)


def random_search_uniform(surface, num_evals, rng):
    lo, hi = _box(surface)
    X = rng.uniform(lo, hi, size=(num_evals, surface.dim))
    values = surface.value(X)
    return list(X[np.argmin(values)]), values.min()


def random_search_loop(surface, num_evals, rng):  # one point at a time
    lo, hi = _box(surface)
    best_x, best_value = None, np.inf
    for _ in range(num_evals):
        x = lo + (hi - lo) * rng.random(surface.dim)
        value = surface.value(x)
        if value < best_value:
            best_x, best_value = x, value
    return best_x, best_value


def random_search_columns(surface, num_evals, rng):  # d rows of num_evals draws, transposed: still i.i.d.
    lo, hi = _box(surface)
    X = (lo[:, None] + (hi - lo)[:, None] * rng.random((surface.dim, num_evals))).T
    values = surface.value(X)
    return torch.as_tensor(X[np.argmin(values)]), torch.as_tensor(values.min())


F32 = np.float32
MORE_CORRECT = {
    "clip_by_norm": [clip_torch, clip_min_form, computing_in(F32, clip_ok), computing_in(F32, clip_torch)],
    "momentum_step": [as_torch_inputs(momentum_ok), computing_in(F32, momentum_ok)],
    "glorot_bound": [lambda a, b: np.sqrt(6 / (a + b)), lambda a, b: torch.sqrt(torch.tensor(6.0) / (a + b)),
                     lambda a, b: np.float32(math.sqrt(6) / math.sqrt(a + b))],
    "best_momentum": [lambda k: tuple(np.float32(v) for v in best_momentum_ok(k)),
                      lambda k: [torch.tensor(v) for v in best_momentum_ok(k)]],
    "newton_step": [newton_torch, lambda g, H: -np.linalg.inv(H) @ g, computing_in(F32, newton_ok),
                    computing_in(F32, newton_torch), lambda g, H: np.linalg.lstsq(H, -g, rcond=None)[0]],
    "cg_beta": [cg_beta_torch, computing_in(F32, cg_beta_ok), computing_in(F32, cg_beta_torch)],
    "linear_cg": [cg_recomputed_residual, cg_torch, computing_in(F32, cg_ok), computing_in(F32, cg_torch)],
    "bfgs_update": [bfgs_torch, bfgs_expanded, computing_in(F32, bfgs_ok), computing_in(F32, bfgs_torch)],
    "fold_batch_norm": [fold_np, computing_in(F32, fold_ok), computing_in(F32, fold_np)],
    "batch_norm_2d": [bn2d_np, bn2d_functional, bn2d_flatten, computing_in(F32, bn2d_ok),
                      computing_in(F32, bn2d_flatten)],
    "coordinate_minimizer": [coordinate_loop, coordinate_torch, computing_in(F32, coordinate_ok)],
    "ema": [ema_rows, ema_torch, computing_in(F32, ema_ok), computing_in(F32, ema_torch)],
    "distillation_loss": [kd_soft_targets, kd_kl_plus_entropy, kd_log_of_softmax, kd_course,
                          computing_in(F32, kd_ok), lambda *a: kd_ok(*a).reshape(1)],
    "pso_step": [as_torch_inputs(pso_ok), computing_in(F32, pso_ok)],
    "random_search": [random_search_uniform, random_search_loop, random_search_columns],
}
MORE_IDS = [f"{name}-{k}" for name, fns in MORE_CORRECT.items() for k in range(len(fns))]


@pytest.mark.parametrize("name, fn", [(n, f) for n, fns in MORE_CORRECT.items() for f in fns], ids=MORE_IDS)
def test_other_correct_forms_pass(name, fn):
    assert SPECS[name][0](fn) is True


def test_float32_answers_are_not_bit_exact():
    """The float32 forms above do differ from the float64 reference (else they would test nothing)."""
    g = np.random.default_rng(0).standard_normal(6)
    assert not np.array_equal(computing_in(F32, clip_ok)(g * 10, 2.0), clip_ok(g * 10, 2.0))


# ---------------------------------------------------------------------------------------------------------
# The batteries: typical mistakes, each rejected, named where the checker recognizes it
# ---------------------------------------------------------------------------------------------------------
def _norm_clip(norm_fn):
    def clip(g, max_norm):
        n = norm_fn(g)
        return g * max_norm / n if n > max_norm else g
    return clip


def _clip_in_place(g, max_norm):
    norm = np.linalg.norm(g)
    if norm > max_norm:
        g *= max_norm / norm
    return g


CLIP_MISTAKES = [
    (lambda g, m: np.clip(g, -m, m), ["clipping by value", "g = [3.0, 4.0] (|g| = 5), max_norm = 2.0"]),
    (lambda g, m: g * m / np.linalg.norm(g) if np.linalg.norm(g) > 0 else g, ["already below max_norm",
                                                                             "g = [0.3, 0.4]"]),
    (lambda g, m: g * m if np.linalg.norm(g) > m else g, ["forgets to divide"]),
    (lambda g, m: g / np.linalg.norm(g) if np.linalg.norm(g) > m else g, ["unit vector"]),
    (_norm_clip(lambda g: g @ g), ["squared norm"]),
    (_norm_clip(lambda g: np.abs(g).sum()), ["L1 norm"]),
    (_norm_clip(lambda g: np.abs(g).max()), ["largest entry"]),
    (lambda g, m: g * m / np.linalg.norm(g) if np.linalg.norm(g) > 1 else g,  # threshold hard-coded to 1
     ["already below max_norm", "|g| = 2.5"]),
    (lambda g, m: g * m / np.linalg.norm(g) if np.linalg.norm(g) < m else g, ["came back unchanged"]),
    (lambda g, m: g / np.linalg.norm(g) * min(np.linalg.norm(g), m), ["not finite", "g = [0.0, 0.0, 0.0]",
                                                                       "zero gradient must come back unchanged"]),
    (_clip_in_place, ["changed its argument `g` in place"]),
    (lambda g, m: min(np.linalg.norm(g), m), ["has shape ()", "expected shape (2,)"]),
    (lambda g, m: list(clip_ok(g, m))[:-1], ["shape (1,)"]),
]


def _momentum_in_place(x, v, g, lr, momentum):
    v *= momentum
    v -= lr * g
    x += v
    return x, v


def _torch_style(x, v, g, lr, momentum):
    v = momentum * v + g
    return x - lr * v, v


MOMENTUM_MISTAKES = [
    (lambda x, v, g, lr, m: (x + m * v + lr * g, m * v + lr * g), ["wrong sign", "x = [1.0, -2.0]"]),
    (lambda x, v, g, lr, m: (x + v - lr * g, v - lr * g), ["not scaled by momentum"]),
    (lambda x, v, g, lr, m: (x - lr * g, -lr * g), ["old velocity is missing"]),
    (lambda x, v, g, lr, m: (x + m * v - (1 - m) * lr * g, m * v - (1 - m) * lr * g), ["dampening"]),
    (lambda x, v, g, lr, m: momentum_ok(x, v, g, m, lr), ["lr and momentum are swapped"]),
    (_torch_style, ["torch.optim.SGD's convention"]),
    (lambda x, v, g, lr, m: (x + m * v + (1 - m) * g, m * v + (1 - m) * g), ["Adam's first moment"]),
    (lambda x, v, g, lr, m: (x + v, momentum_ok(x, v, g, lr, m)[1]), ["x moved with the old velocity"]),
    (lambda x, v, g, lr, m: (x - momentum_ok(x, v, g, lr, m)[1], momentum_ok(x, v, g, lr, m)[1]),
     ["against the velocity"]),
    (lambda x, v, g, lr, m: (x - lr * g, momentum_ok(x, v, g, lr, m)[1]), ["plain gradient step"]),
    (lambda x, v, g, lr, m: (x + lr * momentum_ok(x, v, g, lr, m)[1], momentum_ok(x, v, g, lr, m)[1]),
     ["multiplies the velocity by lr again"]),
    (lambda x, v, g, lr, m: momentum_ok(x, v, g, lr, m)[::-1], ["wrong order"]),
    (lambda x, v, g, lr, m: momentum_ok(x, v, g, lr, m)[0], ["should return the pair (x_new, v_new)"]),
    (_momentum_in_place, ["changed its argument `x` in place"]),
    (lambda x, v, g, lr, m: momentum_ok(x, v, g, lr, 0.9), ["v_new for", "momentum = 0.5", "is wrong"]),
]

GLOROT_MISTAKES = [
    (lambda a, b: 6 / math.sqrt(a + b), ["slip in some lecture notes", "fan_in = 784, fan_out = 100"]),
    (lambda a, b: 1 / math.sqrt(a), ["fan-in bound"]),
    (lambda a, b: math.sqrt(6 / a), ["He's bound"]),
    (lambda a, b: math.sqrt(2 / (a + b)), ["standard deviation"]),
    (lambda a, b: 2 / (a + b), ["the variance 2 / (fan_in + fan_out)"]),
    (lambda a, b: math.sqrt(3 / (a + b)), ["variance 1 / (fan_in + fan_out)"]),
    (lambda a, b: math.sqrt(6) / math.sqrt((a + b) / 2), ["average"]),
    (lambda a, b: math.sqrt(6) / math.sqrt(a * b), ["not the product"]),
    (lambda a, b: (-glorot_ok(a, b), glorot_ok(a, b)), ["one number"]),
    (lambda a, b: math.sqrt(6 // (a + b)), ["is wrong", "expected 0.0823"]),
    (lambda a, b: 0.08238526, ["fan_in = 256, fan_out = 256", "expected 0.108253"]),  # hard-coded for (784, 100)
]

BEST_MOMENTUM_MISTAKES = [
    (lambda k: (best_momentum_ok(k)[0], math.sqrt(best_momentum_ok(k)[1])), ["its square", "kappa = 100"]),
    (lambda k: (best_momentum_ok(k)[0], (k - 1) / (k + 1)), ["plain gradient descent's rate"]),
    (lambda k: (best_momentum_ok(k)[0], ((k - 1) / (k + 1)) ** 2), ["uses kappa where the formula has sqrt"]),
    (lambda k: (2 / (1 + k), best_momentum_ok(k)[1]), ["gradient descent's best rate"]),
    (lambda k: (4 / (math.sqrt(k) + 1), best_momentum_ok(k)[1]), ["must be squared"]),
    (lambda k: (4 / (k + 1) ** 2, best_momentum_ok(k)[1]), ["uses kappa where the formula has sqrt"]),
    (lambda k: (1 / k, best_momentum_ok(k)[1]), ["1 / kappa"]),
    (lambda k: (2 / (math.sqrt(k) + 1) ** 2, best_momentum_ok(k)[1]), ["numerator is 4"]),
    (lambda k: best_momentum_ok(k)[::-1], ["wrong order"]),
    (lambda k: best_momentum_ok(k)[1], ["should return the pair (lr, momentum)"]),
    (lambda k: {"lr": best_momentum_ok(k)[0], "momentum": best_momentum_ok(k)[1]}, ["pair (lr, momentum)"]),
]


def _saddle_free(g, H):
    w, V = np.linalg.eigh(H)
    return -(V / np.abs(w)) @ V.T @ g


NEWTON_MISTAKES = [
    (lambda g, H: np.linalg.solve(H, g), ["sign is flipped", "g = [2.0, -1.0]"]),
    (lambda g, H: -H @ g, ["that is -H g"]),
    (lambda g, H: -g / np.diag(H), ["off-diagonal", "H = [[3.0, 1.0], [1.0, 2.0]]"]),
    (lambda g, H: -g, ["plain gradient step"]),
    (_saddle_free, ["saddle-free"]),
    (lambda g, H: np.linalg.solve(g, H), ["raised LinAlgError", "g = [2.0, -1.0]"]),
    (lambda g, H: -np.linalg.solve(H, g)[:1], ["shape (1,)"]),
    (lambda g, H: -np.linalg.inv(H), ["shape (2, 2)"]),
    (lambda g, H: -np.linalg.solve(H + np.eye(len(g)), g), ["is wrong", "expected [-1, 0.1]"]),
]


CG_BETA_MISTAKES = [
    (lambda a, b, k: cg_beta_ok(a, b, "PR" if k == "FR" else "FR"), ["Polak-Ribiere formula", "kind='FR'"]),
    (lambda a, b, k: 1 / cg_beta_ok(a, b, k), ["upside down"]),
    (lambda a, b, k: cg_beta_ok(a, b, "FR"), ["Fletcher-Reeves formula", "kind='PR' asks for the other"]),
    (lambda a, b, k: cg_beta_ok(a, b, "fr" if k == "FR" else "pr"), ["Polak-Ribiere formula", "exact string"]),
    (lambda a, b, k: a @ a / (b @ b) if k == "FR" else a @ (b - a) / (b @ b), ["g_new - g_old in the numerator"]),
    (lambda a, b, k: cg_beta_ok(a, b, k) if k == "FR" else max(cg_beta_ok(a, b, k), 0.0), ["PR+",
                                                                                            "g_old = [2.0, 0.0]"]),
    (lambda a, b, k: cg_beta_ok(b, a, k), ["swapped"]),
    (lambda a, b, k: np.linalg.norm(a) / np.linalg.norm(b) if k == "FR" else cg_beta_ok(a, b, k),
     ["must be squared"]),
    (lambda a, b, k: a @ b / (b @ b) if k == "FR" else cg_beta_ok(a, b, k), ["g_new . g_new, not g_new . g_old"]),
    (lambda a, b, k: cg_beta_ok(a, b, k) if k == "FR" else a @ (a - b) / (a @ a), ["not |g_new|^2"]),
    (lambda a, b, k: a * a / (b @ b) if k == "FR" else cg_beta_ok(a, b, k), ["one number", "dot product"]),
]


def _cg_variant(**kwargs):
    return lambda A, b, k: lecture06._cg(A, b, k, **kwargs)


def _cg_in_place(A, b, num_steps):
    x = np.zeros_like(b)
    r = b  # no copy: r -= ... overwrites the caller's b
    d = r.copy()
    for _ in range(num_steps):
        Ad = A @ d
        rr = r @ r
        alpha = rr / (d @ Ad)
        x = x + alpha * d
        r -= alpha * Ad
        d = r + (r @ r) / rr * d
    return x


def _cg_beta_after_overwrite(A, b, num_steps):
    x = np.zeros_like(b)
    r = b.copy()
    d = r.copy()
    for _ in range(num_steps):
        Ad = A @ d
        alpha = (r @ r) / (d @ Ad)
        x = x + alpha * d
        r = r - alpha * Ad
        d = r + (r @ r) / (r @ r) * d  # r already overwritten: beta = 1
    return x


def _steepest(A, b, num_steps):
    x = np.zeros_like(b)
    for _ in range(num_steps):
        r = b - A @ x
        x = x + (r @ r) / (r @ A @ r) * r
    return x


LINEAR_CG_MISTAKES = [
    (_steepest, ["should solve A x = b after n = 2 steps", "beta = 0"]),
    (lambda A, b, k: b, ["step of length 1", "num_steps = 1"]),
    (_cg_variant(alpha="inverted"), ["that used its inverse"]),
    (_cg_variant(alpha="dd"), ["step of length 1"]),  # (r . r) / (d . d) is 1 on the first step
    (lambda A, b, k: -cg_ok(A, b, k), ["not -b"]),
    (_cg_variant(beta="inverted"), ["beta is upside down"]),
    (_cg_beta_after_overwrite, ["beta came out as 1"]),
    (_cg_variant(r_sign=-1.0), ["residual update has the wrong sign"]),
    (_cg_variant(d_sign=-1.0), ["not r_new - beta d"]),
    (lambda A, b, k: cg_ok(A, b, k + 1), ["one iteration too many"]),
    (lambda A, b, k: cg_ok(A, b, k - 1), ["one iteration too few"]),
    (lambda A, b, k: lecture06._cg(A, b, k, x0=b.copy()), ["x0 = 0"]),
    (_cg_in_place, ["changed its argument `b` in place"]),
    (lambda A, b, k: [cg_ok(A, b, j) for j in range(k + 1)], ["shape (2, 2)", "expected shape (2,)"]),
]


def _bfgs(M, s, y, rho=None, left=None, right=None, last=None):
    rho = 1 / (y @ s) if rho is None else rho
    I = np.eye(len(s))
    left = np.outer(s, y) if left is None else left
    right = np.outer(y, s) if right is None else right
    last = rho * np.outer(s, s) if last is None else last
    return (I - rho * left) @ M @ (I - rho * right) + last


def _hessian_update(M, s, y):
    B = np.linalg.inv(M)
    return B + np.outer(y, y) / (y @ s) - B @ np.outer(s, s) @ B / (s @ B @ s)


def _bfgs_in_place(M, s, y):
    new = bfgs_ok(M, s, y)
    M[...] = new
    return M


BFGS_MISTAKES = [
    (_hessian_update, ["secant condition", "not of its inverse", "M = [["]),
    (lambda M, s, y: _bfgs(M, s, y, last=0.0), ["rho s s^T is missing"]),
    (lambda M, s, y: _bfgs(M, s, y, last=-np.outer(s, s) / (y @ s)), ["+ rho s s^T, not minus"]),
    (lambda M, s, y: _bfgs(M, s, y, rho=y @ s, last=(y @ s) * np.outer(s, s)), ["not y . s"]),
    (lambda M, s, y: _bfgs(M, s, y, rho=1 / (s @ s), last=np.outer(s, s) / (s @ s)), ["not 1 / (s . s)"]),
    (lambda M, s, y: _bfgs(M, s, y, rho=1 / (y @ y), last=np.outer(s, s) / (y @ y)), ["not 1 / (y . y)"]),
    (lambda M, s, y: _bfgs(M, y, s), ["s and y are swapped"]),
    (lambda M, s, y: _bfgs(M, s, y, left=np.outer(y, s), right=np.outer(s, y)), ["factors are transposed"]),
    (lambda M, s, y: _bfgs(M, s, y, rho=-1 / (y @ s), last=np.outer(s, s) / (y @ s)), ["I + rho"]),
    (lambda M, s, y: M + np.outer(s, s) / (y @ s) - M @ np.outer(y, y) @ M / (y @ M @ y), ["DFP update"]),
    (lambda M, s, y: (np.eye(len(s)) - np.outer(s, y) / (y @ s)) * M * (np.eye(len(s)) - np.outer(y, s) / (y @ s))
     + np.outer(s, s) / (y @ s), ["entry by entry"]),
    (lambda M, s, y: (np.eye(len(s)) - (s @ y) / (y @ s)) @ M @ (np.eye(len(s)) - (y @ s) / (y @ s))
     + (s @ s) / (y @ s), ["s @ y is a number"]),
    (lambda M, s, y: M, ["secant condition", "M_new y should equal s"]),
    (_bfgs_in_place, ["changed its argument `M` in place"]),
    (lambda M, s, y: bfgs_ok(M, s, y).ravel(), ["should return a (3, 3) matrix", "shape (9,)"]),
]


def _fold(scale_fn, bias_fn=None, rows=True):
    def fold(W, b, m, v, g, be, eps):
        scale = scale_fn(v, g, eps)
        W_f = scale[:, None] * W if rows else W * scale[None, :]
        b_f = bias_fn(b, m, be, scale) if bias_fn else scale * (b - m) + be
        return W_f, b_f
    return fold


def _fold_in_place(W, b, m, v, g, be, eps):
    scale = g / torch.sqrt(v + eps)
    W *= scale[:, None]
    return W, scale * (b - m) + be


RIGHT_SCALE = lambda v, g, eps: g / torch.sqrt(v + eps)  # noqa: E731
FOLD_MISTAKES = [
    (_fold(lambda v, g, eps: g / torch.sqrt(v)), ["eps is missing", "3 x 3 layer"]),
    (_fold(lambda v, g, eps: g / (torch.sqrt(v) + eps)), ["eps belongs inside the square root"]),
    (_fold(lambda v, g, eps: g / (v + eps)), ["divides by the variance"]),
    (_fold(lambda v, g, eps: g * torch.sqrt(v + eps)), ["multiplies by the standard deviation"]),
    (_fold(lambda v, g, eps: 1 / torch.sqrt(v + eps)), ["gamma is missing"]),
    (lambda W, b, m, v, g, be, eps: (W, fold_ok(W, b, m, v, g, be, eps)[1]), ["W_folded is W unchanged"]),
    (_fold(RIGHT_SCALE, rows=False), ["COLUMNS"]),
    (lambda W, b, m, v, g, be, eps: (fold_ok(W, b, m, v, g, be, eps)[0].T, fold_ok(W, b, m, v, g, be, eps)[1]),
     ["transposed"]),
    (_fold(RIGHT_SCALE, lambda b, m, be, s: s * b + be), ["running mean is not subtracted"]),
    (_fold(RIGHT_SCALE, lambda b, m, be, s: s * (b - m)), ["beta is missing"]),
    (_fold(RIGHT_SCALE, lambda b, m, be, s: -s * m + be), ["old bias b was dropped"]),
    (_fold(RIGHT_SCALE, lambda b, m, be, s: b - m + be), ["bias was not scaled"]),
    (_fold(RIGHT_SCALE, lambda b, m, be, s: s * (b - m + be)), ["beta was scaled too"]),
    (_fold(RIGHT_SCALE, lambda b, m, be, s: s * (m - b) + be), ["sign of the shift"]),
    (_fold(RIGHT_SCALE, lambda b, m, be, s: b), ["b_folded is b unchanged"]),
    (lambda *a: fold_ok(*a)[::-1], ["wrong order"]),
    (lambda *a: fold_ok(*a)[0], ["should return the pair (W_folded, b_folded)"]),
    (_fold_in_place, ["changed its argument `W` in place"]),
    (lambda W, b, m, v, g, be, eps: (W * (g / torch.sqrt(v + eps)), b), ["COLUMNS"]),  # broadcasts along rows
]


def _bn2d(axes=(0, 2, 3), unbiased=False, root=lambda var, eps: torch.sqrt(var + eps), shift=True,
          affine="right"):
    def f(x, gamma, beta, eps):
        mu = x.mean(axes, keepdim=True) if shift else 0.0
        var = x.var(axes, unbiased=unbiased, keepdim=True)
        y = (x - mu) / root(var, eps)
        g4, b4 = gamma[None, :, None, None], beta[None, :, None, None]
        return {"right": lambda: g4 * y + b4, "none": lambda: y, "swapped": lambda: b4 * y + g4,
                "last axis": lambda: gamma * y + beta}[affine]()
    return f


def _bn2d_in_place(x, gamma, beta, eps):
    mu = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), unbiased=False, keepdim=True)
    x -= mu
    return gamma[None, :, None, None] * x / torch.sqrt(var + eps) + beta[None, :, None, None]


BN2D_MISTAKES = [
    (_bn2d(axes=(0,)), ["batch axis only", "x of shape (4, 3, 5, 3)"]),
    (_bn2d(axes=(0, 1, 2, 3)), ["channels too"]),
    (_bn2d(axes=(2, 3)), ["instance norm"]),
    (_bn2d(axes=(0, 2)), ["the width axis belongs"]),
    (_bn2d(axes=(0, 3)), ["the height axis belongs"]),
    (_bn2d(unbiased=True), ["unbiased variance"]),
    (_bn2d(root=lambda var, eps: torch.sqrt(var)), ["eps is missing"]),
    (_bn2d(root=lambda var, eps: torch.sqrt(var) + eps), ["eps belongs inside"]),
    (_bn2d(root=lambda var, eps: var + eps), ["divides by the variance"]),
    (_bn2d(root=lambda var, eps: torch.sqrt(torch.sqrt(var) + eps)), ["square root of the standard deviation"]),
    (_bn2d(shift=False), ["mean is not subtracted"]),
    (_bn2d(affine="none"), ["gamma and beta are missing"]),
    (_bn2d(affine="swapped"), ["gamma and beta are swapped"]),
    (_bn2d(affine="last axis"), ["broadcast along the last axis"]),
    (lambda x, gamma, beta, eps: gamma[None, :, None, None] * x / math.sqrt(1 + eps) + beta[None, :, None, None],
     ["eval mode"]),
    (_bn2d_in_place, ["changed its argument `x` in place"]),
    (lambda x, gamma, beta, eps: x, ["is wrong", "entries differ", "largest difference"]),
    (lambda x, gamma, beta, eps: bn2d_ok(x, gamma, beta, eps).mean(0), ["has shape (3, 5, 3)"]),
]


def _coordinate(value):
    def f(A, b, x, i):
        out = x.copy()
        out[i] = value(A, b, x, i)
        return out
    return f


def _coordinate_in_place(A, b, x, i):
    x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
    return x


def _rest(A, x, i):
    return A[i] @ x - A[i, i] * x[i]


def _jacobi(A, b, x, i):
    D = np.diag(A)
    return (b - A @ x + D * x) / D


def _sweep(A, b, x, i):
    for j in range(len(x)):
        x = coordinate_ok(A, b, x, j)
    return x


COORDINATE_MISTAKES = [
    (_coordinate(lambda A, b, x, i: (b[i] - A[i] @ x) / A[i, i]), ["including the diagonal", "i = 0"]),
    (_coordinate(lambda A, b, x, i: x[i] - (A[i] @ x - b[i])), ["gradient step"]),
    (lambda A, b, x, i: np.linalg.solve(A, b), ["all coordinates"]),
    (_jacobi, ["Jacobi step"]),
    (_coordinate(lambda A, b, x, i: b[i] - _rest(A, x, i)), ["division by A[i, i] is missing"]),
    (_coordinate(lambda A, b, x, i: (b[i] - _rest(A, x, i)) * A[i, i]), ["multiplies by A[i, i]"]),
    (_coordinate(lambda A, b, x, i: (_rest(A, x, i) - b[i]) / A[i, i]), ["sign is flipped"]),
    (lambda A, b, x, i: x.copy(), ["x came back unchanged"]),
    (_sweep, ["full sweep"]),
    (lambda A, b, x, i: coordinate_ok(A, b, x, 0), ["changes coordinate 0", "coordinate i = 1"]),
    (lambda A, b, x, i: coordinate_ok(A, b, x, i - 1), ["changes coordinate 1", "coordinate i = 0"]),
    (lambda A, b, x, i: coordinate_ok(A, b, x, i)[i], ["returned the number", "whole vector"]),
    (_coordinate_in_place, ["changed its argument `x` in place"]),
    (lambda A, b, x, i: coordinate_ok(A, b, x, i)[:-1], ["has shape (1,)", "expected shape (2,)"]),
]


def _ema_from_zero(xs, decay, correct_bias=False):
    out, acc = np.empty_like(xs), np.zeros(xs.shape[1])
    for t in range(len(xs)):
        acc = decay * acc + (1 - decay) * xs[t]
        out[t] = acc / (1 - decay ** (t + 1)) if correct_bias else acc
    return out


def _ema_in_place(xs, decay):
    for t in range(1, len(xs)):
        xs[t] = decay * xs[t - 1] + (1 - decay) * xs[t]
    return xs


def _ema_lagged(xs, decay):
    out = np.empty_like(xs)
    out[0] = xs[0]
    for t in range(1, len(xs)):
        out[t] = decay * out[t - 1] + (1 - decay) * xs[t - 1]
    return out


EMA_MISTAKES = [
    (_ema_from_zero, ["starts the average at zero", "decay = 0.5"]),
    (lambda xs, d: _ema_from_zero(xs, d, correct_bias=True), ["bias-corrected"]),
    (lambda xs, d: ema_ok(xs, 1 - d), ["swaps decay and 1 - decay", "decay = 0.9"]),
    (lambda xs, d: np.cumsum(xs, 0) / np.arange(1, len(xs) + 1)[:, None], ["uniform (running mean)"]),
    (_ema_lagged, ["lagged by one"]),
    (lambda xs, d: xs.copy(), ["returns the iterates themselves"]),
    (lambda xs, d: ema_ok(xs, d)[-1], ["only the last average", "has shape (1,)"]),
    (lambda xs, d: ema_ok(xs, d)[1:], ["drops the first row"]),
    (lambda xs, d: ema_ok(xs.T.copy(), d), ["the wrong axis"]),
    (_ema_in_place, ["changed its argument `xs` in place"]),
    (lambda xs, d: ema_ok(xs, 0.9), ["is wrong", "decay = 0.5"]),
]


class _BrokenBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        return z.clone()

    @staticmethod
    def backward(ctx, grad):
        raise ValueError("boom in backward")


def _kd(hard_w=1.0, soft_w=lambda tau, lam: lam * tau ** 2, t_div=True, s_div=True, soft_fn=None, reduce="mean",
        detach_soft=False):
    def f(s, y, t, tau, lam):
        s_soft = s.detach() if detach_soft else s
        p_t = torch.softmax(t / tau if t_div else t, 1)
        log_p_s = torch.log_softmax(s_soft / tau if s_div else s_soft, 1)
        per_example = -(p_t * log_p_s).sum(1)
        soft = per_example.mean() if reduce == "mean" else per_example.sum() if reduce == "sum" else \
            -(p_t * log_p_s).mean()
        if soft_fn is not None:
            soft = soft_fn(s_soft, t, tau)
        w = hard_w(lam) if callable(hard_w) else hard_w
        return w * F.cross_entropy(s, y) + soft_w(tau, lam) * soft
    return f


def _kd_in_place(s, y, t, tau, lam):
    hard = F.cross_entropy(s, y)
    s /= tau
    return hard + lam * tau ** 2 * -(torch.softmax(t / tau, 1) * torch.log_softmax(s, 1)).sum(1).mean()


def _kd_swapped(s, y, t, tau, lam):
    soft = -(torch.softmax(s / tau, 1) * torch.log_softmax(t / tau, 1)).sum(1).mean()
    return F.cross_entropy(s, y) + lam * tau ** 2 * soft


def _kd_kl(s, t, tau):
    return F.kl_div(torch.log_softmax(s / tau, 1), torch.softmax(t / tau, 1), reduction="batchmean")


DISTILLATION_MISTAKES = [
    (_kd(soft_w=lambda tau, lam: lam), ["tau**2 factor", "a batch of 4 examples, 3 classes, tau = 2.0"]),
    (_kd(soft_w=lambda tau, lam: lam * tau), ["uses tau where the factor is tau**2"]),
    (_kd(soft_fn=_kd_kl), ["KL divergence"]),
    (_kd(s_div=False), ["softens only the teacher"]),
    (_kd(t_div=False), ["softens only the student"]),
    (_kd_swapped, ["teacher and student are swapped"]),
    (_kd(hard_w=0.0), ["only the soft term"]),
    (lambda s, y, t, tau, lam: F.cross_entropy(s, y), ["only the hard-label cross-entropy"]),
    (_kd(hard_w=lambda lam: lam, soft_w=lambda tau, lam: tau ** 2), ["lam multiplies the hard term"]),
    (_kd(hard_w=lambda lam: 1 - lam), ["(1 - lam)"]),
    (_kd(soft_w=lambda tau, lam: tau ** 2), ["lam is missing"]),
    (_kd(reduce="classes"), ["over the classes too"]),
    (lambda *a: kd_ok(*a) * len(a[1]), ["sums over the batch"]),
    (_kd(reduce="sum"), ["soft term is summed over the batch"]),
    (_kd(detach_soft=True), ["the soft term carries no gradient", "gradient of distillation_loss"]),
    (lambda *a: float(kd_ok(*a)), ["scalar torch tensor", "got float"]),
    (lambda *a: kd_ok(*a).detach(), ["without a gradient"]),
    (lambda *a: kd_ok(*a).reshape(1).repeat(2), ["scalar torch tensor", "of shape (2,)"]),
    (_kd_in_place, ["changed its argument `s` in place"]),
    (lambda s, y, t, tau, lam: kd_ok(_BrokenBackward.apply(s), y, t, tau, lam),
     ["backward pass of distillation_loss", "raised ValueError: boom in backward", "a batch of 4 examples"]),
]


def _pso(vel, pos=None):
    def f(x, v, p, g, r1, r2, w, c1, c2):
        v_new = vel(x, v, p, g, r1, r2, w, c1, c2)
        return (x + v_new if pos is None else pos(x, v, v_new)), v_new
    return f


def _pso_in_place(x, v, p, g, r1, r2, w, c1, c2):
    v *= w
    v += c1 * r1 * (p - x) + c2 * r2 * (g - x)
    return x + v, v


PSO_MISTAKES = [
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: w * v + c1 * r1 * (g - x) + c2 * r2 * (p - x)),
     ["swaps the roles", "1 particle(s) in 2D, inertia = 0.7"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: w * v + c1 * r2 * (p - x) + c2 * r1 * (g - x)),
     ["r1 and r2 are swapped"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: w * v + c2 * r1 * (p - x) + c1 * r2 * (g - x)),
     ["cognitive and social are swapped"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: c1 * r1 * (p - x) + c2 * r2 * (g - x)), ["inertia term"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: w * (v + c1 * r1 * (p - x) + c2 * r2 * (g - x))),
     ["multiplies only the old velocity"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: w * v + c1 * r1 * (x - p) + c2 * r2 * (x - g)),
     ["points away from the bests"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: w * v + c1 * (p - x) + c2 * (g - x)), ["random factors"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: w * v + c1 * r1 * (p - x) + c2 * r2 * (p - x)),
     ["both pulls go towards pbest"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: w * v + c1 * r1 * (g - x) + c2 * r2 * (g - x)),
     ["both pulls go towards gbest"]),
    (lambda *a: (pso_ok(*a)[0], a[1]), ["v_new is the old velocity"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: pso_ok(x, v, p, g, r1, r2, w, c1, c2)[1],
          pos=lambda x, v, v_new: x + v), ["OLD velocity"]),
    (_pso(lambda x, v, p, g, r1, r2, w, c1, c2: pso_ok(x, v, p, g, r1, r2, w, c1, c2)[1],
          pos=lambda x, v, v_new: x - v_new), ["against the velocity"]),
    (lambda *a: (a[0], pso_ok(*a)[1]), ["x_new is x unchanged"]),
    (lambda *a: pso_ok(*a)[::-1], ["wrong order"]),
    (lambda *a: pso_ok(*a)[0], ["should return the pair (x_new, v_new)"]),
    (_pso_in_place, ["changed its argument `v` in place"]),
    (lambda x, v, p, g, r1, r2, w, c1, c2: pso_ok(x, v, p, g, r1, r2, 0.7, 1.5, 2.0),  # hard-coded coefficients
     ["inertia = 0.4, cognitive = 2.0, social = 1.2", "is wrong"]),
    (lambda x, v, p, g, r1, r2, w, c1, c2: pso_ok(x, v, p, g[:, None], r1, r2, w, c1, c2),
     ["has shape (2, 2)", "expected shape (1, 2)"]),
]


def _search(draw, pick=np.argmin, extra_eval=False, count=lambda n: n):
    def f(surface, num_evals, rng):
        lo, hi = _box(surface)
        X = draw(lo, hi, count(num_evals), surface.dim, rng)
        values = surface.value(X)
        i = int(pick(values))
        if extra_eval:
            return X[i], float(surface.value(X[i]))
        return X[i], float(values[i])
    return f


UNIFORM = lambda lo, hi, n, d, rng: lo + (hi - lo) * rng.random((n, d))  # noqa: E731


def _transposed_bounds(surface, num_evals, rng):
    lo, hi = np.array(surface.bounds)  # rows are (low, high) pairs, not the lows and the highs
    X = lo + (hi - lo) * rng.random((num_evals, surface.dim))
    v = surface.value(X)
    return X[np.argmin(v)], float(v.min())


def _first_axis_for_all(surface, num_evals, rng):
    lo, hi = surface.bounds[0]
    X = lo + (hi - lo) * rng.random((num_evals, surface.dim))
    v = surface.value(X)
    return X[np.argmin(v)], float(v.min())


def _global_random(surface, num_evals, rng):
    lo, hi = _box(surface)
    X = lo + (hi - lo) * np.random.rand(num_evals, surface.dim)
    v = surface.value(X)
    return X[np.argmin(v)], float(v.min())


def _last_value(surface, num_evals, rng):
    lo, hi = _box(surface)
    best_x, best_value = None, np.inf
    for _ in range(num_evals):
        x = lo + (hi - lo) * rng.random(surface.dim)
        value = surface.value(x)
        if value < best_value:
            best_x = x
        best_value = value  # bug: overwritten even when worse
    return best_x, best_value


RANDOM_SEARCH_MISTAKES = [
    (_search(lambda lo, hi, n, d, rng: rng.random((n, d))), ["[0, 1]^d", "outside the box",
                                                             "surface 'himmelblau' on the box [1.5, 4.5] x [-4, -1]"]),
    (_transposed_bounds, ["(lows, highs)"]),
    (_first_axis_for_all, ["interval of the first axis"]),
    (_search(lambda lo, hi, n, d, rng: hi * rng.random((n, d))), ["lower end is missing"]),
    (_search(lambda lo, hi, n, d, rng: lo + hi * rng.random((n, d))), ["high - low, not high"]),
    (_search(lambda lo, hi, n, d, rng: lo + (hi - lo) * rng.standard_normal((n, d))), ["outside the box"]),
    (_search(UNIFORM, extra_eval=True), ["evaluated the surface at 2001 points", "one too many"]),
    (_search(UNIFORM, count=lambda n: n - 1), ["at 1999 points", "exactly num_evals = 2000"]),
    (lambda surface, n, rng: (np.array([3.0, 2.0]), 0.0), ["at 0 points", "never called surface.value"]),
    (_search(lambda lo, hi, n, d, rng: np.round(UNIFORM(lo, hi, n, d, rng))), ["same point more than once",
                                                                              "whole numbers"]),
    (_search(lambda lo, hi, n, d, rng: np.repeat(UNIFORM(lo, hi, n // 2, d, rng), 2, axis=0)),
     ["same point more than once", "fresh random point"]),
    (_global_random, ["generator of the same seed", "rng argument"]),
    (_search(lambda lo, hi, n, d, rng: UNIFORM(lo, hi, n, d, np.random.default_rng(0))), ["different seeds"]),
    (_search(lambda lo, hi, n, d, rng: lo + (hi - lo) * np.linspace(0, 1, n)[:, None] * np.ones(d)),
     ["different seeds"]),
    (_search(lambda lo, hi, n, d, rng: lo + (hi - lo) * rng.random((n, 1))), ["correlated", "independent"]),
    (_search(lambda lo, hi, n, d, rng: lo + (hi - lo) * rng.random((n, d)) ** 2), ["not spread uniformly",
                                                                                  "quarters"]),
    (_search(lambda lo, hi, n, d, rng: np.clip((lo + hi) / 2 + (hi - lo) / 6 * rng.standard_normal((n, d)), lo,
                                                hi)), ["not spread uniformly"]),
    (_search(UNIFORM, pick=np.argmax), ["largest value"]),
    (_last_value, ["value of the last point"]),
    (lambda surface, n, rng: (lambda x, v: (x + 0.01, v))(*random_search_ok(surface, n, rng)),
     ["best_x for", "the evaluated point that has best_value"]),
    (lambda surface, n, rng: random_search_ok(surface, n, rng)[::-1], ["wrong order"]),
    (lambda surface, n, rng: (lambda x, v: (x, np.array([v])))(*random_search_ok(surface, n, rng)),
     ["best_value", "has shape (1,), expected shape ()"]),
    (lambda surface, n, rng: (lambda x, v: (x[None], v))(*random_search_ok(surface, n, rng)),
     ["best_x", "has shape (1, 2)"]),
]

BATTERIES = {
    "clip_by_norm": CLIP_MISTAKES, "momentum_step": MOMENTUM_MISTAKES, "glorot_bound": GLOROT_MISTAKES,
    "best_momentum": BEST_MOMENTUM_MISTAKES, "newton_step": NEWTON_MISTAKES, "cg_beta": CG_BETA_MISTAKES,
    "linear_cg": LINEAR_CG_MISTAKES, "bfgs_update": BFGS_MISTAKES, "fold_batch_norm": FOLD_MISTAKES,
    "batch_norm_2d": BN2D_MISTAKES, "coordinate_minimizer": COORDINATE_MISTAKES, "ema": EMA_MISTAKES,
    "distillation_loss": DISTILLATION_MISTAKES, "pso_step": PSO_MISTAKES, "random_search": RANDOM_SEARCH_MISTAKES,
}
BATTERY = [(name, k, fn, needles) for name, mistakes in BATTERIES.items() for k, (fn, needles) in enumerate(mistakes)]


def test_every_checker_has_a_battery_of_at_least_six_mistakes():
    assert set(BATTERIES) == set(SPECS)
    assert all(len(m) >= 6 for m in BATTERIES.values()), {n: len(m) for n, m in BATTERIES.items()}


@pytest.mark.parametrize("name, k, fn, needles", BATTERY, ids=[f"{b[0]}-{b[1]}" for b in BATTERY])
def test_each_mistake_is_rejected_and_named(name, k, fn, needles):
    with np.errstate(all="ignore"):
        rejected(SPECS[name][0], fn, *needles)


@pytest.mark.parametrize("attack, needle", [
    (lambda out: out.to(torch.complex128), "complex"),
    (lambda out: out * torch.nan, "not finite"),
    (lambda out: out / 0.0, "not finite"),
    (lambda out: str(float(out)), "scalar torch tensor"),
    (lambda out: (v for v in [out]), "scalar torch tensor"),
    (lambda out: None, "returned None"),
    (lambda out: out.detach().numpy(), "scalar torch tensor"),
    (lambda out: torch.stack([out, out]), "of shape (2,)"),
])
def test_hostile_losses_are_rejected_with_a_message(attack, needle):
    rejected(lecture08.check_distillation_loss, returning(kd_ok, attack), needle, "a batch of 4 examples")


def test_a_loss_that_requires_grad_in_float32_passes():
    assert lecture08.check_distillation_loss(lambda s, y, t, tau, lam: kd_ok(s.float(), y, t.float(), tau, lam))


def test_a_wrong_rho_is_never_called_the_hessian_update():
    """On M = I with s parallel to y a wrong rho and the Hessian update give the same matrix; the checker must not
    pick one of the two (it used to say "Hessian update" there), and it grades the informative cases first."""
    def wrong_rho_when_degenerate(M, s, y):
        degenerate = np.allclose(M, np.eye(len(s))) and abs(s @ y) == np.linalg.norm(s) * np.linalg.norm(y)
        rho = 1 / (s @ s) if degenerate else 1 / (y @ s)
        return _bfgs(M, s, y, rho=rho, last=rho * np.outer(s, s))

    msg = rejected(lecture06.check_bfgs_update, wrong_rho_when_degenerate, "M = [[1.0, 0.0], [0.0, 1.0]]")
    assert "Hessian" not in msg
    msg = rejected(lecture06.check_bfgs_update, lambda M, s, y: _bfgs(M, s, y, rho=1 / (s @ s),
                                                                     last=np.outer(s, s) / (s @ s)), "not 1 / (s . s)")
    assert "Hessian" not in msg


# ---------------------------------------------------------------------------------------------------------
# The building blocks in checks._core that keep messages short and diagnoses right
# ---------------------------------------------------------------------------------------------------------
def test_a_large_array_is_shown_as_its_shape_and_first_entries():
    from lecture_utils.checks._core import _short

    text = _short(torch.arange(180.0).reshape(4, 3, 5, 3))
    assert text == "array of shape (4, 3, 5, 3) [0, 1, 2, ...]"
    assert _short(np.array([[1.0, 0.5], [2.0, 3.0]])) == "[[1, 0.5], [2, 3]]"
    assert "\n" not in _short(np.eye(3))


def test_an_overlong_message_keeps_its_start_and_its_hint():
    from lecture_utils.checks._core import MAX_MESSAGE

    msg = str(CheckFailed("start " + "x" * 5000 + " the hint"))
    assert len(msg) <= MAX_MESSAGE and msg.startswith("start ") and msg.endswith(" the hint")


def test_a_mistake_is_named_only_when_one_candidate_explains_it():
    from lecture_utils.checks import match_mistake

    candidates = {"mistake A": 2.0, "mistake B": 2.0, "mistake C": 3.0}
    assert match_mistake(2.0, candidates) == "mistake A"  # first match, for the checkers of lectures 01 to 04
    assert match_mistake(2.0, candidates, unique=True) == ""
    assert match_mistake(3.0, candidates, unique=True) == "mistake C"
    assert match_mistake(np.array([2.0 + 0j]), {"complex": [2.0]}, unique=True) == ""


def test_a_recognized_mistake_and_a_general_hint_read_differently():
    from lecture_utils.checks import expect_close

    with pytest.raises(CheckFailed, match="Likely mistake: sign"):
        expect_close(-1.0, 1.0, what="v", hint="sign", advice="general")
    with pytest.raises(CheckFailed, match="Hint: general"):
        expect_close(-1.0, 1.0, what="v", hint="", advice="general")
