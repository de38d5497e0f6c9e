"""Shared pieces of the optimizer explorers: optimizer specs with their sliders, surfaces by name, axis limits.

Introduced with the lecture 01/03 explorers. Not public API: the explorers re-export what students need.
"""
from __future__ import annotations

import math

import ipywidgets
import numpy as np

from lecture_utils import optim, surfaces

from .base import color, float_slider, log_slider

#: Learning-rate slider range shared by the explorers.
LR_RANGE = (1e-5, 10.0)
#: At most this many optimizers in one explorer (more lines are unreadable).
MAX_OPTIMIZERS = 6


def surface_title(s: surfaces.Surface) -> str:
    """A readable title: the surface's LaTeX formula, or a typed formula shown as typed (``x**2 - y**2``)."""
    f = s.formula or s.name
    inner = f[1:-1] if len(f) > 1 and f.startswith("$") and f.endswith("$") else None
    if inner is not None and "*" in inner:
        # A formula typed by a student: mathtext would turn ** into two stars; show the text itself.
        f = inner
    if len(f) > 70:
        f = s.name if len(s.name) <= 70 else s.name[:67] + "..."
    if not f.startswith("$"):
        f = f.replace("$", r"\$")
        args = "x" if s.dim == 1 else "x, y"
        if "=" not in f and any(ch in f for ch in "+-*/^()"):
            f = f"f({args}) = {f}"
    return f


class OptSpec:
    """One optimizer of an explorer: its class and fixed hyperparameters; lr and momentum come from sliders.

    ``spec`` is a name for :func:`lecture_utils.optim.make` (``"adam"``), a dict ``{"name": "adam", "lr": 0.1}``
    or an optimizer instance. ``momentum_key`` is ``"momentum"`` (SGD, RMSprop), ``"beta1"`` (Adam, AdamW) or
    ``None`` (Adagrad).
    """

    def __init__(self, spec, arg: str = "optimizers"):
        self.explicit_lr = not isinstance(spec, str) and not (isinstance(spec, dict) and "lr" not in spec)
        if isinstance(spec, str):
            opt = optim.make(spec)
            self.name = spec.lower()
        elif isinstance(spec, dict):
            spec = dict(spec)
            name = spec.pop("name", None)
            if not isinstance(name, str):
                raise ValueError(f"{arg}: a dict spec needs a 'name' key (an optimizer name), got {spec!r}")
            opt = optim.make(name, **spec)
            self.name = name.lower()
        elif isinstance(spec, optim.Optimizer):
            opt = spec
            self.name = type(spec).__name__.lower()
        else:
            raise TypeError(f"{arg} entries must be optimizer names (sgd, momentum, nesterov, adagrad, rmsprop, "
                            f"adam, adamw), dicts with a 'name' key, or optimizer objects; "
                            f"got {type(spec).__name__}")
        self.cls = type(opt)
        hp = opt.hyperparameters()
        if "beta1" in hp:
            hp["betas"] = (hp.pop("beta1"), hp.pop("beta2"))
        self.hp = hp
        if isinstance(opt, optim.Adam):
            self.momentum_key = "beta1"
        elif isinstance(opt, (optim.SGD, optim.RMSprop)):
            self.momentum_key = "momentum"
        else:
            self.momentum_key = None
        self.nesterov = bool(getattr(opt, "nesterov", False))
        self.opt = opt

    @property
    def lr(self) -> float:
        return self.hp["lr"]

    @property
    def momentum(self) -> float | None:
        if self.momentum_key == "beta1":
            return self.hp["betas"][0]
        if self.momentum_key == "momentum":
            return self.hp["momentum"]
        return None

    def build(self, lr: float, momentum: float | None = None) -> optim.Optimizer:
        """The optimizer with this ``lr`` (and momentum or beta1 when it has one)."""
        hp = dict(self.hp, lr=float(lr))
        if momentum is not None and self.momentum_key == "beta1":
            hp["betas"] = (float(momentum), hp["betas"][1])
        elif momentum is not None and self.momentum_key == "momentum":
            hp["momentum"] = float(momentum)
        return self.cls(**hp)

    @property
    def title(self) -> str:
        """Name for a control row: 'SGD', 'momentum', 'Nesterov', 'Adam', ..."""
        if self.cls is optim.SGD:
            return "Nesterov" if self.nesterov else ("momentum" if self.hp.get("momentum") else "SGD")
        return self.cls.__name__


