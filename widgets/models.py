"""The ipywidget models a widget makes, and closing all of them (lecture 01 on, every widget's ``close()``).

``ipywidgets.Widget.close`` closes one model only: its ``layout`` and ``style`` models stay open, and its
observers keep whatever they are bound to alive. :func:`close_models` follows a widget's synced traits
(children, ``layout``, ``style``, a canvas's ``toolbar``...) from the roots it is given, closes every model it
reaches and drops their observers and click handlers.

Example::

    from widgets.models import close_models
    box = ipywidgets.VBox([ipywidgets.IntSlider()]); close_models(box)   # 4 models: box, slider, 2 layouts...
"""
from __future__ import annotations

import ipywidgets

__all__ = ["models_under", "close_models"]


def models_under(roots) -> list:
    """Every ipywidget model reachable from ``roots`` (widgets, or lists, tuples and dicts of them) through
    the models' synced traits: children, ``layout``, ``style``, a canvas's ``toolbar``..."""
    found: dict = {}
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif isinstance(obj, ipywidgets.Widget) and id(obj) not in found:
            found[id(obj)] = obj
            for key in obj.keys:
                try:
                    val = getattr(obj, key)
                except Exception:  # a trait that cannot be read any more: nothing to follow
                    continue
                if isinstance(val, (ipywidgets.Widget, list, tuple)):
                    stack.append(val)
    return list(found.values())


def close_models(*roots) -> int:
    """Close every ipywidget model under ``roots`` (see :func:`models_under`) and drop its observers and
    click handlers, so nothing outside refers back to the widget that made them. Returns how many were closed.

    Example: ``close_models(box)``
    """
    models = models_under(roots)
    for m in models:
        m.close()
        m.unobserve_all()
        handlers = getattr(m, "_click_handlers", None)  # Button.on_click keeps its callbacks here
        if handlers is not None:
            handlers.callbacks.clear()
    return len(models)
