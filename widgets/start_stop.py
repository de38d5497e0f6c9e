"""Start and stop for the widgets that train a net while the notebook stays usable (lectures 07 and 10).

:class:`StartStop` is a mixin of :class:`widgets.base.Widget`: the widget supplies ``run()`` (train to the end,
synchronously), ``_run_async()`` (the same, yielding to the kernel's event loop after each record and ending
early once ``_stop_requested`` is set) and a ``running`` flag, and wires its start and stop buttons to
``_on_start`` and ``_on_stop``. Used by :class:`widgets.dashboard.TrainingDashboard` and
:class:`widgets.sharpness.SharpnessWidget`.
"""
from __future__ import annotations

import asyncio

from .errors import callback

__all__ = ["StartStop"]


class StartStop:
    """*start* trains in the kernel's event loop (the sliders stay live) or, with no loop, synchronously; *stop*
    ends the run after its current record; closing the widget stops it and cancels its task."""

    _task = None
    _stop_requested = False

    @callback
    def _on_start(self, _button=None):
        self.start()

    @callback
    def _on_stop(self, _button=None):
        self.stop()

    def start(self):
        """What the *start* button does: train in the kernel's event loop if there is one, else :meth:`run`."""
        if self.running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self.run()
            return
        self._task = loop.create_task(self._run_async())

    def stop(self):
        """Ask the running training to stop after its current record (what the *stop* button does)."""
        self._stop_requested = True

    @property
    def task(self):
        """The ``asyncio.Task`` of the last *start* in an event loop (``await w.task`` waits for it); None
        before one, or after a synchronous run."""
        return self._task

    def _before_close(self):
        self.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super()._before_close()
