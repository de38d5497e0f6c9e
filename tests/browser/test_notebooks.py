"""Every notebook, opened in JupyterLab in headless chromium with each coded exercise's stub replaced by the
notebook's own reference solution: run all, no error, every widget on screen, and each exercise says "Correct".
(One run per notebook: the stubs' "not attempted yet" line is checked per checker without a browser, and nbval
runs every notebook with its stubs.)

The screen is 1280 x 800 in JupyterLab's default layout (the file browser open), as a student's laptop shows
it: no output and no markdown text (a display equation) may be wider than the notebook column, and no figure,
widget or image may reach past its right edge, in normal mode and again with presenter mode switched on (which
restyles every widget of the notebook, the explorers included), where no text of a widget's figure may be under
16 px. Every output with a figure or widget is saved as a screenshot (test-artifacts/browser/<notebook>/
cell-NN.png), the widgets again at 1280 x 720 (the screen with the widget at its top: what a projector shows)
and in presenter mode at 1280 x 720; layout.json there holds the widths measured.

The notebooks are globbed when pytest collects, so new ones are picked up without editing this file.
No cell of a lecture may show an error (the self-test notebook checks that an error would be caught).
"""
import json
import pathlib
import sys
import time

import pytest

from .lab import ROOT, WIDGET_ERRORS, find_problems, layout_problems, shrunk_images

sys.path.insert(0, str(ROOT / "tests"))
from notebook_exercises import exercises  # noqa: E402  (tests/ is not a package)

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
RUN_TIMEOUT_MS = 300_000    # run-all of one notebook; nbval's budget is 60 s on an idle machine
MIN_PRESENTER_TEXT_PX = 16  # 1/45 of a 720-pixel projector

# In the kernel: every widget shown, its presenter flag and the smallest text of its figure in CSS pixels.
KERNEL_TEXT_SIZES = """
import gc, json, warnings
import widgets
from matplotlib.text import Text
rows = []
with warnings.catch_warnings():  # isinstance on every object touches deprecated module attributes (torch's)
    warnings.simplefilter("ignore")
    shown = [w for w in gc.get_objects() if isinstance(w, widgets.Widget)]
for w in shown:
    if not w.closed and w.displayed:
        ratio = getattr(w.fig.canvas, "device_pixel_ratio", 1.0) or 1.0
        sizes = [t.get_fontsize() * w.fig.dpi / ratio / 72 for t in w.fig.findobj(Text) if t.get_text()]
        rows.append({"widget": type(w).__name__, "presenter": w.presenter, "min_px": min(sizes) if sizes else None})
print(json.dumps(rows))
"""


def run_notebook(open_notebook, path: str, artifacts, check_layout: bool = False) -> tuple:
    t0 = time.monotonic()
    lab = open_notebook(path)
    t_open = time.monotonic() - t0
    ran = lab.run_all(timeout_ms=RUN_TIMEOUT_MS)
    if ran["result"] == "timeout":
        pytest.fail(f"{path}: run-all did not finish in {RUN_TIMEOUT_MS / 1000:.0f} s")
    report = lab.wait_widgets_rendered()
    t_total = time.monotonic() - t0
    stem = path.rsplit("/", 1)[-1].removesuffix(".ipynb")   # solutions/NAME is saved as NAME
    # What a student sees: the first live figure (or widget) after run-all, else the page.
    target = lab.page.locator(".jupyter-matplotlib-figure, .jp-OutputArea-output .jupyter-widgets").first
    if target.count():
        target.screenshot(path=str(artifacts / f"{stem}.png"), timeout=10_000)
    else:
        lab.page.screenshot(path=str(artifacts / f"{stem}.png"))
    summary = {
        "notebook": path, "open_s": round(t_open, 1), "total_s": round(t_total, 1),
        "run_all_s": round(ran["ms"] / 1000, 1),
        "code_cells": len(report), "widget_outputs": sum(c["widgetOutputs"] for c in report),
        "widget_views_rendered": sum(c["rendered"] for c in report),
        "ipympl_figures": sum(len(c["figures"]) for c in report),
        "figures_wider_than_the_notebook": [f"cell {c['index']}: {f['width']} px" for c in report
                                            for f in c["figures"] if f.get("clipped")],
        "page_errors": lab.page_errors, "console_errors": lab.console_errors[:10],
    }
    if check_layout:
        summary["layout"] = check_the_layout(lab, artifacts / stem)
    with open(artifacts / "notebooks.jsonl", "a") as fh:
        fh.write(json.dumps(summary) + "\n")
    print(f"\n{path}: {summary['total_s']} s ({summary['widget_views_rendered']}/{summary['widget_outputs']} "
          f"widget views, {summary['ipympl_figures']} ipympl figures)"
          + (f"; cut off at the right at {lab.page.viewport_size['width']} px wide: "
             f"{summary['figures_wider_than_the_notebook']}" if summary["figures_wider_than_the_notebook"] else ""))
    return lab, ran, report, summary


