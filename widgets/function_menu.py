"""The ``function`` dropdown of the explorers: which surfaces it offers, and which one is selected.

Introduced with the lecture 03 explorers. :func:`function_choices` turns the ``functions`` argument (None:
every registered surface of the dimension; a list of names or Surfaces; False: no dropdown) into
``[(label, name or Surface), ...]``, always including the surface the explorer starts on.

Example::

    choices = function_choices(None, surfaces.get("rosenbrock"), dim=2)
    dropdown = function_dropdown(choices, surfaces.get("rosenbrock"), width="230px")
"""
from __future__ import annotations

import ipywidgets

from lecture_utils import surfaces

__all__ = ["function_choices", "choice_index", "function_dropdown", "resolve_choice"]


def function_choices(functions, s: surfaces.Surface, dim: int):
    """``[(label, name or Surface), ...]`` for the dropdown, or None when ``functions`` is False.

    Args:
        functions: None (every registered ``dim``-D surface, plus ``s`` when it is a custom one), a name, a
            Surface or a list of them (``s`` is put first when missing), or False.
        s: the surface the explorer starts on.
        dim: the surfaces' dimension (1 or 2).
    Raises ``ValueError`` for an empty list or a surface of another dimension.
    """
    if functions is False:
        return None
    if functions is None:
        items = surfaces.names(dim=dim)
        choices = [(n, n) for n in items]
        if s.name not in items:
            choices.append((s.name, s))
        return choices
    if isinstance(functions, (str, surfaces.Surface)):
        functions = [functions]
    choices = []
    for f in functions:
        sf = surfaces.as_surface(f, dim=dim, name="functions")
        choices.append((sf.name, f if isinstance(f, str) else sf))
    if not choices:
        raise ValueError(f"functions must hold at least one {dim}D surface name or Surface, or be None/False")
    if s.name not in [c[0] for c in choices]:
        choices.insert(0, (s.name, s))
    return choices


def choice_index(choices, s: surfaces.Surface) -> int:
    """Position of ``s`` (by name) in ``choices``; 0 when it is not there."""
    for i, (label, _) in enumerate(choices):
        if label == s.name:
            return i
    return 0


def function_dropdown(choices, s: surfaces.Surface, *, width: str | None = None) -> ipywidgets.Dropdown:
    """The ``function`` dropdown over ``choices`` (its values are positions in the list), ``s`` selected."""
    layout = ipywidgets.Layout(width=width) if width else ipywidgets.Layout()
    return ipywidgets.Dropdown(options=[(label, i) for i, (label, _) in enumerate(choices)],
                               value=choice_index(choices, s), description="function",
                               style={"description_width": "initial"}, layout=layout)


def resolve_choice(choices, index: int) -> surfaces.Surface:
    """The Surface behind entry ``index`` of ``choices`` (a registered name is built afresh)."""
    _, item = choices[index]
    return surfaces.get(item) if isinstance(item, str) else item
