"""The exercise checkers of lecture 11 under attack: a battery of the mistakes students make with a warmup-cosine
schedule and with the gradient noise scale, each rejected with a short message that names the setting and,
where exactly one typical mistake explains the answers, names it; every correct form (python floats, numpy and
torch scalars, float32 arithmetic, other formulas) accepted; hostile returns rejected; the notebook's reference
solutions accepted; a stub is "not attempted yet"."""
import functools
import json
import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from lecture_utils.checks import CheckFailed, lecture11
from check_helpers import rejected as _rejected  # tests/check_helpers.py (tests/ is not a package)

ROOT = Path(__file__).resolve().parents[1]


rejected = functools.partial(_rejected, max_len=700)


# ---- the warmup-cosine schedule ------------------------------------------------------------------------
def wc_ok(b, t, W, T, s, e):
    if t < W:
        return b * (s + (1 - s) * t / W)
    return e + (b - e) * (1 + math.cos(math.pi * (t - W) / (T - W))) / 2


def wc_torch_math(b, t, W, T, s, e):  # the same with torch scalars
    if t < W:
        return torch.tensor(b) * (s + (1 - s) * t / W)
    x = torch.tensor((t - W) / (T - W), dtype=torch.float64)
    return e + (b - e) * (1 + torch.cos(math.pi * x)) / 2


def wc_float32(b, t, W, T, s, e):
    return np.float32(wc_ok(np.float32(b), t, W, T, np.float32(s), np.float32(e)))


def wc_min_form(b, t, W, T, s, e):  # min() instead of a branch in the warmup, sin^2 form of the cosine
    if t >= W:
        return e + (b - e) * math.cos(math.pi * (t - W) / (2 * (T - W))) ** 2
    return b * (s + (1 - s) * min(t, W) / W)


def wc_numpy(b, t, W, T, s, e):
    return np.where(t < W, b * (s + (1 - s) * t / W), e + (b - e) * (1 + np.cos(np.pi * (t - W) / (T - W))) / 2)


@pytest.mark.parametrize("fn", [wc_ok, wc_torch_math, wc_float32, wc_min_form, wc_numpy,
                                lambda *a: [wc_ok(*a)], lambda *a: np.array([wc_ok(*a)]),
                                lambda *a: torch.tensor(wc_ok(*a), requires_grad=True)],
                         ids=["plain", "torch", "float32", "min and sin^2", "numpy", "a list", "an array",
                              "a tensor that requires grad"])
def test_correct_schedules_pass(fn, capsys):
    assert lecture11.check_warmup_cosine(fn) is True
    assert capsys.readouterr().out.startswith("Correct:")


def _cos(x):
    return (1 + math.cos(math.pi * x)) / 2


WC_MISTAKES = [
    (lambda b, t, W, T, s, e: b * (s + (1 - s) * min(t + 1, W) / W) if t < W else wc_ok(b, t, W, T, s, e),
     ["off by one in the warmup", "step 0"]),
    (lambda b, t, W, T, s, e: b * (s + (1 - s) * t / (W - 1)) if t < W and W > 1 else wc_ok(b, t, W, T, s, e),
     ["one step early"]),
    (lambda b, t, W, T, s, e: wc_ok(b, t, W, T, s, e) if t < W else e + (b - e) * _cos(t / (T - W)),
     ["counts from step 0"]),
    (lambda b, t, W, T, s, e: b * (s + (1 - s) * min(t, W) / W) if t <= W
     else e + (b - e) * _cos((t - W - 1) / (T - W)),
     ["one step late"]),
    (lambda b, t, W, T, s, e: wc_ok(b, t, W, T, s, e) if t < W else e + (b - e) * _cos((t - W) / T),
     ["period is total_steps - warmup_steps"]),
    (lambda b, t, W, T, s, e: b * t / W if t < W else wc_ok(b, t, W, T, s, e), ["warmup starts at 0"]),
    (lambda b, t, W, T, s, e: wc_ok(b, t, W, T, s, 0.0), ["eta_min is ignored"]),
    (lambda b, t, W, T, s, e: wc_ok(b, t, W, T, s, e) if t < W else e + b * _cos((t - W) / (T - W)),
     ["not subtracted"]),
    (lambda b, t, W, T, s, e: wc_ok(b, t, W, T, s, e) if t < W else e + (b - e) * math.cos(math.pi * (t - W) / (T - W)),
     ["(1 + cos(pi x)) / 2"]),
    (lambda b, t, W, T, s, e: wc_ok(b, t, W, T, s, e) if t < W else e + (b - e) * (1 - (t - W) / (T - W)),
     ["decays linearly"]),
    (lambda b, t, W, T, s, e: e + (b - e) * _cos(t / T), ["no warmup"]),
    (lambda b, t, W, T, s, e: wc_ok(b, t, T, W, s, e) if W < T else 0.0, ["warmup_cosine for base_lr = 0.1"]),
    (lambda b, t, W, T, s, e: wc_ok(b, t, W, T, e, s) if e > 0 else wc_ok(b, t, W, T, s, e),
     ["base_lr = 2.0", "Hint:"]),
    (lambda b, t, W, T, s, e: 0.1, ["is wrong"]),
    (lambda b, t, W, T, s, e: [wc_ok(b, k, W, T, s, e) for k in range(T)], ["one number", "shape (30,)"]),
]


