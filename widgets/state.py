"""Prepared demos: a widget's settings saved to a small JSON file or a one-line string, and restored exactly.

Part of :class:`widgets.base.Widget` (introduced in lecture 00, for instructors). A widget's state is what it was
built with (surface or formula, optimizers and their fixed hyperparameters, sizes, ...), the value of every
control (learning rates, momenta, start point, steps, the step shown, the view, the menus), what a control
cannot hold (formulas typed into the formula box, a start point set by a click) and whether it is in presenter
mode. :meth:`SavedState.save_state` writes it as JSON, :meth:`SavedState.state_string` as one line to paste
into a cell or a slide, and ``Class.from_state(file or line)`` builds the same widget again, with every
control as saved. ``w.load_state(...)`` applies a state to a widget that exists already (a training dashboard
whose nets are functions, which no file can hold). A state from another kind of widget, a control the widget
does not have, or a value a control cannot take is refused with a message saying which and why.

What cannot be written down (a function, a data set, a surface or optimizer defined in code) is saved as
missing: ``from_state`` then asks for it by name (``TrainingDashboard.from_state(line, configs=..., data=...)``).

Example::

    w = Explorer2D("rosenbrock", ["sgd", "adam"]); w.set(lr=0.002, step=120)
    w.save_state("demo.json")            # before class
    Explorer2D.from_state("demo.json")   # in class: the same widget, the same setting
    line = w.state_string()              # 'lecture-widget/1:eNp...' (paste it anywhere)
"""
from __future__ import annotations

import base64
import functools
import inspect
import json
import math
import os
import pathlib
import zlib

import ipywidgets
import numpy as np

__all__ = ["SavedState", "StateError", "FORMAT", "PREFIX", "encode", "decode", "read_state"]

#: Version of the state format (a file says which one it is).
FORMAT = 1
#: Start of the one-line form: the rest is the JSON, compressed and base64-encoded (URL-safe).
PREFIX = f"lecture-widget/{FORMAT}:"
#: Widgets whose controls take the value given (a toggle, a text box...), not a value clamped into a range.
_BUTTONS = (ipywidgets.Button, ipywidgets.Play)


class StateError(ValueError):
    """A saved state that cannot be restored here (another widget's, a bad value, a damaged line)."""


# ---------------------------------------------------------------------------------------------------------
# Writing values down: JSON scalars and lists as they are, everything else as a one-key tagged object.
# ---------------------------------------------------------------------------------------------------------
def encode(value, where: str = "value"):
    """``value`` as JSON data: numbers, strings, lists as they are; arrays, dicts, surfaces, optimizers,
    least-squares problems and sums of sinusoids as tagged objects (``{"surface": {...}}``); anything else
    (a function, a data set) as ``{"missing": "<what it is>"}``. Example: ``encode((1, 2.5))`` -> ``[1, 2.5]``
    """
    from lecture_utils import continuation, optim, problems, surfaces

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else {"float": repr(v)}
    if isinstance(value, (list, tuple)):
        return _whole([encode(v, f"{where}[{i}]") for i, v in enumerate(value)], "list")
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"array": encode(value.tolist(), where)}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: encode(v, f"{where}[{k!r}]") for k, v in value.items()}
        whole = _whole(list(items.values()), "dict")
        return whole if isinstance(whole, dict) else {"dict": items}
    if isinstance(value, surfaces.Surface):
        spec = surface_spec(value)
        return {"surface": spec} if spec is not None else {"missing": f"the surface {value.name!r}, defined in code"}
    if isinstance(value, optim.Optimizer):
        if type(value).__module__ != optim.__name__:
            return {"missing": f"a {type(value).__name__} optimizer, a class defined in code (name it instead: "
                               f"'gd', 'sgd', 'momentum', 'adam', ...)"}
        return {"optimizer": {"class": type(value).__name__, "hyperparameters": encode(value.hyperparameters())}}
    if type(value) is problems.LeastSquares:
        return {"least_squares": {"X": encode(np.asarray(value.X)), "y": encode(np.asarray(value.y))}}
    if type(value) is continuation.SinusoidSum:
        return {"sinusoid_sum": {k: encode(getattr(value, k)) for k in
                                 ("amplitudes", "frequencies", "phases", "quadratic", "linear", "bounds")}}
    kind = "a function" if callable(value) else f"a {type(value).__name__}"
    return {"missing": kind}


def _whole(items: list, kind: str):
    """``items``, or one ``missing`` entry for all of them when any is missing (a dict of functions, say)."""
    gone = [x["missing"] for x in items if isinstance(x, dict) and set(x) == {"missing"}]
    return {"missing": f"a {kind} holding {gone[0]}"} if gone else items


