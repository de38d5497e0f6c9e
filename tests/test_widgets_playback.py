"""PlaybackWidget: the one play / step / reset behaviour, in a minimal widget and in every widget that uses it."""
from __future__ import annotations

import numpy as np
import pytest

from widgets import Explorer2D, GradientCloud, PlaybackWidget, QuasiNewtonEllipses, SecondOrderRace


class _Dot(PlaybackWidget):
    def __init__(self, xs):
        super().__init__()
        self.xs = np.asarray(xs, dtype=float)
        (self.dot,) = self.fig.subplots().plot([], [], "o")
        self.resets = 0
        self._init_playback(len(self.xs) - 1, frames=4)

    def _show_step(self, k):
        self.dot.set_data([self.xs[k]], [0.0])

    def _after_reset(self):
        self.resets += 1


def test_step_slider_shows_the_stored_step_and_play_replays_from_the_start():
    w = _Dot(np.arange(9.0) ** 2)
    assert w.num_steps == 8 and w.controls["play"].step == 2  # 8 steps in about 4 frames
    w.set(step=3)
    assert w.step == 3 and list(w.dot.get_xdata()) == [9.0]
    w.controls["play"].value = 8
    assert w.step == 8 and list(w.dot.get_xdata()) == [64.0]  # play drives the slider
    w.controls["play"].playing = True  # pressed at the end: back to the start
    assert w.controls["play"].value == 0 and w.step == 0
    w.controls["play"].playing = False
    w.controls["play"].value = 1
    w.controls["play"].playing = True  # not at the end: plays on from here
    assert w.step == 1
    w.controls["play"].value = 7  # the play loop stops one stride short of the end...
    w.controls["play"].playing = False
    assert w.step == 8  # ...so the end is shown
    w.controls["reset"].click()
    assert w.step == 0 and not w.controls["play"].playing and w.resets == 1
    w.set_num_steps(4)
    assert w.num_steps == 4 and w.controls["play"].max == 4 and w.controls["play"].step == 1
    assert w.errors == []


@pytest.mark.parametrize("make", [
    lambda: QuasiNewtonEllipses("rosenbrock", num_steps=20),
    lambda: SecondOrderRace("quadratic", num_steps=20),
    lambda: GradientCloud(num_steps=20, num_draws=20),
    lambda: Explorer2D("himmelblau", "sgd", num_steps=20, functions=False, formula=False),
], ids=["QuasiNewtonEllipses", "SecondOrderRace", "GradientCloud", "Explorer2D"])
def test_every_stepping_widget_shares_the_playback(make):
    w = make()
    assert isinstance(w, PlaybackWidget) and w.num_steps == 20
    w.set(step=20)
    w.controls["play"].playing = True
    assert w.step == 0  # pressing play at the end replays from the start
    w.controls["play"].playing = False
    w.set(step=7)
    assert w.step == 7 and "7" in w.status_text
    w.controls["reset"].click()
    assert w.step == 0 and w.errors == []
