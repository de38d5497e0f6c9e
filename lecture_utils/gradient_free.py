"""Gradient-free optimizers: random search, an evolution strategy, a genetic algorithm, particle swarm (lecture 09).

Each method only calls ``surface.value`` on whole populations at once (numpy, no loop over points), counts
every evaluation exactly, and returns an :class:`~lecture_utils.trajectory.Trajectory` so the same widgets and plots
draw it next to gradient descent:

- ``xs`` ``(T, B, d)``: the best point found so far in each of ``B`` independent runs, after each generation;
- ``values`` ``(T, B)``: its value (non-increasing); ``grad_norms`` and ``lrs`` are NaN (no gradients);
- ``extras["evals"]`` ``(T,)``: function evaluations used per run up to and including each generation;
- ``extras["population"]`` ``(T, B, P, d)`` and ``extras["population_values"]`` ``(T, B, P)``: every point
  evaluated in each generation (kept when ``keep_population=True``, the default for ``d <= 3``);
- ``converged_at`` ``(B,)``: first generation whose best value is ``<= target`` (-1 if never or no target).

With a ``target``, a search stops as soon as every run has reached it (so ``T`` can be smaller than
``num_iters + 1``); without one it runs all generations.

Generation 0 is the initial population.

Example (a swarm of 30 particles finds a minimum of Himmelblau's function, value 0)::

    >>> from lecture_utils import gradient_free, surfaces
    >>> res = gradient_free.particle_swarm(surfaces.get("himmelblau"), num_particles=30, num_iters=60, seed=0)
    >>> bool(res.values[-1, 0] < 1e-6)
    True
    >>> int(res.extras["evals"][-1])             # 30 particles * 61 generations
    1830
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ._validate import check_array, check_int, check_memory, check_real
from .trajectory import Trajectory
from .surfaces import Surface, as_surface

__all__ = ["random_search", "evolution_strategy", "genetic_algorithm", "particle_swarm", "METHODS"]


def _box(surface, bounds):
    b = surface.bounds if bounds is None else bounds
    try:
        arr = np.array(b, dtype=float).reshape(surface.dim, 2)
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be {surface.dim} (low, high) pairs, got {bounds!r}") from None
    if not np.all(np.isfinite(arr)) or np.any(arr[:, 0] >= arr[:, 1]):
        raise ValueError(f"bounds must be finite (low, high) pairs with low < high, got {bounds!r}")
    return arr[:, 0], arr[:, 1]


class _Recorder:
    """Best-so-far bookkeeping for B runs, plus the exact evaluation count."""

    def __init__(self, surface, num_runs, keep_population, target):
        self.surface, self.B, self.keep, self.target = surface, num_runs, keep_population, target
        self.best_x, self.best_v = None, np.full(num_runs, np.inf)
        self.xs, self.values, self.evals, self.pops, self.pop_vals = [], [], [], [], []
        self.count = 0

    def evaluate(self, P):
        """Values of points ``(B, m, d)``: one call to the surface, ``m`` evaluations per run."""
        B, m, d = P.shape
        with np.errstate(all="ignore"):
            v = np.asarray(self.surface.value(P.reshape(B * m, d)), dtype=float).reshape(B, m)
        self.count += m
        # A NaN or inf value (overflow far from the optimum) ranks last rather than crashing the search.
        return np.where(np.isfinite(v), v, np.inf)

    def record(self, P, v):
        i = np.argmin(v, axis=1)
        cand_v = v[np.arange(self.B), i]
        cand_x = P[np.arange(self.B), i]
        if self.best_x is None:
            self.best_x = cand_x.copy()
            self.best_v = cand_v.copy()
        else:
            better = cand_v < self.best_v
            self.best_x = np.where(better[:, None], cand_x, self.best_x)
            self.best_v = np.where(better, cand_v, self.best_v)
        self.xs.append(self.best_x.copy())
        self.values.append(self.best_v.copy())
        self.evals.append(self.count)
        if self.keep:
            self.pops.append(P.copy())
            self.pop_vals.append(v.copy())

    def done(self):
        """Every run has reached the target: the search can stop early."""
        return self.target is not None and bool(np.all(self.best_v <= self.target))

    def trajectory(self, label, **extras):
        xs = np.stack(self.xs)
        values = np.stack(self.values)
        values = np.where(np.isfinite(values), values, np.nan)
        T = len(xs)
        if self.target is None:
            converged_at = np.full(self.B, -1)
        else:
            hit = values <= self.target
            converged_at = np.where(hit.any(0), hit.argmax(0), -1)
        extras = dict(extras, evals=np.array(self.evals, dtype=np.int64))
        if self.keep:
            extras["population"] = np.stack(self.pops)
            extras["population_values"] = np.where(np.isfinite(np.stack(self.pop_vals)), np.stack(self.pop_vals),
                                                   np.nan)
        return Trajectory(xs, values, np.full((T, self.B), np.nan), np.full(T - 1, np.nan),
                          np.full(self.B, -1, dtype=np.int64), converged_at.astype(np.int64), label=label,
                          tol=np.nan if self.target is None else self.target, extras=extras)


def _check_budget(num_iters, num_runs, dim, pop, keep, pop_name):
    """Refuse a search whose records would not fit: best point and value per generation and run (plus the whole
    population with ``keep_population``), and one generation's ``(num_runs, pop, dim)`` candidates."""
    check_memory(pop_name, pop, 8 * num_runs * (dim + 1), f"{num_runs} run(s) in {dim} dimension(s)")
    per_gen = 8 * num_runs * (dim + 1) + 400 + (8 * num_runs * pop * (dim + 1) if keep else 0)
    check_memory("num_iters", num_iters, per_gen, f"{num_runs} run(s) of {pop} in {dim} dimension(s)", extra=1)


