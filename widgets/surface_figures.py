"""Static figures of a 2D function (lecture 02): its partial slices, its tangent plane, its gradient field.

Each function draws on a new figure outside pyplot (:func:`widgets.figures.new_figure`) unless given one, and
attaches what it computed to the figure or axes (``fig.slices``, ``fig.partials``, ``fig.plane``,
``ax.field``) so a notebook's assert can check the picture's claim.

Example::

    from widgets.surface_figures import plot_partial_slices
    from widgets.figures import show_png
    show_png(plot_partial_slices("lecture_2d", (0.0, 0.0)))
"""
from __future__ import annotations

import numpy as np

from lecture_utils import surfaces
from lecture_utils._validate import check_array, check_real

from .figures import new_figure
from .style import color

__all__ = ["plot_partial_slices", "plot_tangent_plane", "plot_gradient_field"]


def _linear_term(coef: float, var: str, at: float) -> str:
    sign = "-" if coef < 0 else "+"
    arg = var if at == 0 else f"({var} {'-' if at > 0 else '+'} {abs(at):g})"
    return f" {sign} {abs(coef):.2f}{arg}"


def plot_partial_slices(surface="lecture_2d", point=(0.0, 0.0), *, half_width: float = 1.5, fig=None):
    """The surface in 3D cut by the planes ``y = p_y`` and ``x = p_x``, and the two slices as 1D curves with
    their tangents, whose slopes are the partial derivatives (lecture 02).

    Returns:
        the figure; ``fig.slices`` holds ``{"x": (t, f(t, p_y)), "y": (t, f(p_x, t))}`` and ``fig.partials``
        the analytic ``(df/dx, df/dy)`` at ``p``.
    Example: ``fig = plot_partial_slices("lecture_2d", (0.0, 0.0))``
    """
    s = surfaces.as_surface(surface, dim=2)
    p = check_array("point", point, ndim=1)
    hw = check_real("half_width", half_width, low=0.0, low_open=True)
    if fig is None:
        fig = new_figure((13.0, 4.2), layout=None)  # laid out by the gridspec below
    gs = fig.add_gridspec(1, 3, width_ratios=[1.25, 1, 1], left=0.01, right=0.985, bottom=0.13, top=0.9,
                          wspace=0.28)
    ax3 = fig.add_subplot(gs[0], projection="3d")
    axx = fig.add_subplot(gs[1])
    axy = fig.add_subplot(gs[2])
    X, Y, Z = s.grid(60, bounds=[(p[0] - hw, p[0] + hw), (p[1] - hw, p[1] + hw)])
    ax3.plot_surface(X, Y, Z, cmap="viridis", alpha=0.5, linewidth=0, antialiased=True)
    t = np.linspace(-hw, hw, 201)  # odd: p itself is a sample
    fx = s.value(np.stack([p[0] + t, np.full_like(t, p[1])], axis=1))
    fy = s.value(np.stack([np.full_like(t, p[0]), p[1] + t], axis=1))
    ax3.plot(p[0] + t, np.full_like(t, p[1]), fx, color=color(1), lw=2.5, label=f"cut y = {p[1]:g}")
    ax3.plot(np.full_like(t, p[0]), p[1] + t, fy, color=color(0), lw=2.5, label=f"cut x = {p[0]:g}")
    ax3.scatter([p[0]], [p[1]], [s.value(p)], color="black", s=30)
    ticks = np.linspace(-1, 1, 3) * round(hw)
    ax3.set_xticks(p[0] + ticks)
    ax3.set_yticks(p[1] + ticks)
    ax3.set_xlabel("x")
    ax3.set_ylabel("y")
    ax3.set_zlabel("f(x, y)", labelpad=2)
    ax3.set_title("two vertical cuts through p")
    ax3.legend(loc="upper left", fontsize=8)
    g = s.grad(p)
    fp = float(s.value(p))
    for ax, vals, slope, name, c in ((axx, fx, g[0], "x", color(1)), (axy, fy, g[1], "y", color(0))):
        base = p[0] if name == "x" else p[1]
        other = "y" if name == "x" else "x"
        ax.plot(base + t, vals, color=c, lw=2.0, label=f"f with {other} fixed at {p[1] if name == 'x' else p[0]:g}")
        near = np.array([-0.4, 0.4]) * hw
        ax.plot(base + near, fp + slope * near, color="black", ls="--", lw=1.4,
                label=rf"tangent, slope $\partial f/\partial {name}$ = {slope:.3f}")
        ax.plot([base], [fp], "o", color="black")
        ax.set_xlabel(name)
        ax.set_ylabel(f"f(x, {p[1]:g})" if name == "x" else f"f({p[0]:g}, y)")
        ax.set_title(f"slice along {name}: its slope is " + rf"$\partial f/\partial {name}$")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    fig.slices = {"x": (p[0] + t, fx), "y": (p[1] + t, fy)}
    fig.partials = (float(g[0]), float(g[1]))
    return fig


