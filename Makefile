# The two commands of the README.  Both set up .venv first (idempotent: seconds when done).
#   make run  [ARGS="--data DIR ..."]   the local pipeline (embedded digits by default)
#   make test [PYTEST_ARGS="-k data"]   the whole test suite (what CI runs, after make lint)
# For contributors (also set up .venv first):
#   make test-fast [PYTEST_ARGS=...]    the suite without the tests marked e2e, pipeline or trains
#                                       (whole pipelines, TFX components/Beam, model training): minutes
#   make lint                           ruff check . (rules in ruff.toml)
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_USE_LEGACY_KERAS := 1

.PHONY: setup run test test-fast lint kubeflow benchmark clean

setup:
	@VENV=$(VENV) bash scripts/setup_env.sh

run: setup
	$(PY) local_runner.py $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# Markers: pytest.ini.  Every test runs in make test; test-fast leaves out the slow kinds.
test-fast: setup
	$(PY) -m pytest -m "not e2e and not pipeline and not trains" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

kubeflow: setup
	$(PY) kubeflow_runner.py $(ARGS)

benchmark: setup
	$(PY) benchmarks/run_benchmarks.py $(ARGS)

clean:
	rm -rf outputs .pytest_cache
