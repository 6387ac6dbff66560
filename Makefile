# The two commands of the README.  Both set up .venv first (idempotent: seconds when done).
#   make run  [ARGS="--data DIR ..."]   the local pipeline (embedded digits by default)
#   make test [PYTEST_ARGS="-k data"]   the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_USE_LEGACY_KERAS := 1

.PHONY: setup run test kubeflow benchmark clean

setup:
	@VENV=$(VENV) bash scripts/setup_env.sh

run: setup
	$(PY) local_runner.py $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

kubeflow: setup
	$(PY) kubeflow_runner.py $(ARGS)

benchmark: setup
	$(PY) benchmarks/run_benchmarks.py $(ARGS)

clean:
	rm -rf outputs .pytest_cache