def decode(data, where: str = "value"):
    """The value :func:`encode` wrote down (lists come back as lists). A ``missing`` entry raises
    ``StateError``. Example: ``decode({"array": [1, 2]})`` -> ``array([1, 2])``"""
    from lecture_utils import continuation, optim, problems

    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, f"{where}[{i}]") for i, v in enumerate(data)]
    if not (isinstance(data, dict) and len(data) == 1):
        raise StateError(f"{where}: not a saved value ({str(data)[:60]})")
    (tag, payload), = data.items()
    if tag == "float":
        return float(payload)
    if tag == "array":
        return np.asarray(decode(payload, where))
    if tag == "dict":
        return {k: decode(v, f"{where}[{k!r}]") for k, v in payload.items()}
    if tag == "surface":
        return build_surface(payload)
    if tag == "optimizer":
        cls = getattr(optim, str(payload.get("class")), None)
        if not (isinstance(cls, type) and issubclass(cls, optim.Optimizer)):
            raise StateError(f"{where}: unknown optimizer class {payload.get('class')!r}")
        hp = decode(payload.get("hyperparameters", {"dict": {}}), where)
        if "beta1" in hp:
            hp["betas"] = (hp.pop("beta1"), hp.pop("beta2"))
        return cls(**hp)
    if tag == "least_squares":
        return problems.LeastSquares(decode(payload["X"], where), decode(payload["y"], where))
    if tag == "sinusoid_sum":
        kw = {k: decode(v, where) for k, v in payload.items()}
        return continuation.SinusoidSum(kw.pop("amplitudes"), kw.pop("frequencies"), kw.pop("phases"), **kw)
    raise StateError(f"{where}: unknown kind of saved value {tag!r}")


def surface_spec(s) -> dict | None:
    """How to build ``s`` again (a registered name and its parameters, a quadratic's matrix, a typed formula),
    checked by rebuilding it and comparing values on a grid; None when ``s`` was defined in code."""
    from lecture_utils import surfaces

    candidates = []
    if s.name in surfaces.names():
        scalars = {k: v for k, v in s.params.items()
                   if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))}
        candidates.append({"name": s.name, "params": scalars})
        candidates += [{"name": s.name, "params": {k: v for k, v in scalars.items() if k != drop}}
                       for drop in scalars]
    if {"A", "b", "c"} <= set(s.params):
        candidates.append({"quadratic": {"A": np.asarray(s.params["A"]).tolist(),
                                         "b": np.asarray(s.params["b"]).tolist(), "c": float(s.params["c"])}})
    candidates.append({"expression": s.name})
    shown = {"bounds": [list(b) for b in s.bounds], "dim": s.dim, "label": s.name, "formula": s.formula}
    for spec in candidates:
        spec = dict(encode(spec)["dict"], **encode(shown)["dict"])
        try:
            rebuilt = build_surface(spec)
        except Exception:  # not this way: try the next
            continue
        if _same_values(s, rebuilt):
            return spec
    return None


def build_surface(spec: dict):
    """The surface :func:`surface_spec` describes (its box, name and title as saved)."""
    from lecture_utils import custom_surfaces, surfaces

    spec = {k: decode(v, "surface") for k, v in spec.items()}
    bounds = [tuple(b) for b in spec["bounds"]]
    if "name" in spec:
        s = surfaces.get(spec["name"], **spec.get("params", {}))
        if [tuple(b) for b in s.bounds] != bounds:
            s = s.with_bounds(bounds)
    elif "quadratic" in spec:
        q = spec["quadratic"]
        s = surfaces.from_quadratic(q["A"], q["b"], q["c"], bounds=bounds, name=spec["label"])
    elif "expression" in spec:
        s = custom_surfaces.from_expression(spec["expression"], bounds=bounds, dim=spec["dim"])
    else:
        raise StateError(f"not a saved surface: {sorted(spec)}")
    if s.dim != spec["dim"]:
        raise StateError(f"the saved surface has dimension {spec['dim']}, this one {s.dim}")
    s.name, s.formula = spec["label"], spec["formula"]
    return s


def _same_values(a, b) -> bool:
    if a.dim != b.dim or [tuple(x) for x in a.bounds] != [tuple(x) for x in b.bounds]:
        return False
    axes = [np.linspace(lo, hi, 7 if a.dim <= 2 else 3) for lo, hi in a.bounds[:3]]
    grid = np.stack(np.meshgrid(*axes), axis=-1).reshape(-1, len(axes))
    if a.dim > 3:
        grid = np.hstack([grid, np.full((len(grid), a.dim - 3), 0.3)])
    with np.errstate(all="ignore"):
        va, vb = np.asarray(a.value(grid), dtype=float), np.asarray(b.value(grid), dtype=float)
    return bool(np.allclose(va, vb, rtol=1e-12, atol=1e-12, equal_nan=True))