def check_the_layout(lab, folder) -> dict:
    """Measure every output against the column at 1280 x 800 (normal mode) and in presenter mode, take the
    screenshots, and return what was measured (``problems`` lists what does not fit)."""
    page = lab.page
    normal = lab.layout()
    assert not normal["leftCollapsed"], "the file browser should be open (JupyterLab's default layout)"
    problems = [f"at {normal['viewport'][0]} x {normal['viewport'][1]}: {p}" for p in layout_problems(normal)]
    wide_text = layout_problems({"cells": [c for c in normal["cells"] if c["type"] == "markdown"]}, markdown=True)
    problems += [f"at {normal['viewport'][0]} x {normal['viewport'][1]}: {p}" for p in wide_text]
    shots = lab.screenshot_outputs(folder, normal)
    columns = sorted({o["client"] for c in normal["cells"] if c["type"] == "code" for o in c["outputs"]})
    out = {"viewport": normal["viewport"], "column_px": columns, "screenshots": len(shots),
           "images_shown_smaller": shrunk_images(normal),
           "markdown_wider_than_the_column": wide_text,
           "widest_output_px": max((b["width"] for c in normal["cells"] for o in c["outputs"] for b in o["boxes"]
                                    if b["kind"] in ("widget", "figure", "image")), default=0)}
    widgets_shown = any(b["kind"] == "widget" for c in normal["cells"] for o in c["outputs"] for b in o["boxes"])
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_timeout(300)
    widget_cells = {"cells": [c for c in normal["cells"]
                              if any(b["kind"] == "widget" for o in c["outputs"] for b in o["boxes"])]}
    out["screenshots"] += len(lab.screenshot_outputs(folder, widget_cells, "_1280x720", viewport=True))
    if widgets_shown:  # presenter mode restyles every widget of the notebook: each must still fit
        lab.kernel_eval("import widgets\nwidgets.presenter_mode(True)")
        lab.wait_idle(settle_ms=1500)
        bigger = lab.layout()
        problems += [f"presenter mode at 1280 x 720: {p}" for p in layout_problems(bigger)]
        said = lab.kernel_eval(KERNEL_TEXT_SIZES).strip()
        try:
            sizes = json.loads(next(line for line in said.splitlines() if line.startswith("[")))
        except (json.JSONDecodeError, StopIteration):
            pytest.fail(f"the kernel could not measure the text: {said[-600:]}")
        small = [r for r in sizes if r["min_px"] is not None and r["min_px"] < MIN_PRESENTER_TEXT_PX - 1e-6]
        problems += [f"presenter mode: {r['widget']} has text of {r['min_px']:.1f} px in its figure" for r in small]
        out["presenter_min_text_px"] = {r["widget"]: round(r["min_px"], 1) for r in sizes if r["min_px"]}
        problems += [f"presenter mode: {p}" for p in find_problems(lab.cell_report(), strict=True)]
        out["screenshots"] += len(lab.screenshot_outputs(folder, widget_cells, "_presenter_1280x720", viewport=True))
        lab.kernel_eval("import widgets\nwidgets.presenter_mode(False)")
        lab.wait_idle(settle_ms=500)
    page.set_viewport_size({"width": normal["viewport"][0], "height": normal["viewport"][1]})
    out["problems"] = problems
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "layout.json").write_text(json.dumps(dict(out, measured=normal), indent=1))
    return out


