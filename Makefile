# harmonize: two set-up commands on a fresh machine: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint bench clean venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $$(scripts/find-python) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,dask]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/harmonize demo

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

# everything, the `slow` tests included (what CI runs)
test-all: $(STAMP)
	$(PY) -m pytest -n 2 -q -m ""

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache
