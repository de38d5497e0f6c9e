"""Presenter mode at projector resolution (1280 x 720): screenshots to judge, and what can be measured.

The screenshots (test-artifacts/browser/presenter_*.png) are for a person to look at; the test checks
what a projector needs and a browser can measure: the whole figure fits on the screen with JupyterLab's
side bar closed, and no text in the figure or on its controls is smaller than 1/45 of the screen height
(16 px at 720).
"""
import json

from .lab import find_problems

NOTEBOOK = "browser_tests/presenter.ipynb"
FIGURE = ".lecture-widget .jupyter-matplotlib-figure"
MIN_TEXT_PX = 16


def test_presenter_mode_explorer_at_1280x720(open_notebook, artifacts):
    lab = open_notebook(NOTEBOOK, viewport=(1280, 720))
    lab.run_all(timeout_ms=180_000)
    problems = find_problems(lab.wait_widgets_rendered())
    assert not problems, problems
    page = lab.page
    figure = page.locator(FIGURE).first
    figure.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "presenter_1280x720_default_layout.png"))
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
