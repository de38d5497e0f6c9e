"""The layout of the packages: what every module exports exists, modules stay short enough to read in class, and
no module reaches into another's private attributes."""
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import lecture_utils
import widgets

ROOT = Path(__file__).resolve().parents[1]


def _modules(pkg):
    yield pkg.__name__
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        yield info.name


MODULES = sorted(set(_modules(lecture_utils)) | set(_modules(widgets)))


@pytest.mark.parametrize("name", MODULES)
def test_every_name_in_all_exists(name):
    mod = importlib.import_module(name)
    missing = [n for n in getattr(mod, "__all__", []) if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"


def _sources():
    for pkg in ("lecture_utils", "widgets"):
        yield from sorted((ROOT / pkg).rglob("*.py"))


def test_no_module_is_over_about_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _sources() if (n := len(p.read_text().splitlines())) > 420}
    assert not long, f"split these by concept: {long}"


def test_modules_are_named_after_concepts_not_lectures():
    bad = [str(p.relative_to(ROOT)) for p in _sources() if re.search(r"lecture\d", p.name) and "checks" not in p.parts]
    assert not bad, bad


def test_no_module_reads_the_private_state_of_a_surface():
    """Surface's ``_value``, ``_grad``, ``_hess``, ``_critical``, ``_known`` are read only inside surfaces.py."""
    pattern = re.compile(r"\._(value|grad|hess|critical|known)\b")
    offenders = []
    for p in list(_sources()) + sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py")):
        if p.name == "surfaces.py" and p.parent.name == "lecture_utils":
            continue
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if pattern.search(line) and "self._" not in line and "pattern" not in line:
                offenders.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
