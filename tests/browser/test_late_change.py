"""A live widget changed from code while Run All keeps the kernel busy shows the changed state afterwards.

ipympl's front end cannot say it is ready until the queued cells finish, so until then the widgets only
update their artists and draw nothing (widgets/base.py, ``Widget._front_end_pending``). Once the kernel is
idle the front end asks for a frame: the figure must then show what the later cell set, the same pixels the
kernel draws for that state.
"""
import base64
import io
import json

import numpy as np

from .lab import find_problems

NOTEBOOK = "browser_tests/late_change.ipynb"
CANVAS = ".lecture-widget .jupyter-matplotlib-figure .jupyter-matplotlib-canvas-div canvas"


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _differing(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels that differ by more than a little in any channel (0 to 1)."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((np.abs(a - b).max(axis=2) > 24).mean())


def test_figure_shows_the_state_set_by_a_later_cell(open_notebook, artifacts):
    lab = open_notebook(NOTEBOOK)
    lab.run_all(timeout_ms=180_000)
    report = lab.wait_widgets_rendered()
    assert not find_problems(report), find_problems(report)
    lab.wait_idle(settle_ms=1500)  # the front end's first frame request and its answer
    out = lab.kernel_eval(
        "import base64, json\n"
        "print(json.dumps({'first': explorer.fig.canvas._data_url, 'now': base64.b64encode(explorer.to_png())"
        ".decode(), 'status': explorer.status_text, 'size': list(explorer.fig.canvas.get_width_height())}))")
    kernel = json.loads(out)
    assert kernel["first"].startswith("data:image/png;base64,"), kernel["first"][:40]
    first = _pixels(base64.b64decode(kernel["first"].split(",", 1)[1]))
    now = _pixels(base64.b64decode(kernel["now"]))
    canvas = lab.page.locator(CANVAS).first
    canvas.scroll_into_view_if_needed()
    shown_png = canvas.screenshot()
    (artifacts / "late_change_shown.png").write_bytes(shown_png)
    w, h = kernel["size"]
    full = _pixels(shown_png)
    # The element box may start at a fractional pixel: the screenshot then has a row or column more.
    assert h <= full.shape[0] <= h + 1 and w <= full.shape[1] <= w + 1, (full.shape, kernel["size"])
    shown = min((full[dy:dy + h, dx:dx + w] for dy in range(full.shape[0] - h + 1)
                 for dx in range(full.shape[1] - w + 1)), key=lambda crop: _differing(crop, now))
    assert _differing(first, now) > 0.002, "the later cell did not change the figure: the probe proves nothing"
    assert _differing(shown, now) < 0.002, (
        f"the browser shows a figure {100 * _differing(shown, now):.2f}% different from the state the kernel "
        f"holds ({kernel['status']!r}); {100 * _differing(shown, first):.2f}% different from the first frame")
