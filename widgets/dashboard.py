"""Live training curves for several configurations side by side (batch norm on/off, two optimizers, ...).

Introduced in lecture 07 and reused in 08. Each configuration is a factory that builds a fresh ``(net, opt)``
pair; the dashboard trains all of them with :func:`lecture_utils.training.train.fit`, one record of each in turn, and
draws loss (train solid, test dashed, log scale) and test accuracy against epochs as the records arrive.

Two ways to run it:

- **from code** (tests, nbval, a script): ``dash.run(epochs=5)`` trains synchronously inside the call, drawing
  as it goes, and returns the histories; nothing keeps running after the call returns.
- **from the buttons**: *start* trains in the kernel's asyncio event loop, yielding to it after each record so
  the *stop* button is heard; without a running event loop (plain Python) *start* simply calls :meth:`run`.

Example::

    from lecture_utils import data, nets, optim
    from widgets.dashboard import TrainingDashboard
    dash = TrainingDashboard({
        "no batch norm": lambda: (nets.MLP(64, (64,) * 6, 10), optim.SGD(lr=0.5)),
        "batch norm": lambda: (nets.MLP(64, (64,) * 6, 10, batch_norm=True), optim.SGD(lr=0.5)),
    }, data.digits(), epochs=5)
    dash.run()          # or dash.show() and press start
"""
from __future__ import annotations

import math
import time

import ipywidgets
import numpy as np

from lecture_utils import set_seed
from lecture_utils._validate import check_int
from lecture_utils.training import train

from .base import Widget, callback
from .controls import int_slider, row
from .start_stop import StartStop
from .style import color

__all__ = ["TrainingDashboard", "plain_log_ticks"]


def plain_log_ticks(axis):
    """Label a log-scale axis with plain numbers (``0.2``, ``1``, ``5``) instead of ``2 x 10^-1``.

    Minor ticks are labelled at 2 and 5 times a power of ten, so an axis spanning less than a decade still has
    labels. Returns the axis. Example: ``plain_log_ticks(ax.yaxis)``
    """
    from matplotlib.ticker import FuncFormatter

    def major(v, _pos):
        return f"{v:g}"

    def minor(v, _pos):
        if v <= 0:
            return ""
        mantissa = v / 10 ** np.floor(np.log10(v) + 1e-9)
        return f"{v:g}" if round(mantissa) in (2, 5) and abs(mantissa - round(mantissa)) < 1e-6 else ""

    axis.set_major_formatter(FuncFormatter(major))
    axis.set_minor_formatter(FuncFormatter(minor))
    return axis


