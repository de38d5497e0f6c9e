"""Minibatch noise you can see: the cloud of minibatch steps around the full-batch step, and the SGD path.

Introduced in lecture 04. :class:`GradientCloud` draws a 2-parameter loss (by default least squares for a
line, ``theta = (w, b)``) with the path of minibatch SGD and, at the current step, the cloud of positions
that ``num_draws`` different minibatches would move to: ``theta - lr * g_B``. Its spread is
``lr * sigma / sqrt(B)`` (times the finite-population factor), so the *batch size* slider shrinks it like
``1/sqrt(B)`` and the *lr* slider scales it linearly. The runs come from :mod:`lecture_utils.sgd`, the
minibatches from :mod:`lecture_utils.minibatch`.

Example::

    from widgets.sgd import GradientCloud
    w = GradientCloud(lr=0.1, batch_size=4); w.show()
    w.set(batch_size=64)          # a tighter cloud, a smoother path
"""
from __future__ import annotations

import math

import ipywidgets
import numpy as np

from lecture_utils import linear_models as lm, minibatch, problems, sgd as sgd_lib
from lecture_utils._validate import check_int, check_real

from .base import callback
from .contours import contour_levels
from .controls import log_slider, row
from .playback import PlaybackWidget
from .style import color

__all__ = ["GradientCloud", "MAX_SEED"]

#: The largest seed the *seed* box takes (numpy's seeds are unbounded; this keeps them to 32 bits).
MAX_SEED = 2 ** 32 - 1


