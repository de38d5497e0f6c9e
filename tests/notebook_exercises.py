"""The coded exercises of the course's notebooks, read from the notebook files: which stub cell calls which checker,
and the reference solution in the ``<details>`` block below it. Shared by the checker tests and the browser tests
(a notebook with every stub replaced by its reference solution)."""
from __future__ import annotations

import ast
import copy
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
_CALL = re.compile(r"(lecture\d\d)\.(check_\w+)\((\w+)\)")


@dataclass
class Exercise:
    notebook: str        # file name
    cell: int            # index of the stub cell in the notebook's cells
    checker: str         # e.g. "lecture04.check_epoch_batches"
    function: str        # the name the stub defines and passes to the checker
    solution: str | None  # the python block of the <details> solution that defines ``function`` (imports + defs)


def _solution_blocks(cells) -> list[str]:
    blocks = []
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "<details" in text:
            blocks += [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]
    return blocks


def _definitions(block: str) -> str:
    """Only the imports and function definitions of a solution block (its usage lines need the notebook's state)."""
    tree = ast.parse(block)
    keep = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom))]
    lines = block.splitlines()
    return "\n\n".join("\n".join(lines[n.lineno - 1:n.end_lineno]) for n in keep)


def exercises(path: Path) -> list[Exercise]:
    """Every coded exercise of the notebook at ``path``: a code cell that defines a stub (``raise
    NotImplementedError``) and passes it to a checker."""
    cells = json.loads(Path(path).read_text())["cells"]
    blocks = _solution_blocks(cells)
    found = []
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "raise NotImplementedError" not in source:
            continue
        for module, checker, fn in _CALL.findall(source):
            solution = next((_definitions(b) for b in blocks if re.search(rf"^def {fn}\(", b, re.M)), None)
            found.append(Exercise(Path(path).name, i, f"{module}.{checker}", fn, solution))
    return found


def with_solutions(path: Path) -> dict:
    """The notebook at ``path`` with every stub replaced by its reference solution (the checker calls kept)."""
    nb = json.loads(Path(path).read_text())
    out = copy.deepcopy(nb)
    by_cell: dict[int, list[Exercise]] = {}
    for ex in exercises(path):
        if ex.solution is None:
            raise ValueError(f"{ex.notebook}: exercise {ex.checker}({ex.function}) has no <details> solution")
        by_cell.setdefault(ex.cell, []).append(ex)
    for index, group in by_cell.items():
        source = "".join(out["cells"][index]["source"])
        calls = "\n".join(line for line in source.splitlines() if _CALL.search(line))
        solutions = "\n\n".join(dict.fromkeys(ex.solution for ex in group))
        out["cells"][index]["source"] = (solutions + "\n\n" + calls + "\n").splitlines(keepends=True)
    for cell in out["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return out
