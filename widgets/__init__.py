"""Interactive figures for the course, drawn on top of lecture_utils (ipywidgets + matplotlib, ipympl live).

Every widget is a small class (:class:`widgets.base.Widget`) exposing ``fig`` (its matplotlib Figure),
``controls`` (its ipywidgets by name) and ``status``; it shows itself when it is the last expression of a cell.

Example::

    from widgets import notebook_setup, presenter_mode
    device = notebook_setup(seed=0)
"""
from __future__ import annotations

from .base import Widget, callback, color, colors, log_slider, play_controls
from .presenter import is_presenter, presenter_mode
from .setup import choose_backend, environment_report, notebook_setup

__all__ = ["Widget", "callback", "color", "colors", "log_slider", "play_controls", "presenter_mode",
           "is_presenter", "notebook_setup", "environment_report", "choose_backend"]

from .explorer1d import Explorer1D  # noqa: E402

__all__ += ["Explorer1D"]

from .explorer2d import Explorer2D  # noqa: E402

__all__ += ["Explorer2D"]

from .basins import BasinMap, PhaseDiagram  # noqa: E402

__all__ += ["BasinMap", "PhaseDiagram"]

from .race import OptimizerRace  # noqa: E402

__all__ += ["OptimizerRace"]

from .calculus import DirectionalDerivativeWidget, SecantWidget  # noqa: E402
from .continuation import ContinuationWidget  # noqa: E402
from .dashboard import TrainingDashboard  # noqa: E402
from .second_order import QuasiNewtonEllipses, SecondOrderRace  # noqa: E402
from .sgd import GradientCloud  # noqa: E402

__all__ += ["SecantWidget", "DirectionalDerivativeWidget", "GradientCloud", "QuasiNewtonEllipses", "SecondOrderRace",
            "TrainingDashboard", "ContinuationWidget"]
