"""The exercise checkers of lecture 10 under attack: the mistakes students make, each rejected with its diagnosis in
a short message naming the input; hostile returns rejected; every correct form (numpy or torch, float32 or float64,
a list) accepted; the notebook's own reference solutions accepted; a stub is "not attempted yet"."""
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from lecture_utils.checks import CheckFailed, lecture10
from check_helpers import rejected  # tests/check_helpers.py (tests/ is not a package)
from lecture_utils.training import curvature, nets

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "10_sharpness_and_edge_of_stability.ipynb"


# ---------------------------------------------------------------------------------------------------------
# Exercise 1: power iteration on Hessian-vector products
# ---------------------------------------------------------------------------------------------------------
def power_ok(hvp, v0, num_iters):
    v = v0 / torch.linalg.norm(v0)
    for _ in range(num_iters):
        w = hvp(v)
        v = w / torch.linalg.norm(w)
    return float(v @ hvp(v))


def power_numpy(hvp, v0, num_iters):  # works in numpy: hvp returns numpy for numpy input
    v = np.asarray(v0) / np.linalg.norm(np.asarray(v0))
    for _ in range(num_iters):
        w = hvp(v)
        v = w / np.linalg.norm(w)
    return v @ hvp(v) / (v @ v)


def power_float32(hvp, v0, num_iters):
    v = v0.float() / torch.linalg.norm(v0.float())
    for _ in range(num_iters):
        w = hvp(v)
        v = w / torch.linalg.norm(w)
    return (v @ hvp(v)).item()


def power_tensor(hvp, v0, num_iters):  # returns a 0-d tensor that requires no grad, or a 1-entry list
    v = v0 / v0.norm()
    for _ in range(num_iters):
        v = hvp(v)
        v = v / v.norm()
    return torch.dot(v, hvp(v))


def power_list(hvp, v0, num_iters):
    return [power_ok(hvp, v0, num_iters)]


def power_rayleigh_unnormalized_end(hvp, v0, num_iters):  # normalizes by the max entry, divides by v . v
    v = v0.clone()
    for _ in range(num_iters):
        v = hvp(v)
        v = v / v.abs().max()
    return float(v @ hvp(v) / (v @ v))


@pytest.mark.parametrize("fn", [power_ok, power_numpy, power_float32, power_tensor, power_list,
                                power_rayleigh_unnormalized_end])
def test_power_iteration_correct_forms_pass(fn, capsys):
    assert lecture10.check_power_iteration(fn) is True
    assert capsys.readouterr().out.startswith("Correct:")


def _variant(*, normalize=True, value="rq", iters=0, start="v0", inplace=False):
    def fn(hvp, v0, num_iters):
        if inplace:
            v0 /= torch.linalg.norm(v0)
            v = v0
        elif start == "random":
            v = torch.randn(len(v0), dtype=torch.float64, generator=torch.Generator().manual_seed(3))
            v = v / v.norm()
        else:
            v = v0 / torch.linalg.norm(v0)
        for _ in range(num_iters + iters):
            w = hvp(v)
            v = w / torch.linalg.norm(w) if normalize else w
        w = hvp(v)
        return {"rq": float(v @ w), "norm": float(torch.linalg.norm(w)), "squared": float(w @ w),
                "abs": abs(float(v @ w)), "vector": v, "pair": (float(v @ w), v)}[value]
    return fn


POWER_MISTAKES = {
    "the norm of H v": (_variant(value="norm"), "||hvp(v)||"),
    "no normalization": (_variant(normalize=False), "never normalized"),
    "the square": (_variant(value="squared"), "square of the eigenvalue"),
    "absolute value": (_variant(value="abs"), "absolute value"),
    "one too few": (_variant(iters=-1), "one iteration too few"),
    "one too many": (_variant(iters=1), "one iteration too many"),
    "a random start": (_variant(start="random"), "start from v0"),
    "the vector": (_variant(value="vector"), "that is a vector"),
    "a pair": (_variant(value="pair"), "not a pair"),
    "in place": (_variant(inplace=True), "changed its argument `v0` in place"),
}


@pytest.mark.parametrize("name", list(POWER_MISTAKES))
def test_power_iteration_mistakes_are_named(name):
    fn, needle = POWER_MISTAKES[name]
    msg = rejected(lecture10.check_power_iteration, fn, needle)
    assert "H = " in msg or "Hessian" in msg or "eigenvalues" in msg, msg


