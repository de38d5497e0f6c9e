"""Interactive figures for the course, drawn on top of lecture_utils (ipywidgets + matplotlib, ipympl live).

Every widget is a small class (:class:`widgets.base.Widget`) exposing ``fig`` (its matplotlib Figure),
``controls`` (its ipywidgets by name) and ``status``; it shows itself when it is the last expression of a cell.
Widgets that play a stored run share :class:`widgets.playback.PlaybackWidget` (play, step, reset). Drive one
from code by setting ``controls[name].value`` or with ``w.click(x, y)`` (the same handlers as a mouse click);
``w.close()`` frees everything it holds (its ipywidget models, observers, figure and stored runs).

Every widget also saves its setting for a prepared demo: ``w.save_state("demo.json")`` or
``w.state_string()`` (one line to paste anywhere), and ``Explorer2D.from_state("demo.json")`` builds it again
exactly. Shown in a notebook, a widget leaves a picture of its figure beside its live view, so a notebook
exported without a kernel (HTML, PDF, GitHub) shows the figures.

Modules: ``base`` (the Widget class), ``display`` (how it is shown, with its picture), ``state`` (prepared
demos), ``errors`` (callback errors shown in the widget), ``models`` (closing ipywidget models),
``playback`` and ``trajectory`` (the stepping bases), ``controls`` (sliders and rows), ``style`` (palettes),
``presenter`` (presenter mode), ``figures`` (canvases, static pictures, the column width), ``contours``
(contour levels), ``axes`` (limits, titles), ``defaults`` (first-impression settings), ``optimizer_specs``
and ``function_menu`` (the explorers' controls), ``view3d``, and one module per widget or family of static
figures.

Example::

    from widgets import notebook_setup, presenter_mode
    device = notebook_setup(seed=0)
"""
from __future__ import annotations

from .base import Widget, callback
from .basins import BasinMap
from .batch_scaling import BatchScalingWidget
from .calculus import DirectionalDerivativeWidget, SecantWidget
from .continuation import ContinuationWidget
from .controls import log_slider, play_controls
from .dashboard import TrainingDashboard
from .explorer1d import Explorer1D
from .explorer2d import Explorer2D
from .figures import column_width
from .phase_diagram import PhaseDiagram
from .playback import PlaybackWidget
from .presenter import presenter_mode
from .race import OptimizerRace
from .second_order import QuasiNewtonEllipses, SecondOrderRace
from .setup import choose_backend, environment_report, notebook_setup
from .sgd import GradientCloud
from .sharpness import SharpnessWidget
from .state import StateError
from .style import color, colors, is_presenter
from .trajectory import TrajectoryWidget

__all__ = ["Widget", "PlaybackWidget", "TrajectoryWidget", "callback", "color", "colors", "log_slider",
           "play_controls", "presenter_mode", "is_presenter", "notebook_setup", "environment_report",
           "choose_backend", "Explorer1D", "Explorer2D", "BasinMap", "PhaseDiagram", "OptimizerRace",
           "SecantWidget", "DirectionalDerivativeWidget", "GradientCloud", "QuasiNewtonEllipses", "SecondOrderRace",
           "TrainingDashboard", "ContinuationWidget", "SharpnessWidget", "BatchScalingWidget", "column_width",
           "StateError"]
