"""Live edge of stability: a learning-rate slider, and the training loss and the sharpness of full-batch gradient
descent drawn while the net trains, with the line ``2 / lr`` that the sharpness rises to and then hovers at.

Introduced in lecture 10. Training and measuring are :func:`lecture_utils.training.sharpness.fit_sharpness` (one
net; a record every ``every`` steps); the widget only draws its records. As with
:class:`widgets.dashboard.TrainingDashboard`, :meth:`SharpnessWidget.run` trains synchronously inside the call
(tests, nbval, a static figure), and *start* trains in the kernel's event loop, yielding after each record so that
*stop* is heard. Moving the *lr* slider moves the ``2 / lr`` line at once; *start* trains again at the new rate
(every run starts from the same initial weights).

Example::

    from lecture_utils.training import data, nets
    from widgets.sharpness import SharpnessWidget
    w = SharpnessWidget(lambda: nets.MLP(64, (16, 16), 10, activation="tanh"), (X, Y_onehot), lr=1.0)
    w.run()      # or w.show() and press start
"""
from __future__ import annotations

import math
import time

import ipywidgets
import numpy as np

from lecture_utils._validate import check_int, check_real
from lecture_utils.training import sharpness

from .base import Widget, callback
from .controls import int_slider, log_slider
from .dashboard import plain_log_ticks
from .start_stop import StartStop
from .style import color

__all__ = ["SharpnessWidget"]