def _quiet(search):
    """Run a search with numpy's floating-point warnings off: a point whose value overflows far from the optimum
    ranks last and a run that runs away shows in its values (divergence is a result, not a warning)."""
    @functools.wraps(search)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return search(*args, **kwargs)
    return wrapper


def _common(surface, num_runs, seed, keep_population, target):
    surface = as_surface(surface)
    num_runs = check_int("num_runs", num_runs, low=1)
    check_memory("num_runs", num_runs, 8 * (surface.dim + 4) * 64, f"the state of one run in {surface.dim} dimension(s)")
    if seed is not None and not isinstance(seed, np.random.Generator):
        seed = check_int("seed", seed, low=0)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    keep = surface.dim <= 3 if keep_population is None else bool(keep_population)
    target = check_real("target", target, allow_none=True)
    return surface, num_runs, rng, _Recorder(surface, num_runs, keep, target)


@_quiet
def random_search(surface: Surface, num_iters: int = 50, batch_size: int = 20, *, bounds=None, num_runs: int = 1,
                  seed=None, keep_population=None, target: float | None = None) -> Trajectory:
    """Pure random search: draw ``batch_size`` points uniformly in the box each generation, keep the best.

    Args:
        surface: the objective (any dimension).
        num_iters: generations after the first; ``batch_size * (num_iters + 1)`` evaluations per run.
        batch_size: points drawn per generation.
        bounds: search box, ``d`` pairs (default: the surface's plotting box).
        num_runs: independent runs ``B`` done at once.
        seed: int, ``numpy.random.Generator`` or ``None``.
        keep_population: store every evaluated point (default: when ``d <= 3``).
        target: value that counts as reached (sets ``converged_at``).
    Returns:
        :class:`~lecture_utils.trajectory.Trajectory` (see the module docstring).
    Example: ``random_search(surfaces.get("rastrigin"), num_iters=99, batch_size=10, seed=0)``
    """
    surface, num_runs, rng, rec = _common(surface, num_runs, seed, keep_population, target)
    num_iters = check_int("num_iters", num_iters, low=0)
    batch_size = check_int("batch_size", batch_size, low=1)
    _check_budget(num_iters, num_runs, surface.dim, batch_size, rec.keep, "batch_size")
    lo, hi = _box(surface, bounds)
    for _ in range(num_iters + 1):
        P = lo + (hi - lo) * rng.random((num_runs, batch_size, surface.dim))
        rec.record(P, rec.evaluate(P))
        if rec.done():
            break
    return rec.trajectory(f"random search ({batch_size}/gen)")