def test_power_iteration_hostile_returns():
    for bad, needle in ((lambda h, v, k: None, "None"), (lambda h, v, k: "4.0", "should be a number"),
                        (lambda h, v, k: float("nan"), "not finite"), (lambda h, v, k: 4.0 + 1j, "complex"),
                        (lambda h, v, k: (x for x in [1.0]), "should be a number")):
        rejected(lecture10.check_power_iteration, bad, needle)
    rejected(lecture10.check_power_iteration, lambda h, v, k: 1 / 0, "raised ZeroDivisionError", "num_iters = 5")


def test_the_net_case_is_the_exact_top_eigenvalue():
    H = lecture10._net_case()
    lam = np.linalg.eigvalsh(H)
    top = lam[np.argmax(np.abs(lam))]
    assert lecture10._power(H, np.ones(len(H)), 400) == pytest.approx(top, rel=1e-9)  # the recipe converged
    assert abs(lecture10._power(H, np.ones(len(H)), 3) - top) > 1e-3 * abs(top)       # but not in a few steps
    assert lam[-1] > 0 and top == lam[-1]                                           # the sharpness


def test_power_iteration_is_given_a_real_hessian_vector_product():
    """The net case equals what HessianOperator computes for the same net: the student sees real HVPs."""
    g = torch.Generator().manual_seed(10)
    with torch.random.fork_rng():
        torch.manual_seed(10)
        net = nets.MLP(3, (5,), 2, activation="tanh").double()
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (40,), generator=g)
    op = curvature.HessianOperator(net, X, y)
    v = torch.ones(op.dim, dtype=torch.float64)
    np.testing.assert_allclose(op(v).numpy(), lecture10._net_case() @ v.numpy(), rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# Exercise 2: filter normalization
# ---------------------------------------------------------------------------------------------------------
def filter_ok(d, w):
    if d.dim() <= 1:
        return torch.zeros_like(d)
    dn = d.reshape(len(d), -1).norm(dim=1)
    wn = w.reshape(len(w), -1).norm(dim=1)
    return d * (wn / dn).reshape(-1, *([1] * (d.dim() - 1)))


def filter_numpy(d, w):
    d, w = d.numpy(), w.numpy()
    if d.ndim == 1:
        return np.zeros_like(d)
    out = np.empty_like(d)
    for i in range(len(d)):
        out[i] = d[i] * np.linalg.norm(w[i]) / np.linalg.norm(d[i])
    return out


def filter_float32(d, w):
    return filter_ok(d.float(), w.float())


def filter_list(d, w):
    return filter_ok(d, w).tolist()


@pytest.mark.parametrize("fn", [filter_ok, filter_numpy, filter_float32, filter_list])
def test_filter_normalize_correct_forms_pass(fn, capsys):
    assert lecture10.check_filter_normalize(fn) is True
    assert capsys.readouterr().out.startswith("Correct:")


def _filter_variant(kind):
    def fn(d, w):
        if d.dim() <= 1:
            return {"bias_kept": d, "bias_layer": d * w.norm() / d.norm(), "copy": w}.get(kind, torch.zeros_like(d))
        D, W = d.reshape(len(d), -1), w.reshape(len(w), -1)
        nd, nw = D.norm(dim=1, keepdim=True), W.norm(dim=1, keepdim=True)
        if kind == "layer":
            return d * w.norm() / d.norm()
        if kind == "columns":
            Dc, Wc = d.reshape(d.shape[0], d.shape[1], -1), w.reshape(w.shape[0], w.shape[1], -1)
            return (Dc * Wc.pow(2).sum((0, 2), keepdim=True).sqrt() / Dc.pow(2).sum((0, 2), keepdim=True).sqrt()
                    ).reshape(d.shape)
        if kind == "copy":
            return w.clone()
        if kind == "inplace":
            d.mul_((nw / nd).reshape(-1, *([1] * (d.dim() - 1))))
            return d
        if kind == "norms":
            return nw.squeeze(1)
        out = {"no_divide": D * nw, "inverted": D * nd / nw, "squared": D * nw ** 2 / nd ** 2,
               "bias_kept": D * nw / nd, "bias_layer": D * nw / nd}[kind]
        return out.reshape(d.shape)
    return fn


FILTER_MISTAKES = {
    "per layer": ("layer", "whole tensor"),
    "wrong axis": ("columns", "wrong axis"),
    "not divided": ("no_divide", "not divided by ||d[i]||"),
    "inverted": ("inverted", "upside down"),
    "squared": ("squared", "squared"),
    "returns w": ("copy", "returns the weights"),
    "bias unchanged": ("bias_kept", "returned unchanged"),
    "bias rescaled": ("bias_layer", "not the norm of w"),
    "in place": ("inplace", "changed its argument `d` in place"),
    "the norms": ("norms", "not the norms"),
}


@pytest.mark.parametrize("name", list(FILTER_MISTAKES))
def test_filter_normalize_mistakes_are_named(name):
    kind, needle = FILTER_MISTAKES[name]
    rejected(lecture10.check_filter_normalize, _filter_variant(kind), needle)


def test_filter_normalize_hostile_returns():
    for bad, needle in ((lambda d, w: None, "None"), (lambda d, w: "x", "should be a number"),
                        (lambda d, w: d * np.nan, "not finite"), (lambda d, w: d.numpy() + 1j, "complex"),
                        (lambda d, w: torch.cat([d.reshape(-1), torch.zeros(1, dtype=d.dtype)]), "shape")):
        rejected(lecture10.check_filter_normalize, bad, needle, "shape (3, 4)")
    rejected(lecture10.check_filter_normalize, lambda d, w: 1 / 0, "raised ZeroDivisionError", "shape (3, 4)")


def test_the_checker_agrees_with_the_library():
    """Li et al.'s normalization as the library does it (random_direction) passes the checker's own reference."""
    from lecture_utils.training import loss_landscape as ll

    torch.manual_seed(0)
    net = nets.SmallCNN(10, channels=(2, 3)).double()
    d = ll.random_direction(net, seed=4)
    pieces = d.split([p.numel() for p in net.parameters()])
    for p, piece in zip(net.parameters(), pieces):
        raw = piece.view(p.shape)
        again = torch.as_tensor(lecture10._normalized(raw.numpy(), p.detach().numpy()))
        torch.testing.assert_close(again, raw, rtol=1e-8, atol=1e-12) if p.dim() > 1 else \
            torch.testing.assert_close(again, torch.zeros_like(raw))


# ---------------------------------------------------------------------------------------------------------
# Both: stubs, non-functions, the notebook's solutions
# ---------------------------------------------------------------------------------------------------------
CHECKERS = [lecture10.check_power_iteration, lecture10.check_filter_normalize]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_a_stub_is_not_attempted_yet(checker, capsys):
    def stub(*args):
        raise NotImplementedError

    assert checker(stub) is None
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"Exercise {checker.exercise} is not attempted yet")


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_a_non_function_is_refused(checker):
    with pytest.raises(CheckFailed, match="should be a function"):
        checker(42)


def _notebook():
    return json.loads(NOTEBOOK.read_text())


def test_the_notebook_calls_every_checker_with_the_exercise_numbers_it_gives():
    cells = _notebook()["cells"]
    md = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    section = md[md.find("## Exercises"):]
    called = set(re.findall(r"lecture10\.(check_\w+)\((\w+)\)", code))
    assert {c for c, _ in called} == set(lecture10.__all__)
    for checker, fn in called:
        at = section.find(f"`{fn}(")
        heads = [int(n) for n in re.findall(r"\*\*Exercise (\d+)", section[:at])]
        assert at >= 0 and heads and heads[-1] == getattr(lecture10, checker).exercise, (checker, heads)


def test_the_notebook_solutions_pass(capsys):
    cells = _notebook()["cells"]
    blocks = []
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "<details" in text:
            blocks += [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for checker, fn in re.findall(r"lecture10\.(check_\w+)\((\w+)\)", code):
        solution = [b for b in blocks if re.search(rf"^def {fn}\(", b, re.M)]
        assert solution, f"no solution block defines {fn}"
        namespace = {"np": np, "torch": torch}
        exec(compile(solution[0], f"notebook:{fn}", "exec"), namespace)
        assert getattr(lecture10, checker)(namespace[fn]) is True
