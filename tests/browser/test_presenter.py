"""Presenter mode at projector resolution (1280 x 720): screenshots to judge, and what can be measured.

The screenshots (test-artifacts/browser/presenter_*.png) are for a person to look at; the tests check what a
projector needs and a browser can measure: in JupyterLab's default layout (file browser open) every widget,
figure and controls, fits the notebook column, and no text in a figure or on its controls is smaller than 1/45
of the screen height (16 px at 720). The explorer is checked again with the side bar closed and JupyterLab's
own presentation mode on, and its enlarged controls must still follow the mouse.
"""
import json

from .lab import find_problems, layout_problems

NOTEBOOK = "browser_tests/presenter.ipynb"
EVERY_WIDGET = "browser_tests/presenter_widgets.ipynb"
FIGURE = ".lecture-widget .jupyter-matplotlib-figure"
MIN_TEXT_PX = 16
CONTROL_TEXT_PX = (
    "() => [...document.querySelectorAll('.lecture-widget .widget-label, .lecture-widget .widget-readout,"
    " .lecture-widget .jupyter-button, .lecture-widget .widget-dropdown select, .lecture-widget input')]"
    ".filter(e => e.offsetParent !== null && (e.innerText || e.value || '').trim())"
    ".map(e => parseFloat(getComputedStyle(e).fontSize) * (e.currentCSSZoom || 1))")
# In the kernel: the smallest text of each shown widget's figure, in CSS pixels.
FIGURE_TEXT_PX = """
import gc, json, warnings
import widgets
from matplotlib.text import Text
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    shown = [w for w in gc.get_objects() if isinstance(w, widgets.Widget) and not w.closed and w.displayed]
rows = {}
for w in shown:
    ratio = getattr(w.fig.canvas, "device_pixel_ratio", 1.0) or 1.0
    sizes = [t.get_fontsize() * w.fig.dpi / ratio / 72 for t in w.fig.findobj(Text) if t.get_visible() and t.get_text()]
    rows[type(w).__name__] = {"min_px": min(sizes), "presenter": w.presenter, "width_px": w.fig.get_figwidth() * w.fig.dpi / ratio}
print(json.dumps(rows))
"""


def _kernel_json(lab, code):
    said = lab.kernel_eval(code)
    return json.loads(next(line for line in said.splitlines() if line.startswith(("{", "["))))


def test_every_widget_fits_the_column_in_presenter_mode_at_1280x720_with_the_file_browser_open(open_notebook,
                                                                                              artifacts):
    lab = open_notebook(EVERY_WIDGET, viewport=(1280, 720))
    lab.run_all(timeout_ms=300_000)
    problems = find_problems(lab.wait_widgets_rendered())
    assert not problems, problems
    lab.wait_idle(settle_ms=1500)
    layout = lab.layout()
    assert not layout["leftCollapsed"], "the file browser should be open (JupyterLab's default layout)"
    problems = layout_problems(layout)
    folder = artifacts / "presenter_widgets"
    lab.screenshot_outputs(folder, layout, "_presenter_1280x720", viewport=True)
    lab.screenshot_outputs(folder, layout, "_presenter")
    figures = _kernel_json(lab, FIGURE_TEXT_PX)
    assert len(figures) == 14 and all(r["presenter"] for r in figures.values()), sorted(figures)
    problems += [f"{name}: text of {r['min_px']:.1f} px in its figure" for name, r in figures.items()
                 if r["min_px"] < MIN_TEXT_PX - 1e-6]
    controls_px = lab.page.evaluate(CONTROL_TEXT_PX)
    assert controls_px, "no visible control labels found"
    if min(controls_px) < MIN_TEXT_PX:
        problems.append(f"control labels of {min(controls_px):.1f} px")
    widths = {c["index"]: max(b["width"] for o in c["outputs"] for b in o["boxes"] if b["kind"] == "widget")
              for c in layout["cells"] if any(b["kind"] == "widget" for o in c["outputs"] for b in o["boxes"])}
    column = sorted({o["client"] for c in layout["cells"] if c["type"] == "code" for o in c["outputs"]})
    (folder / "presenter_widgets.json").write_text(json.dumps(
        {"column_px": column, "widget_px": widths, "figure": figures, "controls_min_px": min(controls_px),
         "problems": problems}, indent=1))
    print(f"\nevery widget in presenter mode at 1280x720, file browser open: column {column} px; figure text "
          f"{min(r['min_px'] for r in figures.values()):.1f} px and up; controls {min(controls_px):.1f} px and up")
    assert not problems, "\n  ".join(["in presenter mode at 1280 x 720:"] + problems)


