"""Errors inside a widget's callbacks are shown in the widget, never lost in a log (the house rule).

:func:`callback` decorates a widget method so that an exception raised inside it becomes a readable message in
the widget's ``output`` (an ``ipywidgets.Output``); :class:`ErrorOutput` is the part of
:class:`widgets.base.Widget` that shows, clears and reports those messages.

Example::

    class MyWidget(Widget):
        @callback
        def _on_lr(self, change):
            ...                     # a ValueError here shows as "on_lr: ValueError: ..." in the widget
"""
from __future__ import annotations

import functools
import traceback

__all__ = ["callback", "ErrorOutput"]


def callback(fn):
    """Decorate a widget method so that an exception inside it is shown in the widget, never lost in a log.

    The message names the callback and the error (``lr: ValueError: ...``); programming errors (anything
    other than ``ValueError``/``TypeError``/``ArithmeticError``) also get the last lines of the traceback.
    A later successful call of the same callback clears its message.
    """
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            out = fn(self, *args, **kwargs)
        except Exception as exc:  # shown to the student in the widget, by design
            self.show_error(exc, where=fn.__name__.lstrip("_"))
            return None
        self.clear_error(fn.__name__.lstrip("_"))
        return out
    return wrapper


class ErrorOutput:
    """Mixin of :class:`widgets.base.Widget`: the error messages in ``self.output`` (an ``ipywidgets.Output``),
    the list ``self.errors`` of every message shown, and which callback raised the one on screen."""

    def show_error(self, exc: BaseException, where: str = ""):
        """Show an exception raised inside a callback as a readable message in :attr:`output`."""
        head = f"{where}: " if where else ""
        msg = f"{head}{type(exc).__name__}: {exc}"
        if not isinstance(exc, (ValueError, TypeError, ArithmeticError)):
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-8:])
            msg = f"{msg}\n{tb}"
        self.errors.append(msg)
        self._error_source = where or None
        self.output.outputs = ({"output_type": "stream", "name": "stderr", "text": msg + "\n"},)

    def clear_error(self, where: str | None = None):
        """Remove the shown error message (kept in :attr:`errors`); with ``where``, only if that callback
        raised it."""
        if where is not None and self._error_source != where:
            return
        self._error_source = None
        self.output.outputs = ()

    @property
    def error(self) -> str:
        """The error message on screen now ('' if none)."""
        outs = self.output.outputs
        return outs[-1]["text"].rstrip("\n") if outs else ""
