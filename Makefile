# Quick start: `make run` (default comparison) and `make test`.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || pyenv which python3.12 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all run test check docs levers-doc bench clean warmup browser app

all: $(STAMP)

# Set up: the virtual environment, then the engine's compiled kernels into numba's cache, with
# progress (`sim warmup`), so the first `make run` does not compile silently for minutes.
$(STAMP): pyproject.toml
	@echo "make: creating $(VENV) and installing hukou-sim with its dependencies (a few minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/sim warmup
	touch $(STAMP)

warmup: $(STAMP)
	$(BIN)/sim warmup

# The default comparison (experiments/dehong_default.toml): Dehong's 2011 package against the
# pre-reform counterfactual, 10 replications, one agent per household, through `sim sweep` on
# all local cores; prints the paired comparison and the 2011 package's target attainment, then
# writes the HTML report (results/dehong_default/report/report.html) and prints its path.
run: $(STAMP)
	$(BIN)/sim sweep experiments/dehong_default.toml --replace --out results/dehong_default
	$(BIN)/sim report results/dehong_default

# The planner's app (issue 18): a Solara page on http://127.0.0.1:8765/ (the address is printed);
# choose a package, change its levers, run against its baseline, see a map, save the variant.
app: $(STAMP)
	$(BIN)/sim app

# Regenerate docs/packages.md (lever table and a 20-replication target run of each seed package).
docs: $(STAMP)
	$(BIN)/python -m sim.report.packages --replications 20

# Regenerate docs/levers.md and docs/levers/*.png: every lever's response over its plausible range
# on the five seed regions (3 replications at 50 households per agent; ~6-9 minutes on 2 cores).
levers-doc: $(STAMP)
	$(BIN)/sim response

# Performance benchmark (issue 6): engine speed at 100k and 1M households, ratio to the
# idiomatic Mesa reference, memory per household, and a Qingdao-size run.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/sweep_speedup.py

# A real browser for the tests that render pages: Debian's chromium (browser downloads from
# elsewhere are blocked; Playwright drives this one by its path). Needs root or sudo to install.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "make: installing Debian's chromium for the browser tests (apt-get; about a minute)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: $(STAMP) browser
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/sim check configs/*/*.toml configs/behaviour/*.csv experiments/*.toml

clean:
	rm -rf $(VENV) .pytest_cache