@_quiet
def evolution_strategy(surface: Surface, x0=None, num_iters: int = 100, *, pop_size: int | None = None,
                       num_parents: int | None = None, sigma: float | None = None, bounds=None,
                       num_runs: int = 1, seed=None, keep_population=None,
                       target: float | None = None) -> Trajectory:
    """A (mu/mu_w, lambda) evolution strategy with cumulative step-size adaptation (Hansen's CSA).

    Each generation draws ``lambda = pop_size`` offspring ``m + sigma z`` with ``z ~ N(0, I)`` around the mean
    ``m``, keeps the ``mu = num_parents`` best, and moves ``m`` by ``sigma z_w``, a weighted average of their ``z``
    (weights ``∝ ln(mu + 1/2) - ln(rank)``, so better offspring count more; ``mu_eff = 1 / sum w^2``). The step
    size ``sigma`` grows when successive moves point the same way and shrinks when they cancel out: an evolution
    path ``p <- (1 - c) p + sqrt(c (2 - c) mu_eff) z_w`` is compared with the length a random walk would have,
    ``sigma <- sigma exp((c / damp) (|p| / E|N(0, I)| - 1))``, with ``c = (mu_eff + 2) / (d + mu_eff + 5)``.

    Args:
        surface: the objective (any dimension).
        x0: start mean ``(d,)`` or ``(B, d)`` (default: uniform in the box, one per run).
        num_iters: generations after the first; ``pop_size * (num_iters + 1)`` evaluations per run.
        pop_size: offspring per generation (default ``4 + floor(3 ln d)``, at least 6).
        num_parents: how many of the best offspring are recombined (default ``pop_size // 2``).
        sigma: initial step size (default a quarter of the box's mean width).
        bounds, num_runs, seed, keep_population, target: as in :func:`random_search`.
    Returns:
        :class:`~lecture_utils.trajectory.Trajectory`; ``extras["sigma"]`` ``(T, B)`` and ``extras["mean"]``
        ``(T, B, d)`` record the step size and the mean.
    Example: ``evolution_strategy(surfaces.get("himmelblau"), [0.0, 0.0], num_iters=60, seed=0)``
    """
    surface, num_runs, rng, rec = _common(surface, num_runs, seed, keep_population, target)
    num_iters = check_int("num_iters", num_iters, low=0)
    d = surface.dim
    lam = check_int("pop_size", pop_size, low=2, allow_none=True) or max(6, 4 + int(3 * math.log(d)))
    _check_budget(num_iters, num_runs, d, lam, rec.keep, "pop_size")
    mu = check_int("num_parents", num_parents, low=1, high=lam, allow_none=True) or lam // 2
    lo, hi = _box(surface, bounds)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True, allow_none=True)
    sigma = float(np.mean(hi - lo)) / 4 if sigma is None else sigma
    sigma_max = 1e6 * max(float(np.mean(hi - lo)), sigma)
    if x0 is None:
        m = lo + (hi - lo) * rng.random((num_runs, d))
    else:
        m = check_array("x0", x0)
        if m.shape == (d,):
            m = np.tile(m, (num_runs, 1))
        elif m.shape != (num_runs, d):
            raise ValueError(f"x0 must have shape ({d},) or (num_runs, {d}) = ({num_runs}, {d}), got {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ValueError("x0 must be finite")
    # Recombination weights: better offspring count more (log-decreasing, as in CMA-ES); mu_eff is their
    # "effective number of parents".
    weights = math.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
    weights /= weights.sum()
    mu_eff = 1.0 / float((weights ** 2).sum())
    c_s = (mu_eff + 2) / (d + mu_eff + 5)
    damp = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (d + 1)) - 1) + c_s
    chi_n = math.sqrt(d) * (1 - 1 / (4 * d) + 1 / (21 * d * d))
    path = np.zeros((num_runs, d))
    sig = np.full(num_runs, sigma)
    sigmas, means = [], []
    for _ in range(num_iters + 1):
        sigmas.append(sig.copy())
        means.append(m.copy())
        z = rng.standard_normal((num_runs, lam, d))
        P = m[:, None, :] + sig[:, None, None] * z
        v = rec.evaluate(P)
        rec.record(P, v)
        if rec.done():
            break
        best = np.argsort(v, axis=1, kind="stable")[:, :mu]
        z_w = np.einsum("k,bkd->bd", weights, np.take_along_axis(z, best[:, :, None], axis=1))
        m = m + sig[:, None] * z_w
        path = (1 - c_s) * path + math.sqrt(c_s * (2 - c_s) * mu_eff) * z_w
        # On an objective with no minimum sigma would grow without limit (to overflow): cap it far above any
        # useful step, so the run diverges as a result instead of raising overflow warnings.
        sig = np.minimum(sig * np.exp((c_s / damp) * (np.linalg.norm(path, axis=1) / chi_n - 1)), sigma_max)
    return rec.trajectory(f"evolution strategy ({mu}/{mu}w, {lam})", sigma=np.stack(sigmas), mean=np.stack(means))


