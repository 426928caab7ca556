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

# The one lint command: CI (.ci/run) and the pre-commit hooks (.pre-commit-config.yaml) run the same
# two checks. mypy takes its files and settings from [tool.mypy] in pyproject.toml.
lint: $(STAMP)
	$(PY) -m ruff check chainrule tests benchmarks examples
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info
