"""The set-up files agree with each other."""
import pathlib
import re
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"pytorch-cpu": "torch", "pytorch": "torch"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower()


def _conda_deps():
    deps, in_deps = [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - (\S+.*)$", line)
        if in_deps and m and not m.group(1).startswith("pip:"):
            deps.append(m.group(1))
    return deps


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = {_name(d) for d in project["dependencies"]}
    conda = {CONDA_TO_PYPI.get(_name(d), _name(d)) for d in _conda_deps()} - {"python", "pip"}
    assert conda == pypi, f"only in environment.yml: {conda - pypi}; only in pyproject.toml: {pypi - conda}"


def test_environment_yml_pins_python_and_installs_the_project():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^  - python=3\.\d+", text, re.M), "Binder wants python pinned"
    assert "conda-forge" in text and re.search(r"-e \.$", text, re.M)


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^exec make test$", ci, re.M)


def test_every_widget_class_is_exported_from_the_package():
    """Notebooks and instructors write ``from widgets import X``: every Widget subclass must be reachable so."""
    import importlib
    import inspect
    import pkgutil

    import widgets
    from widgets.base import Widget

    missing = [n for n in widgets.__all__ if not hasattr(widgets, n)]
    assert not missing, f"widgets.__all__ names what the package does not define: {missing}"
    classes = set()
    for info in (i for i in pkgutil.iter_modules(widgets.__path__) if not i.name.startswith("_")):
        module = importlib.import_module(f"widgets.{info.name}")
        classes |= {name for name, obj in vars(module).items()
                    if inspect.isclass(obj) and issubclass(obj, Widget) and obj is not Widget
                    and obj.__module__ == module.__name__ and not name.startswith("_")}
    assert classes and classes <= set(widgets.__all__), f"not exported from widgets: {sorted(classes - set(widgets.__all__))}"
