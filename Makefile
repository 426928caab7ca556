# Quickstart targets: each bootstraps its own virtual environment in .venv when missing.
# `make train` installs only what training needs (numpy, and the progress bar, the offline
# digits fallback and the compiled kernels); the test, lint and bench targets add the test
# extras and the PyTorch oracle to the same venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev

.PHONY: train test bench lint clean

$(RUNTIME_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[sklearn,progress,jit]'
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,torch,sklearn,progress,jit,plot,graphviz,mpi,e2e]'
	@# torchvision's model files are the oracle of tests/models/test_zoo.py (not installed)
	$(PY) -m pip download --quiet --no-deps torchvision==0.29.1 -d $(VENV)/wheels \
		|| echo "torchvision wheel not fetched: tests/models/test_zoo.py retries, else skips"
	touch $(DEV_STAMP) $(RUNTIME_STAMP)

train: $(RUNTIME_STAMP)
	$(PY) -m chainrule train

test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)
	@# again with a StandIn for every parent that can have one, not only those of 64 KiB or more
	[ -n "$(PYTEST_ARGS)" ] || CHAINRULE_STAND_IN_BYTES=0 $(PY) -m pytest -q -m "not slow" \
		tests/autograd tests/ops tests/nn

bench: $(DEV_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks

# The one lint command: CI (.ci/run) and the pre-commit hooks (.pre-commit-config.yaml) run the same
# two checks. mypy takes its files and settings from [tool.mypy] in pyproject.toml.
lint: $(DEV_STAMP)
	$(PY) -m ruff check chainrule tests benchmarks examples
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info