def read_state(state) -> dict:
    """A state as a dict, from a dict, a one-line string (:data:`PREFIX`...), JSON text or a JSON file's path."""
    if isinstance(state, dict):
        data = state
    elif isinstance(state, (str, os.PathLike)):
        text = str(state).strip() if isinstance(state, str) else None
        if text is not None and text.startswith(PREFIX):
            try:
                raw = zlib.decompress(base64.urlsafe_b64decode(text[len(PREFIX):].encode("ascii")))
                data = json.loads(raw.decode("utf-8"))
            except Exception as exc:
                raise StateError(f"this line is not a whole widget state (copied only in part?): "
                                 f"{type(exc).__name__}") from None
        elif text is not None and text.startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise StateError(f"not a widget state: the JSON text is broken ({exc})") from None
        else:
            path = pathlib.Path(state)
            if not path.is_file():
                raise StateError(f"no widget state at {str(state)[:80]!r}: give a file saved by save_state, a line "
                                 f"from state_string (starting {PREFIX!r}) or a dict")
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise StateError(f"{path} is not a widget state file: {exc}") from None
    else:
        raise TypeError(f"a widget state is a file path, a line from state_string or a dict, "
                        f"got {type(state).__name__}")
    if not isinstance(data, dict) or "widget" not in data or "controls" not in data:
        raise StateError("not a widget state: it has no 'widget' and 'controls' entries")
    if data.get("format") != FORMAT:
        raise StateError(f"this state has format {data.get('format')!r}; this version of the course reads {FORMAT}")
    return data


def _recording(init):
    """Wrap a widget's ``__init__`` so the outermost call keeps the arguments it was given."""
    sig = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        if "_init_arguments" not in self.__dict__:
            try:
                bound = sig.bind(self, *args, **kwargs)
            except TypeError:  # the call is wrong: __init__ says how
                return init(self, *args, **kwargs)
            arguments = dict(bound.arguments)
            arguments.pop(next(iter(sig.parameters)))
            self.__dict__["_init_arguments"] = arguments
        return init(self, *args, **kwargs)
    return wrapper