@pytest.mark.parametrize("fn, needles", WC_MISTAKES, ids=[str(i) for i in range(len(WC_MISTAKES))])
def test_each_schedule_mistake_is_rejected_with_its_diagnosis(fn, needles):
    msg = rejected(lecture11.check_warmup_cosine, fn, *needles)
    assert "warmup_steps = " in msg


def test_a_named_schedule_mistake_is_the_only_one_that_fits():
    """Every diagnosis above names one mistake: two hints never appear in one message."""
    hints = ["off by one", "one step early", "counts from step 0", "one step late", "period is", "starts at 0",
             "is ignored", "not subtracted", "(1 + cos(pi x)) / 2", "decays linearly", "no warmup"]
    for fn, _ in WC_MISTAKES[:11]:
        with pytest.raises(CheckFailed) as info:
            lecture11.check_warmup_cosine(fn)
        assert sum(h in str(info.value) for h in hints) == 1, str(info.value)


# ---- the noise scale -----------------------------------------------------------------------------------
def ns_ok(G):
    n = G.shape[0]
    g_bar = G.mean(0)
    tr = ((G - g_bar) ** 2).sum() / (n - 1)
    return tr / (g_bar @ g_bar - tr / n)


def ns_numpy(G):
    G = G.numpy()
    tr = G.var(axis=0, ddof=1).sum()
    return float(tr / (np.sum(G.mean(0) ** 2) - tr / len(G)))


def ns_float32(G):
    return ns_ok(G.float())


def ns_library(G):
    from lecture_utils.training.noise_scale import noise_scale

    return noise_scale(G, num_bootstrap=0).b_simple


@pytest.mark.parametrize("fn", [ns_ok, ns_numpy, ns_float32, ns_library, lambda G: ns_ok(G).item(),
                                lambda G: [float(ns_ok(G))], lambda G: ns_ok(G).requires_grad_()],
                         ids=["torch", "numpy", "float32", "the library", "a float", "a list", "requires grad"])
def test_correct_noise_scales_pass(fn, capsys):
    assert lecture11.check_noise_scale(fn) is True
    assert capsys.readouterr().out.startswith("Correct:")


def _ns(tr_fn, signal_fn=None):
    def fn(G):
        n = G.shape[0]
        g_bar = G.mean(0)
        tr = tr_fn(G, g_bar, n)
        signal = g_bar @ g_bar - tr / n if signal_fn is None else signal_fn(g_bar, tr, n)
        return tr / signal
    return fn


def _in_place(G):
    G -= G.mean(0)
    return ns_ok(G)


NS_MISTAKES = [
    (_ns(lambda G, m, n: ((G - m) ** 2).sum() / n), ["divides by n", "40 examples x 6"]),
    (_ns(lambda G, m, n: ((G - m) ** 2).sum() / (n - 1), lambda m, tr, n: m @ m), ["not corrected"]),
    (_ns(lambda G, m, n: ((G - m) ** 2).sum() / (n - 1), lambda m, tr, n: m @ m + tr / n), ["wrong sign"]),
    (lambda G: 1 / ns_ok(G), ["upside down"]),
    (_ns(lambda G, m, n: ((G - m) ** 2).sum() / (n - 1), lambda m, tr, n: (m @ m - tr / n).sqrt()),
     ["not squared"]),
    (_ns(lambda G, m, n: ((G - m) ** 2).sum() / (n - 1) / G.shape[1]), ["SUM over all parameters"]),
    (_ns(lambda G, m, n: (G ** 2).sum() / (n - 1)), ["not centred"]),
    (_ns(lambda G, m, n: G.var(dim=1).sum()), ["wrong axis"]),
    (_ns(lambda G, m, n: G.std(dim=0).sum()), ["standard deviations"]),
    (lambda G: ((G - G.mean(0)) ** 2).sum(0) / (G.shape[0] - 1), ["one number", "shape (6,)"]),
    (_in_place, ["changed its argument `grads` in place"]),
    (lambda G: ns_ok(G) * 1.5, ["Hint:", "n - 1"]),
]