class GradientCloud(PlaybackWidget):
    """Batch size and learning rate move a cloud of real minibatch steps and the SGD path on a 2D loss.

    Args:
        problem: a problem with two parameters and ``example_grads`` (default: :class:`LeastSquares` on
            256 points around the line ``y = 2x + 1``, so ``theta = (w, b)``).
        theta0: start point; lr: initial learning rate; batch_size: initial batch size (rounded to a power
            of 2 available on the slider, or ``n``).
        num_steps: SGD updates drawn (the play/step slider runs over them).
        num_draws: minibatches in the cloud.
        seed: initial data-order seed, any whole number from 0 to ``2**32 - 1`` (the *seed* box redraws the
            minibatches).
        bounds: ``((w_lo, w_hi), (b_lo, b_hi))`` of the contour plot (default: around the minimum and start).
        figsize, live: as in :class:`widgets.base.Widget`.
    Attributes:
        path: ``(T, 2)`` the SGD iterates for the current settings; gd_path: full-batch descent, same lr.
        cloud: ``(num_draws, 2)`` the positions minibatch steps from the current point lead to.
        diverged_at: update at which SGD overflowed, -1 if it did not.
        selection: ``(num_draws, n)`` averaging matrix: row ``k`` holds ``1/B`` on the examples of the cloud's
            minibatch ``k`` and 0 elsewhere (the same minibatches at every step).
        path_line, gd_line, cloud_pts, current, step_marker: the artists (path, full-batch path, cloud,
            current point, the update marked on the loss panel).
    Example: ``w = GradientCloud(); w.set(lr=0.3, batch_size=1); w.status_text``
    """

    figsize = (8.2, 4.3)
    _data_attrs = ("path", "gd_path", "cloud", "path_loss", "gd_loss", "_run", "selection")

    def __init__(self, problem=None, *, theta0=(-1.0, 3.5), lr: float = 0.05, batch_size: int = 4,
                 num_steps: int = 100, num_draws: int = 300, seed: int = 0, bounds=None, figsize=None,
                 live: bool | None = None):
        self.problem = self._check_problem(problem)
        self.theta0 = np.asarray(theta0, dtype=float).reshape(-1)
        if self.theta0.shape != (2,) or not np.all(np.isfinite(self.theta0)):
            raise ValueError(f"theta0 must be two finite numbers, got {theta0!r}")
        lr = check_real("lr", lr, low=1e-4, high=3.0)
        num_steps = check_int("num_steps", num_steps, low=1, high=5000)
        self.num_draws = check_int("num_draws", num_draws, low=2, high=5000)
        seed = check_int("seed", seed, low=0, high=MAX_SEED)
        sizes = self._batch_sizes(self.problem.n)
        batch_size = check_int("batch_size", batch_size, low=1, high=self.problem.n)
        batch_size = min(sizes, key=lambda s: abs(math.log(s) - math.log(batch_size)))
        super().__init__(figsize=figsize, live=live)

        self.theta_star = self._minimum()
        self.bounds = self._bounds(bounds)
        self.ax, self.ax_loss = self.fig.subplots(1, 2, width_ratios=[1.15, 1])
        self._build_contour_panel()
        self._build_loss_panel(num_steps)
        self._build_controls(sizes, batch_size, lr, seed, num_steps)
        self.path = np.empty((0, 2))
        self.gd_path = np.empty((0, 2))
        self.cloud = np.empty((0, 2))
        self.diverged_at = -1
        self._recompute()

    # ---- set-up ----------------------------------------------------------------------------------------
    @staticmethod
    def _check_problem(problem):
        if problem is None:
            x, y = lm.line_data(256, slope=2.0, intercept=1.0, noise=1.0, x_std=1.5, seed=0)
            return problems.LeastSquares(x, y)
        for attr in ("n", "num_params", "loss", "example_grads"):
            if not hasattr(problem, attr):
                raise TypeError(f"problem must be like linear_models.LeastSquares (n, num_params, loss, "
                                f"example_grads); {type(problem).__name__} has no {attr!r}")
        if problem.num_params != 2:
            raise ValueError(f"the cloud is drawn in the plane: problem must have 2 parameters, has {problem.num_params}")
        return problem

    @staticmethod
    def _batch_sizes(n: int) -> list[int]:
        """The batch-size slider's stops: powers of 2 up to ``n``, and ``n`` itself (full batch)."""
        sizes = [2 ** k for k in range(int(math.log2(n)) + 1)]
        if sizes[-1] != n:
            sizes.append(n)
        return sizes

    def _build_contour_panel(self):
        """Left: loss contours, the SGD and full-batch paths, the cloud, the full-batch step and the minimum."""
        ax = self.ax
        self._draw_contours()
        c_sgd, c_cloud = color(0), color(1)
        self.gd_line, = ax.plot([], [], color="0.35", ls="--", lw=1.3, label="full-batch GD (same lr)")
        self.path_line, = ax.plot([], [], color=c_sgd, lw=1.2, marker="o", ms=2.2, label="SGD path")
        self.cloud_pts = self.animate(ax.scatter(np.zeros(self.num_draws), np.zeros(self.num_draws), s=7,
                                                 color=c_cloud, alpha=0.35, lw=0,
                                                 label="next point, one per minibatch"))
        self.gd_step = self.animate(*ax.plot([], [], marker="X", ms=9, color="black", ls="none",
                                              label="full-batch step"))
        self.current = self.animate(*ax.plot([], [], marker="o", ms=8, color=c_sgd, mec="white", ls="none"))
        ax.plot(*self.theta_star, marker="*", ms=13, color="black", ls="none", label="minimum")
        ax.set_xlim(*self.bounds[0])
        ax.set_ylim(*self.bounds[1])
        ax.set_xlabel("weight $w$")
        ax.set_ylabel("bias $b$")
        ax.set_title("loss contours, SGD path and the minibatch cloud")
        ax.legend(loc="upper right", fontsize=8, framealpha=0.85)

    def _build_loss_panel(self, num_steps: int):
        """Right: the training loss along the SGD and full-batch paths, the current update and the floor."""
        ax = self.ax_loss
        self.loss_line, = ax.plot([], [], color=color(0), lw=1.5, label="SGD")
        self.gd_loss_line, = ax.plot([], [], color="0.35", ls="--", lw=1.3, label="full-batch GD")
        self.step_marker = self.animate(ax.axvline(0, color=color(1), lw=1.2))
        ax.axhline(self._loss_floor, color="0.6", lw=0.8, ls=":", label="minimum loss")
        ax.set_yscale("log")
        ax.set_xlim(0, num_steps)
        ax.set_xlabel("update")
        ax.set_ylabel("training loss (log scale)")
        ax.set_title("loss along the path")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)

    def _build_controls(self, sizes, batch_size, lr, seed, num_steps):
        self.controls["batch_size"] = ipywidgets.SelectionSlider(
            options=sizes, value=batch_size, description="batch size", continuous_update=False,
            style={"description_width": "initial"}, layout=ipywidgets.Layout(width="300px"))
        self.controls["lr"] = log_slider("lr", lr, 1e-3, 1.0, continuous_update=False)
        # Any seed, typed (a slider of 2**32 positions could not pick one): a new draw on Enter or leaving the box.
        self.controls["seed"] = ipywidgets.BoundedIntText(value=seed, min=0, max=MAX_SEED, description="seed",
                                                          continuous_update=False,
                                                          style={"description_width": "initial"},
                                                          layout=ipywidgets.Layout(width="190px"))
        self._init_playback(num_steps, interval=60, frames=100)
        for name in ("batch_size", "lr", "seed"):
            self.controls[name].observe(self._on_setting, names="value")

    # ---- computing -------------------------------------------------------------------------------------
    def _minimum(self):
        if hasattr(self.problem, "solution"):
            return np.asarray(self.problem.solution(), dtype=float)
        run = sgd_lib.sgd(self.problem, self.theta0, lr=0.05, batch_size=self.problem.n, num_epochs=3000,
                          order="fixed")
        return run.theta

    def _bounds(self, bounds):
        if bounds is not None:
            (a, b), (c, d) = bounds
            if not (a < b and c < d):
                raise ValueError(f"bounds must be ((w_lo, w_hi), (b_lo, b_hi)) with lo < hi, got {bounds!r}")
            return (float(a), float(b)), (float(c), float(d))
        half = max(2.5, 1.3 * float(np.abs(self.theta0 - self.theta_star).max()))
        return tuple((float(t - half), float(t + half)) for t in self.theta_star)

    def _draw_contours(self):
        (a, b), (c, d) = self.bounds
        W, B = np.meshgrid(np.linspace(a, b, 120), np.linspace(c, d, 120))
        pts = np.stack([W.ravel(), B.ravel()], axis=1)
        if isinstance(self.problem, problems.LeastSquares):
            Z = lm.mse_loss(pts, self.problem.X, self.problem.y).reshape(W.shape)
        else:
            Z = np.array([self.problem.loss(p) for p in pts]).reshape(W.shape)
        self._loss_floor = float(self.problem.loss(self.theta_star))
        levels = contour_levels(Z, 14, low=self._loss_floor, first=1e-3)
        self.ax.contour(W, B, Z, levels=levels, cmap="Greys_r", linewidths=0.8, alpha=0.8)

    def _recompute(self):
        B = self.controls["batch_size"].value
        lr = self.controls["lr"].value
        seed = self.controls["seed"].value
        n = self.problem.n
        nb = math.ceil(n / B)
        run = sgd_lib.sgd(self.problem, self.theta0, lr=lr, batch_size=B, num_epochs=self.num_steps * B / n,
                          order="shuffle", records_per_epoch=nb, seed=seed)
        gd = sgd_lib.sgd(self.problem, self.theta0, lr=lr, batch_size=n, num_epochs=self.num_steps, order="fixed")
        self.path, self.path_loss = run.thetas, run.train_loss
        self.gd_path, self.gd_loss = gd.thetas, gd.train_loss
        self.diverged_at = run.diverged_at
        self._gd_diverged = gd.diverged_at
        self._run = run
        # the same minibatches (drawn without replacement, as in an epoch) at every step: the cloud moves smoothly
        self.selection = minibatch.selection_matrix(n, B, self.num_draws, np.random.default_rng(1000 + seed), False)
        with self.hold_redraw():
            self.path_line.set_data(self.path[:, 0], self.path[:, 1])
            self.gd_line.set_data(self.gd_path[:, 0], self.gd_path[:, 1])
            ups = np.arange(len(self.path_loss))
            self.loss_line.set_data(ups, self.path_loss)
            self.gd_loss_line.set_data(np.arange(len(self.gd_loss)), self.gd_loss)
            finite = np.concatenate([self.path_loss, self.gd_loss])
            finite = finite[np.isfinite(finite) & (finite > 0)]
            top = min(float(finite.max()), 1e6 * float(finite.min())) if finite.size else 10.0
            self.ax_loss.set_ylim(self._loss_floor * 0.8, max(top * 1.5, self._loss_floor * 2))
            self._show_step(self.step)
            self.redraw(full=True)

    def cloud_at(self, theta) -> np.ndarray:
        """Where ``num_draws`` minibatch steps from ``theta`` lead: ``theta - lr * g_B``, shape ``(num_draws, 2)``."""
        G = self.problem.example_grads(np.asarray(theta, dtype=float))
        return theta - self.controls["lr"].value * (self.selection @ G)

    def _show_step(self, k):
        k = int(min(max(k, 0), len(self.path) - 1))
        theta = self.path[k]
        lr = self.controls["lr"].value
        with np.errstate(all="ignore"):
            self.cloud = self.cloud_at(theta)
            full = theta - lr * self.problem.example_grads(theta).mean(axis=0)
        self.current.set_data([theta[0]], [theta[1]])
        self.cloud_pts.set_offsets(self.cloud)
        self.gd_step.set_data([full[0]], [full[1]])
        self.step_marker.set_xdata([k, k])
        self._set_status_for(k, theta, full)

    def spread(self) -> float:
        """Root-mean-square distance of the cloud's points from the full-batch step (the measured step noise)."""
        theta = self.path[int(min(self.controls["step"].value, len(self.path) - 1))]
        full = theta - self.controls["lr"].value * self.problem.example_grads(theta).mean(axis=0)
        return float(np.sqrt(np.mean(np.sum((self.cloud - full) ** 2, axis=1))))

    def predicted_spread(self) -> float:
        """``lr * sigma / sqrt(B) * sqrt((n - B) / (n - 1))`` at the current point (sampling without replacement)."""
        theta = self.path[int(min(self.controls["step"].value, len(self.path) - 1))]
        G = self.problem.example_grads(theta)
        sigma = float(np.sqrt(np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))))
        n, B = self.problem.n, self.controls["batch_size"].value
        return self.controls["lr"].value * sigma / math.sqrt(B) * math.sqrt((n - B) / max(n - 1, 1))

    def _set_status_for(self, k, theta, full):
        B, lr = self.controls["batch_size"].value, self.controls["lr"].value
        with np.errstate(all="ignore"):
            rms = float(np.sqrt(np.mean(np.sum((self.cloud - full) ** 2, axis=1))))
        pred = self.predicted_spread() if np.all(np.isfinite(theta)) else float("nan")
        rms_text = "0" if rms < 1e-12 * max(1.0, float(np.abs(theta).max())) else f"{rms:.3g}"
        line1 = (f"batch size {B}, lr {lr:.3g}, update {k}: the cloud's spread is {rms_text} "
                 f"(lr*sigma/sqrt(B)*sqrt((n-B)/(n-1)) = {pred:.3g})")
        if self.diverged_at >= 0:
            line2 = f"SGD diverged at update {self.diverged_at}"
        elif self.path_loss[-1] > 100 * self.path_loss[0]:
            line2 = (f"SGD is blowing up: the loss grew from {self.path_loss[0]:.3g} to {self.path_loss[-1]:.3g} in "
                     f"{len(self.path) - 1} updates (lr too large for this batch size)")
        else:
            d = float(np.linalg.norm(self.path[-1] - self.theta_star))
            line2 = (f"SGD after {len(self.path) - 1} updates: loss {self.path_loss[-1]:.4g}, distance to the minimum "
                     f"{d:.3g}; full-batch GD: loss {self.gd_loss[-1]:.4g}")
        if self._gd_diverged >= 0:
            line2 += f" (full-batch GD diverged at update {self._gd_diverged})"
        elif self.gd_loss[-1] > 100 * self.gd_loss[0]:
            line2 += f"; full-batch GD blows up too (loss {self.gd_loss[-1]:.3g})"
        self.set_status(line1, line2, colors_=[color(1), color(0)])

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_setting(self, change):
        self._recompute()

    def update(self, **control_values) -> None:
        """Set controls by name and redraw (``w.update(lr=0.2, batch_size=16)``); errors show in the widget.

        Returns None (as a cell's last line it does not show the widget a second time)."""
        try:
            self.set(**control_values)
        except Exception as exc:  # shown to the student, like a callback error
            self.show_error(exc, where="update")

    def _controls_box(self):
        c = self.controls
        return ipywidgets.VBox([row([c["batch_size"], c["lr"], c["seed"]]), self.playback_row()])
