# Two entry points do all the set-up on a fresh machine (Python 3.10+):
#   make lab   - create .venv, install the course, open JupyterLab on notebooks/
#   make test  - create .venv, install the course with its test tools, run every test and notebook
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install lab test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# Course machines keep a CPU build of torch on local disk; take it when it is there
	@# (--no-index: elsewhere this fails at once and pip's usual torch comes with the project).
	-$(PY) -m pip install --quiet --no-index --no-deps torch==2.13.0 2>/dev/null
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

lab: install
	$(VENV)/bin/jupyter lab notebooks/

test: install
	bash tests/run_tests.sh $(PY)

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) test-artifacts