class SharpnessWidget(StartStop, Widget):
    """Full-batch gradient descent on one net at the slider's learning rate; loss and sharpness drawn live.

    Args:
        make_net: ``make_net()`` returns a fresh :class:`lecture_utils.training.nets.MLP`; it is called after
            ``torch.manual_seed(seed)``, so every run starts from the same weights.
        data: a Dataset or ``(X, y)``: the whole training set is every step's batch.
        lr: initial learning rate; lr_range: ``(low, high)`` of the log-scale slider.
        num_steps: initial value of the *steps* slider (10 to ``max_steps``).
        every: steps between sharpness measurements (and redraws). num_iters: Lanczos steps per measurement.
        seed: seeds the weights and the first Lanczos vector. device, figsize, live: as in the dashboard.
    Attributes:
        history: the :class:`lecture_utils.training.sharpness.SharpnessHistory` of the last run (None before).
        lines: ``loss``, ``sharpness``, ``threshold`` (the ``2 / lr`` line) artists; ax_loss, ax_sharp.
        controls: ``lr``, ``steps``, ``start``, ``stop``.
    Example: ``w = SharpnessWidget(make_net, (X, Y), lr=0.5); w.run(); w.show_static()``
    """

    figsize = (8.2, 3.6)
    _data_attrs = ("history", "data", "make_net", "_task", "_records")

    def __init__(self, make_net, data, *, lr: float = 1.0, lr_range=(0.05, 5.0), num_steps: int = 400,
                 max_steps: int = 2000, every: int = 10, num_iters: int = 20, seed: int = 0, device=None,
                 figsize=None, live: bool | None = None):
        if not callable(make_net):
            raise TypeError(f"make_net must be a function returning a fresh nets.MLP, got {type(make_net).__name__}")
        low, high = (check_real("lr_range", v, low=0.0, low_open=True) for v in lr_range)
        if not low < high:
            raise ValueError(f"lr_range must be (low, high) with low < high, got {lr_range!r}")
        lr = check_real("lr", lr, low=low, high=high)
        self.max_steps = check_int("max_steps", max_steps, low=10, high=100_000)
        num_steps = check_int("num_steps", num_steps, low=10, high=self.max_steps)
        self.every = check_int("every", every, low=1)
        self.num_iters = check_int("num_iters", num_iters, low=1, high=1000)
        self.seed = check_int("seed", seed, low=0)
        super().__init__(figsize=figsize, live=live)
        self.make_net, self.data, self.device = make_net, data, device
        self.history, self.running, self._stop_requested, self._task, self._records = None, False, False, None, []

        self.ax_loss, self.ax_sharp = self.fig.subplots(1, 2)
        loss, = self.ax_loss.plot([], [], color=color(0), lw=1.2)
        sharp, = self.ax_sharp.plot([], [], color=color(1), lw=1.8, marker="o", ms=2.5, label="sharpness")
        thr = self.ax_sharp.axhline(2.0 / lr, color="0.3", ls="--", lw=1.2, label="2 / lr")
        self.lines = {"loss": loss, "sharpness": sharp, "threshold": thr}
        self.ax_loss.set_yscale("log")
        plain_log_ticks(self.ax_loss.yaxis)
        self.ax_loss.set(xlabel="gradient-descent step (full batch)", ylabel="training loss (log scale)",
                         title="training loss, every step")
        self.ax_sharp.set(xlabel="gradient-descent step (full batch)", ylabel="largest Hessian eigenvalue",
                          title="sharpness and the stability bound 2 / lr")
        self.ax_sharp.legend(loc="lower right", fontsize=9)
        for ax in (self.ax_loss, self.ax_sharp):
            ax.set_xlim(0, num_steps)
            ax.grid(True, alpha=0.3)
        self.ax_sharp.set_ylim(0, 1.3 * 2.0 / lr)

        self.controls["lr"] = log_slider("lr", lr, low, high, continuous_update=False, width="300px")
        self.controls["steps"] = int_slider("steps", num_steps, 10, self.max_steps, step=10,
                                            continuous_update=False, width="300px")
        self.controls["start"] = ipywidgets.Button(description="start", button_style="success", icon="play",
                                                   tooltip="train from the same initial weights at this rate",
                                                   layout=ipywidgets.Layout(width="90px"))
        self.controls["stop"] = ipywidgets.Button(description="stop", button_style="danger", icon="stop",
                                                  tooltip="stop after the current record", disabled=True,
                                                  layout=ipywidgets.Layout(width="90px"))
        self.controls["lr"].observe(self._on_lr, names="value")
        self.controls["steps"].observe(self._on_steps, names="value")
        self.controls["start"].on_click(self._on_start)
        self.controls["stop"].on_click(self._on_stop)
        self.set_status(f"2 / lr = {2.0 / lr:.3g} · press start (or call .run())")

    # ---- controls ------------------------------------------------------------------------------------
    @property
    def lr(self) -> float:
        """The learning rate on the slider."""
        return float(self.controls["lr"].value)

    @callback
    def _on_lr(self, change):
        self.lines["threshold"].set_ydata([2.0 / change["new"]] * 2)
        self._rescale()
        if not self.running:
            self.set_status(f"2 / lr = {2.0 / change['new']:.3g} · press start to train at lr = {change['new']:.3g}")
        self.redraw(full=True)

    @callback
    def _on_steps(self, change):
        if not self.running:
            for ax in (self.ax_loss, self.ax_sharp):
                ax.set_xlim(0, change["new"])
            self.redraw(full=True)

    async def _run_async(self):
        import asyncio

        try:
            for _ in self._iterate():
                await asyncio.sleep(0.01)  # let the kernel hear a click on stop
        except Exception as exc:  # shown in the widget: a task's exception would otherwise be lost
            self.show_error(exc, where="start")

    # ---- training ------------------------------------------------------------------------------------
    def run(self, lr: float | None = None, num_steps: int | None = None) -> sharpness.SharpnessHistory:
        """Train from the initial weights at ``lr`` (default: the slider) for ``num_steps`` (default: the slider),
        drawing every record; returns :attr:`history`. Example: ``w.run(lr=0.5, num_steps=300)``"""
        with self.hold_redraw():
            if lr is not None:
                self.controls["lr"].value = lr
            if num_steps is not None:
                self.controls["steps"].value = check_int("num_steps", num_steps, low=10, high=self.max_steps)
        for _ in self._iterate():
            pass
        return self.history

    def _iterate(self):
        import torch

        self.running, self._stop_requested = True, False
        self.controls["start"].disabled, self.controls["stop"].disabled = True, False
        lr, num_steps, t0 = self.lr, int(self.controls["steps"].value), time.perf_counter()
        try:
            torch.manual_seed(self.seed)
            net = self.make_net()
            self._records = []
            for ax in (self.ax_loss, self.ax_sharp):
                ax.set_xlim(0, num_steps)
            gen = sharpness.fit_sharpness([net], self.data, [lr], num_steps, every=self.every,
                                          num_iters=self.num_iters, seed=self.seed, device=self.device)
            for rec in gen:
                self._records.append(rec)
                self.history = self._history(lr)
                self._draw(lr, num_steps, t0)
                yield
                if self._stop_requested or rec["diverged"][0]:
                    gen.close()
                    break
            self._draw(lr, num_steps, t0, done=True)
        finally:
            self.running = False
            self.controls["start"].disabled, self.controls["stop"].disabled = False, True

    def _history(self, lr) -> sharpness.SharpnessHistory:
        recs = self._records
        steps = np.array([r["step"] for r in recs])
        step_loss = np.concatenate([r["step_loss"] for r in recs] + [recs[-1]["loss"][:, None]], 1)
        return sharpness.SharpnessHistory(steps=steps, loss=np.stack([r["loss"] for r in recs], 1),
                                          sharpness=np.stack([r["sharpness"] for r in recs], 1),
                                          step_loss=step_loss, lrs=np.array([lr]),
                                          diverged=recs[-1]["diverged"].copy())

    # ---- drawing -------------------------------------------------------------------------------------
    def _rescale(self):
        top = 2.0 / self.lr
        if self.history is not None:
            s = self.history.sharpness[0]
            s = s[np.isfinite(s)]
            if s.size:
                top = max(top, float(s.max()))
        self.ax_sharp.set_ylim(0, 1.3 * top)

    def _draw(self, lr, num_steps, t0, done=False):
        h = self.history
        losses = h.step_loss[0]
        self.lines["loss"].set_data(np.arange(len(losses)), losses)
        self.lines["sharpness"].set_data(h.steps, h.sharpness[0])
        finite = losses[np.isfinite(losses) & (losses > 0)]
        if finite.size:
            self.ax_loss.set_ylim(finite.min() / 1.3, finite.max() * 1.3)
        self._rescale()
        step = int(h.steps[-1])
        state = "stopped" if self._stop_requested else ("done" if done else "training")
        if h.diverged[0]:
            bad = np.flatnonzero(~np.isfinite(losses))
            state = f"diverged at step {int(bad[0]) if bad.size else step}"
        s_now, l_now = h.sharpness[0, -1], h.loss[0, -1]
        reach = h.reach_step()[0]
        reached = (f"first reached 2 / lr at step {int(reach)}" if math.isfinite(reach) else
                   "has not reached 2 / lr yet")
        self.set_status(f"lr = {lr:.3g}, 2 / lr = {2 / lr:.3g} · step {step}/{num_steps} · {state} · "
                        f"{time.perf_counter() - t0:.1f} s",
                        f"loss {l_now:.4g}, sharpness {s_now:.4g} ({s_now * lr / 2:.2f} x 2 / lr); the sharpness "
                        f"{reached}", colors_=[None, color(1)])
        self.relayout()  # the tick labels change with the limits: lay the figure out again
        self.redraw(full=True)

    def _controls_box(self):
        c = self.controls
        return ipywidgets.HBox([c["lr"], c["steps"], c["start"], c["stop"]],
                               layout=ipywidgets.Layout(flex_flow="row wrap"))