@pytest.mark.parametrize("name", NOTEBOOKS or ["(none)"])
def test_notebook_runs_in_jupyterlab_every_widget_renders_and_fits_and_every_exercise_says_correct(
        name, open_notebook, artifacts):
    """Run all in JupyterLab, with each exercise stub replaced by the solution in its <details> block (made by the
    lab_server fixture as solutions/NAME; a notebook without coded exercises runs as it is): no error, every widget
    view rendered and painted, every output inside the column at 1280 x 800 and in presenter mode, and one
    "Correct:" line per coded exercise. (A stub's "not attempted yet" line is checked for every checker without a
    browser, tests/test_checks_stubs.py, and nbval runs the notebooks with their stubs.)"""
    if name == "(none)":
        pytest.fail("notebooks/ holds no .ipynb: nothing for the browser to open")
    coded = bool(exercises(ROOT / "notebooks" / name))
    lab, ran, report, summary = run_notebook(open_notebook, f"solutions/{name}" if coded else name, artifacts,
                                             check_layout=True)
    problems = find_problems(report, strict=True)
    problems += summary["layout"]["problems"]
    problems += [f"uncaught error in the page: {e}" for e in lab.page_errors]
    problems += _exercise_lines(report, name, "Correct:")
    problems += [line for cell in report for line in cell["outputText"].splitlines() if "not attempted yet" in line]
    # ipywidgets logs a model or view it could not create here. (ipympl's "Error setting state ... broken"
    # also appears when Run All changes a figure from code before its view is ready, and the figure then
    # paints: reported in notebooks.jsonl, judged by the painted-figure check above, not failed on.)
    widget_console = sorted({e.splitlines()[0][:200] for e in lab.console_errors
                             if "Could not create" in e or "model not found" in e})
    problems += [f"browser console: {e}" for e in widget_console]
    assert not problems, f"{name} in JupyterLab" + (" with its reference solutions" if coded else "") + ":\n  " \
        + "\n  ".join(problems)


def _exercise_lines(report, name, phrase) -> list:
    """Problems unless every coded exercise of notebook ``name`` printed one line containing ``phrase``."""
    expected = len(exercises(ROOT / "notebooks" / name))
    lines = [line for cell in report for line in cell["outputText"].splitlines() if phrase in line]
    if len(lines) != expected:
        return [f"{expected} coded exercise(s), but {len(lines)} output line(s) say {phrase!r}: {lines[:4]}"]
    return []


def test_checker_flags_a_broken_widget_and_passes_good_ones(open_notebook, artifacts, lab_server):
    """The check above can fail: a display of a widget model that does not exist is caught, while a
    slider, an ipympl figure and an expected error (a ``raises-exception`` stub) pass. Also: the kernel
    JupyterLab started is this environment's Python, with the server's private directories."""
    lab, ran, report, _ = run_notebook(open_notebook, "browser_tests/selftest.ipynb", artifacts)
    problems = find_problems(report)
    assert len(problems) == 1 and any(e in problems[0] for e in WIDGET_ERRORS), problems
    by_source = {c["source"].split("\n")[0]: c for c in report}
    slider = by_source["slider = widgets.FloatSlider(description='x')"]
    assert slider["rendered"] == 1
    assert lab.page.locator(".widget-slider .noUi-handle").count() == 1
    figure = next(c for c in report if c["figures"])
    assert figure["figures"][0]["painted"] and figure["rendered"] == 1
    stub = next(c for c in report if "raises-exception" in c["tags"])
    assert stub["errors"] == ["ValueError: a stub that raises on purpose"]
    assert all(c["executionCount"] is not None for c in report), "run-all stopped at the expected error"
    assert "the cell after the stub ran" in lab.page.locator(".jp-Notebook").inner_text()
    out = lab.kernel_eval("import os, sys, matplotlib\n"
                          "print(sys.executable); print(os.environ['HOME']); print(matplotlib.get_configdir())\n"
                          "print(os.environ.get('MPLBACKEND', 'unset'))")
    executable, home, mpl_dir, backend = out.split("\n")[:4]
    assert pathlib.Path(executable).resolve() == pathlib.Path(sys.executable).resolve()
    assert home == lab_server.env["HOME"] and mpl_dir == lab_server.env["MPLCONFIGDIR"]
    # run_tests.sh exports MPLBACKEND=Agg; a student's kernel gets ipykernel's inline default instead.
    assert "MPLBACKEND" not in lab_server.env and backend.lower() != "agg", backend