def ns_student(grads):  # the parameter name the notebook's stub uses
    return ns_ok(grads)


@pytest.mark.parametrize("fn, needles", NS_MISTAKES, ids=[str(i) for i in range(len(NS_MISTAKES))])
def test_each_noise_scale_mistake_is_rejected_with_its_diagnosis(fn, needles):
    if fn is _in_place:
        def fn(grads):  # noqa: F811 - the name the message must use
            grads -= grads.mean(0)
            return ns_ok(grads)
    rejected(lecture11.check_noise_scale, fn, *needles)


# ---- every checker: hostile returns, crashes, stubs, non-functions ------------------------------------
CHECKERS = {"warmup_cosine": (lecture11.check_warmup_cosine, wc_ok, "base_lr = 0.1"),
            "noise_scale": (lecture11.check_noise_scale, ns_ok, "40 examples")}

HOSTILE = [
    (lambda out: complex(float(out), 1.0), "complex"),
    (lambda out: float("nan"), "not finite"),
    (lambda out: float("inf"), "not finite"),
    (lambda out: str(float(out)), "should be a number"),
    (lambda out: (v for v in [out]), "should be a number"),
    (lambda out: None, "None"),
]


@pytest.mark.parametrize("name", list(CHECKERS))
@pytest.mark.parametrize("attack, needle", HOSTILE, ids=[h[1] + str(i) for i, h in enumerate(HOSTILE)])
def test_hostile_returns_are_rejected(name, attack, needle):
    check, ok, first = CHECKERS[name]
    msg = rejected(check, lambda *a: attack(ok(*a)), needle)
    assert first in msg


@pytest.mark.parametrize("name", list(CHECKERS))
def test_a_crash_names_the_input(name):
    check, _, first = CHECKERS[name]

    def crash(*args):
        raise ValueError("boom")

    rejected(check, crash, "raised ValueError: boom", first)


@pytest.mark.parametrize("name", list(CHECKERS))
def test_a_stub_is_not_attempted_and_a_non_function_is_refused(name, capsys):
    check = CHECKERS[name][0]

    def stub(*args):
        raise NotImplementedError

    assert check(stub) is None
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"Exercise {check.exercise} is not attempted yet")
    with pytest.raises(CheckFailed, match="should be a function"):
        check(3.0)


def test_the_battery_is_at_least_six_mistakes_per_checker():
    assert len(WC_MISTAKES) >= 6 and len(NS_MISTAKES) >= 6


# ---- the notebook's own solutions -----------------------------------------------------------------------
def _notebook():
    path = ROOT / "notebooks" / "11_schedules_and_scale.ipynb"
    if not path.exists():
        pytest.skip("notebook 11 is not there yet")
    return json.loads(path.read_text())["cells"]


@pytest.mark.parametrize("checker, fn", [("check_warmup_cosine", "warmup_cosine"),
                                        ("check_noise_scale", "noise_scale")])
def test_the_notebook_calls_the_checker_and_its_solution_passes(checker, fn, capsys):
    cells = _notebook()
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert f"lecture11.{checker}({fn})" in code
    blocks = [textwrap.dedent(b) for c in cells if c["cell_type"] == "markdown" and "<details" in "".join(c["source"])
              for b in re.findall(r"```python\n(.*?)```", "".join(c["source"]), re.S)]
    solution = [b for b in blocks if re.search(rf"^def {fn}\(", b, re.M)]
    assert solution, f"no solution defining {fn} in a <details> block"
    namespace = {"np": np, "math": math, "torch": torch}
    exec(compile(solution[0], f"notebook 11:{fn}", "exec"), namespace)
    assert getattr(lecture11, checker)(namespace[fn]) is True
    md = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    exercises = md[md.find("## Exercises"):]
    at = exercises.find(f"`{fn}(")
    heads = [int(a or b) for a, b in re.findall(r"\*\*Exercise (\d+)|^(\d+)\. \*\*", exercises[:at], re.M)]
    assert heads and heads[-1] == getattr(lecture11, checker).exercise
