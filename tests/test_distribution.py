"""The other ways students meet the course: Binder (repo2docker), Colab and conda.

What is checked here, and why:
- environment.yml is what repo2docker and ``conda env create`` read: valid YAML, conda-forge, Python
  pinned to a version repo2docker has a base environment for, and a pip section that pip can parse
  (conda and micromamba hand that section to ``pip install -r``, where per-line options such as
  ``--no-deps`` are rejected).
- repo2docker installs environment.yml BEFORE it copies the repository unless the pip section names
  a local path (its ``is_local_pip_requirement``: a line such as ``-e .``); then it installs it after.
- every notebook starts with the same Colab preamble, is committed without outputs, and has its
  "Open in Colab" link in README.md (next to the lecture table); the links name the same GitHub
  repository as the preamble's ``pip install``.
"""
import json
import os
import pathlib
import re
import shlex
import sys
import tempfile
import warnings

import pytest
import yaml  # PyYAML comes with jupyterlab (jupyter-events depends on it)

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Python versions repo2docker ships a frozen base environment for (repo2docker/buildpacks/conda/
# environment.py-3.X.yml, 2024-2025); another pin still builds, from an unfrozen base, slower and less tested.
REPO2DOCKER_PYTHONS = {"3.10", "3.11", "3.12", "3.13"}

PREAMBLE = re.compile(
    r'\Aimport sys\n'
    r'if "google\.colab" in sys\.modules:  # on Colab: install the course first \(locally `make lab` did it\)\n'
    r'    %pip install --quiet "dl-optimization-course @ git\+https://github\.com/(?P<repo>[\w.-]+/[\w.-]+?)'
    r'(?:\.git)?(?:@(?P<ref>[\w./-]+))?"\n'
    r'from widgets import notebook_setup\n'
    r'device = notebook_setup\(\)(?:[ ]+#[^\n]*)?(?:\n|\Z)'  # no seed argument: COURSE_SEED, 0 when unset
)


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _pip_section(env: dict) -> list:
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) <= 1, "one pip: section at most"
    return sections[0] if sections else []


def _first_code_source(path: pathlib.Path) -> str:
    nb = json.loads(path.read_text())
    cell = next((c for c in nb["cells"] if c["cell_type"] == "code"), None)
    assert cell is not None, f"{path.name} has no code cell"
    return "".join(cell["source"])


def _preamble_repo() -> str:
    repos = {PREAMBLE.match(_first_code_source(p)).group("repo") for p in NOTEBOOKS
             if PREAMBLE.match(_first_code_source(p))}
    assert len(repos) == 1, f"the notebooks install the course from different repositories: {repos}"
    return repos.pop()


# --- environment.yml: conda and Binder ------------------------------------------------------------

def test_environment_yml_has_what_repo2docker_reads():
    env = _environment()
    assert isinstance(env, dict), "repo2docker wants a mapping at the top of environment.yml"
    assert env.get("channels") and env["channels"][0] == "conda-forge", env.get("channels")
    deps = env["dependencies"]
    assert all(isinstance(d, str) or (isinstance(d, dict) and set(d) == {"pip"}) for d in deps), deps
    pythons = [m.group(1) for d in deps if isinstance(d, str) for m in [re.match(r"python\s*=+\s*([\d.]+)$", d)] if m]
    assert len(pythons) == 1, "pin Python once (python=3.X): Binder picks its base image from it"
    assert ".".join(pythons[0].split(".")[:2]) in REPO2DOCKER_PYTHONS, pythons
    if _pip_section(env):
        assert "pip" in deps, "a pip: section needs pip itself in the conda dependencies"