def parse_optimizers(optimizers, arg: str = "optimizers") -> list[OptSpec]:
    """A list of :class:`OptSpec` from one spec or a sequence of specs (1 to :data:`MAX_OPTIMIZERS`)."""
    if isinstance(optimizers, (str, dict, optim.Optimizer)):
        optimizers = [optimizers]
    try:
        items = list(optimizers)
    except TypeError:
        raise TypeError(f"{arg} must be an optimizer spec or a list of them, got {type(optimizers).__name__}") from None
    if not 1 <= len(items) <= MAX_OPTIMIZERS:
        raise ValueError(f"{arg} must hold 1 to {MAX_OPTIMIZERS} optimizers, got {len(items)}")
    return [OptSpec(s, arg) for s in items]


def per_optimizer(name: str, value, n: int, default):
    """Broadcast a scalar (or None -> ``default(i)``) to a list of ``n`` values; check a list's length."""
    if value is None:
        return [default(i) for i in range(n)]
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != n:
            raise ValueError(f"{name} must be a number or a list of {n} numbers (one per optimizer), "
                             f"got {len(value)} values")
        return list(value)
    return [value] * n


def suffix(i: int) -> str:
    """Control-name suffix of optimizer ``i``: '' for the first, '_1', '_2', ... for the others."""
    return "" if i == 0 else f"_{i}"


def optimizer_controls(specs, lrs, momenta, *, continuous_update=True):
    """Sliders per optimizer: ``lr``/``momentum`` (or ``beta1``) for the first, ``lr_1``/... for the others.

    Returns ``(controls, rows)``: a dict name -> slider and one HBox per optimizer with a coloured label.
    """
    controls, rows = {}, []
    for i, (spec, lr, mom) in enumerate(zip(specs, lrs, momenta)):
        sfx = suffix(i)
        lr_s = log_slider("lr", lr, *LR_RANGE, continuous_update=continuous_update)
        controls["lr" + sfx] = lr_s
        row = [ipywidgets.HTML(f'<b style="color:{color(i)}">{spec.title}</b>',
                               layout=ipywidgets.Layout(width="90px")), lr_s]
        if spec.momentum_key is not None:
            low = 0.01 if spec.nesterov else 0.0
            m_s = float_slider(spec.momentum_key, mom if mom is not None else spec.momentum, low, 0.99, 0.01,
                               continuous_update=continuous_update)
            controls[spec.momentum_key + sfx] = m_s
            row.append(m_s)
        rows.append(ipywidgets.HBox(row))
    return controls, rows


