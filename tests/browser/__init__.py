"""Real-browser tests: JupyterLab served on localhost, driven by headless chromium (see conftest.py)."""