def test_presenter_mode_explorer_at_1280x720(open_notebook, artifacts):
    lab = open_notebook(NOTEBOOK, viewport=(1280, 720))
    lab.run_all(timeout_ms=180_000)
    problems = find_problems(lab.wait_widgets_rendered())
    assert not problems, problems
    page = lab.page
    figure = page.locator(FIGURE).first
    figure.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "presenter_1280x720_default_layout.png"))
    # JupyterLab's default layout, file browser open: the whole explorer fits the notebook column.
    layout = lab.layout()
    assert not layout["leftCollapsed"]
    assert not layout_problems(layout), layout_problems(layout)
    column = next(o for c in layout["cells"] if c["type"] == "code" for o in c["outputs"] if o["boxes"])
    box = figure.bounding_box()
    assert column["left"] <= box["x"] and box["x"] + box["width"] <= column["right"], (box, column)
    # What an instructor does before class: close the side bar, JupyterLab's presentation mode on.
    page.evaluate("async () => { const c = window.jupyterapp.commands;"
                  " if (!window.jupyterapp.shell.leftCollapsed) await c.execute('application:toggle-left-area');"
                  " await c.execute('application:toggle-presentation-mode'); }")
    page.wait_for_timeout(500)
    figure.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "presenter_1280x720.png"))
    box = figure.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, f"the figure is cut off at 1280 px: {box}"
    out = lab.kernel_eval(
        "import json\n"
        "from matplotlib.text import Text\n"
        "fig = explorer.fig\n"
        "sizes = [t.get_fontsize() * fig.dpi / 72 for t in fig.findobj(Text) if t.get_visible() and t.get_text()]\n"
        "print(json.dumps({'min_px': min(sizes), 'median_px': sorted(sizes)[len(sizes) // 2],"
        " 'lines': sorted({round(float(l.get_linewidth()), 2) for ax in fig.axes for l in ax.get_lines()})}))")
    sizes = json.loads(out)
    # The controls: labels, readouts and buttons as the browser lays them out.
    controls_px = page.evaluate(
        "() => [...document.querySelectorAll('.lecture-widget .widget-label, .lecture-widget .widget-readout,"
        " .lecture-widget .jupyter-button')].filter(e => e.offsetParent !== null && e.innerText.trim())"
        ".map(e => parseFloat(getComputedStyle(e).fontSize) * (e.currentCSSZoom || 1))")
    assert controls_px, "no visible control labels found"
    sizes["controls_min_px"] = min(controls_px)
    (artifacts / "presenter.json").write_text(json.dumps(dict(sizes, figure_box=box), indent=2))
    print(f"\npresenter mode at 1280x720: figure {box['width']:.0f} x {box['height']:.0f} px, "
          f"text {sizes['min_px']:.1f} px and up (median {sizes['median_px']:.1f}), controls "
          f"{sizes['controls_min_px']:.1f} px and up, line widths {sizes['lines']}")
    assert sizes["min_px"] >= MIN_TEXT_PX, f"text of {sizes['min_px']:.1f} px in the figure is too small for a projector"
    assert sizes["controls_min_px"] >= MIN_TEXT_PX, (
        f"control labels of {sizes['controls_min_px']:.1f} px are too small for a projector")

    # The enlarged (zoomed) controls still follow the mouse: drag the step slider's handle to the left.
    handle = page.locator(".probe-step .noUi-handle")
    handle.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    track = page.locator(".probe-step .noUi-target").bounding_box()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target_x = track["x"] + 0.5 * track["width"]
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(target_x, y, steps=10)
    page.mouse.up()
    lab.wait_idle(settle_ms=300)
    step, num_steps = json.loads(lab.kernel_eval(
        "print(json.dumps([explorer.controls['step'].value, explorer.controls['num_steps'].value]))"))
    moved = handle.bounding_box()
    assert abs(moved["x"] + moved["width"] / 2 - target_x) <= 8, (moved, target_x)
    assert abs(step / num_steps - 0.5) <= 0.05, f"dragged to the middle of the track, the step is {step} of {num_steps}"