@_quiet
def genetic_algorithm(surface: Surface, num_iters: int = 50, pop_size: int = 40, *, num_elite: int = 2,
                      tournament: int = 3, mutation: float = 0.1, mutation_decay: float = 0.97, bounds=None,
                      num_runs: int = 1, seed=None, keep_population=None, target: float | None = None) -> Trajectory:
    """A real-coded genetic algorithm: tournament selection, blend crossover, Gaussian mutation, elitism.

    Each generation keeps the ``num_elite`` best individuals unchanged (the "option to keep old ones") and breeds
    the rest: two parents are each the best of ``tournament`` random individuals; the child takes a random mix
    ``u * parent1 + (1 - u) * parent2`` per coordinate (``u`` uniform in ``[0, 1]``) plus Gaussian noise of
    standard deviation ``mutation * (box width)``, which shrinks by ``mutation_decay`` every generation.
    Children are clipped to the box.

    Args:
        surface: the objective (any dimension).
        num_iters: generations after the first.
        pop_size: individuals per generation; ``pop_size + num_iters * (pop_size - num_elite)`` evaluations per
            run (the elite are not re-evaluated).
        num_elite: individuals copied unchanged into the next generation.
        tournament: individuals drawn per tournament.
        mutation: initial mutation scale, as a fraction of the box width.
        mutation_decay: factor applied to the mutation scale each generation.
        bounds, num_runs, seed, keep_population, target: as in :func:`random_search`.
    Returns:
        :class:`~lecture_utils.trajectory.Trajectory` (see the module docstring).
    Example: ``genetic_algorithm(surfaces.get("rastrigin"), num_iters=60, pop_size=40, seed=0)``
    """
    surface, num_runs, rng, rec = _common(surface, num_runs, seed, keep_population, target)
    num_iters = check_int("num_iters", num_iters, low=0)
    pop_size = check_int("pop_size", pop_size, low=2)
    _check_budget(num_iters, num_runs, surface.dim, pop_size, rec.keep, "pop_size")
    num_elite = check_int("num_elite", num_elite, low=0, high=pop_size - 1)
    tournament = check_int("tournament", tournament, low=1, high=pop_size)
    mutation = check_real("mutation", mutation, low=0.0)
    mutation_decay = check_real("mutation_decay", mutation_decay, low=0.0, high=1.0, low_open=True)
    lo, hi = _box(surface, bounds)
    d = surface.dim
    B, n_child = num_runs, pop_size - num_elite
    rows = np.arange(B)[:, None]
    P = lo + (hi - lo) * rng.random((B, pop_size, d))
    v = rec.evaluate(P)
    rec.record(P, v)
    scale = mutation
    for _ in range(num_iters):
        if rec.done():
            break
        order = np.argsort(v, axis=1, kind="stable")
        elite = order[:, :num_elite]

        def pick():
            cand = rng.integers(0, pop_size, size=(B, n_child, tournament))
            winner = np.argmin(v[rows[:, :, None], cand], axis=2)
            return np.take_along_axis(cand, winner[:, :, None], axis=2)[:, :, 0]

        p1, p2 = P[rows, pick()], P[rows, pick()]
        u = rng.random((B, n_child, d))
        children = u * p1 + (1 - u) * p2 + scale * (hi - lo) * rng.standard_normal((B, n_child, d))
        children = np.clip(children, lo, hi)
        child_v = rec.evaluate(children)
        P = np.concatenate([P[rows, elite], children], axis=1)
        v = np.concatenate([v[rows, elite], child_v], axis=1)
        rec.record(P, v)
        scale *= mutation_decay
    return rec.trajectory(f"genetic algorithm (pop {pop_size})")


