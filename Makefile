# Quickstart targets: each bootstraps its own virtual environment in .venv when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: train test bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,torch,sklearn,progress,jit]'
	touch $(STAMP)

train: $(STAMP)
	$(PY) -m chainrule train

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks

lint: $(STAMP)
	$(PY) -m ruff check chainrule tests benchmarks examples

clean:
	rm -rf $(VENV) build *.egg-info