def nice_limits(lo: float, hi: float, current=None, *, log: bool = False):
    """Axis limits covering ``[lo, hi]`` with a margin, kept unchanged while the data fit comfortably.

    Keeping limits stable lets a slider move be blitted instead of redrawn. On a log axis the limits are
    whole decades. Returns ``(low, high)``.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return current if current is not None else ((1e-12, 1.0) if log else (0.0, 1.0))
    if log:
        lo_d = math.floor(math.log10(max(lo, 1e-300)))
        hi_d = math.ceil(math.log10(max(hi, 1e-300)))
        if hi_d <= lo_d:
            hi_d = lo_d + 1
        new = (10.0 ** lo_d, 10.0 ** hi_d)
        if current is not None:
            c_lo, c_hi = current
            # Keep the current decades while they contain the data and waste at most 3 decades per side.
            if c_lo <= new[0] and c_hi >= new[1] and c_lo >= new[0] / 1e3 and c_hi <= new[1] * 1e3:
                return current
        return new
    if hi <= lo:
        pad = max(abs(lo), 1.0) * 0.05
        lo, hi = lo - pad, hi + pad
    span = hi - lo
    new = (lo - 0.06 * span, hi + 0.06 * span)
    if current is not None:
        c_lo, c_hi = current
        c_span = c_hi - c_lo
        if c_lo <= lo and c_hi >= hi and c_span <= 2.0 * span * 1.12:
            return current
    return new


def reference_value(surface: surfaces.Surface, grid_values: np.ndarray, grid_points: np.ndarray):
    """The lowest value in the plotting box, polished by Newton steps from the best grid point.

    Returns ``(f_ref, interior)``: ``interior`` is True when that lowest point is a critical point strictly
    inside the box (then ``f - f_ref >= 0`` near it and the gap can be drawn on log axes).
    """
    flat = np.asarray(grid_values, dtype=float).ravel()
    ok = np.isfinite(flat)
    if not ok.any():
        return 0.0, False
    i = int(np.argmin(np.where(ok, flat, np.inf)))
    best = float(flat[i])
    x = np.asarray(grid_points, dtype=float).reshape(-1, surface.dim)[i].copy()
    lo = np.array([b[0] for b in surface.bounds])
    hi = np.array([b[1] for b in surface.bounds])
    d = surface.dim
    with np.errstate(all="ignore"):
        for _ in range(30):
            g = np.atleast_1d(surface.grad(x)).reshape(d)
            H = np.atleast_2d(surface.hessian(x)).reshape(d, d)
            try:
                step = np.linalg.solve(H + 1e-9 * np.eye(d), g)
            except np.linalg.LinAlgError:
                break
            x_new = x - step
            if not np.all(np.isfinite(x_new)):
                break
            x = x_new
        fx = float(surface.value(x))
        gn = float(np.linalg.norm(np.atleast_1d(surface.grad(x))))
    span = hi - lo
    inside = bool(np.all(x > lo + 1e-3 * span) and np.all(x < hi - 1e-3 * span))
    near = bool(np.all(np.abs(x - np.asarray(grid_points).reshape(-1, d)[i]) < 0.05 * span))
    if math.isfinite(fx) and inside and near and gn < 1e-6 * (1 + abs(fx)) and fx <= best + 1e-12:
        return fx, True
    # The lowest grid point is on the boundary (an unbounded surface such as a saddle) or Newton wandered off.
    edge = bool(np.any(np.abs(np.asarray(grid_points).reshape(-1, d)[i] - lo) < 1e-12)
                or np.any(np.abs(np.asarray(grid_points).reshape(-1, d)[i] - hi) < 1e-12))
    return best, not edge


# ---------------------------------------------------------------------------------------------------------
# The shared machinery of explorers: optimizer sliders, steps, play/step/reset, recompute, status.
# ---------------------------------------------------------------------------------------------------------
from .base import Widget, callback, int_slider, play_controls, set_steps  # noqa: E402


class TrajectoryWidget(Widget):
    """Base of the explorers: runs each optimizer from one start point and shows step ``k`` of the runs.

    Subclasses set ``self._run_surface`` and implement ``_start_point()``, ``_draw_runs()`` (update the
    artists that show whole runs; return True when axis limits changed) and ``_draw_step(k)`` (update
    the per-step artists). A hyperparameter change recomputes the runs; the step slider and play only index
    the stored trajectories.
    """

    def _init_runs(self, specs, lrs, momenta, num_steps, tol, *, max_steps=2000):
        from lecture_utils._validate import check_int, check_real

        self.specs = specs
        self.tol = check_real("tol", tol, low=0.0)
        num_steps = check_int("num_steps", num_steps, low=1, high=max_steps)
        for i, lr in enumerate(lrs):
            check_real("lr" if len(lrs) == 1 else f"lr[{i}]", lr, low=0.0, low_open=True)
        for i, (spec, m) in enumerate(zip(specs, momenta)):
            if m is not None and spec.momentum_key is not None:
                check_real(spec.momentum_key if len(specs) == 1 else f"momentum[{i}]", m, low=0.0, high=0.99)
        cu = self.live  # static images: update when the slider is released, not on every pixel
        opt_controls, self._opt_rows = optimizer_controls(specs, lrs, momenta, continuous_update=cu)
        self.controls.update(opt_controls)
        self.controls["num_steps"] = int_slider("num_steps", num_steps, 1, max(max_steps, num_steps),
                                                continuous_update=False)
        play, step, reset = play_controls(num_steps)
        step.value = num_steps  # first impression: the whole run
        self.controls.update(play=play, step=step, reset=reset)
        self.trajs = []
        self.clip_norm = None

    def _connect_runs(self):
        for name in self.controls:
            if name == "num_steps":
                self.controls[name].observe(self._on_num_steps, names="value")
            elif name.split("_")[0] in ("lr", "momentum", "beta1") and name not in ("step",):
                self.controls[name].observe(self._on_hyper, names="value")
        self.controls["step"].observe(self._on_step, names="value")
        self.controls["play"].observe(self._on_playing, names="playing")
        self.controls["reset"].on_click(self._on_reset)

    # ---- computing ---------------------------------------------------------------------------------------
    def optimizer(self, i: int = 0) -> optim.Optimizer:
        """Optimizer ``i`` with the hyperparameters its sliders hold now."""
        spec = self.specs[i]
        sfx = suffix(i)
        mom = self.controls[spec.momentum_key + sfx].value if spec.momentum_key else None
        return spec.build(self.controls["lr" + sfx].value, mom)

    @property
    def num_steps(self) -> int:
        return int(self.controls["num_steps"].value)

    @property
    def step(self) -> int:
        return int(self.controls["step"].value)

    def _run_kwargs(self) -> dict:
        return {"clip_norm": self.clip_norm}

    def recompute(self):
        """Run every optimizer from the current start point (called on a hyperparameter change).

        A run is reused while its own inputs (surface, optimizer, start, steps, clipping) are unchanged, so
        moving one optimizer's slider reruns only that optimizer.
        """
        x0 = self._start_point()
        kw = self._run_kwargs()
        cache = getattr(self, "_run_cache", None) or {}
        trajs, new_cache = [], {}
        for i in range(len(self.specs)):
            opt = self.optimizer(i)
            key = (id(self._run_surface), repr(opt), tuple(np.ravel(x0)), self.num_steps, self.tol,
                   tuple(sorted(kw.items())))
            traj = cache.get(i, (None, None))[1] if cache.get(i, (None,))[0] == key else None
            if traj is None:
                traj = optim.run(self._run_surface, opt, x0, self.num_steps, tol=self.tol, **kw)
            trajs.append(traj)
            new_cache[i] = (key, traj)
        # The surface object is held by the widget, so its id stays unique while the cache refers to it.
        self._run_cache = new_cache
        self.trajs = trajs
        return self.trajs

    def _refresh(self, full: bool = False):
        self.recompute()
        changed = self._draw_runs()
        self._draw_step(min(self.step, self.num_steps))
        self._update_status()
        self.redraw(full=full or changed)

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_hyper(self, change):
        self._refresh()

    @callback
    def _on_num_steps(self, change):
        at_end = self.step >= change["old"]
        set_steps(self.controls["play"], self.controls["step"], change["new"])
        if at_end:
            self.controls["step"].value = change["new"]  # fires _on_step before the runs exist: guarded
        self._refresh(full=True)

    @callback
    def _on_step(self, change):
        if not self.trajs or change["new"] > self.trajs[0].num_steps:
            return  # num_steps is changing: _on_num_steps redraws
        self._draw_step(int(change["new"]))
        self._update_status()
        self.redraw()

    @callback
    def _on_playing(self, change):
        play = self.controls["play"]
        if change["new"] and play.value + play.step > play.max:
            play.value = 0  # pressing play at the end restarts from the beginning
        elif not change["new"] and play.max - play.step < play.value < play.max:
            play.value = play.max  # the play loop stops one stride short of the end: show the end

    @callback
    def _on_reset(self, button=None):
        play = self.controls["play"]
        play.playing = False
        play.value = 0
        self.controls["step"].value = 0

    # ---- status ----------------------------------------------------------------------------------------
    def _status_line(self, i: int, k: int) -> str:
        traj = self.trajs[i]
        return f"{self.specs[i].title} ({self.optimizer(i).label}): {traj.status(0)}"

    def _update_status(self):
        if not self.trajs:
            return
        k = min(self.step, self.trajs[0].num_steps)
        self.set_status(*[self._status_line(i, k) for i in range(len(self.trajs))],
                        colors_=[color(i) for i in range(len(self.trajs))])

    def _controls_box(self):
        c = self.controls
        rows = list(self._opt_rows)
        rows.append(ipywidgets.HBox([c["play"], c["step"], c["reset"], c["num_steps"]]))
        return ipywidgets.VBox(rows + self._extra_rows())

    def _extra_rows(self) -> list:
        return []

    # ---- legend ------------------------------------------------------------------------------------------
    def _make_legend(self, ax):
        """The optimizers' legend. Text is the slowest thing to draw, so a legend of distinct names
        (SGD, momentum, Adam) stays in the cached background; only when two optimizers share a name
        does the legend carry their learning rates, and then it changes with them."""
        titles = [s.title for s in self.specs]
        self._legend_dynamic = len(set(titles)) < len(titles)
        legend = ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
        self._update_legend(legend)
        return legend

    def _update_legend(self, legend=None) -> bool:
        """Put the current learning rates in a legend of same-named optimizers; True if a label changed."""
        legend = legend if legend is not None else self.legend
        if not self._legend_dynamic:
            return False
        changed = False
        for i, text in enumerate(legend.get_texts()):
            label = self.optimizer(i).label
            if text.get_text() != label:
                text.set_text(label)
                changed = True
        return changed
