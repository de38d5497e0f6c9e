"""A saved notebook read without a kernel shows every widget's figure, not ``VBox(children=...`` text.

Notebooks are executed in a real kernel with nbclient (as JupyterLab saves them: without the widget state, so
a reader's nbconvert, GitHub or course website has no live view to show), then exported with nbconvert to
HTML, LaTeX (the route to PDF) and Markdown. Every widget's output must become a picture of its figure. The
notebooks: one that shows every exported widget (live, as in JupyterLab, and one in static-picture mode, with
``show()`` and ``display()`` as well as a cell's last line), and lecture 00 as it is.
"""
from __future__ import annotations

import base64
import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter, LatexExporter, MarkdownExporter

import widgets

ROOT = pathlib.Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

SETUP = """\
import numpy as np, torch
from IPython.display import display
import widgets
from lecture_utils import optim, surfaces
from lecture_utils.training import data, nets
device = widgets.notebook_setup(seed=0)
blobs = data.blobs(n=40, num_classes=3, dim=4, std=1.0, seed=0, device="cpu")
d = data.digits(seed=0, device="cpu")
digits = (d.X_train[:40], torch.eye(10)[d.y_train[:40]])
"""

#: One cell per exported widget (its last line shows it), small enough to run in seconds.
WIDGET_CELLS = {
    "Explorer1D": 'widgets.Explorer1D("multi_minima", ["gd", "adam"], num_steps=30)',
    "Explorer2D": 'w = widgets.Explorer2D("himmelblau", ["sgd", "adam"], num_steps=30, grid=30)\nw.set(lr=0.005)\nw',
    "OptimizerRace": 'widgets.OptimizerRace("beale", ["sgd", "adam"], num_steps=30)',
    "BasinMap": 'widgets.BasinMap("himmelblau", "momentum", resolution=20, num_steps=30)',
    "PhaseDiagram": 'widgets.PhaseDiagram(num_steps=40, resolution=(10, 8))',
    "SecantWidget": 'widgets.SecantWidget().show()',
    "DirectionalDerivativeWidget": 'display(widgets.DirectionalDerivativeWidget())',
    "GradientCloud": 'widgets.GradientCloud(num_steps=20, num_draws=20)',
    "QuasiNewtonEllipses": 'widgets.QuasiNewtonEllipses("rosenbrock", num_steps=15)',
    "SecondOrderRace": 'widgets.SecondOrderRace("quadratic", num_steps=15)',
    "ContinuationWidget": 'widgets.ContinuationWidget(num_levels=21)',
    "TrainingDashboard": ('cfg = {"a": lambda: (nets.MLP(4, hidden=(4,), out_dim=3), optim.SGD(lr=0.1))}\n'
                          'dash = widgets.TrainingDashboard(cfg, blobs, epochs=1)\ndash.run()\ndash'),
    "SharpnessWidget": ('widgets.SharpnessWidget(lambda: nets.MLP(64, (4,), 10, activation="tanh"), digits, '
                        'num_steps=20, max_steps=40, every=10, num_iters=5)'),
    "BatchScalingWidget": ('widgets.BatchScalingWidget(blobs, target=0.5, seeds=(0,), batch_size=8, lr=0.3, '
                           'batch_sizes=(4, 8), max_steps=30)'),
    "static picture mode": 'widgets.SecantWidget(live=False)',
}


def test_every_exported_widget_is_in_the_export_notebook():
    bases = {widgets.Widget, widgets.PlaybackWidget, widgets.TrajectoryWidget}
    exported = {n for n in widgets.__all__ if isinstance(getattr(widgets, n), type)
                and issubclass(getattr(widgets, n), widgets.Widget) and getattr(widgets, n) not in bases}
    assert exported <= set(WIDGET_CELLS)


def _execute(nb, cwd):
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    return nb


@pytest.fixture(scope="module")
def every_widget(tmp_path_factory):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [nbformat.v4.new_code_cell(src) for src in WIDGET_CELLS.values()]
    return _execute(nb, tmp_path_factory.mktemp("export"))


def _widget_outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.output_type in ("display_data", "execute_result") and WIDGET_MIME in o.get("data", {})]


def test_each_widget_output_carries_its_picture_and_a_line_of_text(every_widget):
    outputs = _widget_outputs(every_widget)
    assert len(outputs) == len(WIDGET_CELLS), [sorted(o.data) for o in outputs]
    for out in outputs:
        png = base64.b64decode(out.data["image/png"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000  # a drawn figure, not an empty frame
        assert "VBox" not in out.data["text/plain"] and "run the notebook" in out.data["text/plain"]
        assert 0 < out.metadata["image/png"]["width"] <= widgets.column_width()
    # w.set(...) on a cell's last line showed nothing: one output for that cell, the widget itself
    explorer = every_widget.cells[2]
    assert len([o for o in explorer.outputs if o.output_type in ("display_data", "execute_result")]) == 1


def _pictures(html: str) -> int:
    return len(re.findall(r'<img[^>]*src="data:image/png;base64,', html))


def test_html_export_shows_every_widget_as_its_picture(every_widget):
    html, _ = HTMLExporter().from_notebook_node(every_widget)
    assert _pictures(html) >= len(WIDGET_CELLS)
    assert "VBox(children=" not in html and "HBox(children=" not in html


def test_latex_and_markdown_exports_include_every_widget_picture(every_widget):
    tex, resources = LatexExporter().from_notebook_node(every_widget)
    shown = re.findall(r"\\adjustimage\{.*\}\{(output_\d+_\d+\.png)\}", tex)  # the template's figures
    assert len(shown) >= len(WIDGET_CELLS) and "VBox(children=" not in tex
    assert sum(name.endswith(".png") for name in resources["outputs"]) >= len(WIDGET_CELLS)
    md, resources = MarkdownExporter().from_notebook_node(every_widget)
    assert md.count("![png]") >= len(WIDGET_CELLS) and "VBox(children=" not in md


def test_lecture_00_exported_to_html_shows_its_widgets(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    nb = _execute(nb, ROOT / "notebooks")
    outputs = _widget_outputs(nb)
    assert outputs and all("image/png" in o.data for o in outputs)
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert "VBox(children=" not in html and _pictures(html) >= len(outputs)
