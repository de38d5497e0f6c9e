"""TrajectoryWidget: the base of the explorers, which run each optimizer from one start point and play the runs.

Introduced with the lecture 01/03 explorers (:class:`~widgets.explorer1d.Explorer1D`,
:class:`~widgets.explorer2d.Explorer2D`, :class:`~widgets.race.OptimizerRace`). It adds to
:class:`~widgets.playback.PlaybackWidget` one row of sliders per optimizer (lr, momentum or beta1) and a
``num_steps`` slider; a change of those reruns the optimizers (a run whose inputs did not change is reused),
the step slider and play only index the stored trajectories.

Example::

    class MyExplorer(TrajectoryWidget):   # see Explorer1D for a whole one
        def _start_point(self): ...
        def _draw_runs(self): ...         # whole-run artists; True when axis limits changed
        def _draw_step(self, k): ...      # per-step artists
"""
from __future__ import annotations

from contextlib import contextmanager

import ipywidgets
import numpy as np
from matplotlib.font_manager import FontProperties

from lecture_utils import optim
from lecture_utils._validate import check_int, check_real

from .base import callback
from .controls import int_slider
from .optimizer_specs import optimizer_controls, suffix
from .playback import PlaybackWidget
from .style import color

__all__ = ["TrajectoryWidget"]