def test_environment_yml_pip_section_is_valid_for_pip():
    """conda (and micromamba, in repo2docker) write the pip: lines to a requirements file and run
    ``pip install -r`` on it: each line must be something pip accepts there."""
    lines = _pip_section(_environment())
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pip's internals import pkg_resources
        from pip._internal.network.session import PipSession
        from pip._internal.req.req_file import RequirementsFileParseError, parse_requirements

        req = pathlib.Path(tmp) / "requirements.txt"
        req.write_text("\n".join(lines) + "\n")
        try:
            parsed = list(parse_requirements(str(req), session=PipSession()))
        except (RequirementsFileParseError, SystemExit) as exc:
            pytest.fail(f"pip rejects the pip: section of environment.yml ({lines}): {exc}. "
                        "Per-line options like --no-deps are not allowed in a requirements file; "
                        "write `- -e .` (conda's packages already satisfy the dependencies)")
    assert parsed, "the pip: section installs nothing"


def _names_local_path(line: str) -> bool:
    """Whether a pip line points at a local path, read the way repo2docker reads it: drop one
    leading option word (``-e``) or ``--opt=`` prefix, then look for a path starting with '.'."""
    line = line.split("#", 1)[0].strip()
    if line.startswith("--") and "=" in line:
        line = line.split("=", 1)[1]
    elif line.startswith("-"):
        parts = line.split(None, 1)
        if len(parts) < 2:
            return False
        line = parts[1]
    return line.startswith(".") or "file://" in line


@pytest.mark.parametrize("line, local", [("-e .", True), (".", True), ("--editable=.", True),
                                         ("--no-deps -e .", False), ("numpy>=1.24", False), ("--pre", False)])
def test_names_local_path_reads_pip_lines_like_repo2docker(line, local):
    assert _names_local_path(line) is local


def test_binder_installs_the_course_after_copying_the_repository():
    """With no local-path line, repo2docker installs environment.yml before the repository is in the
    image, and ``pip install -e .`` then finds no project: the Binder build fails."""
    lines = _pip_section(_environment())
    installs = [line for line in lines if _names_local_path(line)]
    assert installs, (f"no pip line repo2docker recognises as the local project in {lines}; "
                      "use `- -e .` so that it builds the environment after copying the repository")
    for line in installs:
        assert shlex.split(line)[-1] == ".", line


def test_no_binder_folder_hides_the_root_environment():
    for folder in ("binder", ".binder"):
        assert not (ROOT / folder).exists() or (ROOT / folder / "environment.yml").exists(), (
            f"{folder}/ exists: repo2docker then ignores the root environment.yml")


def test_postbuild_if_any_is_executable_and_strict():
    post = ROOT / "postBuild"
    if not post.exists():
        return  # not needed: environment.yml installs everything
    assert os.access(post, os.X_OK), "repo2docker runs postBuild only if it is executable"
    assert "set -e" in post.read_text(), "a failing step in postBuild must fail the Binder build"


# --- notebooks: Colab preamble, clean commits, links ----------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_colab_preamble(path):
    source = _first_code_source(path)
    assert PREAMBLE.match(source), (
        f"{path.name}: the first code cell must start with the Colab preamble from the team brief; it starts:\n"
        + "\n".join(source.splitlines()[:6]))


def test_every_notebook_installs_the_course_from_the_same_repository():
    if NOTEBOOKS:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", _preamble_repo())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} keep outputs or execution counts; run "
                       f"`.venv/bin/jupyter nbconvert --clear-output --inplace notebooks/{path.name}`")


