"""Slider-to-frame time of the widgets against the naive `interact` pattern, and BasinMap recompute time.

Run: ``.venv/bin/python -m bench.bench_widgets``. A frame is what one slider move costs in the kernel:
recompute, redraw, and encode the PNG that ipympl sends to the browser (the changed pixels of the Agg buffer,
encoded as ipympl does). The naive baseline builds a new figure with its contour for every move and saves it
as a PNG, as code written with ``ipywidgets.interact`` usually does. Both run in this process, on this machine.
Also timed, once per display or demo rather than per move: the display data of a widget (its view and the
picture of its figure that a saved notebook keeps), and a prepared demo's state written as one line and a
widget built again from it.
"""
from __future__ import annotations

import io
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from lecture_utils import optim, surfaces

REPEATS = 40
LRS = np.geomspace(6e-4, 1.6e-3, REPEATS)  # a slow drag of the lr slider of the first optimizer


class IpymplEncoder:
    """The PNG that ipympl sends after a draw: pixels that changed since the last frame (``get_diff_image``)."""

    def __init__(self):
        self.last = None

    def __call__(self, canvas) -> bytes:
        buff = np.asarray(canvas.buffer_rgba()).view(np.uint32).squeeze(2)
        if self.last is None or self.last.shape != buff.shape:
            out = buff
        else:
            out = np.where(buff != self.last, buff, 0)
        self.last = buff.copy()
        data = out.view(dtype=np.uint8).reshape((*out.shape, 4))
        with io.BytesIO() as png:
            Image.fromarray(data).save(png, format="png")
            return png.getvalue()


def _timed(fn, values):
    times = []
    for v in values:
        t = time.perf_counter()
        fn(v)
        times.append((time.perf_counter() - t) * 1e3)
    return times


