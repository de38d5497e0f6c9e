"""Every checker: a stub that still raises NotImplementedError is "not attempted yet" (one friendly line, no
error, so Run All goes on), and the exercise number it names is the one the notebook gives that exercise."""
import glob
import json
import re
from pathlib import Path

import pytest

import importlib
import pkgutil

import lecture_utils.checks
from lecture_utils.checks import CheckFailed

# every lecture's checker module, found in the package (a new lecture's checkers are covered without editing this)
MODULES = [importlib.import_module(f"lecture_utils.checks.{m.name}")
           for m in pkgutil.iter_modules(lecture_utils.checks.__path__) if m.name.startswith("lecture")]
CHECKERS = [(m.__name__.rsplit(".", 1)[1], name, getattr(m, name)) for m in MODULES for name in m.__all__
            if name.startswith("check_")]
ROOT = Path(__file__).resolve().parents[1]


def stub(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("module, name, checker", CHECKERS, ids=[c[1] for c in CHECKERS])
def test_a_stub_is_not_attempted_yet_and_not_an_error(module, name, checker, capsys):
    assert checker(stub) is None  # nothing for the notebook to display under the line
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"Exercise {checker.exercise} is not attempted yet")
    assert "raise NotImplementedError" in out[0]


@pytest.mark.parametrize("module, name, checker", CHECKERS, ids=[c[1] for c in CHECKERS])
def test_a_non_function_is_rejected_with_a_message(module, name, checker):
    with pytest.raises(CheckFailed, match="should be a function"):
        checker(42)


def _exercise_numbers():
    """(notebook, checker name) -> the number of the exercise whose text names the function the checker grades."""
    found = {}
    for path in sorted(glob.glob(str(ROOT / "notebooks" / "*.ipynb"))):
        nb = json.loads(Path(path).read_text())
        md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        section = md[md.find("## Exercises"):]
        for mod, fn in set(re.findall(r"(lecture\d\d)\.check_(\w+)\(", code)):
            at = section.find(f"`{fn}(")
            heads = [int(a or b) for a, b in re.findall(r"\*\*Exercise (\d+)|^(\d+)\. \*\*", section[:at], re.M)]
            found[(Path(path).name, f"{mod}.check_{fn}")] = heads[-1] if at >= 0 and heads else None
    return found


def test_checkers_name_the_exercise_numbers_the_notebooks_use():
    numbers = _exercise_numbers()
    assert numbers, "no checker calls found in the notebooks"
    by_name = {f"{m}.{n}": c for m, n, c in CHECKERS}
    wrong = {k: (v, by_name[k[1]].exercise) for k, v in numbers.items() if v != by_name[k[1]].exercise}
    assert not wrong, f"(notebook, checker): (number in the notebook, number the checker says): {wrong}"
