"""Batch size, learning rate and warmup: how many steps, and how many examples, a small net needs to reach a target
loss, recomputed on every move of a slider.

Introduced in lecture 11. The training is :func:`lecture_utils.training.noise_scale.steps_to_target` (a few seeds of
one setting trained together, the loss on the training set measured as they go); the widget only draws it. The
left panel shows each seed's loss against the examples it has processed, with the target and the point where each
seed reached it; the right panel places the setting in the plane of steps against examples to the target, over
the curve a batch-size sweep measured (``reference``, optional): below the critical batch size doubling the batch
halves the steps for the same examples, above it the steps stop falling and the examples grow.

Example (in a notebook ``BatchScalingWidget(data.digits(), target=0.1, batch_size=32, lr=0.8).show()``)::

    >>> from lecture_utils.training import data
    >>> w = BatchScalingWidget(data.blobs(n=200, seed=0, device="cpu"), target=0.5, seeds=(0,), batch_size=16,
    ...                        batch_sizes=(16, 32), lr=0.3, max_steps=200, live=False)
    >>> w.status_text.splitlines()[0]
    'batch size 16, learning rate 0.3, warmup 0 steps'
    >>> _ = w.run(batch_size=32, warmup=10); w.result.batch_size      # every move trains again
    32
"""
from __future__ import annotations

import math

import ipywidgets
import numpy as np

from lecture_utils._validate import check_int, check_real

from .base import Widget, callback
from .controls import SLIDER_STYLE, int_slider, log_slider
from .dashboard import plain_log_ticks
from .style import color

__all__ = ["BatchScalingWidget", "BATCH_SIZES"]

#: The batch sizes the slider offers.
BATCH_SIZES = (4, 8, 16, 32, 64, 128, 256, 512)


def _default_net(in_dim, out_dim):
    from lecture_utils.training import nets

    def make(seed):
        import torch

        torch.manual_seed(seed)
        return nets.MLP(in_dim, (32,), out_dim)
    return make