def naive_frame(s, specs, x0, num_steps, lr):
    """The interact pattern: a new figure, contour, paths and PNG on every slider move."""
    fig = Figure(figsize=(9, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax, axv = fig.subplots(1, 2, width_ratios=[1.25, 1.0])
    X, Y, Z = s.grid(120)
    ax.contourf(X, Y, Z, levels=np.quantile(Z, np.linspace(0, 0.97, 22) ** 1.5), cmap="viridis", alpha=0.45)
    ax.contour(X, Y, Z, levels=np.quantile(Z, np.linspace(0, 0.97, 22) ** 1.5), colors="0.25", linewidths=0.5)
    for i, (name, base_lr) in enumerate(specs):
        opt = optim.make(name, lr=lr if i == 0 else base_lr)
        traj = optim.run(s, opt, x0, num_steps)
        ax.plot(traj.xs[:, 0, 0], traj.xs[:, 0, 1], label=opt.label)
        axv.semilogy(np.maximum(traj.values[:, 0], 1e-16), label=opt.label)
    ax.set(title=s.formula, xlabel="x", ylabel="y")
    axv.set(title="value against step", xlabel="step")
    axv.legend()
    with io.BytesIO() as buf:
        fig.savefig(buf, format="png")
        return buf.getvalue()


def bench_explorer2d():
    from widgets import Explorer2D

    specs = [("sgd", 1e-3), ("momentum", 1e-3), ("adam", 0.1)]
    x0, num_steps = (-1.5, 2.0), 300
    s = surfaces.get("rosenbrock")
    w = Explorer2D(s, [n for n, _ in specs], lr=[lr for _, lr in specs], x0=x0, num_steps=num_steps)
    encode = IpymplEncoder()
    sizes = []
    w.displayed = True  # render as if on screen; the frame is encoded the way ipympl would send it
    w._publish_static = lambda: sizes.append(len(encode(w.fig.canvas)))
    w.redraw(full=True)

    lr_times = _timed(lambda lr: w.controls.__getitem__("lr").__setattr__("value", float(lr)), LRS)
    step_times = _timed(lambda k: w.controls["step"].__setattr__("value", int(k)), np.linspace(0, num_steps, REPEATS))
    # The static fallback (no ipympl): the whole frame as a PNG into the Image widget.
    w._publish_static = type(w)._publish_static.__get__(w)
    static_times = _timed(lambda lr: w.controls.__getitem__("lr").__setattr__("value", float(lr)), LRS[::-1])
    def recompute_all(_):
        w.forget_runs()  # all three optimizers, as after a change of the start point
        w.recompute()

    recompute_times = _timed(recompute_all, range(REPEATS))
    naive_times = _timed(lambda lr: naive_frame(s, specs, x0, num_steps, lr), LRS[: REPEATS // 2])
    assert w.error == "", w.error
    return {
        "explorer2d lr move (blit + ipympl PNG)": lr_times,
        "explorer2d step move (index, blit + PNG)": step_times,
        "explorer2d lr move, static-image fallback": static_times,
        "recompute of all 3 runs (x0 move; an lr move reruns 1)": recompute_times,
        "naive interact (new figure + contour + PNG)": naive_times,
    }, statistics.median(sizes)


def bench_basin():
    from widgets import BasinMap

    out = {}
    w = BasinMap("himmelblau", "sgd", lr=0.01, resolution=100, num_steps=200)
    w.displayed = True
    encode = IpymplEncoder()
    w._publish_static = lambda: encode(w.fig.canvas)
    w.redraw(full=True)
    lrs = np.geomspace(0.005, 0.015, 12)
    out["basin map lr move (100x100 x 200 steps, draw + PNG)"] = _timed(
        lambda lr: w.controls["lr"].__setattr__("value", float(lr)), lrs)
    def recompute(_):
        w.recompute(force=True)

    out["  of which recompute"] = _timed(recompute, range(12))
    s = surfaces.get("himmelblau")
    X0 = np.stack([g.ravel() for g in np.meshgrid(np.linspace(-5, 5, 100), np.linspace(-5, 5, 100))], axis=1)
    out["  optim.run alone (10000 starts x 200 steps)"] = _timed(
        lambda _: optim.run(s, optim.SGD(lr=0.01), X0, 200), range(8))
    assert w.error == "", w.error
    return out


def bench_display_and_state():
    """Once per display: the display data with the picture; once per demo: state to one line and back."""
    from widgets import Explorer2D

    out = {}
    def shown(_):
        w = Explorer2D("rosenbrock", ["sgd", "momentum", "adam"], num_steps=300, live=False)
        w._repr_mimebundle_()
        w.close()

    def built(_):
        Explorer2D("rosenbrock", ["sgd", "momentum", "adam"], num_steps=300, live=False).close()

    out["Explorer2D built (not shown)"] = _timed(built, range(8))
    out["Explorer2D built and shown (view + picture)"] = _timed(shown, range(8))
    w = Explorer2D("rosenbrock", ["sgd", "momentum", "adam"], num_steps=300, live=False)
    w.set(lr=2e-3, step=150)
    out["state_string()"] = _timed(lambda _: w.state_string(), range(20))
    line = w.state_string()
    out["Explorer2D.from_state(line)"] = _timed(lambda _: Explorer2D.from_state(line).close(), range(8))
    return out


def main():
    rows, png_size = bench_explorer2d()
    rows.update(bench_display_and_state())
    try:
        rows.update(bench_basin())
    except ImportError as exc:  # BasinMap not there yet
        print(f"(basin map skipped: {exc})")
    naive = statistics.median(rows["naive interact (new figure + contour + PNG)"])
    print(f"{'pattern':52s} {'median ms':>10s} {'p90 ms':>8s} {'naive / this':>13s}")
    for name, times in rows.items():
        med = statistics.median(times)
        p90 = float(np.percentile(times, 90))
        ratio = f"{naive / med:13.1f}" if "explorer2d" in name else f"{'':13s}"
        print(f"{name:52s} {med:10.1f} {p90:8.1f} {ratio}")
    lr_med = statistics.median(rows["explorer2d lr move (blit + ipympl PNG)"])
    print(f"\nExplorer2D lr move: median {lr_med:.1f} ms (target < 16 ms), {naive / lr_med:.1f}x faster than "
          f"naive (target >= 8x); median ipympl frame {png_size / 1024:.1f} KiB")
    key = "basin map lr move (100x100 x 200 steps, draw + PNG)"
    if key in rows:
        print(f"BasinMap recompute median {statistics.median(rows['  of which recompute']):.1f} ms "
              f"(target < 100 ms); whole frame {statistics.median(rows[key]):.1f} ms")


if __name__ == "__main__":
    main()