class TrainingDashboard(StartStop, Widget):
    """Train several configurations on the same data and watch their loss and accuracy curves live.

    Args:
        configs: ``{label: factory}`` where ``factory()`` returns ``(net, opt)`` or ``(net, opt, fit_kwargs)``
            (``opt`` in any form :func:`lecture_utils.training.train.fit` accepts; ``fit_kwargs`` e.g.
            ``{"lr_schedule": ...}``). Each factory is called right after ``set_seed(seed)``, so configurations
            that build the same architecture start from the same weights.
        data: a :class:`lecture_utils.training.data.Dataset` (or anything ``fit`` accepts).
        epochs: initial value of the *epochs* slider (1 to 100).
        batch_size: minibatch size for every configuration.
        eval_every: record (and draw) every this many steps instead of once per epoch.
        seed: seeds the initial weights (through ``set_seed``) and the minibatch order (the same for all).
        device: where to train (``None`` = :func:`lecture_utils.get_device`).
        figsize, live: as in :class:`widgets.base.Widget`.
    Attributes:
        history: ``{label: lecture_utils.training.train.History}`` of the last run.
        task: the ``asyncio.Task`` of a *start* in the kernel's event loop (None otherwise).
        fig, controls (``epochs``, ``start``, ``stop``), status (device and the latest metrics).
    Example: ``dash = TrainingDashboard({"SGD": lambda: (net_a, optim.SGD(lr=0.1))}, data.digits()); dash.run()``
    """

    figsize = (8.2, 3.6)
    _data_attrs = ("history", "data", "configs", "_task")

    def __init__(self, configs: dict, data, *, epochs: int = 5, batch_size: int = 64, eval_every: int | None = None,
                 seed: int = 0, device=None, figsize=None, live: bool | None = None):
        from lecture_utils import get_device

        if not isinstance(configs, dict) or not configs:
            raise TypeError("configs must be a non-empty dict {label: factory returning (net, opt)}")
        for label, factory in configs.items():
            if not callable(factory):
                raise TypeError(f"configs[{label!r}] must be a function returning (net, opt), got "
                                f"{type(factory).__name__}")
        epochs = check_int("epochs", epochs, low=1, high=100)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.eval_every = check_int("eval_every", eval_every, low=1, allow_none=True)
        self.seed = check_int("seed", seed, low=0)
        super().__init__(figsize=figsize, live=live)
        self.configs = dict(configs)
        self.data = data
        self.device = get_device() if device is None else device
        self.history: dict[str, train.History] = {}
        self.running = False
        self._stop_requested = False
        self._task = None

        self.ax_loss, self.ax_acc = self.fig.subplots(1, 2)
        self.lines = {}
        for i, label in enumerate(self.configs):
            c = color(i)
            tr, = self.ax_loss.plot([], [], color=c, lw=1.8, label=f"{label}")
            te, = self.ax_loss.plot([], [], color=c, lw=1.5, ls="--")
            acc, = self.ax_acc.plot([], [], color=c, lw=1.8, marker="o", ms=3, label=label)
            self.lines[label] = (tr, te, acc)
        y = data.y_train if hasattr(data, "y_train") else data[1]
        classification = y.dim() == 1 and not y.is_floating_point()
        self.ax_loss.set_yscale("log")
        plain_log_ticks(self.ax_loss.yaxis)
        self.ax_loss.set_xlabel("epoch")
        self.ax_loss.set_ylabel(f"{'cross-entropy' if classification else 'mean squared error'} (log scale)")
        self.ax_loss.set_title("loss: train (solid), test (dashed)")
        self.ax_acc.set_xlabel("epoch")
        self.ax_acc.set_ylabel("test accuracy")
        self.ax_acc.set_title("test accuracy" if classification else "test accuracy (none for regression)")
        self.ax_acc.set_ylim(0, 1.02)
        self.ax_acc.axhline(1.0, color="0.85", lw=0.8, zorder=0)
        self.ax_acc.legend(loc="lower right", fontsize=9)
        for ax in (self.ax_loss, self.ax_acc):
            ax.set_xlim(0, epochs)
            ax.grid(True, alpha=0.3)
        self.fig.suptitle(f"trained on {self.device}, batch size {self.batch_size}", fontsize=9, color="0.35")

        self.controls["epochs"] = int_slider("epochs", epochs, 1, 100, continuous_update=False, width="260px")
        self.controls["start"] = ipywidgets.Button(description="start", button_style="success", icon="play",
                                                   tooltip="train every configuration from scratch",
                                                   layout=ipywidgets.Layout(width="90px"))
        self.controls["stop"] = ipywidgets.Button(description="stop", button_style="danger", icon="stop",
                                                  tooltip="stop after the current record",
                                                  layout=ipywidgets.Layout(width="90px"), disabled=True)
        self.controls["start"].on_click(self._on_start)
        self.controls["stop"].on_click(self._on_stop)
        self.controls["epochs"].observe(self._on_epochs, names="value")
        self.set_status(f"device: {self.device} · {len(self.configs)} configurations · press start "
                        f"(or call .run())")

    # ---- controls ------------------------------------------------------------------------------------
    @callback
    def _on_epochs(self, change):
        if not self.running:
            for ax in (self.ax_loss, self.ax_acc):
                ax.set_xlim(0, change["new"])
            self.redraw(full=True)

    async def _run_async(self):
        import asyncio

        try:
            for _ in self._iterate(self.controls["epochs"].value):
                await asyncio.sleep(0.01)  # let the kernel handle a click on stop
        except Exception as exc:  # shown in the widget: a task's exception would otherwise be lost
            self.show_error(exc, where="start")

    # ---- training ------------------------------------------------------------------------------------
    def run(self, epochs: int | None = None) -> dict:
        """Train every configuration from scratch for ``epochs`` (default: the slider), drawing as records come.

        Synchronous: returns when all runs are done (or :meth:`stop` was called from a callback), with nothing
        left running. Returns :attr:`history`, ``{label: History}``. Example: ``hist = dash.run(epochs=3)``
        """
        if epochs is not None:
            epochs = check_int("epochs", epochs, low=1, high=100)
            self.controls["epochs"].value = epochs
        for _ in self._iterate(self.controls["epochs"].value):
            pass
        return self.history

    def _iterate(self, epochs):
        """Round-robin over the configurations' ``fit`` generators, one record each; yields after each round."""
        self.running = True
        self._stop_requested = False
        self.controls["start"].disabled = True
        self.controls["stop"].disabled = False
        t0 = time.perf_counter()
        try:
            gens, records = {}, {}
            for label, factory in self.configs.items():
                set_seed(self.seed)
                made = factory()
                if not isinstance(made, tuple) or len(made) not in (2, 3):
                    raise TypeError(f"configs[{label!r}]() must return (net, opt) or (net, opt, fit_kwargs), "
                                    f"got {type(made).__name__}")
                net, opt = made[0], made[1]
                kwargs = dict(made[2]) if len(made) == 3 else {}
                kwargs.setdefault("seed", self.seed)
                gens[label] = train.fit(net, self.data, opt, epochs, self.batch_size, eval_every=self.eval_every,
                                        device=self.device, progress=False, **kwargs)
                records[label] = []
            self.history = {label: train.History(recs) for label, recs in records.items()}
            for ax in (self.ax_loss, self.ax_acc):
                ax.set_xlim(0, epochs)
            self._draw(records, epochs, t0)
            active = list(gens)
            while active and not self._stop_requested:
                for label in list(active):
                    try:
                        rec = next(gens[label])
                    except StopIteration:
                        active.remove(label)
                        continue
                    records[label].append(rec)
                    if rec["diverged"]:
                        active.remove(label)
                        gens[label].close()
                self.history = {label: train.History(recs) for label, recs in records.items()}
                self._draw(records, epochs, t0)
                yield
            for g in gens.values():
                g.close()
            self._draw(records, epochs, t0, done=True)
        finally:
            self.running = False
            self.controls["start"].disabled = False
            self.controls["stop"].disabled = True

    # ---- drawing -------------------------------------------------------------------------------------
    def _draw(self, records, epochs, t0, done=False):
        lows, highs = [], []
        for label, recs in records.items():
            tr, te, acc = self.lines[label]
            if not recs:
                for line in (tr, te, acc):
                    line.set_data([], [])
                continue
            ep = np.array([r["epoch"] for r in recs], dtype=float)
            trl = np.array([r["train_loss"] for r in recs], dtype=float)
            tel = np.array([r["test_loss"] for r in recs], dtype=float)
            tr.set_data(ep, trl)
            te.set_data(ep, tel)
            acc.set_data(ep, np.array([r["test_acc"] for r in recs], dtype=float))
            finite = np.concatenate([trl, tel])
            finite = finite[np.isfinite(finite) & (finite > 0)]
            if finite.size:
                lows.append(finite.min())
                highs.append(finite.max())
        if lows:
            self.ax_loss.set_ylim(min(lows) / 1.3, max(highs) * 1.3)
        self.set_status(*self._status_lines_for(records, epochs, t0, done),
                        colors_=[None] + [color(i) for i in range(len(records))])
        self.redraw(full=True)

    def _status_lines_for(self, records, epochs, t0, done):
        state = "stopped" if self._stop_requested else ("done" if done else "training")
        head = f"device: {self.device} · {state} · {time.perf_counter() - t0:.1f} s"
        lines = [head]
        for label, recs in records.items():
            if not recs:
                lines.append(f"{label}: starting")
                continue
            r = recs[-1]
            acc = "" if math.isnan(r["test_acc"]) else f", test acc {r['test_acc']:.3f}"
            tail = f" - diverged at step {r['step']}" if r["diverged"] else ""
            lines.append(f"{label}: epoch {r['epoch']:.1f}/{epochs}, train loss {r['train_loss']:.3g}{acc}{tail}")
        return lines

    def _controls_box(self):
        c = self.controls
        return row([c["epochs"], c["start"], c["stop"]])
