"""PlaybackWidget: the base of every widget that plays a stored run with a play button, a step slider and reset.

The house rule "precompute, then index": a change of a setting recomputes the run; the ``step`` slider and
the ``play`` button only show step ``k`` of what is stored. This class owns those three controls and their
behaviour: moving the slider shows that step (:meth:`PlaybackWidget._show_step`, the one method a subclass
must write); pressing play at the end replays from the start; when play stops one stride short of the end
it shows the end; reset stops playing and goes back to step 0 (:meth:`PlaybackWidget._after_reset` for
anything else a reset should do); :meth:`PlaybackWidget.set_num_steps` changes the range.

Used by the explorers (through :class:`widgets.trajectory.TrajectoryWidget`), the quasi-Newton ellipses, the
second-order race and the minibatch cloud.

Example::

    class Path(PlaybackWidget):
        def __init__(self, xs):
            super().__init__()
            self.xs = xs
            (self.dot,) = self.fig.subplots().plot([], [], "o")
            self._init_playback(len(xs) - 1)

        def _show_step(self, k):
            self.dot.set_data([self.xs[k, 0]], [self.xs[k, 1]])
"""
from __future__ import annotations

import ipywidgets

from .base import Widget, callback
from .controls import play_controls, row, set_steps

__all__ = ["PlaybackWidget"]


class PlaybackWidget(Widget):
    """A :class:`~widgets.base.Widget` with ``play``, ``step`` and ``reset`` controls over a stored run.

    Subclasses call :meth:`_init_playback` once their run can be shown, and implement ``_show_step(k)``
    (update the artists and the status line for step ``k``; the redraw follows). Optional hooks:
    ``_step_available(k)`` (False while the stored run is being replaced) and ``_after_reset()``.
    """

    def _init_playback(self, num_steps: int, *, interval: int = 40, frames: int = 150, start: int = 0):
        """Make the ``play``/``step``/``reset`` controls over ``0..num_steps`` and connect them.

        ``frames`` sets the play stride so a run lasts about ``frames * interval`` ms; ``start`` is the step
        shown first (``num_steps`` to open on the whole run).
        """
        play, step, reset = play_controls(num_steps, interval=interval, frames=frames)
        step.value = start
        self.controls.update(play=play, step=step, reset=reset)
        self._frames = frames
        step.observe(self._on_step, names="value")
        play.observe(self._on_playing, names="playing")
        reset.on_click(self._on_reset)

    @property
    def step(self) -> int:
        """The step shown now."""
        return int(self.controls["step"].value)

    @property
    def num_steps(self) -> int:
        """The last step the slider reaches."""
        return int(self.controls["step"].max)

    def set_num_steps(self, num_steps: int):
        """Let the slider and play run over ``0..num_steps`` (the step shown is clamped into the range)."""
        set_steps(self.controls["play"], self.controls["step"], num_steps, frames=self._frames)

    def playback_row(self, *extra) -> ipywidgets.HBox:
        """The controls' row: play, step, reset and any ``extra`` controls after them."""
        c = self.controls
        return row([c["play"], c["step"], c["reset"], *extra])

    # ---- hooks -----------------------------------------------------------------------------------------
    def _show_step(self, k: int):
        raise NotImplementedError

    def _step_available(self, k: int) -> bool:
        return True

    def _after_reset(self):
        pass

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_step(self, change):
        k = int(change["new"])
        if not self._step_available(k):
            return
        self._show_step(k)
        self.redraw()

    @callback
    def _on_playing(self, change):
        play = self.controls["play"]
        if change["new"] and play.value + play.step > play.max:
            play.value = 0  # pressing play at the end replays from the beginning
        elif not change["new"] and play.max - play.step < play.value < play.max:
            play.value = play.max  # the play loop stops one stride short of the end: show the end

    @callback
    def _on_reset(self, button=None):
        play = self.controls["play"]
        play.playing = False
        play.value = 0
        self.controls["step"].value = 0
        self._after_reset()
