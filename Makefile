# Quick start: `make run` (default comparison) and `make test`.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || pyenv which python3.12 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

# The default comparison: Dehong's 2011 package against the pre-reform counterfactual,
# 10 replications, one agent per household (SCALE=10 for a quick look).
SCALE ?= 1
REPS ?= 10
run: $(STAMP)
	$(BIN)/sim run configs/policies/dehong_2011.toml configs/policies/dehong_pre_reform.toml \
		--replications $(REPS) --scale $(SCALE) --out results/default

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/sim check configs/regions/*.toml configs/policies/*.toml configs/behaviour/*.toml

clean:
	rm -rf $(VENV) .pytest_cache