@_quiet
def particle_swarm(surface: Surface, num_particles: int = 30, num_iters: int = 50, *, inertia: float = 0.7,
                   cognitive: float = 1.5, social: float = 1.5, max_speed: float = 0.2, bounds=None,
                   num_runs: int = 1, seed=None, keep_population=None, target: float | None = None) -> Trajectory:
    """Particle swarm optimization (Kennedy & Eberhart 1995, with inertia weight).

    Each particle remembers its own best point ``p_i``; the swarm shares the best point ``g`` any particle has
    seen. Velocities and positions follow
    ``v <- inertia v + cognitive r1 (p_i - x) + social r2 (g - x)`` and ``x <- x + v``, with ``r1, r2`` uniform in
    ``[0, 1]`` per coordinate, speeds clipped to ``max_speed * (box width)`` and positions to the box.

    Args:
        surface: the objective (any dimension).
        num_particles: swarm size; ``num_particles * (num_iters + 1)`` evaluations per run.
        num_iters: moves after the initial placement.
        inertia, cognitive, social: the weights ``w``, ``c1``, ``c2``.
        max_speed: speed limit as a fraction of the box width.
        bounds, num_runs, seed, keep_population, target: as in :func:`random_search`.
    Returns:
        :class:`~lecture_utils.trajectory.Trajectory` (see the module docstring).
    Example: ``particle_swarm(surfaces.get("rastrigin"), num_particles=40, num_iters=80, seed=1)``
    """
    surface, num_runs, rng, rec = _common(surface, num_runs, seed, keep_population, target)
    num_particles = check_int("num_particles", num_particles, low=1)
    num_iters = check_int("num_iters", num_iters, low=0)
    _check_budget(num_iters, num_runs, surface.dim, num_particles, rec.keep, "num_particles")
    inertia = check_real("inertia", inertia, low=0.0)
    cognitive = check_real("cognitive", cognitive, low=0.0)
    social = check_real("social", social, low=0.0)
    max_speed = check_real("max_speed", max_speed, low=0.0, low_open=True)
    lo, hi = _box(surface, bounds)
    d, B = surface.dim, num_runs
    vmax = max_speed * (hi - lo)
    X = lo + (hi - lo) * rng.random((B, num_particles, d))
    V = vmax * (2 * rng.random((B, num_particles, d)) - 1)
    f = rec.evaluate(X)
    rec.record(X, f)
    pbest, pbest_v = X.copy(), f.copy()
    for _ in range(num_iters):
        if rec.done():
            break
        gbest = rec.best_x[:, None, :]
        r1, r2 = rng.random((2, B, num_particles, d))
        V = inertia * V + cognitive * r1 * (pbest - X) + social * r2 * (gbest - X)
        V = np.clip(V, -vmax, vmax)
        X = np.clip(X + V, lo, hi)
        f = rec.evaluate(X)
        rec.record(X, f)
        better = f < pbest_v
        pbest = np.where(better[:, :, None], X, pbest)
        pbest_v = np.where(better, f, pbest_v)
    return rec.trajectory(f"particle swarm ({num_particles})")


METHODS = {"random search": random_search, "evolution strategy": evolution_strategy,
           "genetic algorithm": genetic_algorithm, "particle swarm": particle_swarm}