class TrajectoryWidget(PlaybackWidget):
    """Base of the explorers: runs each optimizer from one start point and shows step ``k`` of the runs.

    Subclasses set ``self._run_surface`` and implement ``_start_point()``, ``_draw_runs()`` (update the
    artists that show whole runs; return True when axis limits changed) and ``_draw_step(k)`` (update
    the per-step artists). A hyperparameter change recomputes the runs; the step slider and play only index
    the stored trajectories.
    """

    _data_attrs = ("trajs", "_run_cache")
    _runs_held = 0

    def _init_runs(self, specs, lrs, momenta, num_steps, tol, *, max_steps=2000):
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
        self.trajs = []
        self._run_cache = {}
        self._init_playback(num_steps, start=num_steps)  # first impression: the whole run

    def _connect_runs(self):
        for name in self.controls:
            if name == "num_steps":
                self.controls[name].observe(self._on_num_steps, names="value")
            elif name.split("_")[0] in ("lr", "momentum", "beta1"):
                self.controls[name].observe(self._on_hyper, names="value")

    # ---- computing ---------------------------------------------------------------------------------------
    def optimizer(self, i: int = 0) -> optim.Optimizer:
        """Optimizer ``i`` with the hyperparameters its sliders hold now."""
        spec = self.specs[i]
        sfx = suffix(i)
        mom = self.controls[spec.momentum_key + sfx].value if spec.momentum_key else None
        return spec.build(self.controls["lr" + sfx].value, mom)

    def label(self, i: int = 0) -> str:
        """Optimizer ``i``'s label with its current rates (``'Adam(lr=0.1)'``, ``'GD(lr=0.01)'``)."""
        return self.specs[i].label(self.optimizer(i))

    @property
    def num_steps(self) -> int:
        return int(self.controls["num_steps"].value)

    def _run_kwargs(self) -> dict:
        return {"clip_norm": None}

    def recompute(self):
        """Run every optimizer from the current start point (called on a hyperparameter change).

        A run is reused while its own inputs (surface, optimizer, start, steps, clipping) are unchanged, so
        moving one optimizer's slider reruns only that optimizer.
        """
        x0 = self._start_point()
        kw = self._run_kwargs()
        trajs, new_cache = [], {}
        for i in range(len(self.specs)):
            opt = self.optimizer(i)
            key = (id(self._run_surface), repr(opt), tuple(np.ravel(x0)), self.num_steps, self.tol,
                   tuple(sorted(kw.items())))
            cached_key, traj = self._run_cache.get(i, (None, None))
            if cached_key != key:
                traj = optim.run(self._run_surface, opt, x0, self.num_steps, tol=self.tol, **kw)
            trajs.append(traj)
            new_cache[i] = (key, traj)
        # The surface object is held by the widget, so its id stays unique while the cache refers to it.
        self._run_cache = new_cache
        self.trajs = trajs
        return self.trajs

    def forget_runs(self):
        """Drop the stored runs, so the next :meth:`recompute` runs every optimizer again."""
        self._run_cache = {}

    @contextmanager
    def hold_runs(self):
        """Set several run settings with one recompute: inside, a change of lr, momentum, start or steps only
        updates the controls; the caller refreshes afterwards."""
        self._runs_held += 1
        try:
            yield
        finally:
            self._runs_held -= 1

    def _refresh(self, full: bool = False):
        self.recompute()
        changed = self._draw_runs()
        self._draw_step(min(self.step, self.num_steps))
        self._update_status()
        self.redraw(full=full or changed)

    # ---- playback --------------------------------------------------------------------------------------
    def _step_available(self, k: int) -> bool:
        return bool(self.trajs) and k <= self.trajs[0].num_steps  # else num_steps is changing: it redraws

    def _show_step(self, k: int):
        self._draw_step(k)
        self._update_status()

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_hyper(self, change):
        if not self._runs_held:
            self._refresh()

    @callback
    def _on_num_steps(self, change):
        at_end = self.step >= change["old"]
        self.set_num_steps(change["new"])
        if at_end:
            self.controls["step"].value = change["new"]  # fires _on_step before the runs exist: skipped
        if not self._runs_held:
            self._refresh(full=True)

    # ---- status ----------------------------------------------------------------------------------------
    def _status_line(self, i: int, k: int) -> str:
        traj = self.trajs[i]
        return f"{self.specs[i].title} ({self.label(i)}): {traj.status(0)}"

    def _update_status(self):
        if not self.trajs:
            return
        k = min(self.step, self.trajs[0].num_steps)
        self.set_status(*[self._status_line(i, k) for i in range(len(self.trajs))],
                        colors_=[color(i) for i in range(len(self.trajs))])

    def _controls_box(self):
        rows = list(self._opt_rows)
        rows.append(self.playback_row(self.controls["num_steps"]))
        return ipywidgets.VBox(rows + self._extra_rows())

    def _extra_rows(self) -> list:
        return []

    # ---- legend ------------------------------------------------------------------------------------------
    def _add_value_artists(self, c: str, label: str) -> None:
        """One optimizer's artists in the value panel: its whole curve (faint), the part up to the step, the marker."""
        ax = self.ax_value
        self.value_lines.append(self.animate(ax.plot([], [], color=c, lw=1.2, alpha=0.35)[0]))
        self.value_done.append(self.animate(ax.plot([], [], color=c, lw=1.8, label=label)[0]))
        self.value_points.append(self.animate(ax.plot([], [], "o", color=c, ms=7, mec="black", mew=0.8)[0]))

    def _finish_value_panel(self, ylabel: str = "") -> None:
        """The step marker, labels, grid and legend of the value panel (after every optimizer's artists)."""
        self.step_line = self.animate(self.ax_value.axvline(0.0, color="0.5", lw=1.0, ls=":"))
        self.ax_value.set_xlabel("step")
        if ylabel:
            self.ax_value.set_ylabel(ylabel)
        self.ax_value.grid(True, alpha=0.3)
        self.legend = self._make_legend(self.ax_value)

    def _make_legend(self, ax, size: float | None = None):
        """The optimizers' legend, in a row above the value panel (where the panel's title would be): inside,
        it would cover the curves, which start high on the left and fall to the lower right, or rise when a
        run diverges.

        Text is the slowest thing to draw, so a legend of distinct names (SGD, momentum, Adam) stays in the
        cached background; only when two optimizers share a name does the legend carry their learning rates,
        and then it changes with them."""
        titles = [s.title for s in self.specs]
        self._legend_dynamic = len(set(titles)) < len(titles)
        labels = [self._legend_label(i) for i in range(len(self.specs))]
        size = FontProperties(size="small").get_size_in_points() if size is None else size
        legend = ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=self._legend_columns(ax, labels, size),
                           borderaxespad=0.0, fontsize=size, frameon=False, handlelength=1.2, handletextpad=0.4,
                           columnspacing=0.9)
        self._update_legend(legend)
        return legend

    def _legend_columns(self, ax, labels, size_pt: float) -> int:
        """As many columns (at most 3) as fit the panel's width at this font size, by a rough text width; at
        least enough for 3 rows (a taller legend would squeeze the panel more than a wider one)."""
        room = 0.9 * ax.get_position().width * self.fig.get_figwidth() * self.fig.dpi
        em = size_pt * self.fig.dpi / 72.0
        widths = [(2.5 + 0.52 * len(label)) * em for label in labels]
        fewest = -(-len(labels) // 3)
        for ncol in range(min(3, len(labels)), fewest, -1):
            nrows = -(-len(labels) // ncol)
            if sum(max(widths[j * nrows:(j + 1) * nrows], default=0.0) for j in range(ncol)) <= room:
                return ncol
        return max(fewest, 1)

    def _legend_label(self, i: int) -> str:
        """The legend entry of optimizer ``i``: its name, with its rate when two share a name."""
        title = self.specs[i].title
        return f"{title}(lr={float(self.controls['lr' + suffix(i)].value):g})" if self._legend_dynamic else title

    def _after_restyle(self):
        """Presenter mode changed the font sizes: lay the legend out again (its columns may no longer fit)."""
        size = self.legend.get_texts()[0].get_fontsize() if self.legend.get_texts() else None
        self.legend.remove()
        self.legend = self._make_legend(self.ax_value, size)

    def _update_legend(self, legend=None) -> bool:
        """Put the current learning rates in a legend of same-named optimizers; True if a label changed."""
        legend = legend if legend is not None else self.legend
        if not self._legend_dynamic:
            return False
        changed = False
        for i, text in enumerate(legend.get_texts()):
            label = self._legend_label(i)
            if text.get_text() != label:
                text.set_text(label)
                changed = True
        return changed
