"""The one-call notebook setup: figure backend, Colab widget manager, seed and device (lecture 00).

Example (the first code cell of every notebook)::

    from widgets import notebook_setup
    device = notebook_setup()
"""
from __future__ import annotations

import os
import platform
import sys

__all__ = ["notebook_setup", "choose_backend", "environment_report", "live_figures_failed", "fit_pyplot_figures"]


def _ipympl_importable() -> tuple[bool, str]:
    # Never `import ipympl` here: importing it switches matplotlib's backend as a side effect.
    import importlib.util

    try:
        found = importlib.util.find_spec("ipympl") is not None
    except Exception as exc:  # a broken install means: no live figures
        return False, f"{type(exc).__name__}: {exc}"
    return found, "" if found else "ipympl is not installed"


def _in_kernel(shell) -> bool:
    """True for an IPython kernel (Jupyter, Colab, nbval), False for a plain or terminal IPython."""
    return shell is not None and getattr(shell, "kernel", None) is not None


def choose_backend(*, in_colab: bool, in_kernel: bool, has_ipympl: bool, live: bool = True,
                   reason: str = "") -> tuple[str | None, str]:
    """Decide the matplotlib backend for a notebook, as a pure function of where we run.

    Returns ``(backend, message)``: ``backend`` is ``"widget"`` (ipympl, live figures), ``"inline"`` (static
    images) or ``None`` (not in a kernel: leave matplotlib alone), and ``message`` the one line to print.
    ``reason`` says why live figures are unavailable when ``has_ipympl`` is False (default: not installed).
    Example: ``choose_backend(in_colab=False, in_kernel=True, has_ipympl=True)`` -> ``("widget", ...)``
    """
    where = " on Colab" if in_colab else ""
    if not in_kernel:
        return None, "Figures: not in a notebook kernel, so widgets draw static images."
    if not live:
        return "inline", f"Figures: static images{where} (live=False); widgets redraw a picture after each change."
    if not has_ipympl:
        return "inline", (f"Figures: static images{where} ({reason or 'ipympl is not installed'}); widgets redraw "
                          "a picture after each change.")
    return "widget", f"Figures: live (ipympl){where}; drag the sliders, click the plots."


#: What Colab's matplotlib says when it refuses ipympl's backend after a pip install (Colab issues 5155, 5425).
COLAB_BACKEND_ERROR = "is not a valid value for backend"


def live_figures_failed(exc: BaseException, in_colab: bool = False) -> str:
    """The one line ``notebook_setup`` prints when ``%matplotlib widget`` fails: why, and what still works."""
    text = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    if COLAB_BACKEND_ERROR in str(exc):
        why = ("Colab's matplotlib refuses ipympl's backend after installing the course (a known Colab problem, "
               "issues 5155 and 5425)")
    else:
        why = f"live figures failed to start: {type(exc).__name__}: {text}"
    return (f"Figures: static images{' on Colab' if in_colab else ''} ({why}); the sliders, buttons and boxes "
            f"still work, and each change redraws the picture.")


def fit_pyplot_figures(shell) -> bool:
    """Show pyplot figures too wide for the notebook column as pictures that shrink to it (live figures only).

    With ipympl, ``plt.show()`` shows a canvas of a fixed size in pixels: a 15-inch figure would be cut at the
    column's right edge. This registers :func:`widgets.figures.canvas_bundle` for ipympl's canvas with the
    kernel's display formatter, so such a figure arrives as a PNG (figures that fit stay live). Returns True
    when it was registered (False for a shell without display formatters). Example: ``fit_pyplot_figures(ip)``
    """
    from .figures import canvas_bundle

    formatter = getattr(getattr(shell, "display_formatter", None), "mimebundle_formatter", None)
    if formatter is None:
        return False
    formatter.for_type_by_name("ipympl.backend_nbagg", "Canvas", canvas_bundle)
    return True


def notebook_setup(seed: int | None = None, live: bool = True):
    """Prepare a notebook: live figures when possible, Colab's widget manager, seeds; return the device.

    Picks the ipympl backend (``%matplotlib widget``) in an IPython kernel where ipympl imports, the inline
    backend otherwise, printing one line saying which; on Colab first enables the custom widget manager.
    With live figures, a pyplot figure wider than the notebook column is shown as a picture that shrinks to
    it (:func:`fit_pyplot_figures`).
    Then calls :func:`lecture_utils.set_seed` and returns :func:`lecture_utils.get_device`.

    Args:
        seed: seed for python, numpy and torch; None (the default) takes the course's base seed,
            :func:`lecture_utils.base_seed` (the ``COURSE_SEED`` environment variable, 0 when unset), from
            which every other seed of the notebook derives.
        live: ``False`` asks for static images even where ipympl works (faster for exporting).
    Returns:
        the ``torch.device`` to train on.
    Example: ``device = notebook_setup()``
    """
    from lecture_utils import base_seed, get_device, set_seed
    from lecture_utils._validate import check_int

    seed = base_seed() if seed is None else check_int("seed", seed, low=0, high=2**32 - 1)
    if not isinstance(live, bool):
        raise TypeError(f"live must be True or False, got {live!r}")
    in_colab = "google.colab" in sys.modules
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    has_ipympl, why = _ipympl_importable() if live else (False, "")
    if in_colab and live and has_ipympl:
        try:
            from google.colab import output  # type: ignore[import-not-found]

            output.enable_custom_widget_manager()
        except Exception as exc:  # Colab changed: fall back to pictures rather than blank widgets
            has_ipympl, why = False, f"Colab's custom widget manager failed: {exc}"
    backend, message = choose_backend(in_colab=in_colab, in_kernel=_in_kernel(shell), has_ipympl=has_ipympl,
                                      live=live, reason=why)
    if backend is not None:
        try:
            shell.run_line_magic("matplotlib", backend)
            if backend == "widget":
                fit_pyplot_figures(shell)
        except Exception as exc:  # live figures failed to start: every widget still works with pictures
            if backend == "widget":
                shell.run_line_magic("matplotlib", "inline")
                message = live_figures_failed(exc, in_colab)
            else:
                message = f"Figures: matplotlib's default backend ({type(exc).__name__}: {exc})."
    print(message)
    set_seed(seed)
    return get_device()


def environment_report() -> dict:
    """Versions and hardware of this environment, for lecture 00's check (and bug reports).

    Returns a dict with keys ``python``, ``platform``, ``torch``, ``numpy``, ``matplotlib``, ``ipywidgets``,
    ``ipympl`` (``None`` when missing), ``backend``, ``device``, ``cpu_count``, ``cuda_available``,
    ``mps_available``, ``colab``. Example: ``environment_report()["torch"]`` -> ``'2.13.0+cpu'``
    """
    import ipywidgets
    import matplotlib
    import numpy
    import torch

    from lecture_utils import get_device

    from importlib.metadata import PackageNotFoundError, version

    try:
        ipympl_version = version("ipympl")
    except PackageNotFoundError:
        ipympl_version = None
    mps = getattr(torch.backends, "mps", None)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "ipywidgets": ipywidgets.__version__,
        "ipympl": ipympl_version,
        "backend": str(matplotlib.get_backend()),
        "device": str(get_device()),
        "cpu_count": os.cpu_count(),
        "cuda_available": bool(torch.cuda.is_available()),
        "mps_available": bool(mps is not None and mps.is_available()),
        "colab": "google.colab" in sys.modules,
    }