def _readme_links(kind: str) -> list:
    text = (ROOT / "README.md").read_text()
    patterns = {
        "colab": r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([\w./-]+?)/notebooks/([\w.-]+\.ipynb)",
        "binder": r"https://mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/([\w./-]+?)(?:\?|\))",
    }
    return re.findall(patterns[kind], text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_readme_has_an_open_in_colab_link_for_the_notebook(path):
    links = {name: repo for repo, _branch, name in _readme_links("colab")}
    assert path.name in links, (f"README.md has no Open-in-Colab link for notebooks/{path.name} "
                                "(the text to paste is in the browser/distribution report)")
    assert links[path.name] == _preamble_repo(), (
        f"README's Colab link for {path.name} points at {links[path.name]}, the preamble installs from "
        f"{_preamble_repo()}")


def test_readme_colab_links_name_existing_notebooks():
    missing = sorted({name for _repo, _branch, name in _readme_links("colab")}
                     - {p.name for p in NOTEBOOKS})
    assert not missing, f"README.md links to notebooks that do not exist: {missing}"


def test_readme_has_a_binder_badge_for_the_same_repository():
    links = _readme_links("binder")
    assert links, "README.md has no mybinder.org launch link"
    if NOTEBOOKS:
        assert {repo for repo, _ in links} == {_preamble_repo()}, links


# --- the Colab preamble, run with a fake google.colab ---------------------------------------------

BRIEF_PREAMBLE = (
    'import sys\n'
    'if "google.colab" in sys.modules:  # on Colab: install the course first (locally `make lab` did it)\n'
    '    %pip install --quiet "dl-optimization-course @ git+https://github.com/optim-course/dl-optimization-course"\n'
    'from widgets import notebook_setup\n'
    'device = notebook_setup()\n'
)


def _preamble_text() -> str:
    """The preamble as the notebooks have it (the first notebook's), or the team brief's before any exists."""
    for path in NOTEBOOKS:
        match = PREAMBLE.match(_first_code_source(path))
        if match:
            return match.group(0)
    return BRIEF_PREAMBLE


class _FakeShell:
    """Just enough of an IPython kernel shell: records line magics instead of running them."""

    def __init__(self):
        self.kernel = object()
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


def _run_preamble(monkeypatch, *, colab: bool, manager_error: Exception = None):
    import types

    import IPython
    from IPython.core.inputtransformer2 import TransformerManager

    events = []
    if colab:
        def enable_custom_widget_manager():
            events.append("enable_custom_widget_manager")
            if manager_error is not None:
                raise manager_error

        google, google_colab = types.ModuleType("google"), types.ModuleType("google.colab")
        output = types.ModuleType("google.colab.output")
        output.enable_custom_widget_manager = enable_custom_widget_manager
        google.colab, google_colab.output = google_colab, output
        for name, module in (("google", google), ("google.colab", google_colab), ("google.colab.output", output)):
            monkeypatch.setitem(sys.modules, name, module)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    shell = _FakeShell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    code = TransformerManager().transform_cell(_preamble_text())
    namespace = {"get_ipython": lambda: shell}
    exec(compile(code, "<colab preamble>", "exec"), namespace)
    return shell.magics, events, namespace


def test_preamble_on_colab_installs_the_course_then_enables_the_widget_manager(monkeypatch, capsys):
    magics, events, namespace = _run_preamble(monkeypatch, colab=True)
    pip = [line for name, line in magics if name == "pip"]
    assert len(pip) == 1 and pip[0].startswith("install --quiet ")
    assert re.fullmatch(r'install --quiet "dl-optimization-course @ git\+https://github\.com/[\w.-]+/[\w.-]+"',
                        pip[0]), pip[0]
    assert magics.index(("pip", pip[0])) == 0, "the course is installed before anything imports it"
    assert events == ["enable_custom_widget_manager"], "ipympl on Colab needs the custom widget manager"
    assert ("matplotlib", "widget") in magics
    assert "on Colab" in capsys.readouterr().out
    assert str(namespace["device"]) in ("cpu", "cuda", "mps") or str(namespace["device"]).startswith("cuda")


def test_preamble_elsewhere_installs_nothing_and_leaves_colab_alone(monkeypatch):
    magics, events, _ = _run_preamble(monkeypatch, colab=False)
    assert [name for name, _line in magics] == ["matplotlib"] and magics[0][1] == "widget"
    assert events == []
    assert "google.colab" not in sys.modules


def test_preamble_on_colab_falls_back_to_pictures_when_the_widget_manager_fails(monkeypatch, capsys):
    magics, events, _ = _run_preamble(monkeypatch, colab=True, manager_error=RuntimeError("moved"))
    assert events == ["enable_custom_widget_manager"]
    assert ("matplotlib", "inline") in magics and ("matplotlib", "widget") not in magics
    out = capsys.readouterr().out
    assert "static images" in out and "widget manager failed: moved" in out and "not installed" not in out
