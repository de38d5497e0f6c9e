"""Controls with the course's layout: log and linear sliders, and the play / step / reset trio.

Introduced in lecture 01 and used by every widget. The sliders show their description in full
(``description_width: initial``) and clamp the initial value into their range.

Example::

    from widgets.controls import log_slider, play_controls
    lr = log_slider("lr", 1e-2, 1e-5, 1.0)
    play, step, reset = play_controls(300)
"""
from __future__ import annotations

import math

import ipywidgets

__all__ = ["SLIDER_STYLE", "row", "log_slider", "float_slider", "int_slider", "play_controls", "set_steps"]

#: Style of every slider: the description is never cut off.
SLIDER_STYLE = {"description_width": "initial"}


def row(children) -> ipywidgets.HBox:
    """Controls side by side that wrap onto a new line when the column is too narrow for all of them (a
    projector, presenter mode's larger controls). Example: ``row([lr, momentum])``"""
    return ipywidgets.HBox(list(children), layout=ipywidgets.Layout(flex_flow="row wrap", align_items="center"))


def log_slider(description: str, value: float, low: float, high: float, *, continuous_update: bool = True,
               width: str = "280px", readout_format: str = ".3g") -> ipywidgets.FloatLogSlider:
    """A base-10 log-scale float slider over ``[low, high]`` (learning rates, tolerances).

    Example: ``log_slider("lr", 1e-2, 1e-5, 1.0)``
    """
    if not (low > 0 and high > low):
        raise ValueError(f"log_slider needs 0 < low < high, got low={low}, high={high}")
    value = float(min(max(value, low), high))
    return ipywidgets.FloatLogSlider(value=value, base=10, min=math.log10(low), max=math.log10(high),
                                     step=0.01, description=description, readout_format=readout_format,
                                     continuous_update=continuous_update, style=SLIDER_STYLE,
                                     layout=ipywidgets.Layout(width=width))


def float_slider(description: str, value: float, low: float, high: float, step: float, *,
                 continuous_update: bool = True, width: str = "280px",
                 readout_format: str = ".3g") -> ipywidgets.FloatSlider:
    """A linear float slider with the course's layout. Example: ``float_slider("momentum", 0.9, 0, 0.99, 0.01)``"""
    return ipywidgets.FloatSlider(value=float(min(max(value, low), high)), min=low, max=high, step=step,
                                  description=description, continuous_update=continuous_update,
                                  readout_format=readout_format, style=SLIDER_STYLE,
                                  layout=ipywidgets.Layout(width=width))


def int_slider(description: str, value: int, low: int, high: int, step: int = 1, *,
               continuous_update: bool = True, width: str = "280px") -> ipywidgets.IntSlider:
    """An integer slider with the course's layout. Example: ``int_slider("num_steps", 100, 1, 1000)``"""
    return ipywidgets.IntSlider(value=int(min(max(value, low), high)), min=low, max=high, step=step,
                                description=description, continuous_update=continuous_update, style=SLIDER_STYLE,
                                layout=ipywidgets.Layout(width=width))


def play_controls(num_steps: int, *, interval: int = 40, frames: int = 150):
    """A ``Play`` button linked to a ``step`` slider over ``0..num_steps``, and a ``reset`` button.

    The link is made in Python (``ipywidgets.link``) so that setting ``play.value`` from code moves the step
    slider too (the link lives as long as the two controls: each holds one of its observers); ``frames``
    sets the play stride so a run lasts about ``frames * interval`` ms.
    Returns ``(play, step, reset)``. Example: ``play, step, reset = play_controls(300)``
    """
    num_steps = max(int(num_steps), 1)
    play = ipywidgets.Play(value=0, min=0, max=num_steps, step=max(1, num_steps // frames), interval=interval,
                           description="play", show_repeat=False)
    step = ipywidgets.IntSlider(value=0, min=0, max=num_steps, description="step", continuous_update=True,
                                style=SLIDER_STYLE, layout=ipywidgets.Layout(width="360px"))
    ipywidgets.link((play, "value"), (step, "value"))
    reset = ipywidgets.Button(description="reset", tooltip="back to step 0 and the default start point",
                              layout=ipywidgets.Layout(width="80px"))
    return play, step, reset


def set_steps(play: ipywidgets.Play, step: ipywidgets.IntSlider, num_steps: int, *, frames: int = 150):
    """Change the range of a play/step pair to ``0..num_steps`` (clamping the current value)."""
    num_steps = max(int(num_steps), 1)
    with play.hold_trait_notifications(), step.hold_trait_notifications():
        step.max = num_steps
        play.max = num_steps
        play.step = max(1, num_steps // frames)