# ---------------------------------------------------------------------------------------------------------
class SavedState:
    """Mixin of :class:`widgets.base.Widget`: :meth:`state`, :meth:`save_state`, :meth:`state_string`,
    :meth:`load_state` and :meth:`from_state`.

    Subclasses may set ``_state_first`` (controls restored before the others, because changing them resets
    others: the surface menu resets the rates) and extend :meth:`_state_extra` / :meth:`_load_extra` for what
    no control holds.
    """

    _state_first: tuple = ("function", "formula", "surface", "kappa", "method", "methods")
    _state_last: tuple = ("num_steps", "step")
    _state_skip: tuple = ("play",)
    #: Constructor arguments that describe this machine, not the setting (never saved).
    _state_unsaved_args: tuple = ("live", "device")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording(cls.__init__)

    # ---- writing ---------------------------------------------------------------------------------------
    def _saved_controls(self) -> dict:
        out = {}
        for name, control in self.controls.items():
            if name in self._state_skip or isinstance(control, _BUTTONS) or not hasattr(control, "value"):
                continue
            out[name] = encode(control.value, f"controls[{name!r}]")
        return out

    def _state_extra(self) -> dict:
        """What no control holds (typed formulas, a clicked start point); none by default."""
        return {}

    def state(self) -> dict:
        """The widget's state as a dict (JSON data): what :meth:`save_state` writes."""
        args = {k: encode(v, k) for k, v in getattr(self, "_init_arguments", {}).items()
                if k not in self._state_unsaved_args}
        return {"widget": type(self).__name__, "format": FORMAT, "arguments": args,
                "controls": self._saved_controls(), "extra": encode(self._state_extra()),
                "presenter": bool(self.presenter)}

    def save_state(self, path) -> pathlib.Path:
        """Write :meth:`state` to the JSON file ``path``; returns its path. Example: ``w.save_state("demo.json")``"""
        path = pathlib.Path(path)
        path.write_text(json.dumps(self.state(), indent=1) + "\n", encoding="utf-8")
        return path

    def state_string(self) -> str:
        """The state as one line of text (``lecture-widget/1:...``) to paste into a cell or a slide;
        ``Class.from_state(line)`` reads it. Example: ``print(w.state_string())``"""
        raw = json.dumps(self.state(), separators=(",", ":")).encode("utf-8")
        return PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii")

    # ---- reading ---------------------------------------------------------------------------------------
    @classmethod
    def _check_kind(cls, data):
        if data["widget"] != cls.__name__:
            raise StateError(f"this state was saved from {_a(data['widget'])}, not {_a(cls.__name__)}: "
                             f"use {data['widget']}.from_state(...)")

    @classmethod
    def from_state(cls, state, **arguments):
        """A new widget built and set as ``state`` says (a file from :meth:`save_state`, a line from
        :meth:`state_string`, or a dict). ``arguments`` replace saved constructor arguments, and give those
        that could not be saved (the state names them). Example: ``Explorer2D.from_state("demo.json")``"""
        data = read_state(state)
        cls._check_kind(data)
        saved = data.get("arguments", {})
        kwargs = {}
        for name, value in saved.items():
            if name in arguments:
                continue
            if isinstance(value, dict) and set(value) == {"missing"}:
                raise StateError(f"{cls.__name__}.from_state needs {name}=...: it was {value['missing']}, which a "
                                 f"saved state cannot hold")
            kwargs[name] = decode(value, name)
        kwargs.update(arguments)
        try:
            widget = cls(**kwargs)
        except StateError:
            raise
        except (TypeError, ValueError) as exc:
            raise StateError(f"the saved arguments do not build a {cls.__name__}: {exc}") from exc
        widget._apply_state(data)
        return widget

    def load_state(self, state) -> None:
        """Set this widget's controls (and presenter mode) as ``state`` says; the constructor arguments are not
        changed (build with :meth:`from_state` for those). A value a control cannot take stops the restore
        there, with a ``StateError`` naming it. Example: ``dash.load_state("demo.json")``"""
        data = read_state(state)
        self._check_kind(data)
        self._apply_state(data)

    def _check_controls(self, controls: dict) -> dict:
        unknown = sorted(set(controls) - set(self.controls))
        if unknown:
            raise StateError(f"the state sets control(s) {unknown} that this {type(self).__name__} does not have "
                             f"(it has {sorted(self.controls)})")
        values = {}
        for name, raw in controls.items():
            value = decode(raw, f"controls[{name!r}]")
            if isinstance(self.controls[name].value, tuple) and isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return values

    def _apply_state(self, data: dict) -> None:
        values = self._check_controls(data["controls"])
        extra = decode(data.get("extra", {"dict": {}}), "extra")
        order = [n for n in self._state_first if n in values]
        order += [n for n in values if n not in order and n not in self._state_last]
        order += [n for n in self._state_last if n in values]
        with self.hold_redraw():
            self._load_extra(extra, before_controls=True)
            for name in order:
                # Checked when it is set: a range can follow an earlier control (the step slider's, num_steps).
                problem = _refusal(self.controls[name], values[name])
                if problem:
                    raise StateError(f"controls[{name!r}] = {values[name]!r} is refused: {problem}")
                self.controls[name].value = values[name]
            self._load_extra(extra, before_controls=False)
        if bool(data.get("presenter", False)) != self.presenter:
            self.set_presenter(bool(data.get("presenter", False)))
        if self.error:
            raise StateError(f"restoring the state failed: {self.error}")

    def _load_extra(self, extra: dict, before_controls: bool) -> None:
        """Restore what :meth:`_state_extra` saved (called before and after the controls are set)."""


def _a(name: str) -> str:
    return f"{'an' if str(name)[:1] in 'AEIOU' else 'a'} {name}"


def _refusal(control, value) -> str:
    """Why ``control`` cannot take ``value`` exactly ('' when it can): ipywidgets would clamp a slider's value
    into its range or coerce a type without a word, and a demo must come back exactly as saved."""
    current = control.value
    if isinstance(current, bool) != isinstance(value, bool):
        return f"it takes {type(current).__name__} values"
    if isinstance(current, (int, float)) and not isinstance(current, bool):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return "it takes a finite number"
        if isinstance(control, ipywidgets.FloatLogSlider):
            low, high = control.base ** control.min, control.base ** control.max
        else:
            low, high = getattr(control, "min", None), getattr(control, "max", None)
        if low is not None and not (low * (1 - 1e-12) - 1e-300 <= value <= high * (1 + 1e-12) + 1e-300):
            return f"outside its range [{low:g}, {high:g}]"
        if isinstance(current, int) and int(value) != value:
            return "it takes whole numbers"
    elif isinstance(current, str) and not isinstance(value, str):
        return "it takes text"
    options = getattr(control, "options", None)
    if options is not None and not isinstance(control, ipywidgets.Text):
        allowed = [o[1] if isinstance(o, tuple) else o for o in options]
        chosen = value if isinstance(value, tuple) else (value,)
        if isinstance(control, ipywidgets.SelectMultiple):
            bad = [v for v in chosen if v not in allowed]
        else:
            bad = [] if value in allowed else [value]
        if bad:
            return f"not among its options {allowed}"
    return ""