def plot_tangent_plane(surface="lecture_2d", point=(0.0, 0.0), *, half_width: float = 1.0, fig=None):
    """The surface near ``p`` in 3D with its tangent plane ``f(p) + grad f(p) . (q - p)`` (lecture 02).

    Returns:
        the figure; ``fig.plane`` holds the plane's ``(X, Y, Z)`` meshes.
    Example: ``plot_tangent_plane("lecture_2d", (0.0, 0.0))``
    """
    s = surfaces.as_surface(surface, dim=2)
    p = check_array("point", point, ndim=1)
    hw = check_real("half_width", half_width, low=0.0, low_open=True)
    fig = fig or new_figure((6.0, 5.0))
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    X, Y, Z = s.grid(50, bounds=[(p[0] - hw, p[0] + hw), (p[1] - hw, p[1] + hw)])
    ax.plot_surface(X, Y, Z, cmap="viridis", alpha=0.6, linewidth=0)
    g = s.grad(p)
    fp = float(s.value(p))
    PX, PY = np.meshgrid(np.linspace(p[0] - 0.6 * hw, p[0] + 0.6 * hw, 11),
                         np.linspace(p[1] - 0.6 * hw, p[1] + 0.6 * hw, 11))
    PZ = fp + g[0] * (PX - p[0]) + g[1] * (PY - p[1])
    ax.plot_surface(PX, PY, PZ, color=color(1), alpha=0.45, linewidth=0)
    ax.plot_wireframe(PX, PY, PZ, color=color(1), linewidth=0.6, rstride=2, cstride=2)
    ax.scatter([p[0]], [p[1]], [fp], color="black", s=40, depthshade=False)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("f(x, y)")
    ax.set_title(f"tangent plane at p = ({p[0]:g}, {p[1]:g}):\n"
                 f"z = {fp:.2f}{_linear_term(g[0], 'x', p[0])}{_linear_term(g[1], 'y', p[1])}", fontsize=10)
    fig.plane = (PX, PY, PZ)
    return fig


def plot_gradient_field(surface="lecture_2d", *, num_arrows: int = 17, ax=None, levels: int = 16):
    """Contour lines of ``f`` with the gradient's direction on a grid (arrows of one length) (lecture 02).

    Returns:
        the axes; ``ax.field`` holds ``(points (k, 2), grads (k, 2))``.
    Example: ``plot_gradient_field("lecture_2d")``
    """
    s = surfaces.as_surface(surface, dim=2)
    if ax is None:
        ax = new_figure((6.2, 5.4)).add_subplot(1, 1, 1)
    X, Y, Z = s.grid(200)
    cs = ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=1.1)
    ax.figure.colorbar(cs, ax=ax, label="f(x, y) on the contour lines")
    (x0, x1), (y0, y1) = s.bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, num_arrows), np.linspace(y0, y1, num_arrows))
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    G = s.grad(pts)
    n = np.linalg.norm(G, axis=1, keepdims=True)
    U = np.divide(G, n, out=np.zeros_like(G), where=n > 1e-12)
    ax.quiver(pts[:, 0], pts[:, 1], U[:, 0], U[:, 1], color="black", angles="xy", scale_units="xy",
              scale=num_arrows / (0.7 * (x1 - x0)), width=0.0045, pivot="middle")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(r"direction of $\nabla f$ (arrows, all one length)" "\nacross the contour lines of $f$",
                 fontsize=10)
    ax.field = (pts, G)
    return ax
