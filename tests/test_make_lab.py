"""`make lab`, the README's command that opens the course, starts JupyterLab as root and as a normal user.

The real command is run exactly as the README gives it (no extra arguments; the port, token and "no browser" come
from a private Jupyter config dir), the server must answer on its port, and then it and every process it started
are stopped. For the other kind of user the test checks the command line the Makefile builds.
"""
import json
import os
import pathlib
import secrets
import signal
import subprocess
import time
import urllib.request

import psutil
import pytest

from browser.lab import free_port, private_env

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _command_line(uid: int) -> str:
    out = subprocess.run(["make", "-n", "-s", "lab", f"LAB_UID={uid}"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if "jupyter lab" in line][-1]


def test_the_makefile_adds_allow_root_for_root_only():
    assert "--allow-root" in _command_line(0)
    assert "--allow-root" not in _command_line(1000)


def test_make_lab_starts_the_course_and_stops_cleanly(tmp_path):
    if not (ROOT / ".venv" / ".installed").exists():
        pytest.skip("make lab installs first; this test runs where make test already installed the course")
    env = private_env(tmp_path / "home")
    port, token = free_port(), secrets.token_hex(8)
    config = {"ServerApp": {"port": port, "port_retries": 0, "ip": "127.0.0.1", "open_browser": False},
              "IdentityProvider": {"token": token},
              "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
    (pathlib.Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json").write_text(json.dumps(config))
    log = open(tmp_path / "make-lab.log", "wb")
    proc = subprocess.Popen(["make", "lab"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        status, deadline = None, time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as r:
                    status = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.5)
        text = (tmp_path / "make-lab.log").read_text(errors="replace")
        assert status is not None, f"make lab did not answer on port {port}; its output:\n{text[-2000:]}"
        assert "Running as root is not recommended" not in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as r:
            names = {item["name"] for item in json.loads(r.read())["content"]}
        assert "00_start_here.ipynb" in names  # it serves the course's notebooks
    finally:
        children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(children, timeout=20)
        for p in alive:
            p.kill()
        log.close()
    assert not alive, f"processes left behind by make lab: {[p.pid for p in alive]}"
