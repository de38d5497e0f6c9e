"""A JupyterLab server and headless chromium for the real-browser tests.

The server runs the project's own Python (``sys.executable``) with a private HOME and private Jupyter,
IPython and matplotlib directories, on a copy of ``notebooks/``; it is stopped by its own process id,
with its kernels. ``LabPage`` drives one notebook in the browser through JupyterLab's own commands
(``window.jupyterapp``, exposed with ``--LabApp.expose_app_in_browser``).
"""
from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# What @jupyter-widgets/jupyterlab-manager writes into an output when a widget cannot be shown.
WIDGET_ERRORS = ("Error displaying widget", "A Jupyter widget could not be displayed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_env(home: pathlib.Path) -> dict:
    """The environment for the server and its kernels: nothing of the user's settings leaks in."""
    env = dict(os.environ)
    dirs = {
        "HOME": home,
        "JUPYTER_CONFIG_DIR": home / ".jupyter",
        "JUPYTER_DATA_DIR": home / ".local" / "share" / "jupyter",
        "JUPYTER_RUNTIME_DIR": home / ".local" / "share" / "jupyter" / "runtime",
        "MPLCONFIGDIR": home / ".config" / "matplotlib",
        "IPYTHONDIR": home / ".ipython",
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
    }
    for key, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[key] = str(path)
    # run_tests.sh exports MPLBACKEND=Agg for headless tests; a student's kernel has no such thing.
    for key in ("MPLBACKEND", "JUPYTER_PATH", "JUPYTER_PREFER_ENV_PATH", "PYTHONSTARTUP", "JPY_SESSION_NAME"):
        env.pop(key, None)
    env["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


class LabServer:
    """``jupyter lab`` on 127.0.0.1 with a random token; ``stop()`` ends it and every process it started."""

    def __init__(self, workdir: pathlib.Path, notebooks: pathlib.Path, extra: dict = (),
                 startup_timeout: float = 180.0):
        """Serve a copy of the folder ``notebooks``, plus ``extra`` files ({name in root: source path})."""
        self.workdir = workdir
        self.root = workdir / "root"
        shutil.copytree(notebooks, self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for name, src in dict(extra).items():
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, self.root / name)
        self.env = private_env(workdir / "home")
        config_dir = pathlib.Path(self.env["JUPYTER_CONFIG_DIR"])
        config = {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
        # As if the student had answered "No" to the news toast (it would cover part of the screenshots).
        settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.expose_app_in_browser=True"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = workdir / "jupyter-lab.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.seen = set()   # psutil.Process (pid + start time) of everything the server started
        self._wait_until_up(startup_timeout)

    def log_tail(self, n: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def api(self, path: str, method: str = "GET", timeout: float = 10.0):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("/api/status", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def track_children(self) -> None:
        """Remember the server's current descendants (kernels), so they can be checked after it stops."""
        try:
            self.seen.update(psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass

    def shutdown_kernels(self, paths=None) -> None:
        """Close sessions and their kernels through the REST API (the polite way, between notebooks):
        those of the notebooks in ``paths``, or every one (and any kernel without a session) by default."""
        self.track_children()
        for session in self.api("/api/sessions"):
            if paths is None or session.get("path") in paths:
                self.api(f"/api/sessions/{session['id']}", method="DELETE", timeout=30)
        if paths is None:
            for kernel in self.api("/api/kernels"):
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=30)

    def stop(self) -> list:
        """Stop the server by its pid and kill whatever it left. Returns the leftovers that had to be killed."""
        self.track_children()
        if self.proc.poll() is None:
            try:
                self.shutdown_kernels()
            except Exception:  # the server may be wedged; the signals below still end it
                pass
            self.track_children()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        return kill_leftovers(self.seen)


def kill_leftovers(procs) -> list:
    """Kill the ``psutil.Process`` objects still alive; return a description of each one killed.

    ``is_running`` compares the start time too, so a pid reused by someone else's process is left alone.
    """
    killed = []
    for proc in procs:
        try:
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            desc = f"{proc.pid} {' '.join(proc.cmdline())[:120]}"
            proc.kill()
            proc.wait(timeout=5)
            killed.append(desc)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass
    return killed


def launch_chromium(playwright):
    """Debian's chromium through Playwright; nothing is downloaded."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: run `bash tests/browser/setup.sh` (apt-get install chromium) "
                           "or set SKIP_BROWSER_TESTS=1 to skip the browser tests on purpose")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# --- driving one notebook ---------------------------------------------------------------------------

_FIND_PANEL = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.sessionContext) return w;
  }
  return null;
}
"""

JS_WAIT_KERNEL = """
async ([path, timeout]) => {
  const find = %s;
  const t0 = performance.now();
  const sleep = (ms) => new Promise(r => setTimeout(r, ms));
  while (performance.now() - t0 < timeout) {
    const app = window.jupyterapp;
    if (app) {
      await app.restored;
      const panel = find(path);
      if (panel) {
        await panel.context.ready;
        await panel.sessionContext.ready;
        const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
        if (kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected') {
          app.shell.activateById(panel.id);
          return {kernel: kernel.name};
        }
      }
    }
    await sleep(200);
  }
  const dialog = document.querySelector('.jp-Dialog');
  return {error: 'kernel not idle after ' + timeout + ' ms' + (dialog ? '; a dialog is open: ' + dialog.innerText : '')};
}
""" % _FIND_PANEL

JS_RUN_ALL = """
async ([path, timeout]) => {
  const find = %s;
  const panel = find(path);
  const app = window.jupyterapp;
  app.shell.activateById(panel.id);
  const t0 = performance.now();
  const ran = app.commands.execute('notebook:run-all-cells');
  const timer = new Promise(r => setTimeout(() => r('timeout'), timeout));
  const result = await Promise.race([ran, timer]);
  return {result: result === 'timeout' ? 'timeout' : !!result, ms: performance.now() - t0};
}
""" % _FIND_PANEL

JS_KERNEL_IDLE = """
([path]) => {
  const find = %s;
  const panel = find(path);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return kernel ? kernel.status : 'no kernel';
}
""" % _FIND_PANEL

# One record per code cell: what the kernel produced (the model) and what the page shows (the DOM).
JS_CELL_REPORT = """
([path, widgetMime, widgetErrors]) => {
  const find = %s;
  const panel = find(path);
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    const tags = cell.model.getMetadata('tags') || [];
    const errors = outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue);
    // The output area's children follow the model's outputs one to one (nested Output widgets excluded).
    const children = cell.outputArea ? cell.outputArea.widgets : [];
    let widgetOutputs = 0, rendered = 0;
    const widgetErrorTexts = [];
    outputs.forEach((o, i) => {
      if (!(o.data && o.data[widgetMime] && o.data[widgetMime].model_id)) return;
      widgetOutputs += 1;
      const node = children[i] && children[i].node.querySelector('.jp-OutputArea-output');
      if (!node) return;
      const text = node.innerText || '';
      if (widgetErrors.some(e => text.includes(e))) widgetErrorTexts.push(text);
      else if (node.querySelector('.jupyter-widgets')) rendered += 1;
    });
    const text = cell.node.querySelector('.jp-OutputArea') ? cell.node.querySelector('.jp-OutputArea').innerText : '';
    const figures = Array.from(cell.node.querySelectorAll('.jupyter-matplotlib-figure')).map(fig => {
      const canvas = fig.querySelector('.jupyter-matplotlib-canvas-div canvas');
      if (!canvas || !canvas.width || !canvas.height) return {painted: false, width: 0, height: 0};
      // Painted = not a single flat colour (a blank canvas is all transparent or all white).
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let distinct = new Set();
      for (let i = 0; i < data.length && distinct.size < 3; i += 4 * 7) {
        distinct.add((data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]);
      }
      // Reaching past the notebook's right edge: the student must scroll sideways to see all of it.
      const clipped = canvas.getBoundingClientRect().right > panel.content.node.getBoundingClientRect().right + 1;
      return {painted: distinct.size >= 2, width: canvas.width, height: canvas.height, clipped};
    });
    cells.push({index, tags, executionCount: cell.model.executionCount, source: cell.model.sharedModel.getSource().slice(0, 80),
                widgetOutputs, rendered,
                widgetErrorTexts, errors, traceback: text.includes('Traceback (most recent call last)'), figures,
                outputText: text.slice(0, 20000)});
  });
  return cells;
}
""" % _FIND_PANEL

# Where every output sits against the notebook column (JupyterLab's output area of a code cell): whether its
# content is wider than the column (it scrolls sideways), and the box of every figure, widget and image in it.
# A box reaching past the column's right edge is cut off there. Markdown cells are measured too (a display
# equation wider than the column scrolls).
JS_LAYOUT = """
([path, selectors]) => {
  const find = %s;
  const panel = find(path);
  const app = window.jupyterapp;
  const round = (v) => Math.round(v * 10) / 10;
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    const code = cell.model.type === 'code';
    const nodes = code ? [...cell.node.querySelectorAll('.jp-OutputArea > .jp-OutputArea-child > .jp-OutputArea-output')]
                       : [...cell.node.querySelectorAll('.jp-MarkdownOutput')];
    if (!nodes.length) return;
    const outputs = nodes.map((node, k) => {
      const col = node.getBoundingClientRect();
      const boxes = [...node.querySelectorAll(selectors)].map(e => {
        const b = e.getBoundingClientRect();
        const kind = e.matches('.lecture-widget') ? 'widget' : e.matches('.jupyter-matplotlib-figure') ? 'figure'
                     : e.tagName === 'IMG' ? 'image' : e.tagName.toLowerCase();
        return {kind, left: round(b.left), right: round(b.right), width: round(b.width),
                natural: e.tagName === 'IMG' ? e.naturalWidth : null};
      }).filter(b => b.width > 0);
      return {k, left: round(col.left), right: round(col.right), client: node.clientWidth, scroll: node.scrollWidth,
              boxes, hasFigure: boxes.some(b => b.kind !== 'mjx-container')};
    });
    cells.push({index, type: cell.model.type, outputs});
  });
  return {leftCollapsed: app.shell.leftCollapsed, viewport: [window.innerWidth, window.innerHeight], cells};
}
""" % _FIND_PANEL

#: What JS_LAYOUT measures inside an output: figures, widgets, images, canvases, rows of controls, equations.
LAYOUT_SELECTORS = (".lecture-widget, .jupyter-matplotlib-figure, img, canvas, .widget-hbox, .widget-vbox, "
                    ".jp-RenderedHTMLCommon table, mjx-container")


def layout_problems(layout: dict, markdown: bool = False) -> list:
    """Outputs wider than the notebook column (they scroll sideways) and boxes cut at its right edge, as
    readable lines; markdown cells only when ``markdown`` (a display equation is the notebook text's, not an
    output)."""
    problems = []
    for cell in layout["cells"]:
        if cell["type"] != "code" and not markdown:
            continue
        for out in cell["outputs"]:
            where = f"cell {cell['index']} ({cell['type']}), output {out['k']}"
            if out["scroll"] > out["client"] + 1:
                problems.append(f"{where}: its content is {out['scroll']} px wide in a {out['client']} px column "
                                f"(it scrolls sideways)")
            for box in out["boxes"]:
                if box["right"] > out["right"] + 1:
                    problems.append(f"{where}: a {box['kind']} {box['width']:.0f} px wide reaches "
                                    f"{box['right'] - out['right']:.0f} px past the column's right edge")
    return problems


def shrunk_images(layout: dict, below: float = 0.8) -> list:
    """Images the browser shows at less than ``below`` of their own width (they fit, with smaller text)."""
    out = []
    for cell in layout["cells"]:
        for o in cell["outputs"]:
            for b in o["boxes"]:
                if b["kind"] == "image" and b["natural"] and b["width"] < below * b["natural"]:
                    out.append(f"cell {cell['index']}: {b['natural']} px image shown at {b['width']:.0f} px "
                               f"({b['width'] / b['natural']:.0%})")
    return out


# Run code in the notebook's kernel without touching the notebook; resolves to stdout (or the error).
JS_KERNEL_EVAL = """
async ([path, code]) => {
  const find = %s;
  const kernel = find(path).sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let out = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') out += msg.content.text;
    if (msg.header.msg_type === 'error') out += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  return out;
}
""" % _FIND_PANEL


def find_problems(report: list, strict: bool = False) -> list:
    """Turn the per-cell browser report into readable problems (empty when the notebook is fine).

    A cell tagged ``raises-exception`` may show its error, unless ``strict`` (the course's notebooks: an exercise
    stub says "not attempted yet" instead of raising, so no cell of a lecture may show an error).
    """
    problems = []
    for cell in report:
        where = f"cell {cell['index']} ({cell['source'].splitlines()[0] if cell['source'] else ''!r})"
        expected_error = "raises-exception" in cell["tags"] and not strict
        if cell["executionCount"] is None:
            problems.append(f"{where} did not run")
        if cell["errors"] and not expected_error:
            problems.append(f"{where} raised {'; '.join(cell['errors'])}")
        elif cell["traceback"] and not expected_error:
            problems.append(f"{where} shows a traceback (a widget callback failed?)")
        for text in cell["widgetErrorTexts"]:
            problems.append(f"{where}: {text.strip()[:120]!r}")
        missing = cell["widgetOutputs"] - cell["rendered"] - len(cell["widgetErrorTexts"])
        if missing > 0:
            problems.append(f"{where}: {missing} of {cell['widgetOutputs']} widget views never rendered")
        for fig in cell["figures"]:
            if not fig["painted"]:
                problems.append(f"{where}: an ipympl figure ({fig['width']} x {fig['height']}) is blank")
    return problems


class LabPage:
    """One notebook open in JupyterLab in one browser page."""

    def __init__(self, server: LabServer, page, path: str):
        self.server, self.page, self.path = server, page, path
        self.console_errors: list = []
        self.page_errors: list = []
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))

    def open(self, timeout_ms: float = 120_000) -> dict:
        self.page.goto(f"{self.server.url}/lab/tree/{self.path}?reset&token={self.server.token}",
                       wait_until="domcontentloaded", timeout=timeout_ms)
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_ms)
        info = self.page.evaluate(JS_WAIT_KERNEL, [self.path, timeout_ms])
        if "error" in info:
            raise AssertionError(f"{self.path}: {info['error']}")
        return info

    def run_all(self, timeout_ms: float = 300_000) -> dict:
        """Run every cell and wait until the kernel is idle; returns {'result': bool|'timeout', 'ms': ...}."""
        ran = self.page.evaluate(JS_RUN_ALL, [self.path, timeout_ms])
        self.wait_idle(timeout_ms)
        return ran

    def wait_idle(self, timeout_ms: float = 60_000, settle_ms: float = 500) -> None:
        """Wait until the kernel has stayed idle for settle_ms (late widget messages arrive after a cell)."""
        deadline = time.monotonic() + timeout_ms / 1000
        idle_since = None
        while time.monotonic() < deadline:
            status = self.page.evaluate(JS_KERNEL_IDLE, [self.path])
            now = time.monotonic()
            if status == "idle":
                idle_since = idle_since or now
                if now - idle_since >= settle_ms / 1000:
                    return
            else:
                idle_since = None
            self.page.wait_for_timeout(100)
        raise AssertionError(f"{self.path}: kernel still {status!r} after {timeout_ms / 1000:.0f} s")

    def cell_report(self) -> list:
        return self.page.evaluate(JS_CELL_REPORT, [self.path, WIDGET_MIME, list(WIDGET_ERRORS)])

    def wait_widgets_rendered(self, timeout_ms: float = 30_000) -> list:
        """Widget views render after their output arrives: poll until each one has rendered or failed."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            report = self.cell_report()
            pending = [c for c in report
                       if c["rendered"] + len(c["widgetErrorTexts"]) < c["widgetOutputs"]
                       or not all(f["painted"] for f in c["figures"])]
            if not pending or time.monotonic() > deadline:
                return report
            self.page.wait_for_timeout(250)

    def kernel_eval(self, code: str) -> str:
        return self.page.evaluate(JS_KERNEL_EVAL, [self.path, code])

    def layout(self) -> dict:
        """Every output's width against the notebook column, and the box of each figure, widget and image."""
        return self.page.evaluate(JS_LAYOUT, [self.path, LAYOUT_SELECTORS])

    def screenshot_outputs(self, folder, layout: dict, suffix: str = "", viewport: bool = False) -> list:
        """A screenshot of every code cell's output holding a figure, a widget or an image, into ``folder``
        (``cell-NN<suffix>.png``); ``viewport``: the screen with the output scrolled to its top instead of the
        output alone. Returns the files written.

        An output taller than the window is shot whole: the notebook scrolls inside its panel, so the part
        of it below the window would come out grey. For those the window is made tall enough for the
        tallest output once, and gets its size back at the end.
        """
        import pathlib

        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        cells = self.page.locator(".jp-Notebook .jp-Cell")
        chosen = [c["index"] for c in layout["cells"]
                  if c["type"] == "code" and any(o["hasFigure"] for o in c["outputs"])]
        size = self.page.viewport_size
        tallest = 0 if viewport or not chosen else self.page.evaluate(
            "(idx) => { const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');"
            " return Math.max(0, ...idx.map(i => { const a = cells[i] && cells[i].querySelector('.jp-OutputArea');"
            " return a ? a.getBoundingClientRect().height : 0; })); }", chosen)
        resized = tallest + 200 > size["height"]
        if resized:
            self.page.set_viewport_size({"width": size["width"], "height": min(int(tallest) + 300, 6000)})
            self.page.wait_for_timeout(300)
        try:
            for index in chosen:
                area = cells.nth(index).locator(".jp-OutputArea").first
                path = folder / f"cell-{index:02d}{suffix}.png"
                try:
                    # Cells out of view are laid out only when they come into view (JupyterLab's windowing):
                    # scroll first and let the layout settle, so the box is the output's real one.
                    area.evaluate("(e) => e.scrollIntoView({block: 'start'})")
                    self.page.wait_for_timeout(250)
                    if viewport:
                        self.page.screenshot(path=str(path))
                    else:
                        area.screenshot(path=str(path), timeout=15_000)
                except Exception as exc:  # one screenshot that cannot be taken is reported, not fatal
                    print(f"\nno screenshot of cell {index}: {type(exc).__name__}: {str(exc)[:120]}")
                    continue
                written.append(path)
        finally:
            if resized:
                self.page.set_viewport_size(size)
                self.page.wait_for_timeout(300)
        return written


# --- timing a slider move to the repainted figure ---------------------------------------------------

# Wraps drawImage on the visible canvas of one ipympl view: ipympl paints every new frame it gets from
# the kernel with one drawImage onto that canvas. Each paint is stamped, and again at the next animation
# frame (when the browser composites it). Key presses are stamped in the capture phase, as they arrive.
JS_INSTALL_PAINT_PROBE = """
(figure) => {
  const canvas = figure.querySelector('.jupyter-matplotlib-canvas-div canvas');
  const probe = window.__paintProbe = {paints: [], keys: []};
  const ctx = canvas.getContext('2d');
  const original = ctx.drawImage;
  ctx.drawImage = function (...args) {
    const result = original.apply(this, args);
    const record = {drawn: performance.now(), frame: null};
    probe.paints.push(record);
    requestAnimationFrame(() => { record.frame = performance.now(); });
    return result;
  };
  document.addEventListener('keydown', (e) => probe.keys.push(performance.now()), true);
  return true;
}
"""

JS_PROBE_STATE = "() => ({paints: window.__paintProbe.paints.length, keys: window.__paintProbe.keys.length})"

JS_PAINT_AFTER_KEY = """
([paintIndex, keyIndex]) => {
  // The first paint at or after this key press (a late paint of the previous move does not count).
  const probe = window.__paintProbe, key = probe.keys[keyIndex];
  const paint = probe.paints.slice(paintIndex).find(p => p.drawn >= key);
  if (!paint || paint.frame === null) return null;
  return {drawn_ms: paint.drawn - key, frame_ms: paint.frame - key};
}
"""


def time_slider_moves(lab: "LabPage", handle, figure, moves: int = 30, timeout_ms: int = 20_000) -> list:
    """Press arrow keys on a slider handle ``moves`` times; return per move the ms from the key press to
    the figure's first repaint (``drawn_ms``: drawImage on the visible canvas; ``frame_ms``: the next
    animation frame after it). Between moves the kernel goes idle, so moves never queue up. The
    direction flips at the ends of the slider's range."""
    page = lab.page
    if not page.evaluate("() => window.__paintProbe !== undefined"):
        page.evaluate(JS_INSTALL_PAINT_PROBE, figure.element_handle())
    low, high = float(handle.get_attribute("aria-valuemin")), float(handle.get_attribute("aria-valuemax"))
    key = "ArrowRight"
    timings = []
    for _ in range(moves):
        value = float(handle.get_attribute("aria-valuenow"))
        if value >= high:
            key = "ArrowLeft"
        elif value <= low:
            key = "ArrowRight"
        state = page.evaluate(JS_PROBE_STATE)
        handle.press(key)
        args = [state["paints"], state["keys"]]
        page.wait_for_function(f"(args) => ({JS_PAINT_AFTER_KEY.strip()})(args) !== null", arg=args,
                               timeout=timeout_ms)
        timings.append(page.evaluate(JS_PAINT_AFTER_KEY, args))
        lab.wait_idle(timeout_ms=timeout_ms, settle_ms=200)  # this move's last messages are handled
    return timings