class BatchScalingWidget(Widget):
    """Steps and examples to a target loss for the slider's batch size, learning rate and warmup.

    Args:
        data: a :class:`lecture_utils.training.data.Dataset` (its training part is used, and the target is the loss
            on it) or ``(X, y)``.
        make_net: ``seed -> nets.MLP`` (default: one hidden layer of 32 ReLUs, initialized from the seed).
        target: the training loss to reach. seeds: the seeds trained together (their initializations and orders).
        batch_size, lr, warmup: the controls' first values; batch_sizes: the slider's options; lr_range: the log
            slider's ends; max_warmup: the warmup slider's end. momentum: SGD's momentum (0: plain SGD).
        max_steps: the most steps a run may take (a setting that never reaches the target stops there);
            patience: a seed whose loss has not fallen for this many measurements is given up on.
        reference: ``(batch_sizes, steps)`` measured elsewhere (a :class:`~lecture_utils.training.noise_scale.
            BatchSweep`'s median steps, say), drawn as the curve of the right panel; fit: optionally its
            :class:`~lecture_utils.training.noise_scale.CriticalBatchFit`, drawn as a line.
    Attributes:
        result: the :class:`~lecture_utils.training.noise_scale.StepsToTarget` of the current setting.
        lines: ``{"seeds": [per-seed loss lines], "reached": the reach markers, "target": the target line,
        "point": the median point, "points": the seeds' points, "reference", "fit"}``; ax_loss, ax_plane.
    Example: ``w = BatchScalingWidget(ds, target=0.1); w.run(batch_size=64, lr=0.8); w.status_text``
    """

    figsize = (8.2, 4.2)
    _data_attrs = ("result", "data", "make_net", "reference")

    def __init__(self, data, make_net=None, *, target: float = 0.1, seeds=(0, 1, 2), batch_size: int = 32,
                 lr: float = 0.5, warmup: int = 0, batch_sizes=BATCH_SIZES, lr_range=(0.01, 4.0),
                 max_warmup: int = 200, momentum: float = 0.0, max_steps: int = 1500, patience: int = 25,
                 reference=None, fit=None,
                 device=None, figsize=None, live: bool | None = None):
        from lecture_utils.training.batching import unpack_data

        X, y, _, _ = unpack_data(data)
        self.target = check_real("target", target, low=0.0, low_open=True)
        self.seeds = [check_int(f"seeds[{i}]", s, low=0) for i, s in enumerate(seeds)]
        if not 1 <= len(self.seeds) <= 16:
            raise ValueError(f"seeds must hold 1 to 16 seeds, got {len(self.seeds)}")
        sizes = sorted({check_int("batch_sizes", b, low=1, high=len(X)) for b in batch_sizes})
        if not sizes:
            raise ValueError("batch_sizes must hold at least one batch size")
        if batch_size not in sizes:
            raise ValueError(f"batch_size must be one of batch_sizes {sizes}, got {batch_size!r}")
        low, high = (check_real("lr_range", v, low=0.0, low_open=True) for v in lr_range)
        if not low < high:
            raise ValueError(f"lr_range must be (low, high) with low < high, got {lr_range!r}")
        lr = check_real("lr", lr, low=low, high=high)
        self.max_warmup = check_int("max_warmup", max_warmup, low=1, high=100_000)
        warmup = check_int("warmup", warmup, low=0, high=self.max_warmup)
        self.momentum = check_real("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.max_steps = check_int("max_steps", max_steps, low=1, high=1_000_000)
        self.patience = check_int("patience", patience, low=1)
        if make_net is not None and not callable(make_net):
            raise TypeError(f"make_net must be a function seed -> nets.MLP, got {type(make_net).__name__}")
        num_classes = int(y.max()) + 1
        self.make_net = make_net or _default_net(int(np.prod(X.shape[1:])), num_classes)
        self.data, self.device = (X, y), device
        super().__init__(figsize=figsize, live=live)
        self.result = None

        self.ax_loss, self.ax_plane = self.fig.subplots(1, 2)
        ax = self.ax_loss
        seed_lines = [ax.plot([], [], color=color(i), lw=1.4, alpha=0.9)[0] for i in range(len(self.seeds))]
        reached, = ax.plot([], [], ls="none", marker="o", ms=6, mfc="white", mec="black", zorder=5)
        target_line = ax.axhline(self.target, color="0.3", ls="--", lw=1.0)
        ax.set_ylim(self.target / 1.5, 3.0)
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
        ax.set_xlabel("examples processed")
        ax.set_ylabel("loss on the training set (log scale)")
        ax.set_title(f"loss of {len(self.seeds)} seeds; o: target {self.target:g} reached", fontsize=9)
        ax.grid(True, alpha=0.3)

        ap = self.ax_plane
        ref_line = fit_line = None
        if reference is not None:
            rb, rs = (np.asarray(v, dtype=float) for v in reference)
            if rb.shape != rs.shape or rb.ndim != 1:
                raise ValueError("reference must be (batch_sizes, steps), two arrays of one shape")
            ok = np.isfinite(rs)
            ref_line, = ap.plot(rb[ok] * rs[ok], rs[ok], color="0.55", marker="s", ms=4, lw=1.0,
                                label="sweep, best rates")
            for b_, s_ in zip(rb[ok], rs[ok]):
                ap.annotate(f"{b_:g}", (b_ * s_, s_), textcoords="offset points", xytext=(4, 3), fontsize=7,
                            color="0.45")
        if fit is not None:
            grid = np.geomspace(min(sizes) / 2, max(sizes) * 2, 100)
            fit_line, = ap.plot(grid * fit.steps(grid), fit.steps(grid), color="0.3", ls=":", lw=1.2,
                                label=f"fit, B_crit = {fit.b_crit:.3g}")
        points, = ap.plot([], [], ls="none", marker="o", ms=4, color=color(0), alpha=0.6, label="this setting: seeds")
        point, = ap.plot([], [], ls="none", marker="*", ms=13, color=color(1), mec="black", zorder=6,
                         label="this setting: median")
        ap.set_xscale("log")
        ap.set_yscale("log")
        ap.set_xlabel("examples to the target")
        ap.set_ylabel("steps to the target")
        ap.set_title("steps vs examples to the target (labels: batch)", fontsize=9)
        ap.grid(True, which="both", alpha=0.25)
        ap.legend(loc="lower left", fontsize=7, framealpha=0.9)  # below the curve: no setting can land there
        self.lines = {"seeds": seed_lines, "reached": reached, "target": target_line, "point": point,
                      "points": points, "reference": ref_line, "fit": fit_line}
        self._plane_limits = None

        self.controls["batch_size"] = ipywidgets.SelectionSlider(
            options=sizes, value=batch_size, description="batch size", continuous_update=False, style=SLIDER_STYLE,
            layout=ipywidgets.Layout(width="280px"))
        self.controls["lr"] = log_slider("learning rate", lr, low, high, continuous_update=False)
        self.controls["warmup"] = int_slider("warmup steps", warmup, 0, self.max_warmup, continuous_update=False)
        for name in ("batch_size", "lr", "warmup"):
            self.controls[name].observe(self._on_change, names="value")
        self._compute()

    # ---- computing -----------------------------------------------------------------------------------
    @callback
    def _on_change(self, _change=None):
        self._compute()

    def run(self, **control_values):
        """Set controls (``batch_size``, ``lr``, ``warmup``) and recompute once; returns :attr:`result`."""
        if control_values:
            self.set(**control_values)  # the observers recompute (once, at the end of the held redraw)
        else:
            self._compute()
        return self.result

    def set(self, **control_values):
        unknown = [k for k in control_values if k not in self.controls]
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this widget has {sorted(self.controls)}")
        for name in self.controls:
            self.controls[name].unobserve(self._on_change, names="value")
        try:
            for k, v in control_values.items():
                self.controls[k].value = v
        finally:
            for name in self.controls:
                self.controls[name].observe(self._on_change, names="value")
        self._on_change()
        return self

    def _compute(self):
        from lecture_utils import schedules
        from lecture_utils.training.noise_scale import steps_to_target

        B = int(self.controls["batch_size"].value)
        lr = float(self.controls["lr"].value)
        W = int(self.controls["warmup"].value)
        self.set_status(f"training {len(self.seeds)} seeds at batch size {B}, learning rate {lr:.3g}, warmup {W} ...")
        sched = schedules.LinearLR(1.0 / W, 1.0, W) if W else None
        self.result = steps_to_target(self.make_net, self.data, B, [lr], self.seeds, self.target,
                                      opt_kwargs={"momentum": self.momentum} if self.momentum else None,
                                      lr_schedule=sched, max_steps=self.max_steps, patience=self.patience,
                                      device=self.device)
        self._draw()

    # ---- drawing -------------------------------------------------------------------------------------
    def _draw(self):
        r = self.result
        B = r.batch_size
        examples = r.record_steps * B
        losses = r.losses[:, 0, :]  # (records, seeds)
        finite = losses[np.isfinite(losses) & (losses > 0)]
        for line, curve in zip(self.lines["seeds"], losses.T):
            line.set_data(examples, curve)
        steps = r.steps[0]
        hit = np.isfinite(steps)
        at = [np.nanmin(curve[r.record_steps == s]) if ok else np.nan for curve, s, ok in zip(losses.T, steps, hit)]
        self.lines["reached"].set_data(steps[hit] * B, np.array(at)[hit])
        ax = self.ax_loss
        ax.set_xlim(0, max(float(examples[-1]) if len(examples) else 1.0, 1.0) * 1.02)
        lo = min(float(finite.min()) if finite.size else self.target, self.target) / 1.5
        hi = max(float(finite.max()) if finite.size else 1.0, self.target) * 1.5
        ax.set_ylim(lo, min(hi, 1e3))
        self.lines["points"].set_data(steps[hit] * B, steps[hit])
        k = int(hit.sum())
        median = float(np.median(steps))  # inf when half of the seeds or more did not reach the target
        if math.isfinite(median):
            self.lines["point"].set_data([median * B], [median])
        else:
            self.lines["point"].set_data([], [])
        self._fit_plane(steps[hit] * B, steps[hit])
        lr, W = float(self.controls["lr"].value), int(self.controls["warmup"].value)
        head = f"batch size {B}, learning rate {lr:.3g}, warmup {W} steps"
        div = int(r.diverged.sum())
        last = int(r.record_steps[-1]) if len(r.record_steps) else 0
        if k == 0:
            why = (f"within the {self.max_steps} steps allowed" if last >= self.max_steps else
                   f"(training stopped at step {last}: no seed's loss was falling any more)" if div < len(self.seeds)
                   else f"(every seed diverged by step {last})")
            body = f"the target {self.target:g} was reached in none of {len(self.seeds)} seeds {why}"
        else:
            body = (f"target {self.target:g} reached in {k} of {len(self.seeds)} seeds"
                    + (f"; median {median:,.0f} steps, {median * B:,.0f} examples" if math.isfinite(median) else
                       ", too few for a median")
                    + f" (seeds: {', '.join('-' if not ok else f'{s:,.0f}' for s, ok in zip(steps, hit))} steps)")
        tail = f"; diverged in {div} of {len(self.seeds)} seeds" if div else ""
        self.set_status(head, body + tail, colors_=[None, None])
        self.redraw(full=True)

    def _fit_plane(self, xs, ys):
        """Limits of the plane that hold the reference curve and every point drawn so far."""
        ap = self.ax_plane
        pts_x, pts_y = list(xs), list(ys)
        for key in ("reference", "fit"):
            line = self.lines[key]
            if line is not None:
                pts_x += list(line.get_xdata())
                pts_y += list(line.get_ydata())
        if self._plane_limits is not None:
            (x0, x1), (y0, y1) = self._plane_limits
            pts_x += [x0, x1]
            pts_y += [y0, y1]
        pts_x = [v for v in pts_x if np.isfinite(v) and v > 0]
        pts_y = [v for v in pts_y if np.isfinite(v) and v > 0]
        if pts_x and pts_y:
            self._plane_limits = ((min(pts_x), max(pts_x)), (min(pts_y), max(pts_y)))
            (x0, x1), (y0, y1) = self._plane_limits
            ap.set_xlim(x0 / 4, x1 * 1.6)   # room in the lower left for the legend
            ap.set_ylim(y0 / 3, y1 * 1.6)
        self.relayout()
