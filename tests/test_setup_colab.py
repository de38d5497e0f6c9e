"""notebook_setup on Colab when live figures cannot start: it recognises Colab's own error, falls back to static
pictures, says in one line why and what still works, and a widget built afterwards redraws its picture on every
control change."""
import sys
import types

import pytest

import widgets
from widgets import setup

COLAB_ERROR = ("Key backend: 'module://ipympl.backend_nbagg' is not a valid value for backend; supported values are "
               "['gtk3agg', 'gtk3cairo', 'agg', 'inline']")


class _ColabShell:
    """An IPython kernel shell on which ``%matplotlib widget`` fails the way Colab's does."""

    def __init__(self, error):
        self.kernel, self.magics, self.error = object(), [], error

    def run_line_magic(self, name, line):
        self.magics.append((name, line))
        if (name, line) == ("matplotlib", "widget"):
            raise self.error


@pytest.fixture
def colab(monkeypatch):
    import IPython

    google, google_colab, output = (types.ModuleType(n) for n in ("google", "google.colab", "google.colab.output"))
    output.enable_custom_widget_manager = lambda: None
    google.colab, google_colab.output = google_colab, output
    for name, module in (("google", google), ("google.colab", google_colab), ("google.colab.output", output)):
        monkeypatch.setitem(sys.modules, name, module)

    def install(error):
        shell = _ColabShell(error)
        monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
        return shell
    return install


def test_colabs_backend_error_falls_back_to_pictures_and_says_why_in_one_line(colab, capsys):
    shell = colab(ValueError(COLAB_ERROR))
    widgets.notebook_setup()
    assert shell.magics == [("matplotlib", "widget"), ("matplotlib", "inline")]
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    line = out[0]
    assert "static images on Colab" in line and "Colab's matplotlib refuses ipympl" in line
    assert "5155" in line and "still work" in line and "redraws the picture" in line


@pytest.mark.parametrize("error", [RuntimeError("the ipympl front end is missing"), ImportError("no module"),
                                   KeyError("backend")])
def test_any_failure_to_start_live_figures_falls_back_with_the_reason(colab, capsys, error):
    shell = colab(error)
    widgets.notebook_setup()
    assert shell.magics[-1] == ("matplotlib", "inline")
    line = capsys.readouterr().out.strip()
    assert "static images" in line and type(error).__name__ in line and "still work" in line


def _image(widget):
    """The ipywidgets.Image a static-mode widget shows (its picture), found in the displayed layout."""
    import ipywidgets

    stack = [widget.layout]
    while stack:
        node = stack.pop()
        if isinstance(node, ipywidgets.Image):
            return node
        stack.extend(getattr(node, "children", ()))
    raise AssertionError("no picture in the static widget's layout")


def test_in_static_mode_every_control_change_redraws_the_picture():
    w = widgets.Explorer2D("himmelblau", ("sgd", "adam"), live=False)
    w._repr_mimebundle_()  # shown in a notebook (IPython's display protocol)
    picture = _image(w)
    for name, value in [("lr", w.controls["lr"].max), ("num_steps", 40), ("x0", 1.5), ("function", 0),
                        ("step", 3)]:
        before = picture.value
        w.controls[name].value = value
        assert picture.value != before, f"the picture did not change after {name} = {value!r}"
    assert setup.live_figures_failed(ValueError(COLAB_ERROR)).startswith("Figures: static images (Colab's")
