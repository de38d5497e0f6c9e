"""Fixtures for the real-browser tests: one JupyterLab server and one chromium for this folder.

Both are package-scoped (started for the first browser test, stopped after the last one), so the
server does not linger while nbval runs the notebooks. The last teardown checks that nothing they
started is still alive. If chromium cannot run, every test here errors: the suite must not pass
without a real browser, unless a human sets SKIP_BROWSER_TESTS=1.
"""
import os
import pathlib
import warnings

import psutil
import pytest

from .lab import ARTIFACTS, ROOT, LabPage, LabServer, kill_leftovers, launch_chromium

HERE = pathlib.Path(__file__).resolve().parent
SKIP = os.environ.get("SKIP_BROWSER_TESTS", "") == "1"
# The notebooks here are fixtures the browser opens, not lectures: nbval need not run them too.
collect_ignore_glob = ["*.ipynb"]


def pytest_collection_modifyitems(config, items):
    if not SKIP:
        return
    marker = pytest.mark.skip(reason="SKIP_BROWSER_TESTS=1 was set: real-browser tests skipped on purpose")
    for item in items:
        if HERE in pathlib.Path(str(item.path)).resolve().parents:
            item.add_marker(marker)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def _descendants() -> dict:
    return {proc.pid: proc for proc in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="package")
def process_guard():
    """Final check: every process the browser tests started (server, kernels, browser, driver) is gone."""
    before = set(_descendants())
    stray = []
    yield stray            # the server fixture adds what it had to kill
    killed = kill_leftovers(proc for pid, proc in _descendants().items() if pid not in before)
    if stray or killed:
        pytest.fail("processes left behind by the browser tests (killed now): " + "; ".join(stray + killed))


@pytest.fixture(scope="package")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _solution_notebooks(folder: pathlib.Path) -> dict:
    """Each lecture with a coded exercise, its stubs replaced by the reference solutions: solutions/NAME."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from notebook_exercises import exercises, with_solutions

    out = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if exercises(path):
            target = folder / path.name
            target.write_text(json.dumps(with_solutions(path), indent=1, ensure_ascii=False) + "\n")
            out[f"solutions/{path.name}"] = target
    return out


@pytest.fixture(scope="package")
def lab_server(process_guard, tmp_path_factory):
    extra = {f"browser_tests/{p.name}": p for p in HERE.glob("*.ipynb")}
    extra.update(_solution_notebooks(tmp_path_factory.mktemp("solutions")))
    server = LabServer(tmp_path_factory.mktemp("lab"), ROOT / "notebooks", extra)
    yield server
    process_guard.extend(server.stop())


@pytest.fixture(scope="package")
def browser(process_guard):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = launch_chromium(pw)
    except Exception:
        pw.stop()
        raise
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture(scope="package")
def browser_context(browser):
    """One context for all pages, so JupyterLab's static files come from the cache after the first load."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


class _Opener:
    """Opens notebooks in new pages of the shared browser context; ``close()`` closes them and the kernels."""

    def __init__(self, server, context):
        self.server, self.context, self.opened = server, context, []

    def __call__(self, path, viewport=(1280, 800)) -> LabPage:
        """Open ``path`` in a new page of ``viewport`` pixels (a laptop's 1280 x 800 by default), in JupyterLab's
        default layout: the file browser open."""
        page = self.context.new_page()
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        lab = LabPage(self.server, page, path)
        self.opened.append(lab)
        lab.open()
        return lab

    def close(self, screenshot=None):
        for lab in self.opened:
            if screenshot is not None:
                try:
                    lab.page.screenshot(path=str(screenshot))
                except Exception as exc:  # a screenshot is a bonus; the failure is already reported
                    warnings.warn(f"no failure screenshot: {exc}")
            lab.page.close()
        self.server.shutdown_kernels(paths={lab.path for lab in self.opened})


@pytest.fixture
def open_notebook(request, lab_server, browser_context, artifacts):
    """open_notebook(path, viewport=(w, h)) -> LabPage with the notebook open and its kernel idle.

    On teardown: a screenshot if the test failed, the page closed, every kernel shut down.
    """
    opener = _Opener(lab_server, browser_context)
    yield opener
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    name = request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
    opener.close(screenshot=artifacts / f"FAILED_{name}.png" if failed else None)


@pytest.fixture(scope="module")
def open_notebook_for_module(lab_server, browser_context):
    """Like ``open_notebook``, for a notebook that several tests of one module drive in turn."""
    opener = _Opener(lab_server, browser_context)
    yield opener
    opener.close()
