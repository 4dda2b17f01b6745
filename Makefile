# Two commands: `make demo` and `make test`. Each sets up .venv when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean distclean

$(STAMP): setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mlops demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/definition.py
	$(BIN)/python bench/local_pipeline.py
	$(BIN)/python bench/monitor.py
	$(BIN)/python bench/model_quality.py
	$(BIN)/python bench/explain.py
	$(BIN)/python bench/endpoint.py
	$(BIN)/python bench/auth.py

clean:
	rm -rf .mlops build *.egg-info .pytest_cache

distclean: clean
	rm -rf $(VENV)
