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

# JupyterLab refuses to start as root ("Running as root is not recommended. Use --allow-root to bypass");
# containers, many cloud machines and CI run as root, so the flag is added for root only.
LAB_UID   ?= $(shell id -u)
ROOT_FLAG := $(if $(filter 0,$(LAB_UID)),--allow-root,)

lab: install
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/

test: install
	bash tests/run_tests.sh $(PY)

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) test-artifacts
